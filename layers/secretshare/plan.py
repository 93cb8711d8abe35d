"""From what was read to what must change: the reconciliation plan. Pure: no boto3.

The plan is a value: printing it is the dry run, applying it is `apply.apply_plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .arns import Arn, parse_arn
from .errors import KeyNotUsable
from .keypolicy import (
    KeyGrant,
    SecretSelector,
    cleanup_marker_statement,
    for_secret_family,
    for_secret_name,
    key_grant_statement,
    merge_key_policy,
    pending_cleanup_principals,
    secret_grantees,
)
from .names import is_ours, key_alias, parameter_name
from .policy import (
    KEY_POLICY_MAX_BYTES,
    RESOURCE_POLICY_MAX_CHARS,
    Document,
    Statement,
    check_size,
    consumer_policy,
    granted_principals,
    key_admin_statement,
    merge_statements,
    principal_accounts,
    render,
    resource_grant_statement,
    statements,
)
from .settings import Settings
from .sharetag import RejectedEntry, ShareTag, format_time, has_share_tag, tag_value
from .status import Outcome, status_value

AWS_MANAGED_KEY = "aws/secretsmanager"


@dataclass(frozen=True)
class KeyState:
    """A customer-managed KMS key in account A and its current key policy."""

    arn: str
    policy: Document


@dataclass(frozen=True)
class SecretCopy:
    """The secret in one region (the primary, or a replica), with the key that encrypts it there.

    `key` is None on the AWS managed key; `target_key` is the existing key it would move to (None:
    a dedicated key must be created in that region).
    """

    region: str
    arn: str
    kms_key_id: str | None = None
    key: KeyState | None = None
    target_key: KeyState | None = None


@dataclass(frozen=True)
class SecretState:
    """Everything reconciliation reads, gathered before anything is decided.

    `key` is the customer-managed key encrypting the secret (None on the AWS managed key). For a secret
    that no longer exists, `exists` is False and `key`/`other_keys` are the keys that may still hold
    our grants for it. `target_key` is the existing key a secret on the AWS managed key would move to
    (None: a dedicated key must be created). `replicas` are its copies in other regions. `parameters`
    maps each consumer account read to its parameter's current value (None when absent); `unreachable`
    maps accounts that could not be read to the reason. `expiry_schedule` is when the exact-time expiry
    schedule fires (None: no schedule), read only where the tags say one may exist.
    """

    arn: str
    name: str
    exists: bool = True
    pending_deletion: bool = False
    tags: tuple[Mapping[str, str], ...] = ()
    kms_key_id: str | None = None
    key: KeyState | None = None
    other_keys: tuple[KeyState, ...] = ()
    resource_policy: Document | None = None
    target_key: KeyState | None = None
    replicas: tuple[SecretCopy, ...] = ()
    parameters: Mapping[str, str | None] = field(default_factory=dict)
    unreachable: Mapping[str, str] = field(default_factory=dict)
    expiry_schedule: datetime | None = None

    @property
    def location(self) -> Arn:
        """Partition, region and account of the secret, from its ARN."""
        arn = parse_arn(self.arn)
        if arn is None:
            raise ValueError(f"{self.arn!r} is not an ARN")
        return arn

    @property
    def readable(self) -> bool:
        """False once the secret is deleted or scheduled for deletion: then it is shared with nobody."""
        return self.exists and not self.pending_deletion

    @property
    def copies(self) -> tuple[SecretCopy, ...]:
        """The secret in every region, the primary first."""
        primary = SecretCopy(self.location.region, self.arn, self.kms_key_id, self.key, self.target_key)
        return (primary, *self.replicas)


@dataclass(frozen=True)
class NewKey:
    """A dedicated customer-managed key to create for the secret in one region."""

    alias: str
    policy: Document
    description: str


@dataclass(frozen=True)
class CopyPlan:
    """The key one copy of the secret (primary or replica) ends up on, and whether it must move there.

    `key_arn` is None while the key is still to be created (`new_key`).
    """

    region: str
    secret_arn: str
    key_arn: str | None
    new_key: NewKey | None = None
    repoint: bool = False
    previous_key_id: str | None = None


@dataclass(frozen=True)
class KeyPolicyChange:
    """A key policy rewrite: `after` keeps every statement of `before` that is not ours for this secret."""

    key_arn: str
    before: Document
    after: Document
    granted_before: frozenset[str] = frozenset()
    granted_after: frozenset[str] = frozenset()

    @property
    def region(self) -> str:
        """The key's region, from its ARN."""
        arn = parse_arn(self.key_arn)
        assert arn is not None
        return arn.region

    @property
    def adds_first_statement(self) -> bool:
        """True when the key held no statement of ours before: then it is tagged so sweeps can find it."""
        return not any(map(is_ours, statements(self.before))) and any(map(is_ours, statements(self.after)))


