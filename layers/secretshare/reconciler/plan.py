"""From what was read to what must change: the reconciliation plan. Pure: no boto3.

The plan is a value: printing it is the dry run, applying it is `apply.py`. Every policy document it writes is
serialized and size-checked here, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ..domain.arns import Arn
from ..domain.consumers import Consumer
from ..domain.errors import KeyNotUsable, ManagedSecretNotShareable
from ..domain.keypolicy import (
    KeyGrant,
    cleanup_marker_statement,
    deleted_principals,
    merge_key_policy,
    secret_grantees,
    with_account_use,
)
from ..domain.keypool import policy_bytes, pool_tag_value, takes_new_secret
from ..domain.names import (
    CONSUMER_READ_SID,
    GRANTS_TAG_KEY,
    MANAGED_BY_TAG,
    POOL_KEY_TAG_VALUE,
    SHARED_KEY_TAG_VALUE,
    dedicated_key_description,
    is_ours,
    key_alias,
    name_tag_value,
    pool_key_description,
)
from ..domain.policy import (
    KEY_POLICY_MAX_BYTES,
    RESOURCE_POLICY_MAX_CHARS,
    Document,
    Statement,
    check_size,
    consumer_policy,
    key_admin_statement,
    merge_statements,
    published_resources,
    render,
    resource_grant_statements,
    statements,
)
from ..domain.settings import Settings
from ..domain.sharetag import RejectedEntry, ShareTag, format_time, has_share_tag, tag_value
from ..domain.status import Outcome, status_value
from .changes import (
    Change,
    CreateAlias,
    CreateKey,
    DeleteParameter,
    MoveSecret,
    PublishParameter,
    PutKeyPolicy,
    ResourcePolicyChange,
    ScheduleChange,
    SetStatusTag,
    TagKey,
    in_write_order,
)
from .state import KeyState, SecretCopy, SecretState

_Kind = TypeVar("_Kind", bound=Change)


@dataclass(frozen=True)
class CopyPlan:
    """The key one copy of the secret (primary or replica) ends up on, and whether it must move there.

    `key_arn` is None while the key is still to be created (`new_key`); `create_alias` names the alias to make for
    an adopted key.
    """

    region: str
    secret_arn: str
    key_arn: str | None
    new_key: CreateKey | None = None
    create_alias: str | None = None
    repoint: bool = False
    previous_key_id: str | None = None


@dataclass(frozen=True)
class Plan:
    """What one reconciliation will do: `changes`, in the order they are made (empty: nothing to do), and what they
    achieve: the consumers granted, the key each copy of the secret ends up on, and the `outcome` the status tag
    reports (None: the tag stays as it is, since AWS refuses to tag a secret scheduled for deletion)."""

    secret_arn: str
    secret_name: str
    location: Arn
    consumers: tuple[Consumer, ...]
    previous_consumers: tuple[Consumer, ...]
    copies: tuple[CopyPlan, ...]
    changes: tuple[Change, ...] = ()
    parameter_name: str = ""
    unreachable: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    outcome: Outcome | None = None
    status_key: str = ""
    status_before: str | None = None
    # Keys whose policy cannot be changed (a statement we did not write names a deleted principal): why, for each.
    # The plan changes nothing there, nor moves a secret there; the reconciliation fails once the rest is applied.
    jammed: tuple[str, ...] = ()
    # The secret is scheduled for deletion: nobody can read it ("Secrets Manager immediately makes the secrets
    # inaccessible": Secrets Manager user guide, "Delete a secret"); its key grants and parameters are revoked.
    pending_deletion: bool = False

    @property
    def partition(self) -> str:
        """The secret's partition."""
        return self.location.partition

    @property
    def region(self) -> str:
        """The primary secret's region."""
        return self.location.region

    @property
    def producer_account(self) -> str:
        """Account A."""
        return self.location.account

    @property
    def is_noop(self) -> bool:
        """True when applying the plan would make no write call."""
        return not self.changes

    def of(self, kind: type[_Kind]) -> tuple[_Kind, ...]:
        """The plan's changes of one kind, in order."""
        return tuple(change for change in self.changes if isinstance(change, kind))

    def describe(self) -> list[str]:
        """One line per change, in the order they are made."""
        return [change.describe() for change in self.changes]

    @property
    def rejected(self) -> tuple[RejectedEntry, ...]:
        """Tag entries that grant nothing, each with its reason."""
        return self.outcome.rejected if self.outcome else ()

    @property
    def expired(self) -> bool:
        """True once a time-boxed share has ended (or its end date cannot be read)."""
        return bool(self.outcome and self.outcome.expired)

    @property
    def key_arn(self) -> str | None:
        """The key that encrypts the primary secret once the plan is applied (None: still to be created)."""
        return self.copies[0].key_arn

    @property
    def new_key(self) -> CreateKey | None:
        """The dedicated key to create for the primary secret, if any."""
        return self.copies[0].new_key

    @property
    def repoint_secret(self) -> bool:
        """True when the primary secret moves to another key (or to the same key named by its full ARN)."""
        return self.copies[0].repoint

    @property
    def status_after(self) -> str | None:
        """The status tag's value once the plan is applied, the unreachable accounts failing."""
        return self.status_with(self.unreachable)

    @property
    def status_changes(self) -> bool:
        """True when the status tag is written (or removed)."""
        return bool(self.of(SetStatusTag))

    def status_with(self, failed_accounts: Iterable[str]) -> str | None:
        """The status tag's value when these consumer accounts failed; None: no status tag."""
        if self.outcome is None:
            return self.status_before
        return status_value(replace(self.outcome, unreachable=tuple(sorted(failed_accounts))))

    def status_change(self, failed_accounts: Iterable[str]) -> SetStatusTag | None:
        """The status tag's write when these consumer accounts failed, None when the tag already says so."""
        value = self.status_with(failed_accounts)
        if value == self.status_before:
            return None
        return SetStatusTag(self.secret_arn, self.region, self.status_key, value)

    @property
    def grants_added(self) -> tuple[str, ...]:
        """Consumers the tag asks for that were not granted before."""
        return tuple(sorted(set(self.consumers) - set(self.previous_consumers)))

    @property
    def grants_revoked(self) -> tuple[str, ...]:
        """Consumers granted before that the tag no longer asks for."""
        return tuple(sorted(set(self.previous_consumers) - set(self.consumers)))

    def consumer_document(self, key_arns: Mapping[str, str]) -> str:
        """The consumer IAM policy JSON, as published in each consumer account; `key_arns` maps region to key."""
        return _consumer_document(self.copies, key_arns, self.partition)


