"""Run by bench.py in a process of its own: build an estate in moto, then serve it as moto's server does.

Building 10,000 shared secrets through HTTP would take longer than measuring them, so the estate is written straight
into moto's backends, by the library's own read, plan and apply (`DirectAws` does each call of `secretshare.gateway.Aws`
on the backends instead of through botocore): every key, key policy, resource policy, parameter and status tag is
exactly what a reconciliation leaves. The sweep that follows, over HTTP, checks each secret and finds none drifted.
Two shortcuts keep the emulator from being the bottleneck, neither touching what it answers: moto's KMS makes an RSA
key pair for every key, symmetric ones too (55 ms each), so all keys get one pair; and moto's server lists its own
package directory on every request to find the service (about 180 stat calls, 1 ms), so that list is made once.

Prints one JSON line once it listens (the build's figures, and `manifest`: the ARNs of each group of secrets), then
serves until its standard input closes. `GET /_bench/stats` answers how long moto itself took over the requests since
the last such call, and the CPU time of this process: what of an attempt's time was the emulator's.

    estate_server.py --port 5000 --accounts 500 --shared 10000 [--unshared 650] [--seed 7]
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import moto.backends
import moto.kms.models
from moto.core.exceptions import JsonRESTError
from moto.kms.models import kms_backends
from moto.kms.utils import generate_private_key
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.secretsmanager.exceptions import SecretNotFoundException
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends
from werkzeug.serving import make_server

from secretshare.domain.names import GRANTS_TAG_KEY, MANAGED_BY_TAG
from secretshare.domain.settings import AllowList, Settings
from secretshare.gateway import Aws, Clients
from secretshare.gateway.consumer_accounts import ConsumerAccounts
from secretshare.gateway.kms import Kms
from secretshare.gateway.secretsmanager import SecretsManager
from secretshare.gateway.tagging import Tagging
from secretshare.reconciler.apply import apply_grants
from secretshare.reconciler.plan import plan_reconciliation
from secretshare.reconciler.read import read_state

REGION = "eu-west-1"
PRODUCER = "123456789012"  # moto's default account: the server's calls with any plain access key land in it


def consumer_accounts(count: int) -> list[str]:
    return [f"{200000000000 + i:012d}" for i in range(count)]


class KeyTags:
    """Tags of the keys the build made, indexed by the grants tag's value (moto's tagging query scans every key)."""

    def __init__(self) -> None:
        self.tags: dict[str, dict[str, str]] = {}
        self.by_grants_value: dict[tuple[str, str], set[str]] = defaultdict(set)

    def set(self, key_arn: str, region: str, tags: dict[str, str]) -> None:
        old = self.tags.get(key_arn, {})
        if GRANTS_TAG_KEY in old:
            self.by_grants_value[(region, old[GRANTS_TAG_KEY])].discard(key_arn)
        self.tags[key_arn] = {**old, **tags}
        if GRANTS_TAG_KEY in self.tags[key_arn]:
            self.by_grants_value[(region, self.tags[key_arn][GRANTS_TAG_KEY])].add(key_arn)


KEY_TAGS = KeyTags()


def _secrets(region: str | None) -> Any:
    return secretsmanager_backends[PRODUCER][region or REGION]


def _kms(region: str | None) -> Any:
    return kms_backends[PRODUCER][region or REGION]


class DirectSecrets(SecretsManager):
    def describe(self, secret_id: str, region: str | None) -> dict | None:
        try:
            found = _secrets(region).describe_secret(secret_id).to_dict()
        except SecretNotFoundException:
            return None
        return {key: value for key, value in found.items() if value is not None}  # as botocore parses it

    def resource_policy(self, secret_arn: str, region: str) -> dict | None:
        text = json.loads(_secrets(region).get_resource_policy(secret_arn)).get("ResourcePolicy")
        return json.loads(text) if text else None

    def set_key(self, secret_arn: str, key_arn: str, region: str) -> None:
        _secrets(region).describe_secret(secret_arn).kms_key_id = key_arn

    def put_resource_policy(self, secret_arn: str, policy: str, region: str) -> None:
        _secrets(region).put_resource_policy(secret_arn, policy)

    def delete_resource_policy(self, secret_arn: str, region: str) -> None:
        _secrets(region).delete_resource_policy(secret_arn)

    def set_tag(self, secret_arn: str, key: str, value: str | None, region: str) -> None:
        if value is None:
            _secrets(region).untag_resource(secret_arn, [key])
        else:
            _secrets(region).tag_resource(secret_arn, {key: value})


class DirectKms(Kms):
    def describe_key(self, key_id: str, region: str) -> dict | None:
        try:
            return _kms(region).describe_key(key_id).to_dict()["KeyMetadata"]
        except (KeyError, AttributeError, JsonRESTError):
            return None  # a key, or an alias, that does not exist

    def key_policy(self, key_arn: str, region: str) -> dict:
        if key_arn not in self._policies:
            self._policies[key_arn] = json.loads(_kms(region).get_key_policy(key_arn))
        return self._policies[key_arn]

    def create_key(self, description: str, policy: str, tags: Mapping[str, str], region: str) -> str:
        key = _kms(region).create_key(
            policy,
            "ENCRYPT_DECRYPT",
            "SYMMETRIC_DEFAULT",
            description,
            [{"TagKey": tag, "TagValue": value} for tag, value in tags.items()],
        )
        KEY_TAGS.set(key.arn, region, dict(tags))
        return key.arn

    def tags(self, key_arn: str, region: str) -> dict[str, str]:
        return dict(KEY_TAGS.tags[key_arn])

    def create_alias(self, alias: str, key_arn: str, region: str) -> None:
        _kms(region).create_alias(key_arn, alias)

    def tag_key(self, key_arn: str, tag: str, value: str, region: str) -> None:
        _kms(region).tag_resource(key_arn, {tag: value})
        KEY_TAGS.set(key_arn, region, {tag: value})

    def put_key_policy(self, key_arn: str, policy: str, region: str) -> None:
        _kms(region).put_key_policy(key_arn, policy)
        self._policies[key_arn] = json.loads(policy)


class DirectTagging(Tagging):
    def tagged_keys(self, tag: str, values: list[str], region: str) -> dict[str, dict[str, str]]:
        assert tag == GRANTS_TAG_KEY and values, "the build only looks keys up by the grants tag's value"
        arns = set().union(*(KEY_TAGS.by_grants_value[(region, value)] for value in values))
        return {arn: dict(KEY_TAGS.tags[arn]) for arn in arns}


class DirectConsumers(ConsumerAccounts):
    def read_parameter(self, account: str, name: str, partition: str, region: str) -> str | None:
        found = ssm_backends[account][region].get_parameter(name)
        return found.value if found else None

    def write_parameter(
        self,
        account: str,
        name: str,
        value: str,
        description: str,
        *,
        exists: bool | None,
        partition: str,
        region: str,
    ) -> None:
        ssm = ssm_backends[account][region]
        overwrite = bool(exists) or ssm.get_parameter(name) is not None
        tags = [] if overwrite else [{"Key": MANAGED_BY_TAG[0], "Value": MANAGED_BY_TAG[1]}]
        ssm.put_parameter(name, description, value, "String", None, None, overwrite, tags, "text", None, None)

    def delete_parameter(self, account: str, name: str, partition: str, region: str) -> None:
        ssm_backends[account][region].delete_parameter(name)


class NoBotocore(Clients):
    """Clients the build must never use: every call it makes goes to the backends."""

    def get(self, service: str, region: str | None, identity: str = "", **credentials: str) -> Any:
        raise AssertionError(f"the estate build made a {service} call through botocore")


class DirectAws(Aws):
    """`Aws` with every call the build needs made on moto's backends. Any other call fails loudly: no HTTP here."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.secrets = DirectSecrets(self.settings, self.clients)
        self.kms = DirectKms(self.settings, self.clients)
        self.tagging = DirectTagging(self.settings, self.clients)
        self.consumers = DirectConsumers(self.settings, self.clients)


