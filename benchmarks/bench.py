"""`make bench`: the cost figures, each printed beside its target, and written to benchmarks/results.json.

Two parts, both run by default:
- on moto's server (issue 5): calls per reconciliation and per sweep, counted with a botocore `before-call` hook on
  the session the code under test uses; sweep wall time; cold start; memory; key policy capacity. `--moto` alone.
- at real-AWS latency (issue 13): 25 ms per HTTP attempt and AWS's request quotas injected at the botocore boundary
  (aws_latency.py), the handlers run as Lambda runs them (latency_runs.py): the sweep of 10,000 shared secrets
  across 500 consumer accounts against the function's timeout; a tag change behind a secret that keeps failing;
  a burst of 1,000 tag changes. `--latency` alone.

`--quick` runs smaller estates (1,000 secrets; the real-latency sweep then says what it extrapolates to 10,000).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

from secretshare import reconcile_secret
from secretshare.domain.keypolicy import KeyGrant, for_secret_family, merge_key_policy
from secretshare.domain.names import GRANTS_TAG_KEY, POOL_KEY_TAG_VALUE
from secretshare.domain.policy import KEY_POLICY_MAX_BYTES
from secretshare.domain.settings import KEY_MODE_DEDICATED, KEY_MODE_POOL, AllowList, Settings
from secretshare.domain.sharetag import ShareTag
from secretshare.gateway import Clients
from secretshare.reconciler.changes import CreateKey, PutKeyPolicy, TagKey
from secretshare.reconciler.plan import plan_reconciliation
from secretshare.reconciler.state import KeyState, SecretState
from secretshare.reconciler.sweep import sweep

ROOT = Path(__file__).resolve().parent.parent
# The real-latency part runs the handlers with the tests' helpers (tests/support) and its modules beside this one.
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]

import bill  # noqa: E402
import latency_runs  # noqa: E402

REGION = "eu-west-1"
SINGLE_REGION = "eu-central-1"
DEDICATED_SINGLE_REGION = "eu-north-1"
PRODUCER = "123456789012"
READ_PREFIXES = ("Get", "Describe", "List")
BURST_TARGET_RATIO = 1.5  # issue 20: a burst converges within 1.5 times the floor AWS's quotas set for its mix
# Issue 21: at 10,000 shared secrets (3 consumers each, distinct sets), the pool's keys cost at most this per secret a
# month, and at least this many times less than a dedicated key per secret.
POOL_TARGET_DOLLARS = 0.02
POOL_TARGET_FACTOR = 50
# The regions the key modes' bills are measured in, each apart from the estate and from each other.
MODE_REGIONS = {"pool": "us-west-2", "dedicated": "us-east-2", "own key": "ap-southeast-2"}
console = Console()


class CallCounter:
    """Counts every AWS call made through a session (consumer-account clients included)."""

    def __init__(self, session: boto3.Session) -> None:
        self.calls: list[tuple[str, str]] = []
        session.events.register("before-call", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name))

    def take(self) -> list[tuple[str, str]]:
        taken, self.calls = self.calls, []
        return taken


def is_read(call: tuple[str, str]) -> bool:
    return call[1].startswith(READ_PREFIXES)


@contextmanager
def moto_server() -> Any:
    """moto's server in its own process (so it has its own core), on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def consumer_accounts(count: int) -> list[str]:
    return [f"{200000000000 + i:012d}" for i in range(count)]


def settings_for(accounts: list[str]) -> Settings:
    return Settings(allowed_consumers=AllowList.parse(" ".join(accounts)))


