"""One reconciliation: read, plan, apply, report. The entry point is `reconcile_secret`.

The phases live in their own modules (`read`, `plan`, `apply`); this one is the loop around them: it plans
again when applying found something the plan could not know (a principal AWS refuses, a parameter that
could not be deleted), and it reports failures on the secret itself.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.consumers import principals_of
from ..domain.errors import (
    AwsCallFailed,
    DeletedPrincipalInKeyPolicy,
    PolicyRejected,
    ReconcileFailed,
    SecretShareError,
)
from ..domain.keypolicy import probe_statement
from ..domain.policy import render, statements
from ..domain.settings import Settings
from ..domain.sharetag import RejectedEntry, tag_value
from ..domain.status import error_value
from ..gateway import Aws, Clients, KeyClaim, error_code, failed_action
from ..gateway.base import is_new_pool_key_lock, new_pool_key_lock
from .apply import apply_change, apply_grants, delete_revoked_parameters
from .changes import ProbePrincipal, PutKeyPolicy, SetStatusTag
from .plan import Plan, plan_reconciliation
from .read import read_state, region_of
from .state import SecretState

logger = logging.getLogger("secretshare")


@dataclass(frozen=True)
class ReconcileResult:
    """What a reconciliation planned and, unless it was a dry run, applied."""

    plan: Plan
    applied: bool
    key_arn: str | None
    # The consumer accounts that failed (could not be read, written, or cleaned up), each with why.
    failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def secret_arn(self) -> str:
        """The secret's ARN (a partial ARN when the secret is gone and was named by name)."""
        return self.plan.secret_arn

    @property
    def consumers(self) -> tuple[str, ...]:
        """Principals the secret is shared with once the plan is applied."""
        return self.plan.consumers

    @property
    def rejected(self) -> tuple[RejectedEntry, ...]:
        """Tag entries that grant nothing, each with its reason."""
        return self.plan.rejected

    @property
    def changes(self) -> list[str]:
        """The plan's changes, one readable line each."""
        return self.plan.describe()


def reconcile_secret(
    secret_id: str,
    *,
    settings: Settings,
    dry_run: bool = False,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
    now: datetime | None = None,
    made_keys: Sequence[str] = (),
    hinted_keys: Sequence[str] = (),
    own_region_only: bool = False,
) -> ReconcileResult:
    """Bring a secret's KMS key policies, resource policy and consumer parameters in line with its tags.

    `secret_id` is a name, full ARN or partial ARN; `settings` are the deployment's (`Settings.from_env()` in the
    functions, the command line's own). A dry run reads but never writes. Pass the same
    `clients` to every reconciliation of one invocation to reuse clients and assumed roles. `now` is the
    moment a `share-until` is compared with (default: the clock). Raises ReconcileFailed (carrying the
    partial result) when a consumer account could not be written, AwsCallFailed when a call in account A failed
    (naming the call, AWS's reason and the fix; `transient` when trying again soon may work), and the other
    SecretShareErrors for what secretshare itself refuses. Either way the secret's status tag says how it went.
    `made_keys` are keys an earlier attempt made before it failed (`AwsCallFailed.made_keys`): they are adopted.
    `hinted_keys` are keys the sweep found naming the secret (`SecretCheck.keys_naming`): a pool key among them is
    read too.
    `own_region_only` (a stack's function): a secret whose primary is in another region than the session's (a
    replica's event) is left to the stack of that region, as the sweep leaves it; nothing is written.
    """
    clients = clients or Clients(session or boto3.Session())
    now = now or datetime.now(UTC)
    made_now: list[str] = []  # keys this reconciliation creates
    try:
        try:
            return _reconcile(
                secret_id,
                dry_run=dry_run,
                settings=settings,
                clients=clients,
                now=now,
                made=(made_keys, made_now),
                hinted=hinted_keys,
                own_region_only=own_region_only,
            )
        except (ClientError, BotoCoreError) as err:
            raise aws_call_failed(secret_id, err, (*made_keys, *made_now)) from err
    except SecretShareError as err:
        if not isinstance(err, ReconcileFailed):  # a consumer account's failure is logged where it happens
            named = str(err) if secret_id in str(err) else f"secret {secret_id}: {err}"
            logger.error("reconciliation failed: %s", named)
            if not dry_run:
                _report_failure(Aws(settings, clients), secret_id, err)
        raise