def reconcile_directly(arn: str, settings: Settings, clients: Clients, now: datetime) -> None:
    """One reconciliation as `reconcile_secret` makes it (read, plan, apply), on the backends."""
    aws = DirectAws(settings, clients)
    state, share = read_state(aws, arn)
    plan = plan_reconciliation(state, share, settings, now=now)
    applied = apply_grants(aws, plan, {})
    assert not applied.failures, applied.failures


def in_sync(arn: str, settings: Settings, clients: Clients, now: datetime) -> bool:
    aws = DirectAws(settings, clients)
    state, share = read_state(aws, arn)
    plan = plan_reconciliation(state, share, settings, now=now)
    return plan.is_noop and not plan.unreachable


def build(accounts: list[str], shared: int, unshared: int, seed: int) -> dict[str, Any]:
    """`shared` secrets tagged with 1 to 5 of `accounts` (3 on average) and reconciled, and `unshared` ones."""
    rng = random.Random(seed)
    settings = Settings(allowed_consumers=AllowList.parse(" ".join(accounts)))
    clients = NoBotocore(boto3.Session(region_name=REGION))
    secrets = secretsmanager_backends[PRODUCER][REGION]
    now = datetime.now(UTC)
    started = time.perf_counter()

    def create(name: str, share_with: str | None) -> str:
        tags = [{"Key": "share-with", "Value": share_with}] if share_with else None
        return json.loads(secrets.create_secret(name, "v", None, None, tags, None, None, [], False))["ARN"]

    shared_arns = []
    consumers = 0
    for i in range(shared):
        chosen = rng.sample(accounts, rng.randint(1, 5))
        consumers += len(chosen)
        arn = create(f"estate/app-{i:05d}/db-password", " ".join(chosen))
        reconcile_directly(arn, settings, clients, now)
        shared_arns.append(arn)
    unshared_arns = [create(f"estate/unshared-{i:05d}/api-key", None) for i in range(unshared)]
    sample = rng.sample(shared_arns, min(20, len(shared_arns)))
    return {
        "build_s": round(time.perf_counter() - started, 1),
        "accounts": len(accounts),
        "shared": shared,
        "unshared": unshared,
        "consumers_per_shared_secret": round(consumers / shared, 2) if shared else 0,
        "sample_in_sync": sum(in_sync(arn, settings, clients, now) for arn in sample),
        "sample_size": len(sample),
        "manifest": {"shared": shared_arns, "unshared": unshared_arns},
    }