def plan_reconciliation(
    state: SecretState,
    share: ShareTag,
    settings: Settings,
    *,
    now: datetime | None = None,
    undeletable: frozenset[str] = frozenset(),
) -> Plan:
    """Decide every change that brings the secret's grants to exactly what `share` asks for at `now`.

    `undeletable` names consumer accounts whose parameter could not be deleted in this run: the key
    policy then keeps a cleanup marker for them, so a later run or the sweep still finds them.
    Raises PolicyTooLarge when a document would not fit its AWS limit.
    """
    now = now or datetime.now(UTC)
    location = state.location
    consumers = share.consumers_at(now) if state.readable else ()
    previous = state.previous_consumers()
    wanted_accounts = state.accounts_of(consumers)
    revoked = sorted(state.previous_accounts() - wanted_accounts)
    deletes, kept = _parameter_deletes(state, revoked, undeletable)
    pending = sorted(set(revoked) - set(deletes) - set(kept) - _absent(state, revoked))
    marker = cleanup_marker_statement(state.arn, location.partition, pending) if pending else None
    # A time-boxed share's grants carry their end, which AWS enforces to the second (`policy.ending`).
    ends = format_time(share.until) if consumers and share.until else None
    copy_plans, key_changes, jammed = _key_plans(state, consumers, ends, marker)
    _check_movable(state, copy_plans)
    unshared = state.unshared_replicas if consumers else ()
    name = state.parameter_name
    unreachable = {a: r for a, r in state.unreachable.items() if a in wanted_accounts or a in pending}
    changes = (
        *(DeleteParameter(account, name) for account in deletes),
        *(copy.new_key for copy in copy_plans if copy.new_key),
        *(CreateAlias(c.region, c.create_alias, c.key_arn) for c in copy_plans if c.create_alias and c.key_arn),
        *key_changes,
        *_moves(copy_plans, location.region),
        *_optional(_resource_policy_change(state, consumers, ends)),
        *_parameter_writes(state, wanted_accounts, copy_plans, name),
        *_optional(_schedule_change(state, share, consumers, settings, now)),
    )
    outcome = Outcome(
        len(consumers),
        share.rejected,
        tuple(sorted(unreachable)),
        share.until,
        share.expired(now),
        tuple(sorted(r.region for r in unshared)),
        state.organization.listed if state.organization else None,
        tagged=has_share_tag(state.tags, settings.share_tag_key)
        or tag_value(state.tags, settings.share_until_tag_key) is not None,
    )
    plan = Plan(
        secret_arn=state.arn,
        secret_name=state.name,
        location=location,
        consumers=tuple(consumers),
        previous_consumers=tuple(sorted(previous)),
        copies=copy_plans,
        changes=in_write_order(change for change in changes if change is not None),
        parameter_name=name,
        unreachable=unreachable,
        notes=_notes(state, share, now)
        + tuple(jammed)
        + tuple(kept.values())
        + tuple(r.problem or "" for r in unshared)
        + _unpublished(state, consumers),
        outcome=outcome if state.readable else None,
        status_key=settings.status_tag_key,
        status_before=tag_value(state.tags, settings.status_tag_key),
        jammed=tuple(jammed),
        pending_deletion=state.exists and state.pending_deletion,
    )
    status = plan.status_change(plan.unreachable)
    return replace(plan, changes=(*plan.changes, status)) if status else plan