def aws_call_failed(secret_id: str, err: ClientError | BotoCoreError, made_keys: tuple[str, ...] = ()) -> AwsCallFailed:
    """An AWS error in account A as the failure a person can act on: the call, AWS's reason, whether to wait."""
    if isinstance(err, BotoCoreError):
        return AwsCallFailed(secret_id, "", "aws-unreachable", str(err), transient=True, made_keys=made_keys)
    error = err.response.get("Error", {})
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    code = error_code(err) or "error"
    transient = status >= 500 or "Throttl" in code or code in ("RequestLimitExceeded", "TooManyRequestsException")
    # A key made moments ago that KMS cannot find yet is eventual consistency, not a missing key (docs/aws-facts.md
    # §17): trying again soon finds it.
    transient = transient or (code == "NotFoundException" and bool(made_keys))
    message = error.get("Message", str(err))
    return AwsCallFailed(secret_id, failed_action(err), code, message, transient=transient, made_keys=made_keys)


def _reconcile(
    secret_id: str,
    *,
    dry_run: bool,
    settings: Settings,
    clients: Clients,
    now: datetime,
    made: tuple[Sequence[str], list[str]],
    hinted: Sequence[str],
    own_region_only: bool,
) -> ReconcileResult:
    """The loop: read, plan, and (holding the lock of every key policy the plan writes) apply; read and plan again
    when the plan turns out to rest on a read another reconciliation of this invocation has since made stale."""
    made_before, made_now = made
    refused: dict[str, str] = {}
    rejection: ClientError | None = None
    read_again = True
    with clients.key_policies.claim() as claim:
        while True:  # ends: each probe refuses one more of the finitely many consumers, or raises; see `stale`
            if read_again:
                seen = clients.key_policies.writes()
                aws = Aws(settings, clients, made_now)
                state, share = read_state(aws, secret_id, made_keys=(*made_before, *made_now), hinted_keys=hinted)
            read_again = True
            plan = plan_reconciliation(state, share.refusing(refused), settings, now=now)
            if own_region_only and state.exists and state.location.region != aws.region:
                note = f"a replica here: the stack of {state.location.region}, its primary's region, reconciles it"
                return ReconcileResult(replace(plan, changes=(), notes=(note,)), applied=False, key_arn=plan.key_arn)
            if dry_run:
                _log_rejected(plan)
                return ReconcileResult(plan, applied=False, key_arn=plan.key_arn, failures=dict(plan.unreachable))
            stale = _stale(plan, claim, seen)
            if stale and not any(map(is_new_pool_key_lock, stale)):
                # Only key policies another reconciliation wrote since: read them again (under their locks), keep the
                # rest of the read; a pool key made since needs the whole read (the pool keys it may join).
                # What is known of a key is as recent as its read: only the keys read again count as seen anew.
                written = clients.key_policies.writes()
                seen = Counter({**seen, **{arn: written[arn] for arn in stale}})
                state = _with_policies_read_again(aws, state, stale)
                read_again = False
                continue
            if stale:
                continue
            if rejection is not None:
                refused |= _refused_principals(aws, plan, rejection)
                rejection = None
                plan = plan_reconciliation(state, share.refusing(refused), settings, now=now)
            _log_rejected(plan)
            try:
                undeleted = delete_revoked_parameters(aws, plan)
                if undeleted:
                    # The key policy written next keeps a cleanup marker naming these accounts.
                    plan = plan_reconciliation(
                        state, share.refusing(refused), settings, now=now, undeletable=frozenset(undeleted)
                    )
                applied = apply_grants(aws, plan, undeleted, keys_written=claim.release)
            except ClientError as err:
                if error_code(err) != "MalformedPolicyDocumentException":
                    raise
                rejection = err  # read again (a key just made now exists) and ask KMS about each principal
                continue
            result = ReconcileResult(
                plan, applied=True, key_arn=applied.key_arns[plan.region], failures=applied.failures
            )
            if plan.jammed:
                raise DeletedPrincipalInKeyPolicy(plan.secret_arn, list(plan.jammed))
            if applied.failures:
                raise ReconcileFailed(plan.secret_arn, applied.failures, result)
            return result


