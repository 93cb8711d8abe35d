"""The sweep: find every secret that needs a look, so drift and missed events get repaired.

Its cost grows with the number of shared secrets, not with all secrets in the account: it lists only
tagged secrets (the tag-key filter matches `share-with` and `share-with/...` by prefix) and reads the
policies of only the keys that hold secretshare statements (tagged `secretshare-grants` when the first
statement is written, found with one tagging-API query).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ClientError

from .arns import parse_arn
from .aws import Aws, Clients
from .errors import SecretShareError
from .events import MESSAGE_GROUP_ID, reconcile_request
from .keypolicy import granted_secret_arns
from .names import GRANTS_TAG_KEY, is_ours
from .plan import SecretState, plan_reconciliation
from .policy import statements
from .read import KeyIndex, read_state
from .settings import Settings
from .sharetag import has_share_tag

logger = logging.getLogger("secretshare")

SWEEP_SOURCE = "secretshare.sweep"
SWEEP_DETAIL_TYPE = "Scheduled Reconciliation"
# Parallel checks: 10,000 shared secrets then fit a Lambda's 15 minutes, and adaptive retries pace the reads
# at the per-account quotas (GetResourcePolicy, 50 per second, is the tightest).
SWEEP_WORKERS = 8


@dataclass(frozen=True)
class SweepReport:
    """What a sweep found: every secret it checked, those out of sync, and those it could not check."""

    checked: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def to_reconcile(self) -> tuple[str, ...]:
        """Secrets to queue: drifted ones, and those whose check failed (the reconcile retries and alarms)."""
        return tuple(sorted({*self.drifted, *self.errors}))


def secrets_to_reconcile(*, settings: Settings | None = None, session: boto3.Session | None = None) -> list[str]:
    """ARNs of every secret that is tagged, or that a key of ours still grants on (untagged or deleted)."""
    aws = Aws(settings or Settings.from_env(), Clients(session or boto3.Session()))
    region = aws.session.region_name or ""
    granted = _secrets_granted_on(aws, aws.tagged_keys(GRANTS_TAG_KEY, [], region), region)
    return sorted(_tagged_secrets(aws).keys() | granted)


def sweep(
    *,
    settings: Settings | None = None,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
    now: datetime | None = None,
) -> SweepReport:
    """Check every secret that needs a look, read-only, and report which ones are out of sync at `now`.

    A time-boxed share past its `share-until` is out of sync, so the sweep enforces expiry on its own.

    One AWS context serves the whole sweep, so each key's policy is read once and each consumer
    role is assumed once; ListSecrets already describes each tagged secret. An in-sync secret costs its
    resource policy, its key metadata when not yet read, and one parameter read per consumer account.
    """
    settings = settings or Settings.from_env()
    aws = Aws(settings, clients or Clients(session or boto3.Session()))
    moment = now or datetime.now(UTC)
    tagged = _tagged_secrets(aws)
    region = aws.session.region_name or ""
    key_index = {region: aws.tagged_keys(GRANTS_TAG_KEY, [], region)}
    candidates = sorted(tagged.keys() | _secrets_granted_on(aws, key_index[region], region))
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS) as pool:
        checked = pool.map(lambda arn: _check(aws, arn, tagged.get(arn), key_index, moment), candidates)
        verdicts = dict(zip(candidates, checked, strict=True))
    drifted = tuple(arn for arn, verdict in verdicts.items() if verdict is True)
    errors = {arn: verdict for arn, verdict in verdicts.items() if isinstance(verdict, str)}
    return SweepReport(tuple(candidates), drifted, errors)


def _check(aws: Aws, arn: str, description: dict | None, key_index: KeyIndex, now: datetime) -> bool | str:
    """True when the secret is out of sync, False when in sync, or why it could not be checked.

    Any failure is this secret's alone: it is reported (and the secret queued, so its reconciliation retries and
    alarms), never allowed to stop the sweep.
    """
    try:
        state, share = read_state(aws, arn, description, key_index)
        if description and _names_other_regions(state):
            # ListSecrets does not list replicas; the published policy names some: describe the secret.
            state, share = read_state(aws, arn, key_index=key_index)
        if state.exists and state.location.region != aws.session.region_name:
            return False  # a replica here (its key holds our grant): the stack of its primary's region sees to it
        plan = plan_reconciliation(state, share, aws.settings, now=now)
    except Exception as err:
        logger.exception("sweep: secret %s could not be checked: %s", arn, err)
        return f"{type(err).__name__}: {err}"
    return not plan.is_noop or bool(plan.unreachable)


def _names_other_regions(state: SecretState) -> bool:
    """True when a key found through the published consumer policy is in another region than the secret."""
    regions = {arn.region for key in state.other_keys if (arn := parse_arn(key.arn))}
    return bool(regions - {state.location.region})


def _tagged_secrets(aws: Aws) -> dict[str, dict]:
    """Secrets carrying a share tag, as ListSecrets describes them (with scheduled-for-deletion ones)."""
    tag_key = aws.settings.share_tag_key
    region = aws.session.region_name
    return {
        secret["ARN"]: secret
        for secret in aws.tagged_secrets(tag_key)
        # The filter matches by prefix, so `share-without` would match too: keep exact keys only. A replica of
        # a secret whose primary is in another region is reconciled there, with its primary.
        if has_share_tag(secret.get("Tags", []), tag_key) and secret.get("PrimaryRegion", region) == region
    }


def _secrets_granted_on(aws: Aws, keys: Mapping[str, Mapping[str, str]], region: str) -> set[str]:
    """Secret ARNs named in our statements (grants and cleanup markers) on the keys that carry our tag, and on
    SHARED_KEY_ARN. A key A cannot read is logged and skipped: the other keys are still swept."""
    key_arns = set(keys) | ({aws.settings.shared_key_arn} if aws.settings.shared_key_arn else set())
    found: set[str] = set()
    for key_arn in sorted(key_arns):
        try:
            policy = aws.key_policy(key_arn, region)
        except (SecretShareError, ClientError) as err:
            logger.error("sweep: key %s could not be read: %s", key_arn, err)
            continue
        found |= {
            arn for statement in statements(policy) if is_ours(statement) for arn in granted_secret_arns(statement)
        }
    return found


def sweep_message(secret_arn: str) -> dict:
    """The EventBridge-shaped event the sweep queues for one secret."""
    return reconcile_request(secret_arn, SWEEP_SOURCE, SWEEP_DETAIL_TYPE)


def enqueue_reconciliations(
    secret_arns: list[str],
    queue_url: str,
    *,
    settings: Settings | None = None,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
) -> int:
    """Queue one reconcile message per secret on the FIFO queue; return how many were sent."""
    aws = Aws(settings or Settings.from_env(), clients or Clients(session or boto3.Session()))
    aws.send_messages(queue_url, [json.dumps(sweep_message(arn)) for arn in secret_arns], MESSAGE_GROUP_ID)
    return len(secret_arns)
