"""The real-latency figures of `make bench` (issue 13): the functions at 25 ms per call, under AWS's request quotas.

Each estate is built by `estate_server.py` in a process of its own (straight into moto, by the library's own read,
plan and apply), which then serves it over HTTP. The handlers run here, in this process, on boto3's default session
as in Lambda, with `AwsLatency` (aws_latency.py) on that session: every HTTP attempt takes 25 ms and the quotas
answer ThrottlingException when exceeded. What the person and AWS's event sources do (tagging, EventBridge putting
events on the queue) goes through a plain session: no latency, not counted. Lambda's SQS poller has latency of its
own (its receive and delete calls take 25 ms too) but is not counted among the functions' calls.

- sweep: the sweep function over every shared secret, each invocation given a 900 s context; an invocation that
  runs out of time hands the rest over through the sweep queue, and the next one is invoked with that message.
- a failing secret: the reconcile function fed from the FIFO queue as Lambda's event source does, with one secret
  that keeps failing queued first and a tag change of another secret behind it.
- a burst: 1,000 tag changes of different secrets queued at once and drained through the reconcile function.

This process only runs the handlers (moto runs in the server's), so its CPU time is the functions' own.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from aws_latency import BINDING, QUOTAS, AwsLatency
from support.faults import AwsFaults
from support.sam import LambdaContext, deliver_once, load_handler, load_template

from secretshare.domain.events import MESSAGE_GROUP_ID
from secretshare.domain.settings import KEY_MODE_DEDICATED, KEY_MODE_POOL, Settings

HERE = Path(__file__).resolve().parent
REGION = "eu-west-1"
PRODUCER = "123456789012"
ESTATE_SECRETS = 10_000  # the estate: 10,000 shared secrets across 500 consumer accounts
ACCOUNTS = 500
# Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB (Lambda developer guide).
MB_PER_VCPU = 1769
# The burst's mix of tag changes: mostly new shares, then consumers added, consumers removed, shares ended.
BURST_MIX = {"new share": 0.65, "consumer added": 0.25, "consumer removed": 0.07, "share removed": 0.03}
# The fewest calls of each quota that may bind (aws_latency.BINDING, with CreateKey's and CreateAlias's) that one tag
# change of each kind needs, however it is coded: a new share needs, with a dedicated key, a key of its own and the
# alias naming it (the key's policy can hold the grants from its creation), or, on the pool (KEY_MODE's default), one
# write of a pool key's policy (a new pool key, one for every 55 or so secrets, is left out); and the secret's
# resource policy read then written. Every other change rewrites the key policy once and reads and writes (or
# deletes) the resource policy. The consumer parameters are written in the consumer accounts, under their own quotas.
KEY_MODE = Settings.from_env().key_mode  # as the handlers the runs invoke read it
NEW_SHARE_CALLS = {
    KEY_MODE_DEDICATED: {"KMS CreateKey": 1, "KMS CreateAlias/UpdateAlias": 1},
    KEY_MODE_POOL: {"KMS PutKeyPolicy": 1},
}
FEWEST_CALLS = {
    "new share": {**NEW_SHARE_CALLS[KEY_MODE], "Secrets Manager resource-policy calls": 2},
    "consumer added": {"KMS PutKeyPolicy": 1, "Secrets Manager resource-policy calls": 2},
    "consumer removed": {"KMS PutKeyPolicy": 1, "Secrets Manager resource-policy calls": 2},
    "share removed": {"KMS PutKeyPolicy": 1, "Secrets Manager resource-policy calls": 2},
}
ONBOARDING = 10_000  # the onboarding: 10,000 existing secrets tagged for the first time


def quota_floor(mix: Counter[str]) -> dict[str, Any]:
    """The least time AWS's quotas (aws_latency.QUOTAS) allow for a mix of tag changes: the quota that binds, and the
    seconds its calls take at its rate. Each quota is its own bucket, so they run side by side."""
    rates = {quota.name: quota.per_second for quota in QUOTAS}
    needed: Counter[str] = Counter()
    for kind, count in mix.items():
        for quota, calls in FEWEST_CALLS[kind].items():
            needed[quota] += calls * count
    seconds = {quota: calls / rates[quota] for quota, calls in needed.items()}
    binding = max(seconds, key=lambda quota: seconds[quota])
    return {"seconds": round(seconds[binding], 1), "binding_quota": binding, "calls": needed[binding]}


def function_config(logical_id: str) -> dict[str, int]:
    """Timeout and memory of a function in template.yaml (its own, else the Globals')."""
    template = load_template()
    properties = {**template["Globals"]["Function"], **template["Resources"][logical_id]["Properties"]}
    return {"timeout_s": int(properties.get("Timeout", 3)), "memory_mb": int(properties["MemorySize"])}


def safety_seconds() -> int:
    """The time the sweep handler keeps back from its timeout (functions/sweep/app.py)."""
    return int(load_handler("sweep").SAFETY_SECONDS)


# --- the estate server, and the handlers' environment --------------------------------------------------------------


@dataclass
class Server:
    endpoint: str
    figures: dict[str, Any]
    manifest: dict[str, list[str]]

    def stats(self) -> dict[str, Any]:
        """moto's own time over the requests since the last call (and its process's CPU)."""
        with urllib.request.urlopen(f"{self.endpoint}/_bench/stats", timeout=30) as answer:
            return json.loads(answer.read())


@contextmanager
def estate_server(*, shared: int = 0, unshared: int = 0, accounts: int = ACCOUNTS) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, str(HERE / "estate_server.py"), "--port", str(port), "--accounts", str(accounts)]
    command += ["--shared", str(shared), "--unshared", str(unshared)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"estate_server.py exited with {process.wait()} before it listened")
        figures = json.loads(line)
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        boto3.DEFAULT_SESSION = None  # the handlers' session is made afresh against this server
        yield Server(endpoint, figures, figures.pop("manifest"))
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def consumer_accounts(count: int = ACCOUNTS) -> list[str]:
    return [f"{200000000000 + i:012d}" for i in range(count)]