def single_secret_costs(settings: Settings, region: str = SINGLE_REGION) -> dict[str, Any]:
    """No-op, new share and revoke: calls per reconciliation (in a region of its own, apart from the estate)."""
    session = boto3.Session(region_name=region)
    counter = CallCounter(session)
    secrets = session.client("secretsmanager")
    consumer = next(iter(settings.allowed_consumers.accounts))
    arn = secrets.create_secret(Name="bench/single", SecretString="v", Tags=[{"Key": "share-with", "Value": consumer}])[
        "ARN"
    ]
    counter.take()
    reconcile_secret(arn, settings=settings, session=session)
    new_share = counter.take()
    reconcile_secret(arn, settings=settings, session=session)
    noop = counter.take()
    secrets.untag_resource(SecretId=arn, TagKeys=["share-with"])
    counter.take()
    reconcile_secret(arn, settings=settings, session=session)
    revoke = counter.take()
    noop_a = [c for c in noop if c[0] not in ("ssm", "sts")]
    return {
        "noop_writes": sum(not is_read(c) and c[0] != "sts" for c in noop),
        "noop_reads_in_a": sum(map(is_read, noop_a)),
        "noop_reads_per_consumer": sum(is_read(c) for c in noop if c[0] == "ssm"),
        "new_share_calls": len(new_share),
        "revoke_calls": len(revoke),
        "calls": {"new_share": new_share, "noop": noop, "revoke": revoke},
    }


def build_estate(total: int, shared: int, accounts: list[str], settings: Settings) -> list[str]:
    """`total` secrets, `shared` of them tagged with two consumer accounts each and reconciled."""
    rng = random.Random(7)
    secrets = boto3.Session(region_name=REGION).client("secretsmanager")  # clients are thread-safe
    tags = [
        [{"Key": "share-with", "Value": " ".join(rng.sample(accounts, 2))}] if i < shared else [] for i in range(total)
    ]

    def create(i: int) -> str:
        return secrets.create_secret(Name=f"estate/app-{i:05d}", SecretString="v", Tags=tags[i])["ARN"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        arns = list(pool.map(create, range(total)))
    # One set of clients for the workers, as the reconcile function's threads share one: its key-policy locks keep
    # two reconciliations from writing a shared key's policy at once (a pool key's, with KEY_MODE=pool).
    clients = Clients(boto3.Session(region_name=REGION))

    def reconcile(arn: str) -> None:
        reconcile_secret(arn, settings=settings, clients=clients)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(reconcile, arns[:shared]))
    return arns[:shared]


def sweep_costs(shared_arns: list[str], settings: Settings, total: int) -> dict[str, Any]:
    """Calls and wall time of a sweep over an estate in sync, against the same reads issued directly."""
    session = boto3.Session(region_name=REGION)
    counter = CallCounter(session)
    started = time.perf_counter()
    report = sweep(settings=settings, session=session)
    elapsed = time.perf_counter() - started
    calls = counter.take()
    by_operation = Counter(f"{s}.{o}" for s, o in calls)
    list_calls = by_operation["secretsmanager.ListSecrets"]
    # Listing pages and STS are not per secret: AssumeRole happens once per consumer account per sweep.
    listing = list_calls + by_operation["resourcegroupstaggingapi.GetResources"] + by_operation["sts.AssumeRole"]
    per_secret = (len(calls) - listing) / len(shared_arns)
    direct = direct_reads(settings)
    return {
        "secrets": total,
        "shared": len(shared_arns),
        "drifted": len(report.to_reconcile),
        "calls": dict(by_operation),
        "calls_per_shared_secret": round(per_secret, 2),
        "consumers_per_secret": 2,
        "calls_on_unshared_secrets": 0,
        "list_calls": list_calls,
        "assume_role_calls": by_operation["sts.AssumeRole"],
        "seconds": round(elapsed, 2),
        "direct_seconds": round(direct, 2),
        "relative_to_direct": round(elapsed / direct, 2),
    }