@dataclass(frozen=True)
class ResourcePolicyChange:
    """A secret resource policy rewrite; `after` None deletes it (only our statements were in it)."""

    before: Document | None
    after: Document | None


@dataclass(frozen=True)
class ParameterWrite:
    """Publish the consumer policy in one account; `exists` picks overwrite versus create-with-tags.

    `exists` is None when the parameter was not read (a new key makes every value new).
    """

    account: str
    exists: bool | None


@dataclass(frozen=True)
class ScheduleChange:
    """Create or move the exact-time expiry schedule (`at` a moment), or delete it (`at` None)."""

    at: datetime | None


@dataclass(frozen=True)
class Documents:
    """A plan's policy documents as written: key policies by key ARN, new keys' policies by region, and the
    resource policy (None when it is deleted or unchanged)."""

    key_policies: Mapping[str, str] = field(default_factory=dict)
    new_keys: Mapping[str, str] = field(default_factory=dict)
    resource_policy: str | None = None


@dataclass(frozen=True)
class Plan:
    """What one reconciliation will do, in the order it does it."""

    secret_arn: str
    secret_name: str
    partition: str
    region: str
    producer_account: str
    consumers: tuple[str, ...]
    previous_consumers: tuple[str, ...]
    rejected: tuple[RejectedEntry, ...]
    copies: tuple[CopyPlan, ...]
    key_policy_changes: tuple[KeyPolicyChange, ...] = ()
    resource_policy_change: ResourcePolicyChange | None = None
    parameter_name: str = ""
    parameter_writes: tuple[ParameterWrite, ...] = ()
    parameter_deletes: tuple[str, ...] = ()
    unreachable: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    until: datetime | None = None
    expired: bool = False
    schedule_change: ScheduleChange | None = None
    status_before: str | None = None
    readable: bool = True
    tagged: bool = False
    documents: Documents = Documents()

    @property
    def key_arn(self) -> str | None:
        """The key that encrypts the primary secret once the plan is applied (None: still to be created)."""
        return self.copies[0].key_arn

    @property
    def new_key(self) -> NewKey | None:
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
        return self.status_after != self.status_before

    def status_with(self, failed_accounts: Iterable[str]) -> str | None:
        """The status tag's value when these consumer accounts failed; None: no status tag.

        A secret scheduled for deletion keeps its tag as it is (AWS refuses to tag it). A secret no longer
        shared has none, unless a revocation is still pending in a failed account.
        """
        failed = tuple(sorted(failed_accounts))
        if not self.readable:
            return self.status_before
        if not (self.tagged or failed):
            return None
        return status_value(Outcome(len(self.consumers), self.rejected, failed, self.until, self.expired))

    @property
    def grants_added(self) -> tuple[str, ...]:
        """Consumers the tag asks for that were not granted before."""
        return tuple(sorted(set(self.consumers) - set(self.previous_consumers)))

    @property
    def grants_revoked(self) -> tuple[str, ...]:
        """Consumers granted before that the tag no longer asks for."""
        return tuple(sorted(set(self.previous_consumers) - set(self.consumers)))

    @property
    def is_noop(self) -> bool:
        """True when applying the plan would make no write call."""
        return not (
            any(copy.new_key or copy.repoint for copy in self.copies)
            or self.key_policy_changes
            or self.resource_policy_change
            or self.parameter_writes
            or self.parameter_deletes
            or self.schedule_change
            or self.status_changes
        )

    def consumer_document(self, key_arns: Mapping[str, str]) -> str:
        """The consumer IAM policy JSON, as published in each consumer account; `key_arns` maps region to key."""
        return _consumer_document(self.copies, key_arns, self.partition)

    def describe(self) -> list[str]:
        """One line per change, in the order they are applied."""
        lines = [
            f"create KMS key {copy.new_key.alias} in {copy.region} (key policy grants {_names(self.consumers)})"
            for copy in self.copies
            if copy.new_key
        ]
        lines += [
            f"update key policy of {c.key_arn}: {_grant_diff(c.granted_before, c.granted_after)}"
            for c in self.key_policy_changes
        ]
        lines += [
            f"move {_copy_name(copy, self.region)} from key {copy.previous_key_id or AWS_MANAGED_KEY} to "
            f"{copy.key_arn or (copy.new_key.alias if copy.new_key else '')}"
            for copy in self.copies
            if copy.repoint
        ]
        lines += [f"delete parameter {self.parameter_name} in {a}" for a in self.parameter_deletes]
        if self.resource_policy_change:
            change = self.resource_policy_change
            if change.after is None:
                lines.append("delete resource policy (only secretshare statements were in it)")
            else:
                diff = _grant_diff(granted_principals(change.before), granted_principals(change.after))
                lines.append(f"update resource policy: {diff}")
        lines += [f"publish parameter {self.parameter_name} in {w.account}" for w in self.parameter_writes]
        if self.schedule_change:
            at = self.schedule_change.at
            lines.append(f"schedule expiry at {format_time(at)}" if at else "delete the expiry schedule")
        if self.status_changes:
            lines.append(f"set status tag to {self.status_after!r}" if self.status_after else "remove status tag")
        return lines


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
    """
    now = now or datetime.now(UTC)
    location = state.location
    expired = share.expired(now)
    consumers = share.consumers_at(now) if state.readable else ()
    selects = for_secret_family(state.arn) if state.exists else for_secret_name(state.name)
    copies = state.copies
    current_keys = [k for k in (*(copy.key for copy in copies), *state.other_keys) if k is not None]
    previous = granted_principals(state.resource_policy).union(
        *(secret_grantees(key.policy, selects) for key in current_keys)
    )
    pending = principal_accounts(set().union(*(pending_cleanup_principals(k.policy, selects) for k in current_keys)))
    wanted_accounts = principal_accounts(consumers)
    deletes = (principal_accounts(previous) | pending) - wanted_accounts
    undeleted = sorted(deletes & undeletable)
    marker = cleanup_marker_statement(state.arn, location.partition, undeleted) if undeleted else None
    copy_plans, holders = zip(
        *(_copy_plan(state, copy, consumers, marker if copy is copies[0] else None) for copy in copies), strict=True
    )
    targets = [copy.target_key for copy in copies if copy.target_key and consumers]
    keys = {k.arn: k for k in (*current_keys, *targets)}
    # Each key carries the grant of the copy in its region that it holds; every other key only loses ours.
    held = {holder.key.arn: holder for holder in holders if holder is not None}
    if marker and current_keys and not any(holder.marker for holder in held.values()):
        held.setdefault(current_keys[0].arn, _Holder(current_keys[0], None, marker))  # a gone secret's old key
    key_changes = tuple(
        change for key in keys.values() if (change := _key_policy_change(key, selects, state, held.get(key.arn)))
    )
    unreachable = {a: r for a, r in state.unreachable.items() if a in wanted_accounts}
    plan = Plan(
        secret_arn=state.arn,
        secret_name=state.name,
        partition=location.partition,
        region=location.region,
        producer_account=location.account,
        consumers=tuple(consumers),
        previous_consumers=tuple(sorted(previous)),
        rejected=share.rejected if state.readable else (),
        copies=copy_plans,
        key_policy_changes=key_changes,
        resource_policy_change=_resource_policy_change(state, consumers),
        parameter_name=parameter_name(settings.parameter_prefix, location.account, location.region, state.name),
        parameter_writes=_parameter_writes(state, wanted_accounts, copy_plans),
        parameter_deletes=tuple(sorted(deletes)),
        unreachable=unreachable,
        notes=_notes(state, share, now),
        until=share.until,
        expired=expired,
        schedule_change=_schedule_change(state, share, consumers, settings),
        status_before=tag_value(state.tags, settings.status_tag_key),
        readable=state.readable,
        tagged=has_share_tag(state.tags, settings.share_tag_key)
        or tag_value(state.tags, settings.share_until_tag_key) is not None,
    )
    return replace(plan, documents=_documents(plan))


def _documents(plan: Plan) -> Documents:
    """Every policy document the plan writes, serialized once and size-checked: PolicyTooLarge when one would
    not fit, so a plan AWS would refuse is never applied in part (nor shown by a dry run as if it could be)."""

    def key_policy(document: Document) -> str:
        return check_size(
            document, limit=KEY_POLICY_MAX_BYTES, what="key policy", secret=plan.secret_arn, in_bytes=True
        )

    change = plan.resource_policy_change
    resource_policy = None
    if change and change.after is not None:
        resource_policy = check_size(
            change.after, limit=RESOURCE_POLICY_MAX_CHARS, what="resource policy", secret=plan.secret_arn
        )
    return Documents(
        key_policies={change.key_arn: key_policy(change.after) for change in plan.key_policy_changes},
        new_keys={copy.region: key_policy(copy.new_key.policy) for copy in plan.copies if copy.new_key},
        resource_policy=resource_policy,
    )


@dataclass(frozen=True)
class _Holder:
    """The key that carries one copy's grant (and, on the primary's key, the cleanup marker)."""

    key: KeyState
    grant: KeyGrant | None
    marker: Statement | None


def _copy_plan(
    state: SecretState, copy: SecretCopy, consumers: tuple[str, ...], marker: Statement | None
) -> tuple[CopyPlan, _Holder | None]:
    """Which key one copy ends up on, and the existing key (if any) that carries its grant."""
    grant = KeyGrant(copy.arn, consumers) if consumers else None
    if grant is None:
        plan = CopyPlan(copy.region, copy.arn, copy.key.arn if copy.key else None, previous_key_id=copy.kms_key_id)
        return plan, _Holder(copy.key, None, marker) if copy.key and marker else None
    target = copy.key or copy.target_key
    if target is not None:
        repoint = copy.kms_key_id != target.arn
        plan = CopyPlan(copy.region, copy.arn, target.arn, repoint=repoint, previous_key_id=copy.kms_key_id)
        return plan, _Holder(target, grant, marker)
    location = state.location
    ours = [key_grant_statement(grant.consumers, [grant.secret_arn], copy.region, location.partition)]
    new_key = NewKey(
        alias=key_alias(state.name),
        policy={
            "Version": "2012-10-17",
            "Statement": [key_admin_statement(location.partition, location.account), *ours, *filter(None, [marker])],
        },
        description=f"secretshare: encrypts secret {state.name} so it can be shared across accounts",
    )
    return CopyPlan(copy.region, copy.arn, None, new_key, repoint=True, previous_key_id=copy.kms_key_id), None


def _key_policy_change(
    key: KeyState, selects: SecretSelector, state: SecretState, holder: _Holder | None
) -> KeyPolicyChange | None:
    location = state.location
    key_location = parse_arn(key.arn)
    after = merge_key_policy(
        key.policy,
        selects,
        region=key_location.region if key_location else location.region,
        partition=location.partition,
        grant=holder.grant if holder else None,
        marker=holder.marker if holder else None,
    )
    if after is None:
        raise KeyNotUsable(f"removing secretshare's grants would leave key {key.arn} with an empty key policy")
    if after == key.policy:
        return None
    before_grantees, after_grantees = secret_grantees(key.policy, selects), secret_grantees(after, selects)
    return KeyPolicyChange(key.arn, key.policy, after, frozenset(before_grantees), frozenset(after_grantees))


def _resource_policy_change(state: SecretState, consumers: tuple[str, ...]) -> ResourcePolicyChange | None:
    # AWS refuses resource-policy changes on a secret scheduled for deletion; its key grant is revoked instead.
    # Replicas get the primary's resource policy from Secrets Manager itself.
    if not state.readable:
        return None
    desired = [resource_grant_statement(consumers)] if consumers else []
    after = merge_statements(state.resource_policy, is_ours, desired)
    return None if after == state.resource_policy else ResourcePolicyChange(state.resource_policy, after)


def _parameter_writes(
    state: SecretState, accounts: set[str], copies: tuple[CopyPlan, ...]
) -> tuple[ParameterWrite, ...]:
    if not accounts:
        return ()
    key_arns = {copy.region: copy.key_arn for copy in copies if copy.key_arn}
    wanted = _consumer_document(copies, key_arns, state.location.partition) if len(key_arns) == len(copies) else None
    return tuple(
        ParameterWrite(account, exists=state.parameters[account] is not None if account in state.parameters else None)
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
    state: SecretState, share: ShareTag, consumers: tuple[str, ...], settings: Settings
) -> ScheduleChange | None:
    """The exact-time expiry schedule exists while a time-boxed share grants someone, and only then."""
    if not settings.schedules_expiry:
        return None
    wanted = share.until if consumers else None
    return None if wanted == state.expiry_schedule else ScheduleChange(wanted)


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


def _grant_diff(old: Iterable[str], new: Iterable[str]) -> str:
    added, removed = set(new) - set(old), set(old) - set(new)
    parts = [f"grant {_names(added)}" if added else "", f"revoke {_names(removed)}" if removed else ""]
    return ", ".join(p for p in parts if p) or "rewrite secretshare statements to their desired form"


def _names(principals: Iterable[str]) -> str:
    return ", ".join(sorted(principals)) or "nobody"


def _copy_name(copy: CopyPlan, primary_region: str) -> str:
    return "secret" if copy.region == primary_region else f"replica in {copy.region}"
