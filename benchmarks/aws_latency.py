"""Real-AWS latency and request quotas at the botocore boundary, for the real-latency figures of `make bench`.

`AwsLatency` listens on one boto3 session's `before-send` event, which fires once per HTTP attempt inside botocore's
retry loop (as tests/support/faults.py does), and on `before-parse`, which fires once the attempt's response is in.
Every attempt takes at least LATENCY from send to response: the emulator's own time counts towards it and only the
rest is slept, so an attempt costs what a call to AWS costs (an emulator slower than that shows as `overrun`).

Each attempt of a quota-bound operation takes a token from a bucket per (account, region, quota). An attempt that
finds its bucket empty never reaches the emulator: after the same latency it is answered with AWS's throttling
error (HTTP 400, `ThrottlingException`, as Secrets Manager, KMS and SSM word it), which botocore parses into the
exception AWS raises, so its adaptive retry mode backs off and paces the client exactly as it would against AWS.
The account of a call is that of its credentials: A's, or a consumer's learnt from the AssumeRole that made them.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from support.faults import aws_response

LATENCY = 0.025  # seconds per HTTP attempt, send to response


@dataclass(frozen=True)
class Quota:
    """A request quota per account and region: operations sharing one token bucket, refilled at `per_second`."""

    name: str
    operations: frozenset[str]  # "<service>.<Operation>", botocore's service name ("secretsmanager.GetResourcePolicy")
    per_second: float
    source: str


def _ops(service: str, *names: str) -> frozenset[str]:
    return frozenset(f"{service}.{name}" for name in names)


# The quotas of docs/aws-facts.md §10, per account and region. The first three are the ones that bind for
# secretshare (the list); the rest are there so that nothing runs faster than AWS would let it. AWS
# documents no burst for these: a bucket holds one second of its quota.
QUOTAS = (
    Quota(
        "Secrets Manager resource-policy calls",
        _ops(
            "secretsmanager", "GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy", "ValidateResourcePolicy"
        ),
        50,
        "documented, not adjustable",
    ),
    Quota("KMS PutKeyPolicy", _ops("kms", "PutKeyPolicy"), 15, "documented (2023 page)"),
    Quota(
        "SSM PutParameter",
        _ops("ssm", "PutParameter"),
        3,
        "the issue's figure; NOT VERIFIED (docs/aws-facts.md §10 found no number)",
    ),
    Quota("KMS CreateKey", _ops("kms", "CreateKey"), 5, "documented (2023 page)"),
    Quota("KMS CreateAlias/UpdateAlias", _ops("kms", "CreateAlias", "UpdateAlias"), 5, "documented (2023 page)"),
    Quota("KMS DescribeKey", _ops("kms", "DescribeKey"), 2_000, "documented (2023 page)"),
    Quota("KMS GetKeyPolicy", _ops("kms", "GetKeyPolicy"), 1_000, "documented (2023 page)"),
    Quota(
        "Secrets Manager DescribeSecret/GetSecretValue",
        _ops("secretsmanager", "DescribeSecret", "GetSecretValue"),
        10_000,
        "documented",
    ),
    Quota(
        "Secrets Manager ListSecrets/ListSecretVersionIds",
        _ops("secretsmanager", "ListSecrets", "ListSecretVersionIds"),
        50,
        "2022 figure, not verified today",
    ),
    Quota(
        "Secrets Manager TagResource/UntagResource",
        _ops("secretsmanager", "TagResource", "UntagResource"),
        50,
        "2022 figure, not verified today",
    ),
    Quota(
        "SSM GetParameter(s)",
        _ops("ssm", "GetParameter", "GetParameters", "GetParametersByPath"),
        40,
        "third-party 2022 quote of the standard throughput; not verified",
    ),
)
BINDING = QUOTAS[:3]


class _Bucket:
    """A token bucket holding one second of its quota."""

    def __init__(self, per_second: float) -> None:
        self.rate = per_second
        self.tokens = per_second
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class Tally:
    """What one stretch of work cost at the boundary."""

    calls: Counter[str] = field(default_factory=Counter)  # per operation, however often each was retried
    attempts: Counter[str] = field(default_factory=Counter)  # HTTP attempts per operation
    throttled: Counter[str] = field(default_factory=Counter)  # attempts answered ThrottlingException, per operation
    slept: float = 0.0  # latency slept, summed over every attempt (they overlap when threads run in parallel)
    overrun: float = 0.0  # time the emulator took beyond LATENCY, summed over attempts
    overrun_attempts: int = 0
    clients_created: int = 0  # botocore clients made on the session (each costs CPU: about 10 ms here)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": sum(self.calls.values()),
            "attempts": sum(self.attempts.values()),
            "throttled": sum(self.throttled.values()),
            "calls_by_operation": dict(sorted(self.calls.items())),
            "throttled_by_operation": dict(sorted(self.throttled.items())),
            "latency_slept_s": round(self.slept, 1),
            "emulator_overrun_s": round(self.overrun, 2),
            "emulator_overrun_attempts": self.overrun_attempts,
            "clients_created": self.clients_created,
        }


class AwsLatency:
    """Latency and quotas on one boto3 session. Install before the session makes its clients, and before any fault
    injector on the same session (the first response a `before-send` handler returns is the one botocore uses)."""

    def __init__(
        self,
        session: boto3.Session,
        producer_account: str,
        *,
        latency: float = LATENCY,
        quotas: tuple[Quota, ...] = QUOTAS,
    ) -> None:
        self.latency = latency
        self.producer_account = producer_account
        self._quota_of = {operation: quota for quota in quotas for operation in quota.operations}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._accounts: dict[str, str] = {}  # access key id -> account, learnt from AssumeRole
        self.tally = Tally()
        self.throttled_by_quota: Counter[str] = Counter()
        session.events.register("creating-client-class", self._count_client)
        session.events.register("before-call", self._count_call)
        session.events.register("before-send", self._send)
        # The time to the response counts from the moment the request leaves, after the client's own handlers: adaptive
        # retry mode's rate limiter waits in `before-send` too, and that wait is the client's, not the emulator's.
        session.events.register_last("before-send", self._stamp)
        session.events.register("before-parse", self._received)
        session.events.register("before-call.sts.AssumeRole", self._remember_role)
        session.events.register("after-call.sts.AssumeRole", self._learn_account)

    def take(self) -> Tally:
        """What was counted since the last take (and start counting afresh)."""
        with self._lock:
            taken, self.tally = self.tally, Tally()
        return taken

    # --- botocore event handlers ---------------------------------------------------------------------------------

    def _count_client(self, **_: Any) -> None:
        with self._lock:
            self.tally.clients_created += 1

    def _count_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.tally.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        self._local.started = time.monotonic()
        operation = _operation(event_name)
        quota = self._quota_of.get(operation)
        with self._lock:
            self.tally.attempts[operation] += 1
        if quota is None or self._bucket(quota, request).take():
            return None  # on to the emulator; `_received` makes up the rest of the latency
        with self._lock:
            self.tally.throttled[operation] += 1
            self.throttled_by_quota[quota.name] += 1
        return aws_response(request, 400, {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}})

    def _stamp(self, **_: Any) -> None:
        self._local.started = time.monotonic()

    def _received(self, **_: Any) -> None:
        elapsed = time.monotonic() - getattr(self._local, "started", time.monotonic())
        rest = self.latency - elapsed
        if rest > 0:
            time.sleep(rest)
        with self._lock:
            self.tally.slept += max(rest, 0.0)
            if rest < 0:
                self.tally.overrun -= rest
                self.tally.overrun_attempts += 1

    def _remember_role(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["assumed_role_arn"] = params["body"]["RoleArn"]

    def _learn_account(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Credentials" in parsed:
            self._accounts[parsed["Credentials"]["AccessKeyId"]] = context["assumed_role_arn"].split(":")[4]

    def _bucket(self, quota: Quota, request: AWSPreparedRequest) -> _Bucket:
        authorization = _text(request.headers.get("Authorization", b""))
        # SigV4: Credential=<access key>/<date>/<region>/<service>/aws4_request
        found = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/", authorization)
        access_key, region = found.groups() if found else ("", "")
        account = self._accounts.get(access_key, self.producer_account)
        key = (account, region, quota.name)
        with self._lock:
            if key not in self._buckets:
                self._buckets[key] = _Bucket(quota.per_second)
            return self._buckets[key]


def _operation(event_name: str) -> str:
    # "before-send.secrets-manager.PutResourcePolicy" -> "secretsmanager.PutResourcePolicy"
    _, service_id, name = event_name.split(".", 2)
    return f"{service_id.replace('-', '')}.{name}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