class ReadWriteLock:
    """Requests that only look one thing up at once; any other alone (a writer waiting goes before new readers)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                self._changed.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            self._writers_waiting += 1
            self._changed.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()


class Timed:
    """moto's WSGI application, timing each request from its start to its last byte of response.

    moto's backends are not thread-safe: a tagging query iterating the keys while another thread created one failed
    with "dictionary changed size during iteration" (the reconcile function reconciles ten secrets at once). So a
    request that looks one thing up (a JSON service's Get or Describe) runs beside others of its kind, and any other
    request (a write, a list, the tagging query) runs alone; `stats` says how busy moto was.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.access = ReadWriteLock()
        self.durations: list[float] = []
        self.by_operation: Counter[str] = Counter()
        self.cpu = time.process_time()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/_bench/stats":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(self.stats()).encode()]
        operation = _operation(environ)
        lookup = environ.get("HTTP_X_AMZ_TARGET") and operation.startswith(("Get", "Describe"))
        with self.access.reading() if lookup and operation != "GetResources" else self.access.writing():
            started = time.perf_counter()
            try:
                return list(self.app(environ, start_response))
            finally:
                took = time.perf_counter() - started
                with self.lock:
                    self.durations.append(took)
                    self.by_operation[operation] += took

    def stats(self) -> dict[str, Any]:
        with self.lock:
            durations, self.durations = sorted(self.durations), []
            by_operation, self.by_operation = self.by_operation, Counter()
            cpu, self.cpu = time.process_time() - self.cpu, time.process_time()
        if not durations:
            return {"requests": 0, "cpu_s": round(cpu, 1)}
        return {
            "requests": len(durations),
            "cpu_s": round(cpu, 1),
            "busy_s": round(sum(durations), 1),
            "median_ms": round(statistics.median(durations) * 1000, 1),
            "p95_ms": round(durations[int(len(durations) * 0.95)] * 1000, 1),
            "max_ms": round(durations[-1] * 1000, 1),
            "over_25ms": sum(d > 0.025 for d in durations),
            "seconds_by_operation": {name: round(took, 1) for name, took in by_operation.most_common(8)},
        }


def _operation(environ: dict) -> str:
    """The operation a request asks for: JSON services name it in X-Amz-Target; a query service (STS) in its body,
    which is not read here, so it counts under its path."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.rsplit(".", 1)[-1] if target else environ.get("PATH_INFO", "?")


def speed_up_moto() -> None:
    """The two shortcuts of the module's docstring, and no request log."""
    one_pair = generate_private_key("SYMMETRIC_DEFAULT")
    moto.kms.models.generate_private_key = lambda key_spec: one_pair  # type: ignore[assignment]
    modules = frozenset(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = functools.cache(lambda: modules)  # type: ignore[assignment]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--shared", type=int, default=0)
    parser.add_argument("--unshared", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    speed_up_moto()
    figures = build(consumer_accounts(args.accounts), args.shared, args.unshared, args.seed)
    app = Timed(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps(figures), flush=True)
    sys.stdin.read()  # until the parent closes it
    server.shutdown()


if __name__ == "__main__":
    main()