@dataclass
class Queues:
    reconcile: str
    dead_letter: str
    sweep: str


def make_queues(sqs: Any) -> Queues:
    """The stack's queues, as template.yaml makes them."""
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "720"}
    return Queues(
        reconcile=sqs.create_queue(QueueName="reconcile.fifo", Attributes=fifo)["QueueUrl"],
        dead_letter=sqs.create_queue(QueueName="reconcile-dlq.fifo", Attributes=fifo)["QueueUrl"],
        sweep=sqs.create_queue(QueueName="sweep", Attributes={"VisibilityTimeout": "960"})["QueueUrl"],
    )


def handler_environment(accounts: list[str], queues: Queues) -> None:
    os.environ.update(
        ALLOWED_CONSUMERS=" ".join(accounts),
        QUEUE_URL=queues.reconcile,
        DEAD_LETTER_QUEUE_URL=queues.dead_letter,
        SWEEP_QUEUE_URL=queues.sweep,
        POWERTOOLS_SERVICE_NAME="secretshare",
        POWERTOOLS_METRICS_NAMESPACE="SecretShare",
    )


def handlers_session() -> boto3.Session:
    """boto3's default session, which both handlers use, made now so the latency is on it before any client."""
    boto3.setup_default_session(region_name=REGION)
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


@dataclass
class Context(LambdaContext):
    """A Lambda context whose remaining time runs down from the function's timeout."""

    timeout_s: float = 900.0
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.timeout_s - (time.monotonic() - self.started)) * 1000)


class HandlerOutput:
    """The handlers' log lines and EMF metrics, written to a file instead of the terminal."""

    def __init__(self) -> None:
        self.path = Path(tempfile.gettempdir()) / "secretshare-bench-handlers.log"
        self.file = self.path.open("w")

    @contextmanager
    def captured(self) -> Iterator[None]:
        from secretshare.runtime.observability import logger  # imported with the handlers

        handler = logger.registered_handler
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(self.file)  # type: ignore[arg-type]
        with redirect_stdout(self.file):
            yield
        self.file.flush()

    def levels(self) -> Counter[str]:
        """Log lines per level so far."""
        found: Counter[str] = Counter()
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "level" in record:
                found[record["level"]] += 1
        return found