def _optional(change: Change | None) -> tuple[Change, ...]:
    return (change,) if change is not None else ()


def _moves(copies: tuple[CopyPlan, ...], primary_region: str) -> tuple[MoveSecret, ...]:
    """Each copy of the secret that moves to another key (or to the same key named by its full ARN)."""
    return tuple(
        MoveSecret(
            copy.region,
            copy.secret_arn,
            copy.key_arn,
            copy.previous_key_id,
            "secret" if copy.region == primary_region else f"replica in {copy.region}",
            copy.new_key.alias if copy.new_key else None,
        )
        for copy in copies
        if copy.repoint
    )


def _check_movable(state: SecretState, copies: tuple[CopyPlan, ...]) -> None:
    """A secret another service manages is shared only where it is: never moved to another key (AWS refuses, and
    RDS, for one, documents that its secret's key cannot be changed: docs/aws-facts.md §2)."""
    service = state.owning_service
    moving = next((copy for copy in copies if copy.repoint), None)
    if service and moving:
        reason = (
            "is on the AWS managed key, which other accounts cannot use"
            if moving.previous_key_id is None or "alias/aws/" in moving.previous_key_id
            else f"names its key as {moving.previous_key_id!r}, which other accounts would look up in their own"
        )
        raise ManagedSecretNotShareable(state.arn, service, reason)


def _unpublished(state: SecretState, consumers: Iterable[str]) -> tuple[str, ...]:
    """A note for each organization or OU consumer whose accounts A cannot list, so gets no parameter."""
    return tuple(
        f"{scope}: granted, but its accounts cannot be listed from {state.location.account} (ListAccounts answers "
        "the management account or a delegated administrator), so no consumer policy is published there; its "
        "accounts attach the policy `secretshare policy <secret>` prints"
        for scope in consumers
        if scope.accounts(state.scope_members) is None
    )


def _parameter_deletes(
    state: SecretState, revoked: list[str], undeletable: frozenset[str]
) -> tuple[list[str], dict[str, str]]:
    """Which revoked accounts' parameters to delete, and those left alone because they describe another secret.

    The parameter's name is the secret's name, which a recreated secret shares: it is deleted only when it
    describes the secret cleaned up (or was not read). What a consumer account holds is untrusted: a value that
    names nothing of ours is left as it is, never a reason to stop.
    """
    deletes: list[str] = []
    kept: dict[str, str] = {}
    for account in revoked:
        if account in undeletable or account in state.unreachable:
            continue
        if account not in state.parameters:
            deletes.append(account)
        elif (value := state.parameters[account]) is not None:
            if any(map(state.selects, published_resources(value, CONSUMER_READ_SID))):
                deletes.append(account)
            else:
                kept[account] = (
                    f"parameter in {account} left as it is: it no longer describes {state.arn} (another secret of "
                    "the same name, or edited in that account)"
                )
    return deletes, kept


def _absent(state: SecretState, accounts: Iterable[str]) -> set[str]:
    """Accounts whose parameter was read and is not there: nothing to clean up."""
    return {a for a in accounts if a in state.parameters and state.parameters[a] is None and a not in state.unreachable}