def direct_reads(settings: Settings) -> float:
    """The sweep's reads issued straight through boto3, with no planning: the floor to compare with."""
    session = boto3.Session(region_name=REGION)
    secrets, kms, sts = (session.client(s) for s in ("secretsmanager", "kms", "sts"))
    tagging = session.client("resourcegroupstaggingapi")
    started = time.perf_counter()
    listed = [
        s
        for page in secrets.get_paginator("list_secrets").paginate(
            IncludePlannedDeletion=True, Filters=[{"Key": "tag-key", "Values": ["share-with"]}]
        )
        for s in page["SecretList"]
    ]
    keys = [
        r["ResourceARN"]
        for page in tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=["kms:key"], TagFilters=[{"Key": "secretshare-grants"}]
        )
        for r in page["ResourceTagMappingList"]
    ]
    for key in keys:
        kms.get_key_policy(KeyId=key, PolicyName="default")
    ssm_clients: dict[str, Any] = {}
    for secret in listed:
        secrets.get_resource_policy(SecretId=secret["ARN"])
        kms.describe_key(KeyId=secret["KmsKeyId"])
        for account in {t["Value"] for t in secret["Tags"] if t["Key"] == "share-with"}.pop().split():
            if account not in ssm_clients:
                creds = sts.assume_role(RoleArn=settings.consumer_role_arn("aws", account), RoleSessionName="bench")[
                    "Credentials"
                ]
                ssm_clients[account] = session.client(
                    "ssm",
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                )
            try:
                ssm_clients[account].get_parameter(Name=f"/secretshare/{PRODUCER}/{REGION}/{secret['Name']}")
            except ssm_clients[account].exceptions.ParameterNotFound:
                pass
    return time.perf_counter() - started


def handler_figures(accounts: list[str]) -> dict[str, Any]:
    """Cold-start import time, peak memory of one invocation, and batch throughput of the reconcile handler."""
    script = ROOT / "benchmarks" / "handler_probe.py"
    env = {**os.environ, "ALLOWED_CONSUMERS": " ".join(accounts), "POWERTOOLS_METRICS_NAMESPACE": "SecretShare"}
    completed = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def import_times(repeats: int = 7) -> dict[str, float]:
    """Median import time (fresh interpreter each time) of the reconcile handler and of bare boto3."""
    code = (
        "import sys,time; sys.path[:0]=[{fn!r},{layer!r}]; t=time.perf_counter(); import {mod}; "
        "print(time.perf_counter()-t)"
    )

    def measure(module: str) -> float:
        runs = []
        for _ in range(repeats):
            source = code.format(fn=str(ROOT / "functions" / "reconcile"), layer=str(ROOT / "layers"), mod=module)
            out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True)
            runs.append(float(out.stdout.strip()))
        return statistics.median(runs)

    handler, boto = measure("app"), measure("boto3")
    return {"handler_import_s": round(handler, 3), "boto3_import_s": round(boto, 3), "ratio": round(handler / boto, 2)}


def shared_key_capacity() -> dict[str, int]:
    """(secret, consumer) grants that fit one 32 KB key policy with our layout, best and worst case."""

    def fill(consumers_of: Any) -> int:
        policy: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
        for i in range(100_000):
            arn = f"arn:aws:secretsmanager:{REGION}:{PRODUCER}:secret:team/service-{i:05d}/db-password-AbCdEf"
            grown = merge_key_policy(
                policy, for_secret_family(arn), region=REGION, partition="aws", grant=KeyGrant(arn, consumers_of(i))
            )
            if len(json.dumps(grown, separators=(",", ":")).encode()) > KEY_POLICY_MAX_BYTES:
                return i
            policy = grown
        return i

    same = fill(lambda i: tuple(f"arn:aws:iam::{200000000000 + n:012d}:root" for n in range(3)))
    distinct = fill(lambda i: tuple(f"arn:aws:iam::{200000000000 + i * 3 + n:012d}:root" for n in range(3)))
    return {"secrets_same_3_consumers": same, "secrets_distinct_3_consumers": distinct}