class PoolOverflow(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection": more threads than a client's pool."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        pool_logger = logging.getLogger("urllib3.connectionpool")
        pool_logger.addHandler(self)
        pool_logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.count += 1


def tag_change_event(secret_arn: str, tags: dict[str, str]) -> dict[str, Any]:
    """The "Tag Change on Resource" event EventBridge puts on the queue for a tag edit (events/tag-change.json)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Tag Change on Resource",
        "source": "aws.tag",
        "account": PRODUCER,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [secret_arn],
        "detail": {
            "changed-tag-keys": ["share-with"],
            "service": "secretsmanager",
            "resource-type": "secret",
            "version": 2,
            "tags": tags,
        },
    }


def queue_events(sqs: Any, queue_url: str, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(event), "MessageGroupId": MESSAGE_GROUP_ID}
            for i, event in enumerate(events[start : start + 10])
        ]
        assert not sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")


def queue_depth(sqs: Any, queue_url: str) -> int:
    found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(found["ApproximateNumberOfMessages"]) + int(found["ApproximateNumberOfMessagesNotVisible"])


def status_of(secrets: Any, arn: str) -> str | None:
    tags = secrets.describe_secret(SecretId=arn).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == "share-with-status"), None)


def share_with(secrets: Any, arn: str) -> list[str]:
    tags = secrets.describe_secret(SecretId=arn).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == "share-with"), "").split()


# --- the sweep -------------------------------------------------------------------------------------------------------


def sweep_figures(secrets: int, output: HandlerOutput) -> dict[str, Any]:
    """The sweep function over `secrets` shared secrets (1 to 5 of 500 consumer accounts each), invoked as the sweep
    queue invokes it until the sweep is complete."""
    accounts = consumer_accounts()
    config = function_config("SweepFunction")
    with estate_server(shared=secrets) as server:
        plain = boto3.Session(region_name=REGION)
        sqs = plain.client("sqs")
        queues = make_queues(sqs)
        handler_environment(accounts, queues)
        latency = AwsLatency(handlers_session(), PRODUCER)
        overflow = PoolOverflow()
        sweep_app = load_handler("sweep")
        chunk_ends: list[float] = []
        queue_drifted = sweep_app.enqueue_reconciliations

        def timed(arns: Any, *args: Any, **kwargs: Any) -> int:
            chunk_ends.append(time.monotonic())  # the handler queues each chunk's drifted secrets as it ends
            return queue_drifted(arns, *args, **kwargs)

        sweep_app.enqueue_reconciliations = timed
        server.stats()
        started, cpu_started = time.monotonic(), time.process_time()
        request: dict[str, Any] = {"resume_after": ""}
        invocations = []
        try:
            while True:
                context = Context(function_name="secretshare-SweepFunction", timeout_s=config["timeout_s"])
                began = time.monotonic()
                with output.captured():
                    response = sweep_app.handler({"Records": [{"body": json.dumps(request)}]}, context)
                invocations.append({**response, "seconds": round(time.monotonic() - began, 1)})
                if response["resume_after"] is None:
                    break
                (message,) = sqs.receive_message(QueueUrl=queues.sweep, MaxNumberOfMessages=1)["Messages"]
                sqs.delete_message(QueueUrl=queues.sweep, ReceiptHandle=message["ReceiptHandle"])
                request = json.loads(message["Body"])
        finally:
            sweep_app.enqueue_reconciliations = queue_drifted
        wall = time.monotonic() - started
        cpu = time.process_time() - cpu_started
        tally = latency.take()
        emulator = server.stats()
        build = server.figures
    fixed = sum(
        n
        for op, n in tally.calls.items()
        if op in ("secretsmanager.ListSecrets", "resourcegroupstaggingapi.GetResources", "sts.AssumeRole")
        or op.startswith("sqs.")
    )
    chunks = [round(b - a, 1) for a, b in zip([started, *chunk_ends], chunk_ends, strict=False)]
    steady = chunks[1:] or chunks
    steady_rate = 200 * len(steady) / sum(steady) if steady and sum(steady) else 0.0
    lambda_vcpu = config["memory_mb"] / MB_PER_VCPU
    usable = config["timeout_s"] - safety_seconds()
    figures: dict[str, Any] = {
        "secrets": secrets,
        "accounts": len(accounts),
        "consumers_per_secret": build["consumers_per_shared_secret"],
        "estate_build_s": build["build_s"],
        "seconds": round(wall, 1),
        "invocations": len(invocations),
        "invocation_details": invocations,
        "checked": sum(i["checked"] for i in invocations),
        "queued_as_drifted": sum(i["queued"] for i in invocations),
        "function_timeout_s": config["timeout_s"],
        "usable_s_per_invocation": usable,
        "calls_per_secret": round((sum(tally.calls.values()) - fixed) / secrets, 2),
        "chunk_seconds_first": chunks[0] if chunks else None,
        "chunk_seconds_median_after_first": statistics.median(steady) if steady else None,
        "steady_secrets_per_s": round(steady_rate, 1),
        "client_cpu_s": round(cpu, 1),
        "lambda_memory_mb": config["memory_mb"],
        "lambda_vcpu": round(lambda_vcpu, 2),
        "cpu_bound_seconds_on_lambda_estimate": round(cpu / lambda_vcpu, 0),
        "connections_discarded_pool_full": overflow.count,
        "emulator": emulator,
        **tally.as_dict(),
    }
    if secrets < ESTATE_SECRETS:
        # Linear in the secrets, the whole run scaled (conservative: the 500 AssumeRoles do not grow with them).
        scale = ESTATE_SECRETS / secrets
        figures["extrapolated_to"] = ESTATE_SECRETS
        figures["extrapolated_seconds"] = round(wall * scale, 0)
        figures["extrapolated_cpu_bound_seconds_on_lambda"] = round(cpu * scale / lambda_vcpu, 0)
    return figures


# --- the reconcile function behind the FIFO queue ---------------------------------------------------------------------


@dataclass
class Record:
    secret: str
    started: float
    ended: float
    outcome: dict[str, Any]


class ReconcilePipeline:
    """The reconcile function behind its FIFO queue: Lambda's event source played against moto's queue."""

    def __init__(self, server: Server, accounts: list[str], output: HandlerOutput) -> None:
        self.server = server
        self.output = output
        plain = boto3.Session(region_name=REGION)
        self.secrets = plain.client("secretsmanager")  # the person's view
        self.sqs = plain.client("sqs")  # EventBridge putting events on the queue
        self.queues = make_queues(self.sqs)
        handler_environment(accounts, self.queues)
        session = handlers_session()
        self.latency = AwsLatency(session, PRODUCER)  # first: its throttling answers win over moto's
        self.faults = AwsFaults(session, PRODUCER)
        poller = boto3.Session(region_name=REGION)
        self.poller_latency = AwsLatency(poller, PRODUCER)
        self.poller = poller.client("sqs")  # Lambda's event source mapping: latency too, not counted
        self.app = load_handler("reconcile")
        self.config = function_config("ReconcileFunction")
        self.records: list[Record] = []
        reconcile_request = self.app.reconcile_request

        def timed(request: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            started = time.monotonic()
            outcome = reconcile_request(request, *args, **kwargs)
            self.records.append(Record(request.secret_id, started, time.monotonic(), outcome))
            return outcome

        self.app.reconcile_request = timed

    def drain(self, max_seconds: float = 1800) -> tuple[float, int]:
        """Deliver batches until the queue is empty; the wall time and the number of invocations."""
        started = time.monotonic()
        invocations = 0
        while time.monotonic() - started < max_seconds:
            context = Context(function_name="secretshare-ReconcileFunction", timeout_s=self.config["timeout_s"])
            with self.output.captured():
                delivered = deliver_once(self.poller, self.queues.reconcile, self.app.handler, context)
            if not delivered:
                if queue_depth(self.sqs, self.queues.reconcile) == 0:
                    break
                time.sleep(0.05)
                continue
            invocations += 1
        return time.monotonic() - started, invocations

    def create_secret(self, name: str, share_with: str) -> str:
        return self.secrets.create_secret(
            Name=name, SecretString="v", Tags=[{"Key": "share-with", "Value": share_with}]
        )["ARN"]

    def dead_lettered(self) -> int:
        return queue_depth(self.sqs, self.queues.dead_letter)


def failing_secret_figures(pipeline: ReconcilePipeline, accounts: list[str]) -> dict[str, Any]:
    """A secret that keeps failing queued first, a tag change of another behind it: how long the other waits."""
    b, c, d = accounts[:3]
    scenarios: list[tuple[str, Callable[[str], Any]]] = [
        (
            "consumer account refuses AssumeRole",
            lambda failing: pipeline.faults.deny("sts.AssumeRole", "not authorized", when=lambda p: c in p["RoleArn"]),
        ),
        (
            "a call in A answers 500 (PutResourcePolicy)",
            lambda failing: pipeline.faults.fail(
                "secretsmanager.PutResourcePolicy",
                "InternalServiceError",
                "An error occurred on the server side.",
                status=500,
                when=lambda p: p["SecretId"] == failing,
            ),
        ),
    ]
    results = {}
    for n, (name, inject) in enumerate(scenarios):
        failing = pipeline.create_secret(f"bench/failing-{n}", f"{b} {c}")
        other = pipeline.create_secret(f"bench/other-{n}", d)
        fault = inject(failing)
        pipeline.latency.take()
        pipeline.records.clear()
        dead_before = pipeline.dead_lettered()
        queue_events(pipeline.sqs, pipeline.queues.reconcile, [tag_change_event(failing, {"share-with": f"{b} {c}"})])
        queued_at = time.monotonic()
        queue_events(pipeline.sqs, pipeline.queues.reconcile, [tag_change_event(other, {"share-with": d})])
        wall, invocations = pipeline.drain()
        pipeline.faults.remove(fault)
        tally = pipeline.latency.take()
        converged = next(r for r in pipeline.records if r.secret == other)
        attempts = [r for r in pipeline.records if r.secret == failing]
        results[name] = {
            "other_converged_after_s": round(converged.ended - queued_at, 2),
            "other_reconcile_s": round(converged.ended - converged.started, 2),
            "other_status": status_of(pipeline.secrets, other),
            "failing_attempts_s": [round(r.ended - r.started, 2) for r in attempts],
            "failing_outcome": attempts[-1].outcome.get("then"),
            "failing_status": status_of(pipeline.secrets, failing),
            "dead_lettered": pipeline.dead_lettered() - dead_before,
            "drain_s": round(wall, 1),
            "invocations": invocations,
            **tally.as_dict(),
        }
    return results


def granted_accounts(session: boto3.Session, secret_arn: str) -> tuple[set[str], set[str]]:
    """The accounts the secret's resource policy grants, and those its key's policy grants the secret to, as the
    policies AWS holds say (read through a plain session, not counted)."""
    secrets, kms = session.client("secretsmanager"), session.client("kms")
    text = secrets.get_resource_policy(SecretId=secret_arn).get("ResourcePolicy")
    resource = {account for statement in _statements(text) for account in _accounts(statement)}
    key_id = secrets.describe_secret(SecretId=secret_arn).get("KmsKeyId")
    key = set()
    if key_id and not key_id.startswith("alias/aws/"):
        policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
        key = {
            account
            for statement in _statements(policy)
            if statement.get("Effect") == "Allow" and secret_arn in json.dumps(statement.get("Condition", {}))
            for account in _accounts(statement)
        }
    return resource, key


def _statements(text: str | None) -> list[dict[str, Any]]:
    return [s for s in json.loads(text)["Statement"] if str(s.get("Sid", "")).startswith("SecretShare")] if text else []


def _accounts(statement: dict[str, Any]) -> set[str]:
    principals = statement.get("Principal", {}).get("AWS", [])
    return {arn.split(":")[4] for arn in ([principals] if isinstance(principals, str) else principals)}


def burst_figures(pipeline: ReconcilePipeline, accounts: list[str], changes: int) -> dict[str, Any]:
    """`changes` tag changes of different secrets (BURST_MIX) queued at once, drained through the reconcile function."""
    import random

    rng = random.Random(13)
    manifest = pipeline.server.manifest
    counts = {kind: round(changes * share) for kind, share in BURST_MIX.items()}
    counts["new share"] = changes - sum(n for kind, n in counts.items() if kind != "new share")
    unshared, shared = iter(manifest["unshared"]), iter(manifest["shared"])
    secrets = pipeline.secrets
    edits: list[tuple[str, str, str | None]] = []  # (kind, secret, new share-with value or None: tag removed)
    for kind, count in counts.items():
        for _ in range(count):
            if kind == "new share":
                edits.append((kind, next(unshared), " ".join(rng.sample(accounts, rng.randint(1, 5)))))
                continue
            arn = next(shared)
            current = share_with(secrets, arn)
            if kind == "consumer added":
                edits.append((kind, arn, " ".join([*current, rng.choice([a for a in accounts if a not in current])])))
            elif kind == "consumer removed" and len(current) > 1:
                edits.append((kind, arn, " ".join(current[1:])))
            else:
                edits.append(("share removed", arn, None))
    events = []
    for _, arn, value in edits:  # the person's edits, then EventBridge's events
        if value is None:
            secrets.untag_resource(SecretId=arn, TagKeys=["share-with"])
        else:
            secrets.tag_resource(SecretId=arn, Tags=[{"Key": "share-with", "Value": value}])
        events.append(tag_change_event(arn, {"share-with": value} if value else {}))
    pipeline.latency.take()
    pipeline.records.clear()
    pipeline.server.stats()
    dead_before = pipeline.dead_lettered()
    queue_events(pipeline.sqs, pipeline.queues.reconcile, events)
    cpu_started = time.process_time()
    drained_from = time.monotonic()
    wall, invocations = pipeline.drain()
    cpu = time.process_time() - cpu_started
    tally = pipeline.latency.take()
    emulator = pipeline.server.stats()
    failed = [r for r in pipeline.records if "failed" in r.outcome]
    converged = wrong = 0
    plain = boto3.Session(region_name=REGION)
    for _, arn, value in edits:
        status = status_of(secrets, arn)
        converged += status is None if value is None else bool(status and status.startswith("ok"))
        wanted = set(value.split()) if value else set()
        wrong += granted_accounts(plain, arn) != (wanted, wanted)
    vcpu = pipeline.config["memory_mb"] / MB_PER_VCPU
    durations = sorted(r.ended - r.started for r in pipeline.records)
    mix = Counter(kind for kind, _, _ in edits)
    floor = quota_floor(mix)
    new_shares = {arn for kind, arn, _ in edits if kind == "new share"}
    new_shares_done = max((r.ended for r in pipeline.records if r.secret in new_shares), default=drained_from)
    new_share_seconds = new_shares_done - drained_from
    onboarding_floor = quota_floor(Counter({"new share": ONBOARDING}))
    onboarding_estimate = new_share_seconds * ONBOARDING / max(1, len(new_shares))
    return {
        "changes": changes,
        "key_mode": KEY_MODE,
        "mix": dict(mix),
        "seconds": round(wall, 1),
        "floor_s": floor["seconds"],
        "binding_quota": floor["binding_quota"],
        "ratio_to_floor": round(wall / floor["seconds"], 2),
        "grants_not_as_tagged": wrong,
        "new_shares_seconds": round(new_share_seconds, 1),
        "onboarding": {
            "secrets": ONBOARDING,
            "estimated_s": round(onboarding_estimate, 0),
            "floor_s": onboarding_floor["seconds"],
            "ratio_to_floor": round(onboarding_estimate / onboarding_floor["seconds"], 2),
            "from": f"the burst's {len(new_shares)} new shares (queued first), scaled: an ESTIMATE, not measured",
        },
        "changes_per_s": round(changes / wall, 2),
        "invocations": invocations,
        "reconciliations": len(pipeline.records),
        "failed_reconciliations": len(failed),
        "dead_lettered": pipeline.dead_lettered() - dead_before,
        "converged": converged,
        "calls_per_change": round(sum(tally.calls.values()) / changes, 2),
        "reconcile_median_s": round(statistics.median(durations), 3) if durations else None,
        "reconcile_p95_s": round(durations[int(len(durations) * 0.95)], 3) if durations else None,
        "client_cpu_s": round(cpu, 1),
        "client_cpu_ms_per_change": round(cpu / changes * 1000, 1),
        "lambda_memory_mb": pipeline.config["memory_mb"],
        "cpu_bound_seconds_on_lambda_estimate": round(cpu / vcpu, 0),
        "emulator": emulator,
        **tally.as_dict(),
    }


def reconcile_figures(burst: int, output: HandlerOutput) -> dict[str, Any]:
    """The failing-secret and burst figures, on one estate: `burst` secrets to change, 35% of them already shared."""
    accounts = consumer_accounts()
    shared = round(burst * (1 - BURST_MIX["new share"]))
    with estate_server(shared=shared, unshared=burst - shared) as server:
        pipeline = ReconcilePipeline(server, accounts, output)
        return {
            "failing_secret": failing_secret_figures(pipeline, accounts),
            "burst": burst_figures(pipeline, accounts, burst),
        }


def quotas() -> list[dict[str, Any]]:
    return [{"quota": q.name, "per_second": q.per_second, "source": q.source, "binding": q in BINDING} for q in QUOTAS]