def _key_plans(
    state: SecretState, consumers: tuple[str, ...], ends: str | None, marker: Statement | None
) -> tuple[tuple[CopyPlan, ...], tuple[TagKey | PutKeyPolicy, ...], list[str]]:
    """Which key each copy ends up on, every key tag and key-policy change, and the keys whose policy cannot be
    changed (see `Plan.jammed`): each key carries the grant of the copy in its region that it holds, and every other
    key only loses ours for this secret. The cleanup marker goes on the primary's key (for a gone secret, on the first
    key that held our statements)."""
    copies = state.copies
    grants: dict[str, tuple[KeyGrant | None, Statement | None]] = {}
    copy_plans: list[CopyPlan] = []
    changes: list[PutKeyPolicy] = []
    holders: list[KeyState] = []
    for copy in copies:
        copy_marker = marker if copy is copies[0] else None
        grant = KeyGrant(copy.arn, consumers, ends) if consumers else None
        plan, holder = _copy_plan(state, copy, consumers, grant)
        copy_plans.append(plan)
        if plan.new_key:
            changes.append(_new_key_change(state, plan, grant, copy_marker))
        elif holder is not None:
            grants[holder.arn] = (grant, copy_marker)
            holders.append(holder)
    keys = {k.arn: k for k in (*state.keys, *holders)}
    placed = copy_plans[0].new_key is not None or any(m for _, m in grants.values())
    if marker and not placed and keys:
        first = next(iter(keys))
        grants[first] = (grants.get(first, (None, None))[0], marker)
    # The copies leaving the AWS managed key for a key secretshare did not make (SHARED_KEY_ARN), by key.
    moved: dict[str, list[str]] = {}
    for copy, plan in zip(copies, copy_plans, strict=True):
        if copy.key is None and plan.key_arn and plan.repoint:
            moved.setdefault(plan.key_arn, []).append(copy.arn)
    jammed: dict[str, str] = {}
    for key in keys.values():
        grant, key_marker = grants.get(key.arn, (None, None))
        change = _key_policy_change(key, state, grant, key_marker, moved=moved.get(key.arn, ()))
        found = deleted_principals(key.policy) if change else {}
        if found:
            jammed[key.arn] = _jammed(key.arn, found)
        elif change:
            changes.append(change)
    kept = [replace(plan, repoint=False) if plan.key_arn in jammed else plan for plan in copy_plans]
    return tuple(kept), (*_key_tag_changes(state, keys.values(), changes), *changes), list(jammed.values())


def _jammed(key_arn: str, found: Mapping[str, list[str]]) -> str:
    statements = ", ".join(f"{sid!r} names {' '.join(ids)}" for sid, ids in found.items())
    return (
        f"key {key_arn} cannot be changed: statement {statements}, the unique id AWS shows for a deleted principal, "
        "and KMS refuses every write of a key policy holding one. Fix: remove that principal (or the statement) from "
        "the key policy, then reconcile again; secretshare never edits a statement it did not write"
    )


def _copy_plan(
    state: SecretState, copy: SecretCopy, consumers: tuple[str, ...], grant: KeyGrant | None
) -> tuple[CopyPlan, KeyState | None]:
    """Which key one copy ends up on, and the existing key (if any) that carries its grant."""
    if not consumers:
        plan = CopyPlan(copy.region, copy.arn, copy.key.arn if copy.key else None, previous_key_id=copy.kms_key_id)
        return plan, copy.key
    current = None if _outgrows(state, copy.key, grant) else copy.key
    target = current or copy.target_key or _pool_key_for(state, copy, grant)
    if target is not None:
        alias = key_alias(state.name) if copy.key is None and copy.target_needs_alias else None
        repoint = copy.kms_key_id != target.arn
        plan = CopyPlan(copy.region, copy.arn, target.arn, None, alias, repoint, copy.kms_key_id)
        return plan, target
    pooled = copy.pool_keys is not None or (copy.key is not None and copy.key.in_pool)
    new_key = _new_key(state, copy.region, pooled=pooled)
    return CopyPlan(copy.region, copy.arn, None, new_key, repoint=True, previous_key_id=copy.kms_key_id), None