def pool_capacity(secrets: int = 10_000) -> dict[str, Any]:
    """KEY_MODE=pool for `secrets` secrets of 3 distinct consumer accounts each, placed by the planner itself (each
    plan applied to the keys it names, as AWS would hold them): how many pool keys they take, and what those cost."""
    settings = Settings(allowed_consumers=AllowList("any"), key_mode=KEY_MODE_POOL)
    keys: dict[str, KeyState] = {}
    for i in range(secrets):
        arn = f"arn:aws:secretsmanager:{REGION}:{PRODUCER}:secret:team/service-{i:05d}/db-password-AbCdEf"
        consumers = tuple(f"arn:aws:iam::{200000000000 + 3 * i + n:012d}:root" for n in range(3))
        open_keys = tuple(key for arn_, key in sorted(keys.items()) if key.grants_tag == POOL_KEY_TAG_VALUE)
        state = SecretState(arn=arn, name=f"team/service-{i:05d}/db-password", pool_keys=open_keys)
        plan = plan_reconciliation(state, ShareTag(consumers=consumers), settings)
        made = f"arn:aws:kms:{REGION}:{PRODUCER}:key/pool-{len(keys):06d}"
        for change in plan.changes:
            if isinstance(change, CreateKey):
                keys[made] = KeyState(made, change.policy, dict(change.tags))
            elif isinstance(change, PutKeyPolicy):
                key_arn = change.key_arn or made
                keys[key_arn] = KeyState(key_arn, change.after, keys[key_arn].tags)
            elif isinstance(change, TagKey):
                key = keys[change.key_arn]
                keys[change.key_arn] = KeyState(key.arn, key.policy, {**key.tags, GRANTS_TAG_KEY: change.value})
    dollars = len(keys) * bill.PRICES["kms_key"].dollars / secrets
    return {
        "secrets": secrets,
        "keys": len(keys),
        "secrets_per_key": round(secrets / len(keys), 1),
        "key_dollars_per_secret_a_month": round(dollars, 4),
        "times_cheaper_than_dedicated": round(bill.PRICES["kms_key"].dollars / dollars, 1),
    }


def mode_calls(mode: str, accounts: list[str], secrets: int = 40) -> dict[str, Any]:
    """The calls of one key mode, in a region of its own: a sweep's per shared secret (3 consumers each), and a tag
    edit's (its reconciliation, then the no-op one its status tag's event starts), by billed service."""
    region = MODE_REGIONS[mode]
    session = boto3.Session(region_name=region)
    counter = CallCounter(session)  # before any client is made: clients made earlier would not see its hook
    settings = Settings(
        allowed_consumers=AllowList.parse(" ".join(accounts)),
        key_mode=KEY_MODE_DEDICATED if mode == "dedicated" else KEY_MODE_POOL,
        shared_key_arn=session.client("kms").create_key()["KeyMetadata"]["Arn"] if mode == "own key" else "",
    )
    rng = random.Random(21)
    client = session.client("secretsmanager")
    arns = []
    for i in range(secrets):
        tag = " ".join(rng.sample(accounts, 3))
        arn = client.create_secret(
            Name=f"bill/app-{i:03d}", SecretString="v", Tags=[{"Key": "share-with", "Value": tag}]
        )
        arns.append(arn["ARN"])
        reconcile_secret(arns[-1], settings=settings, session=session)
    counter.take()
    sweep(settings=settings, session=session)
    swept = Counter(service for service, _ in counter.take())
    client.tag_resource(SecretId=arns[0], Tags=[{"Key": "share-with", "Value": " ".join(accounts[:4])}])
    counter.take()
    reconcile_secret(arns[0], settings=settings, session=session)
    reconcile_secret(arns[0], settings=settings, session=session)
    changed = Counter(service for service, _ in counter.take())
    return {
        "sweep_kms_per_secret": round(swept["kms"] / secrets, 2),
        "sweep_secretsmanager_per_secret": round(swept["secretsmanager"] / secrets, 2),
        "change_kms": changed["kms"],
        "change_sm": changed["secretsmanager"],
    }


