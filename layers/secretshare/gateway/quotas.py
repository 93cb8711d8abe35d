"""AWS's request quotas that a burst of reconciliations reaches, paced on our side instead of being throttled.

A batch's reconciliations run at once (functions/reconcile/app.py), and a burst of new shares asks for keys faster than
KMS makes them. Throttled, a call is retried after a backoff, and adaptive retry mode (base.CLIENT_CONFIG) then slows
every call of that client, PutKeyPolicy and DescribeKey too: `make bench` saw CreateAlias wait half a second on the
KMS client's own rate limiter after CreateKey was throttled. So the calls bound by a low quota wait here for their
turn, at the quota's rate, before they are made.

The quotas are per account and Region ("Each request quota is calculated independently", docs/aws-facts.md §10). KMS
counts requests "in a second": "if users in your account submit 1000 DescribeKey requests in a second, AWS KMS
throttles all subsequent DescribeKey requests in that second" (KMS developer guide, "Throttling AWS KMS requests"),
so a second's worth may go at once. The pace is per process: a warm function keeps it from one invocation to the next.
Other work in the account shares the same quotas; what it takes still comes back as throttling, which the retries
absorb.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Replaced by the tests, which make no real waits.
sleep = time.sleep


@dataclass(frozen=True)
class RequestQuota:
    """Operations (botocore's service name and operation name) that share one per-second quota, and its source."""

    name: str
    operations: frozenset[tuple[str, str]]
    per_second: float
    source: str


_KMS_QUOTAS = "KMS developer guide, request quotas (docs/aws-facts.md §10)"
# The quotas a burst of reconciliations reaches, each paced here.
PACED = (
    RequestQuota("KMS CreateKey", frozenset({("kms", "CreateKey")}), 5, _KMS_QUOTAS),
    RequestQuota(
        "KMS CreateAlias and UpdateAlias",
        frozenset({("kms", "CreateAlias"), ("kms", "UpdateAlias")}),
        5,
        _KMS_QUOTAS,
    ),
    RequestQuota(
        "KMS PutKeyPolicy",
        frozenset({("kms", "PutKeyPolicy")}),
        15,
        _KMS_QUOTAS,
    ),
    RequestQuota(
        "Secrets Manager resource-policy calls",
        frozenset(
            ("secretsmanager", name)
            for name in ("GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy", "ValidateResourcePolicy")
        ),
        50,
        "Secrets Manager user guide, quotas: 50 per second, not adjustable (docs/aws-facts.md §10)",
    ),
)


class Pace:
    """Calls at most `per_second` a second, a second's worth at once (the generic cell rate algorithm: each call is
    given the earliest moment that keeps the rate, and waits for it)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1 / per_second
        self.burst = (per_second - 1) * self.interval  # how far ahead of the rate a call may go
        self.clock = clock
        self._next = 0.0  # when the rate allows the next call, had none gone early
        self._lock = threading.Lock()

    def turn(self) -> float:
        """Take the next turn; the seconds to wait for it."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next - self.burst)
            self._next = max(self._next, start) + self.interval
            return round(start - now, 6)  # not a wait of a rounding error


_paces: dict[tuple[str, str], Pace] = {}
_paces_lock = threading.Lock()


def pace_of(quota: RequestQuota, region: str) -> Pace:
    """The process's pace for a quota in a Region."""
    with _paces_lock:
        return _paces.setdefault((quota.name, region), Pace(quota.per_second))


def pace_calls(client: Any) -> None:
    """Make each call of a quota-bound operation on this client (account A's) wait for its turn first."""
    service = client.meta.service_model.service_name
    event_service = client.meta.service_model.service_id.hyphenize()
    region = client.meta.region_name or ""
    for quota in PACED:
        for quota_service, operation in quota.operations:
            if quota_service == service:
                client.meta.events.register(f"before-call.{event_service}.{operation}", _waiter(quota, region))


def _waiter(quota: RequestQuota, region: str) -> Callable[..., None]:
    def wait_for_turn(**_: Any) -> None:
        wait = pace_of(quota, region).turn()
        if wait > 0:
            sleep(wait)

    return wait_for_turn