def _outgrows(state: SecretState, key: KeyState | None, grant: KeyGrant | None) -> bool:
    """True when the copy is on a pool key whose policy cannot take its grant (KMS's 32 KB): the one move a pool
    makes, to another pool key with room, or a new one. A key of the secret's own, or someone's, is never left:
    there the plan's write is refused (`PolicyTooLarge`), and says why."""
    if key is None or not key.in_pool or grant is None:
        return False
    return policy_bytes(_policy_after(key, state, grant, None)) > KEY_POLICY_MAX_BYTES


def _pool_key_for(state: SecretState, copy: SecretCopy, grant: KeyGrant | None) -> KeyState | None:
    """The first open pool key (in ARN order) that takes the copy's grant within `keypool.POOL_FILL_BYTES`; None:
    none does, or not in pool mode."""
    for key in copy.pool_keys or ():
        if takes_new_secret(_policy_after(key, state, grant, None)):
            return key
    return None


def _new_key(state: SecretState, region: str, *, pooled: bool) -> CreateKey:
    """A key for the secret alone, or a new key of the pool (no alias: it serves many secrets, found by its tag)."""
    location = state.location
    admin = {"Version": "2012-10-17", "Statement": [key_admin_statement(location.partition, location.account)]}
    policy = _with_account_use(admin, state, region, made_by_us=True)
    grants_tag = POOL_KEY_TAG_VALUE if pooled else name_tag_value(state.name)
    return CreateKey(
        region=region,
        alias=None if pooled else key_alias(state.name),
        description=pool_key_description(region) if pooled else dedicated_key_description(state.name),
        tags={MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], GRANTS_TAG_KEY: grants_tag},
        policy=policy,
        document=_key_document(policy, state.arn),
    )


def _new_key_change(
    state: SecretState, plan: CopyPlan, grant: KeyGrant | None, marker: Statement | None
) -> PutKeyPolicy:
    assert plan.new_key is not None
    key = KeyState("", plan.new_key.policy, plan.new_key.tags)
    change = _key_policy_change(key, state, grant, marker, region=plan.region)
    assert change is not None  # a new key is made only to carry a grant
    return change


def _key_policy_change(
    key: KeyState,
    state: SecretState,
    grant: KeyGrant | None,
    marker: Statement | None,
    *,
    region: str | None = None,
    moved: Iterable[str] = (),
) -> PutKeyPolicy | None:
    """The key's policy with exactly this grant and marker for the secret, and account A's own use in place on a
    key the secret was moved to (see `keypolicy.with_account_use`)."""
    region = region or key.region
    after = _policy_after(key, state, grant, marker, region=region, moved=moved)
    if after == key.policy:
        return None
    before_grantees, after_grantees = secret_grantees(key.policy, state.selects), secret_grantees(after, state.selects)
    return PutKeyPolicy(
        key.arn or None,
        region,
        key.policy,
        after,
        _key_document(after, state.arn),
        frozenset(before_grantees),
        frozenset(after_grantees),
    )


def _policy_after(
    key: KeyState,
    state: SecretState,
    grant: KeyGrant | None,
    marker: Statement | None,
    *,
    region: str | None = None,
    moved: Iterable[str] = (),
) -> Document:
    """The key's policy as `_key_policy_change` would write it, its size not checked yet."""
    region = region or key.region
    after = merge_key_policy(
        key.policy,
        state.selects,
        region=region,
        partition=state.location.partition,
        grant=grant,
        marker=marker,
        org_id=state.org_narrowing,
    )
    if after is None:
        raise KeyNotUsable(f"removing secretshare's grants would leave key {key.arn} with an empty key policy")
    made_by_us = key.serves_account_a(state.name)
    if made_by_us or moved:
        after = _with_account_use(after, state, region, made_by_us=made_by_us, moved=moved)
    return after


def _with_account_use(
    document: Document, state: SecretState, region: str, *, made_by_us: bool, moved: Iterable[str] = ()
) -> Document:
    location = state.location
    return with_account_use(
        document,
        account=location.account,
        region=region,
        partition=location.partition,
        made_by_us=made_by_us,
        moved=moved,
    )