def _stale(plan: Plan, claim: KeyClaim, seen: Counter[str]) -> frozenset[str]:
    """Hold the lock of every existing key whose policy the plan writes; the keys among them whose policy another
    reconciliation wrote after this one read it, so the plan must be made again from a fresh read (which then runs
    under the locks). A key the plan creates is nobody else's yet; but one pool key is made at a time in a
    region, so a plan that would make one while another reconciliation made one since it read reads again."""
    pool_keys = [new_pool_key_lock(copy.region) for copy in plan.copies if copy.new_key and not copy.new_key.alias]
    claim.cover([*(change.key_arn for change in plan.of(PutKeyPolicy) if change.key_arn), *pool_keys])
    return claim.locks.written_since(seen, claim.held)


def _with_policies_read_again(aws: Aws, state: SecretState, key_arns: Iterable[str]) -> SecretState:
    return state.with_policies({arn: aws.kms.key_policy(arn, region_of(arn) or "", fresh=True) for arn in key_arns})


def _log_rejected(plan: Plan) -> None:
    for entry in plan.rejected:
        logger.warning("secret %s: rejected share entry %r: %s", plan.secret_arn, entry.entry, entry.reason)


def _report_failure(aws: Aws, secret_id: str, err: SecretShareError) -> None:
    """Put `error <what failed>` in the status tag of a secret whose reconciliation failed as a whole.

    Best effort: the failure itself is what the caller reports (log line, metric, alarm).
    """
    try:
        region = region_of(secret_id) or aws.region
        description = aws.secrets.describe(secret_id, region)
        if description is None or "DeletedDate" in description:
            return
        key = aws.settings.status_tag_key
        value = error_value(err.status_code)
        if tag_value(description.get("Tags", []), key) == value:
            return
        arn = description["ARN"]
        apply_change(aws, arn, SetStatusTag(arn, region_of(arn) or region, key, value))
    except (ClientError, BotoCoreError) as tag_error:
        logger.warning("secret %s: could not write the status tag: %s", secret_id, tag_error)


def _refused_principals(aws: Aws, plan: Plan, rejection: ClientError) -> dict[str, str]:
    """The consumers AWS refuses, each with AWS's reason: a principal that does not exist makes KMS reject the whole
    policy (docs/aws-facts.md §6). Roles and users are named in a condition, which KMS does not check, so only an
    account can still be refused (an id that was never an account): each account root the key's current policy does
    not already name is put, alone, in a statement that grants nothing (`keypolicy.probe_statement`) added to that
    policy: KMS accepts the write or says why not. The plan's own write follows. Raises PolicyRejected when none is
    singled out.
    """
    change = next((c for c in plan.of(PutKeyPolicy) if c.key_arn), None)
    if change is None or change.key_arn is None:
        raise PolicyRejected(f"AWS rejected a policy for secret {plan.secret_arn}: {rejection}") from rejection
    # Only what a statement names as its Principal can be refused: account roots (a role or user is named in a
    # condition, which KMS does not check), never `*`. A root refused refuses every consumer of that account.
    accepted = set().union(*map(principals_of, statements(change.before)))
    asked = sorted({c.principal for c in plan.consumers if c.principal != "*"} - accepted)
    refused_roots: dict[str, str] = {}
    for principal in asked:
        probe = {
            **change.before,
            "Statement": [*statements(change.before), probe_statement(plan.secret_arn, principal)],
        }
        try:
            apply_change(aws, plan.secret_arn, ProbePrincipal(change.key_arn, change.region, principal, render(probe)))
        except ClientError as err:
            if error_code(err) != "MalformedPolicyDocumentException":
                raise
            refused_roots[principal] = err.response.get("Error", {}).get("Message", "malformed policy")
            logger.error(
                "secret %s: AWS rejected principal %s: %s", plan.secret_arn, principal, refused_roots[principal]
            )
    refused = {c: refused_roots[c.principal] for c in plan.consumers if c.principal in refused_roots}
    if not refused:
        raise PolicyRejected(
            f"AWS rejected a policy for secret {plan.secret_arn}: {rejection} (KMS accepts every consumer on its own)"
        ) from rejection
    return refused