def bill_figures(results: dict[str, Any]) -> dict[str, Any]:
    """The monthly bill per 1,000 shared secrets in each key mode (bill.py), from this run's figures: the Lambda
    duration from the real-latency runs when they ran, else from moto's (no latency: a floor)."""
    latency = results.get("latency")
    if latency:
        burst, swept = latency["burst"], latency["sweep"]
        per_reconciliation = burst["seconds"] * burst["lambda_memory_mb"] / 1024 / burst["reconciliations"]
        sweep_per_secret = swept["seconds"] * swept["lambda_memory_mb"] / 1024 / swept["secrets"]
        source = "real-latency runs"
    else:
        per_reconciliation = 1024 / 1024 / results["handler"]["new_share_messages_per_s"]
        sweep_per_secret = results["sweep"]["seconds"] * 1769 / 1024 / results["sweep"]["shared"]
        source = "moto, without AWS's latency (a floor)"
    figures = {
        **results,
        "lambda_gb_seconds": {"per_reconciliation": per_reconciliation, "sweep_per_secret": sweep_per_secret},
    }
    return {
        "modes": {mode: bill.monthly_bill(mode, figures) for mode in MODE_REGIONS},
        "lambda_duration_from": source,
        "assumptions": bill.assumptions(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller estates: 1,000 secrets (100 shared on moto)")
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--moto", action="store_true", help="only the figures on moto's server (issue 5)")
    part.add_argument("--latency", action="store_true", help="only the figures at real-AWS latency (issue 13)")
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full"}
    if not args.latency:
        results.update(moto_figures(args.quick))
    if not args.moto:
        results["latency"] = latency_figures(args.quick)
    if "calls_by_mode" in results:
        results["bill"] = bill_figures(results)
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    if "single" in results:
        print_table(results)
    if "latency" in results:
        print_latency_table(results["latency"])
    if "bill" in results:
        print_bill(results)
    console.print(f"total runtime {results['runtime_s']:.0f} s; figures in benchmarks/results.json")


def moto_figures(quick: bool) -> dict[str, Any]:
    """Issue 5's figures, on moto's server without latency."""
    total, shared = (1_000, 100) if quick else (10_000, 1_000)
    accounts = consumer_accounts(20)
    settings = settings_for(accounts)
    results: dict[str, Any] = {"capacity": shared_key_capacity(), "imports": import_times()}
    console.print("the pool's keys for 10,000 secrets of distinct consumers, placed by the planner...")
    results["pool"] = pool_capacity(1_000 if quick else 10_000)
    with moto_server():
        results["single"] = single_secret_costs(settings)
        dedicated = replace(settings, key_mode=KEY_MODE_DEDICATED)
        results["single_dedicated"] = single_secret_costs(dedicated, DEDICATED_SINGLE_REGION)
        results["calls_by_mode"] = {mode: mode_calls(mode, accounts) for mode in MODE_REGIONS}
        console.print(f"building an estate of {total} secrets, {shared} shared across 20 accounts...")
        started = time.perf_counter()
        shared_arns = build_estate(total, shared, accounts, settings)
        results["estate_build_s"] = round(time.perf_counter() - started, 1)
        results["sweep"] = sweep_costs(shared_arns, settings, total)
        results["handler"] = handler_figures(accounts)
    return results


def latency_figures(quick: bool) -> dict[str, Any]:
    """Issue 13's figures: the handlers at 25 ms per call under AWS's quotas (latency_runs.py)."""
    secrets, burst = (1_000, 200) if quick else (latency_runs.ESTATE_SECRETS, 1_000)
    output = latency_runs.HandlerOutput()
    console.print(
        f"real latency: sweep of {secrets} shared secrets across {latency_runs.ACCOUNTS} accounts "
        f"(handler logs in {output.path})..."
    )
    started = time.perf_counter()
    results: dict[str, Any] = {"latency_ms": 25, "quotas": latency_runs.quotas()}
    results["sweep"] = latency_runs.sweep_figures(secrets, output)
    console.print(f"real latency: a secret that keeps failing, then a burst of {burst} tag changes...")
    results.update(latency_runs.reconcile_figures(burst, output))
    results["handler_log_lines"] = dict(output.levels())
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def print_table(results: dict[str, Any]) -> None:
    single, dedicated, sweep_, imports, handler, capacity = (
        results[k] for k in ("single", "single_dedicated", "sweep", "imports", "handler", "capacity")
    )
    table = Table("figure", "measured", "target", "met", title="secretshare cost figures")

    def by_mode(figure: str, target: int, pool_more: int = 0) -> tuple[str, str, bool]:
        """The figure with a pool key (the default) and a dedicated key, against the target (plus `pool_more`)."""
        measured = f"{single[figure]} (dedicated: {dedicated[figure]})"
        shown = f"<= {target}" + (f" (pool: <= {target + pool_more})" if pool_more else "")
        return measured, shown, single[figure] <= target + pool_more and dedicated[figure] <= target

    rows = [
        ("no-op reconcile: write calls", *by_mode("noop_writes", 0)),
        # The secret, its resource policy, key metadata and policy, and the tag query finding keys it left; on a pool
        # key, its own tags too (the tag query is for the secret's name, and a pool key carries none).
        ("no-op reconcile: reads in A", *by_mode("noop_reads_in_a", 5, pool_more=1)),
        ("no-op reconcile: reads per consumer account", *by_mode("noop_reads_per_consumer", 1)),
        ("new share, one consumer: calls (incl. key move, STS)", *by_mode("new_share_calls", 12)),
        ("revoke, one consumer: calls (incl. STS)", *by_mode("revoke_calls", 10)),
        (
            f"sweep ({sweep_['secrets']} secrets, {sweep_['shared']} shared): calls per shared secret, 2 consumers",
            sweep_["calls_per_shared_secret"],
            "<= 4 + 2",
            sweep_["calls_per_shared_secret"] <= 6,
        ),
        ("sweep: calls on unshared secrets beyond list pages", sweep_["calls_on_unshared_secrets"], 0, True),
        # Every shared secret was reconciled just before: one found out of sync is a lost update, or a reconciliation
        # that does not converge.
        (
            "sweep: secrets out of sync right after the estate's reconciliations",
            sweep_["drifted"],
            0,
            not sweep_["drifted"],
        ),
        ("sweep: ListSecrets pages", sweep_["list_calls"], "paginated list only", True),
        (
            "sweep: AssumeRole calls (20 consumer accounts)",
            sweep_["assume_role_calls"],
            "one per account",
            sweep_["assume_role_calls"] <= 20,
        ),
        (
            "sweep: wall time vs the same reads issued directly",
            f"{sweep_['relative_to_direct']}x ({sweep_['seconds']} s)",
            "<= 1.3x",
            sweep_["relative_to_direct"] <= 1.3,
        ),
        (
            "cold start: handler import vs import boto3",
            f"{imports['ratio']}x ({imports['handler_import_s']} s)",
            "<= 1.5x",
            imports["ratio"] <= 1.5,
        ),
        ("peak memory of one handler invocation", f"{handler['peak_memory_mb']} MB", "report", True),
        ("throughput: batch of 10, new shares", f"{handler['new_share_messages_per_s']} msg/s", "report", True),
        ("throughput: batch of 10, in sync", f"{handler['in_sync_messages_per_s']} msg/s", "report", True),
        (
            "shared key: secrets with the same 3 consumers in 32 KB",
            capacity["secrets_same_3_consumers"],
            ">= 100",
            capacity["secrets_same_3_consumers"] >= 100,
        ),
        (
            "shared key: secrets with distinct 3 consumers in 32 KB",
            capacity["secrets_distinct_3_consumers"],
            "report",
            True,
        ),
    ]
    for name, measured, target, met in rows:
        table.add_row(name, str(measured), str(target), "[green]yes[/green]" if met else "[red]no[/red]")
    console.print(table)


def print_bill(results: dict[str, Any]) -> None:
    """The monthly bill per 1,000 shared secrets in each key mode, and the pool's target (issue 21)."""
    modes = results["bill"]["modes"]
    table = Table(
        "$ a month per 1,000 shared secrets", *modes, title="the bill (prices and sources: benchmarks/bill.py)"
    )
    for line in next(iter(modes.values())):
        table.add_row(line.replace("_", " "), *(f"{modes[mode][line]:,.2f}" for mode in modes))
    console.print(table)
    pool = results["pool"]
    dollars, factor = pool["key_dollars_per_secret_a_month"], pool["times_cheaper_than_dedicated"]
    met = dollars <= POOL_TARGET_DOLLARS and factor >= POOL_TARGET_FACTOR
    console.print(
        f"pool at {pool['secrets']:,} secrets (3 distinct consumers each): {pool['keys']} keys, "
        f"{pool['secrets_per_key']} secrets a key, ${dollars} a secret a month in keys, {factor}x less than a "
        f"dedicated key (target <= ${POOL_TARGET_DOLLARS} and >= {POOL_TARGET_FACTOR}x): "
        + ("[green]met[/green]" if met else "[red]not met[/red]")
    )
    console.print(f"Lambda duration from: {results['bill']['lambda_duration_from']}")


def print_latency_table(results: dict[str, Any]) -> None:
    """The real-latency figures beside their targets (issue 13), and the quotas they ran under."""
    quotas = Table("quota (per account and region)", "per second", "source", title="quotas injected")
    for quota in results["quotas"]:
        quotas.add_row(quota["quota"], f"{quota['per_second']:g}", quota["source"])
    console.print(quotas)
    table = Table(
        "figure", "measured", "target", "met", title=f"at real-AWS latency ({results['latency_ms']} ms a call)"
    )
    for name, measured, target, met in latency_rows(results):
        shown = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "report"}[met]
        table.add_row(name, measured, target, shown)
    console.print(table)


def latency_rows(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(figure, measured, target, met) for each real-latency figure; met None for figures that are only reported."""
    sweep_, failing, burst = results["sweep"], results["failing_secret"], results["burst"]
    usable, timeout = sweep_["usable_s_per_invocation"], sweep_["function_timeout_s"]
    estate = f"{sweep_['secrets']:,} shared secrets, {sweep_['accounts']} accounts"
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            f"sweep of {estate}: wall time (measured)",
            f"{sweep_['seconds']:.0f} s in {sweep_['invocations']} invocation(s) "
            f"({sweep_['steady_secrets_per_s']} secrets/s after the first chunk)",
            f"<= {usable} s per invocation ({timeout} s timeout - handler's safety margin)",
            sweep_["invocations"] == 1 and sweep_["seconds"] <= usable,
        ),
    ]
    if "extrapolated_seconds" in sweep_:
        extrapolated = sweep_["extrapolated_seconds"]
        rows.append(
            (
                f"sweep of {sweep_['extrapolated_to']:,}: wall time (EXTRAPOLATED linearly, not measured)",
                f"{extrapolated:.0f} s: {-(-extrapolated // usable):.0f} invocation(s) at {timeout} s",
                f"<= {usable} s per invocation",
                None,
            )
        )
    rows += [
        (
            f"sweep: calls per secret ({sweep_['consumers_per_secret']} consumers on average)",
            f"{sweep_['calls_per_secret']}",
            f"<= 4 + 1 per consumer ({4 + sweep_['consumers_per_secret']:.2f})",
            sweep_["calls_per_secret"] <= 4 + sweep_["consumers_per_secret"] + 0.01,
        ),
        (
            "sweep: throttled attempts (botocore's adaptive retries pace them)",
            f"{sweep_['throttled']} of {sweep_['attempts']:,} attempts {sweep_['throttled_by_operation'] or ''}",
            "report",
            None,
        ),
        (
            "sweep: secrets queued although in sync (incl. checks that failed)",
            f"{sweep_['queued_as_drifted']} of {sweep_['checked']:,} checked",
            "0",
            sweep_["queued_as_drifted"] == 0 and sweep_["checked"] == sweep_["secrets"],
        ),
        (
            "sweep: CPU of the function on this machine -> at its "
            f"{sweep_['lambda_memory_mb']} MB ({sweep_['lambda_vcpu']} vCPU) if CPU-bound (ESTIMATE)",
            f"{sweep_['client_cpu_s']:.0f} s -> {sweep_['cpu_bound_seconds_on_lambda_estimate']:.0f} s"
            + (
                f" (at {sweep_['extrapolated_to']:,}: {sweep_['extrapolated_cpu_bound_seconds_on_lambda']:.0f} s)"
                if "extrapolated_cpu_bound_seconds_on_lambda" in sweep_
                else ""
            ),
            f"<= {usable} s",
            sweep_.get("extrapolated_cpu_bound_seconds_on_lambda", sweep_["cpu_bound_seconds_on_lambda_estimate"])
            <= usable,
        ),
    ]
    for name, figures in failing.items():
        attempts = ", ".join(f"{s:.1f}" for s in figures["failing_attempts_s"])
        rows.append(
            (
                f"tag change queued behind a secret that keeps failing ({name}): converged after",
                f"{figures['other_converged_after_s']:.1f} s (failing secret's attempts: {attempts} s; "
                f"then {figures['failing_outcome']})",
                "<= about 60 s",
                figures["other_converged_after_s"] <= 60 and (figures["other_status"] or "").startswith("ok"),
            )
        )
    mix = ", ".join(f"{n} {kind}" for kind, n in burst["mix"].items())
    onboarding = burst["onboarding"]
    rows += [
        (
            f"burst of {burst['changes']:,} tag changes ({mix}; KEY_MODE={burst['key_mode']}): wall time, and its "
            "ratio to the quota floor",
            f"{burst['seconds']:.0f} s = {burst['ratio_to_floor']}x the floor of {burst['floor_s']:.0f} s "
            f"({burst['binding_quota']}; {burst['changes_per_s']} changes/s, {burst['invocations']} invocations, "
            f"median reconciliation {burst['reconcile_median_s']} s)",
            f"<= {BURST_TARGET_RATIO}x the floor ({BURST_TARGET_RATIO * burst['floor_s']:.0f} s)",
            burst["ratio_to_floor"] <= BURST_TARGET_RATIO,
        ),
        (
            "burst: secrets whose grants (key and resource policy) are not exactly as tagged afterwards",
            f"{burst['grants_not_as_tagged']} of {burst['changes']}",
            "0",
            burst["grants_not_as_tagged"] == 0,
        ),
        (
            f"onboarding {onboarding['secrets']:,} existing secrets (ESTIMATE: {onboarding['from']})",
            f"{onboarding['estimated_s'] / 60:.0f} min = {onboarding['ratio_to_floor']}x the floor of "
            f"{onboarding['floor_s'] / 60:.0f} min",
            f"<= {BURST_TARGET_RATIO}x the floor",
            None,
        ),
        (
            "burst: the emulator's own time, summed over requests (lookups run at once, anything else alone)",
            f"{burst['emulator'].get('busy_s', 0):.0f} s busy of {burst['seconds']:.0f} s "
            f"{burst['emulator'].get('seconds_by_operation', '')}",
            "report",
            None,
        ),
        (
            "burst: calls (per change)",
            f"{burst['calls']:,} ({burst['calls_per_change']} per change)",
            "report",
            None,
        ),
        (
            "burst: throttled attempts",
            f"{burst['throttled']} {burst['throttled_by_operation'] or ''}",
            "report",
            None,
        ),
        (
            "burst: changes converged",
            f"{burst['converged']} of {burst['changes']} ({burst['failed_reconciliations']} failed reconciliations, "
            f"{burst['dead_lettered']} dead-lettered)",
            "all",
            burst["converged"] == burst["changes"],
        ),
        (
            f"burst: CPU of the function on this machine -> at its {burst['lambda_memory_mb']} MB if CPU-bound "
            "(ESTIMATE)",
            f"{burst['client_cpu_ms_per_change']} ms per change -> "
            f"{burst['cpu_bound_seconds_on_lambda_estimate']:.0f} s for the burst",
            "report",
            None,
        ),
    ]
    return rows


if __name__ == "__main__":
    main()