def _key_tag_changes(
    state: SecretState, keys: Iterable[KeyState], changes: Iterable[PutKeyPolicy]
) -> tuple[TagKey, ...]:
    """Keys that will hold statements of ours, tagged so the next reading finds them: the key made for this secret
    by its name, a pool key as open or full (`keypool.pool_tag_value`), any other key as shared (a key made for
    another secret that now holds this one's grant too)."""
    after = {change.key_arn: change.after for change in changes if change.key_arn}
    found = []
    for key in keys:
        policy = after.get(key.arn, key.policy)
        if not any(map(is_ours, statements(policy))):
            continue
        if key.in_pool:
            wanted = pool_tag_value(policy)
        else:
            wanted = name_tag_value(state.name) if key.made_for(state.name) else SHARED_KEY_TAG_VALUE
        if key.grants_tag != wanted:
            found.append(TagKey(key.arn, key.region, wanted))
    return tuple(found)


def _resource_policy_change(
    state: SecretState, consumers: tuple[str, ...], ends: str | None
) -> ResourcePolicyChange | None:
    # AWS refuses resource-policy changes on a secret scheduled for deletion; its key grant is revoked instead.
    # Replicas get the primary's resource policy from Secrets Manager itself.
    if not state.readable:
        return None
    desired = resource_grant_statements(consumers, state.org_narrowing, ends)
    after = merge_statements(state.resource_policy, is_ours, desired)
    if after == state.resource_policy:
        return None
    document = None
    if after is not None:
        document = check_size(after, limit=RESOURCE_POLICY_MAX_CHARS, what="resource policy", secret=state.arn)
    return ResourcePolicyChange(state.resource_policy, after, document)


def _key_document(policy: Document, secret_arn: str) -> str:
    return check_size(policy, limit=KEY_POLICY_MAX_BYTES, what="key policy", secret=secret_arn, in_bytes=True)


def _parameter_writes(
    state: SecretState, accounts: set[str], copies: tuple[CopyPlan, ...], name: str
) -> tuple[PublishParameter, ...]:
    if not accounts:
        return ()
    key_arns = {copy.region: copy.key_arn for copy in copies if copy.key_arn}
    wanted = _consumer_document(copies, key_arns, state.location.partition) if len(key_arns) == len(copies) else None
    return tuple(
        PublishParameter(account, name, state.parameters[account] is not None if account in state.parameters else None)
        for account in sorted(accounts)
        if account not in state.unreachable and (wanted is None or state.parameters.get(account) != wanted)
    )


def _consumer_document(copies: tuple[CopyPlan, ...], key_arns: Mapping[str, str], partition: str) -> str:
    primary, *replicas = copies
    return render(
        consumer_policy(
            primary.secret_arn,
            key_arns[primary.region],
            primary.region,
            partition,
            [(copy.secret_arn, key_arns[copy.region], copy.region) for copy in replicas],
        )
    )


def _schedule_change(
    state: SecretState, share: ShareTag, consumers: tuple[str, ...], settings: Settings, now: datetime
) -> ScheduleChange | None:
    """The expiry schedule exists while a time-boxed share grants someone, and only then."""
    if not settings.schedules_expiry:
        return None
    wanted = expiry_firing(share.until) if consumers and share.until else None
    return None if wanted == state.expiry_schedule else ScheduleChange(state.schedule_name, wanted, now)


def expiry_firing(until: datetime) -> datetime:
    """When the expiry schedule is set to fire for a share ending at `until`: the first whole minute at or after it.

    EventBridge Scheduler invokes its target with 60-second precision: a schedule for 1:00 fires between 1:00:00 and
    1:00:59 (docs/aws-facts.md §9). A schedule at the minute the share ends in could fire before it ends, so it is
    set to the next whole minute: the revocation lands within two minutes after `until`, never before (the sweep
    and every reconciliation compare with `until` itself, to the second). Whole minutes also read back from the
    schedule exactly, where fractional seconds never would.
    """
    whole = until.astimezone(UTC).replace(second=0, microsecond=0)
    return whole if whole == until else whole + timedelta(minutes=1)


def _notes(state: SecretState, share: ShareTag, now: datetime) -> tuple[str, ...]:
    if not state.exists:
        return ("secret no longer exists: revoking every grant secretshare made for it",)
    if state.pending_deletion:
        return (
            "secret is scheduled for deletion: key grants and parameters revoked; AWS refuses resource-policy "
            "changes until it is restored",
        )
    if share.expired(now):
        when = format_time(share.until) if share.until else "now (its share-until cannot be read)"
        return (f"share expired {when}: every grant revoked; the share-with entries stay for the record",)
    return ()
