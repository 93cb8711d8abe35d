"""From what was read to what must change: the reconciliation plan. Pure: no boto3.

The plan is a value: printing it is the dry run, applying it is `apply.apply_plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .arns import Arn, parse_arn
from .errors import KeyNotUsable
from .keypolicy import (
    KeyGrant,
    SecretSelector,
    cleanup_marker_statement,
    for_secret,
    for_secret_name,
    key_grant_statement,
    merge_key_policy,
    pending_cleanup_principals,
    secret_grantees,
)
from .names import is_ours, key_alias, parameter_name
from .policy import (
    Document,
    Statement,
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
from .sharetag import RejectedEntry, ShareTag

AWS_MANAGED_KEY = "aws/secretsmanager"


@dataclass(frozen=True)
class KeyState:
    """A customer-managed KMS key in account A and its current key policy."""

    arn: str
    policy: Document


@dataclass(frozen=True)
class SecretState:
    """Everything reconciliation reads, gathered before anything is decided.

    `key` is the customer-managed key encrypting the secret (None on the AWS managed key). For a secret
    that no longer exists, `exists` is False and `key`/`other_keys` are the keys that may still hold
    our grants for it. `target_key` is the existing key a secret on the AWS managed key would move to
    (None: a dedicated key must be created). `parameters` maps each consumer account read to its
    parameter's current value (None when absent); `unreachable` maps accounts that could not be read
    to the reason.
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
    parameters: Mapping[str, str | None] = field(default_factory=dict)
    unreachable: Mapping[str, str] = field(default_factory=dict)

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


@dataclass(frozen=True)
class NewKey:
    """A dedicated customer-managed key to create for the secret."""

    alias: str
    policy: Document
    description: str


@dataclass(frozen=True)
class KeyPolicyChange:
    """A key policy rewrite: `after` keeps every statement of `before` that is not ours for this secret."""

    key_arn: str
    before: Document
    after: Document
    granted_before: frozenset[str] = frozenset()
    granted_after: frozenset[str] = frozenset()

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
    key_arn: str | None
    new_key: NewKey | None = None
    repoint_secret: bool = False
    previous_key_id: str | None = None
    key_policy_changes: tuple[KeyPolicyChange, ...] = ()
    resource_policy_change: ResourcePolicyChange | None = None
    parameter_name: str = ""
    parameter_writes: tuple[ParameterWrite, ...] = ()
    parameter_deletes: tuple[str, ...] = ()
    unreachable: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

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
            self.new_key
            or self.repoint_secret
            or self.key_policy_changes
            or self.resource_policy_change
            or self.parameter_writes
            or self.parameter_deletes
        )

    def consumer_document(self, key_arn: str) -> str:
        """The consumer IAM policy JSON, as published in each consumer account."""
        return render(consumer_policy(self.secret_arn, key_arn, self.region, self.partition))

    def describe(self) -> list[str]:
        """One line per change, in the order they are applied."""
        key = self.key_arn or (self.new_key.alias if self.new_key else "")
        lines = []
        if self.new_key:
            lines.append(f"create KMS key {self.new_key.alias} (key policy grants {_names(self.consumers)})")
        lines += [
            f"update key policy of {c.key_arn}: {_grant_diff(c.granted_before, c.granted_after)}"
            for c in self.key_policy_changes
        ]
        if self.repoint_secret:
            lines.append(f"move secret from key {self.previous_key_id or AWS_MANAGED_KEY} to {key}")
        lines += [f"delete parameter {self.parameter_name} in {a}" for a in self.parameter_deletes]
        if self.resource_policy_change:
            change = self.resource_policy_change
            if change.after is None:
                lines.append("delete resource policy (only secretshare statements were in it)")
            else:
                diff = _grant_diff(granted_principals(change.before), granted_principals(change.after))
                lines.append(f"update resource policy: {diff}")
        lines += [f"publish parameter {self.parameter_name} in {w.account}" for w in self.parameter_writes]
        return lines


