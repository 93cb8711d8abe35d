"""The sweep: find every secret that needs a look, check each read-only, and report which are out of sync.

The candidates are every secret carrying a share tag and every secret named by our statements on a key that
carries our tag (so untagged and deleted secrets get their grants revoked). Their cost grows with the shared
secrets, not with every secret of the account: ListSecrets is filtered by tag key, and only keys tagged
`secretshare-grants` are read.

The sweep works through the candidates in ARN order, a chunk at a time, and hands each chunk's results to the
caller as it goes (the sweep function queues the drifted ones at once). Given a deadline, it stops before a chunk
it would not finish and says where to resume: a sweep cut short loses nothing and repeats at most one chunk.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from ..domain.events import MESSAGE_GROUP_ID, reconcile_request
from ..domain.grants import Grant, Reader, cross_account_grants, readers
from ..domain.keypolicy import names_for_cleanup
from ..domain.names import GRANTS_TAG_KEY
from ..domain.policy import statements
from ..domain.settings import Settings
from ..domain.sharetag import has_share_tag, tag_value
from ..gateway import Aws, Clients
from .plan import Plan, plan_reconciliation
from .read import KeyIndex, read_state

logger = logging.getLogger("secretshare")

SWEEP_SOURCE = "secretshare.sweep"
SWEEP_DETAIL_TYPE = "Scheduled Reconciliation"
# Parallel checks and key reads. At real latency (tens of ms a call) a worker checks a few secrets a second; 16 of
# them reach the binding quota (resource-policy calls, 50 per second per region: docs/aws-facts.md §10) and
# botocore's adaptive retries pace them there.
SWEEP_WORKERS = 16
# Secrets checked between two looks at the deadline and two hand-overs to the caller.
SWEEP_CHUNK = 200
# A sweep's request names at most this many keys for its secret (an SQS message holds 256 KB).
_MAX_KEYS_NAMING = 50


@dataclass(frozen=True)
class SecretCheck:
    """One secret as the sweep found it: the plan a reconciliation would apply now, or why it could not be checked
    (neither: a replica whose primary is in another region, left to the stack there)."""

    arn: str
    plan: Plan | None = None
    error: str | None = None
    # Every grant to read the secret from another account, ours and others' (what `status` shows).
    grants: tuple[Grant, ...] = ()
    on_customer_managed_key: bool = False
    # The keys whose policy names the secret: its reconciliation reads them too (a pool key is not found by tag).
    keys_naming: tuple[str, ...] = ()

    @property
    def readers(self) -> tuple[Reader, ...]:
        """Each principal of another account the grants name, and whether both policies let it read."""
        return readers(self.grants, self.on_customer_managed_key)

    @property
    def drifted(self) -> bool:
        """True when a reconciliation would change something (or must retry a consumer account, or could not
        even be planned: then the reconciliation retries and alarms)."""
        if self.plan is None:
            return self.error is not None
        return not self.plan.is_noop or bool(self.plan.unreachable)


@dataclass(frozen=True)
class SweepReport:
    """What a sweep found, in ARN order; `resume_after` is the last secret checked when it was cut short."""

    checks: tuple[SecretCheck, ...] = ()
    resume_after: str | None = None

    @property
    def checked(self) -> tuple[str, ...]:
        """Every secret checked."""
        return tuple(check.arn for check in self.checks)

    @property
    def drifted(self) -> tuple[str, ...]:
        """Secrets whose reconciliation would change something."""
        return tuple(check.arn for check in self.checks if check.plan is not None and check.drifted)

    @property
    def errors(self) -> dict[str, str]:
        """Secrets that could not be checked, and why."""
        return {check.arn: check.error for check in self.checks if check.error is not None}

    @property
    def to_reconcile(self) -> tuple[str, ...]:
        """Secrets to queue: drifted ones, and those whose check failed (the reconcile retries and alarms)."""
        return tuple(check.arn for check in self.checks if check.drifted)

    @property
    def complete(self) -> bool:
        """False when the deadline stopped the sweep before its last candidate."""
        return self.resume_after is None


def secrets_to_reconcile(
    *, settings: Settings, session: boto3.Session | None = None, clients: Clients | None = None
) -> list[str]:
    """ARNs of every secret that is tagged, or that a key of ours still grants on (untagged or deleted)."""
    aws = Aws(settings, clients or Clients(session or boto3.Session()))
    key_index = _key_index(aws)
    return sorted(_tagged_secrets(aws) | _secrets_granted_on(aws, key_index).keys())


def sweep(
    *,
    settings: Settings,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
    now: datetime | None = None,
    after: str = "",
    deadline: float | None = None,
    on_chunk: Callable[[tuple[SecretCheck, ...]], None] | None = None,
    with_grants: bool = False,
) -> SweepReport:
    """Check every candidate after `after` (ARN order), read-only, and report each one as it stands at `now`
    (`with_grants`: with every cross-account grant its policies hold, for `status`).

    A time-boxed share past its `share-until` is out of sync, so the sweep enforces expiry on its own. `on_chunk`
    receives the checks of each chunk as soon as it is done (for queuing, or a progress bar). `deadline` is a
    `time.monotonic()` moment: no chunk is started that, at the pace of the chunks before it, would end after it.

    One AWS context serves the whole sweep, so each key's policy is read once and each consumer role is assumed
    once. Each candidate is described (ListSecrets does not show replicas, docs/aws-facts.md §7), so a replica
    whose event was missed is found too.
    """
    aws = Aws(settings, clients or Clients(session or boto3.Session()))
    moment = now or datetime.now(UTC)
    key_index = _key_index(aws)
    granted_on = _secrets_granted_on(aws, key_index)
    pending = [arn for arn in sorted(_tagged_secrets(aws) | granted_on.keys()) if arn > after]
    checks: list[SecretCheck] = []
    slowest = 0.0
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS) as pool:
        for start in range(0, len(pending), SWEEP_CHUNK):
            if deadline is not None and checks and time.monotonic() + 1.5 * slowest > deadline:
                return SweepReport(tuple(checks), resume_after=checks[-1].arn)
            began = time.monotonic()
            chunk = pending[start : start + SWEEP_CHUNK]
            done = tuple(
                pool.map(lambda arn: _check(aws, arn, key_index, granted_on.get(arn, ()), moment, with_grants), chunk)
            )
            slowest = max(slowest, time.monotonic() - began)
            checks += done
            if on_chunk:
                on_chunk(done)
    return SweepReport(tuple(checks))


def _check(
    aws: Aws, arn: str, key_index: KeyIndex, keys_naming: Iterable[str], now: datetime, with_grants: bool = False
) -> SecretCheck:
    """The secret's plan at `now`, or why it could not be made; `keys_naming` are the keys whose policy names it.

    Any failure is this secret's alone: it is reported (and the secret queued, so its reconciliation retries and
    alarms), never allowed to stop the sweep.
    """
    try:
        keys_naming = tuple(sorted(keys_naming))
        state, share = read_state(aws, arn, key_index=key_index, hinted_keys=keys_naming)
        if state.exists and state.location.region != aws.region:
            return SecretCheck(arn)  # a replica here: the stack of its primary's region sees to it
        plan = plan_reconciliation(state, share, aws.settings, now=now)
        if not with_grants:
            return SecretCheck(arn, plan, keys_naming=keys_naming)
        key_policy = state.key.policy if state.key else None
        grants = cross_account_grants(state.resource_policy, key_policy, state.arn, state.location.account)
        on_key = state.key is not None
        return SecretCheck(arn, plan, grants=grants, on_customer_managed_key=on_key, keys_naming=keys_naming)
    except Exception as err:
        logger.exception("sweep: secret %s could not be checked: %s", arn, err)
        return SecretCheck(arn, error=f"{type(err).__name__}: {err}")


def _key_index(aws: Aws) -> KeyIndex:
    region = aws.region
    return {region: aws.tagging.tagged_keys(GRANTS_TAG_KEY, [], region)}


def _tagged_secrets(aws: Aws) -> set[str]:
    """Secrets carrying a share tag or our status tag (scheduled-for-deletion ones too) whose primary is in this
    region. A status left on a secret whose share tags are gone (its entries were all rejected, say, so nothing is
    granted) is ours to remove."""
    settings = aws.settings
    region = aws.region
    return {
        secret["ARN"]
        # The filter matches by prefix: `share-with` finds `share-with-status` too, and `share-without`, whose
        # secrets are left out here. A replica of a secret whose primary is in another region is reconciled there,
        # with its primary.
        for secret in aws.secrets.tagged(settings.share_tag_key)
        if _ours(secret.get("Tags", []), settings) and secret.get("PrimaryRegion", region) == region
    }


def _ours(tags: list[dict], settings: Settings) -> bool:
    return has_share_tag(tags, settings.share_tag_key) or tag_value(tags, settings.status_tag_key) is not None


def _secrets_granted_on(aws: Aws, key_index: KeyIndex) -> dict[str, set[str]]:
    """Secret ARN -> the keys our grants and cleanup markers name it on, among the keys that carry our tag and
    SHARED_KEY_ARN (a pool key is not tagged per secret: the check of each secret is told which name it).

    The policies are read in parallel (one per key: the checks after reuse them). A key A cannot read is logged and
    skipped: the other keys are still swept.
    """
    region = aws.region
    keys = key_index.get(region, {})
    key_arns = sorted(set(keys) | ({aws.settings.shared_key_arn} if aws.settings.shared_key_arn else set()))
    found: dict[str, set[str]] = {}
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS) as pool:
        for key_arn, named in zip(key_arns, pool.map(lambda key: _named_on(aws, key, region), key_arns), strict=True):
            for secret_arn in named:
                found.setdefault(secret_arn, set()).add(key_arn)
    return found


def _named_on(aws: Aws, key_arn: str, region: str) -> set[str]:
    try:
        policy = aws.kms.key_policy(key_arn, region)
    except Exception as err:
        logger.error("sweep: key %s could not be read: %s", key_arn, err)
        return set()
    return {arn for statement in statements(policy) for arn in names_for_cleanup(statement)}


def hand_over(report: SweepReport, *, settings: Settings, clients: Clients) -> None:
    """Queue the rest of a sweep cut short (from `report.resume_after`) on SWEEP_QUEUE_URL, for the next invocation.

    Standard SQS: the hand-over is delivered at least once, and a sweep of the same range twice only checks twice.
    """
    if report.complete:
        return
    if not settings.sweep_queue_url:
        logger.warning(
            "sweep stopped after %s and SWEEP_QUEUE_URL is not set: the next sweep checks the rest", report.resume_after
        )
        return
    Aws(settings, clients).queues.send_message(
        settings.sweep_queue_url, json.dumps({"resume_after": report.resume_after})
    )


def sweep_message(secret_arn: str, keys_naming: Iterable[str] = ()) -> dict:
    """The EventBridge-shaped event the sweep queues for one secret, with the keys whose policy names it."""
    keys = sorted(keys_naming)
    return reconcile_request(secret_arn, SWEEP_SOURCE, SWEEP_DETAIL_TYPE, {"keys_naming": keys} if keys else None)


def keys_naming_of(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys a sweep's request says name the secret (our own message; the reconciliation reads only those that
    are pool keys of its account, so anything else in it is ignored)."""
    detail = event.get("detail")
    found = detail.get("keys_naming") if isinstance(detail, Mapping) and event.get("source") == SWEEP_SOURCE else None
    if not isinstance(found, list):
        return ()
    return tuple(key for key in found[:_MAX_KEYS_NAMING] if isinstance(key, str) and key.startswith("arn:"))


def enqueue_reconciliations(
    secret_arns: Iterable[str],
    queue_url: str,
    *,
    settings: Settings,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
    keys_naming: Mapping[str, Iterable[str]] | None = None,
) -> int:
    """Queue one reconcile message per secret on the FIFO queue, with the keys naming it; return how many were
    sent."""
    aws = Aws(settings, clients or Clients(session or boto3.Session()))
    naming = keys_naming or {}
    bodies = [json.dumps(sweep_message(arn, naming.get(arn, ()))) for arn in secret_arns]
    aws.queues.send_messages(queue_url, bodies, MESSAGE_GROUP_ID)
    return len(bodies)