def plan_reconciliation(
    state: SecretState, share: ShareTag, settings: Settings, *, undeletable: frozenset[str] = frozenset()
) -> Plan:
    """Decide every change that brings the secret's grants to exactly what `share` asks for.

    `undeletable` names consumer accounts whose parameter could not be deleted in this run: the key
    policy then keeps a cleanup marker for them, so a later run or the sweep still finds them.
    """
    location = state.location
    consumers = share.consumers if state.readable else ()
    selects = for_secret(state.arn) if state.exists else for_secret_name(state.name)
    current_keys = [k for k in (state.key, *state.other_keys) if k is not None]
    previous = granted_principals(state.resource_policy).union(
        *(secret_grantees(key.policy, selects) for key in current_keys)
    )
    pending = principal_accounts(set().union(*(pending_cleanup_principals(k.policy, selects) for k in current_keys)))
    wanted_accounts = principal_accounts(consumers)
    deletes = (principal_accounts(previous) | pending) - wanted_accounts
    undeleted = sorted(deletes & undeletable)
    marker = cleanup_marker_statement(state.arn, location.partition, undeleted) if undeleted else None
    grant = KeyGrant(state.arn, consumers) if consumers else None
    target, new_key, repoint = _key_target(state, grant, marker)
    # The key that carries this secret's statements; every other key only loses ours.
    holder = None if new_key else (target or (current_keys[0] if current_keys else None))
    keys = {k.arn: k for k in (*current_keys, target) if k is not None}
    key_changes = tuple(
        change
        for key in keys.values()
        if (
            change := _key_policy_change(
                key, selects, state, grant if key is holder else None, marker if key is holder else None
            )
        )
    )
    key_arn = target.arn if target else None
    return Plan(
        secret_arn=state.arn,
        secret_name=state.name,
        partition=location.partition,
        region=location.region,
        producer_account=location.account,
        consumers=tuple(consumers),
        previous_consumers=tuple(sorted(previous)),
        rejected=share.rejected if state.readable else (),
        key_arn=key_arn,
        new_key=new_key,
        repoint_secret=repoint,
        previous_key_id=state.kms_key_id,
        key_policy_changes=key_changes,
        resource_policy_change=_resource_policy_change(state, consumers),
        parameter_name=parameter_name(settings.parameter_prefix, location.account, location.region, state.name),
        parameter_writes=_parameter_writes(state, wanted_accounts, key_arn),
        parameter_deletes=tuple(sorted(deletes)),
        unreachable={a: r for a, r in state.unreachable.items() if a in wanted_accounts},
        notes=_notes(state),
    )


def _key_target(
    state: SecretState, grant: KeyGrant | None, marker: Statement | None
) -> tuple[KeyState | None, NewKey | None, bool]:
    """The key that should carry the grants, a key to create if none exists, and whether to repoint."""
    if grant is None:
        return state.key, None, False
    if state.key is not None:
        return state.key, None, state.kms_key_id != state.key.arn
    if state.target_key is not None:
        return state.target_key, None, True
    location = state.location
    ours = [key_grant_statement(grant.consumers, [grant.secret_arn], location.region, location.partition)]
    new_key = NewKey(
        alias=key_alias(state.name),
        policy={
            "Version": "2012-10-17",
            "Statement": [key_admin_statement(location.partition, location.account), *ours, *filter(None, [marker])],
        },
        description=f"secretshare: encrypts secret {state.name} so it can be shared across accounts",
    )
    return None, new_key, True


def _key_policy_change(
    key: KeyState, selects: SecretSelector, state: SecretState, grant: KeyGrant | None, marker: Statement | None
) -> KeyPolicyChange | None:
    location = state.location
    after = merge_key_policy(
        key.policy, selects, region=location.region, partition=location.partition, grant=grant, marker=marker
    )
    if after is None:
        raise KeyNotUsable(f"removing secretshare's grants would leave key {key.arn} with an empty key policy")
    if after == key.policy:
        return None
    before_grantees, after_grantees = secret_grantees(key.policy, selects), secret_grantees(after, selects)
    return KeyPolicyChange(key.arn, key.policy, after, frozenset(before_grantees), frozenset(after_grantees))


def _resource_policy_change(state: SecretState, consumers: tuple[str, ...]) -> ResourcePolicyChange | None:
    # AWS refuses resource-policy changes on a secret scheduled for deletion; its key grant is revoked instead.
    if not state.readable:
        return None
    desired = [resource_grant_statement(consumers)] if consumers else []
    after = merge_statements(state.resource_policy, is_ours, desired)
    return None if after == state.resource_policy else ResourcePolicyChange(state.resource_policy, after)


def _parameter_writes(state: SecretState, accounts: set[str], key_arn: str | None) -> tuple[ParameterWrite, ...]:
    if not accounts:
        return ()
    location = state.location
    wanted = render(consumer_policy(state.arn, key_arn, location.region, location.partition)) if key_arn else None
    return tuple(
        ParameterWrite(account, exists=state.parameters[account] is not None if account in state.parameters else None)
        for account in sorted(accounts)
        if account not in state.unreachable and (wanted is None or state.parameters.get(account) != wanted)
    )


def _notes(state: SecretState) -> tuple[str, ...]:
    if not state.exists:
        return ("secret no longer exists: revoking every grant secretshare made for it",)
    if state.pending_deletion:
        return (
            "secret is scheduled for deletion: key grants and parameters revoked; AWS refuses resource-policy "
            "changes until it is restored",
        )
    return ()


def _grant_diff(old: Iterable[str], new: Iterable[str]) -> str:
    added, removed = set(new) - set(old), set(old) - set(new)
    parts = [f"grant {_names(added)}" if added else "", f"revoke {_names(removed)}" if removed else ""]
    return ", ".join(p for p in parts if p) or "rewrite secretshare statements to their desired form"


def _names(principals: Iterable[str]) -> str:
    return ", ".join(sorted(principals)) or "nobody"
