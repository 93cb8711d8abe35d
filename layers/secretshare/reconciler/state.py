"""The read model: everything a reconciliation decides from, as `read.py` gathers it. Pure: no boto3.

A `SecretState` is the secret, its copies in every region with their keys, every other key that may hold our
statements for it, its resource policy and what each consumer account holds; the planner (`plan.py`) decides from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property

from ..domain.arns import Arn, parse_arn
from ..domain.consumers import Consumer, Organization, OrganizationConsumer
from ..domain.keypolicy import (
    SecretSelector,
    for_secret_family,
    for_secret_name,
    granted_accounts,
    pending_cleanup_accounts,
    secret_grantees,
)
from ..domain.names import (
    GRANTS_TAG_KEY,
    LEGACY_KEY_TAG_VALUE,
    MANAGED_BY_TAG,
    POOL_KEY_TAG_VALUES,
    dedicated_key_description,
    expiry_schedule_name,
    is_ours,
    name_tag_value,
)
from ..domain.policy import Document, granted_principals, recorded_accounts, statements


@dataclass(frozen=True)
class KeyState:
    """A customer-managed KMS key in account A, its key policy, and its tags where they were read.

    `tags` come from the tagging-API query that finds keys holding secretshare statements; a key that query did not
    return has none of ours (`grants_tag` None).
    """

    arn: str
    policy: Document
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def grants_tag(self) -> str | None:
        """The key's `secretshare-grants` tag, None when it has none."""
        return self.tags.get(GRANTS_TAG_KEY)

    @property
    def region(self) -> str:
        """The key's region, from its ARN."""
        arn = parse_arn(self.arn)
        assert arn is not None
        return arn.region

    def made_for(self, secret_name: str) -> bool:
        """True for the key secretshare made for this secret name, whether or not its alias exists (an earlier
        version tagged it `true`; its description names the secret)."""
        if self.tags.get(MANAGED_BY_TAG[0]) != MANAGED_BY_TAG[1]:
            return False
        legacy = self.grants_tag == LEGACY_KEY_TAG_VALUE and self.description == dedicated_key_description(secret_name)
        return legacy or self.grants_tag == name_tag_value(secret_name)

    @property
    def in_pool(self) -> bool:
        """True for a key of secretshare's pool (`keypool.py`), open for new secrets or full."""
        return self.tags.get(MANAGED_BY_TAG[0]) == MANAGED_BY_TAG[1] and self.grants_tag in POOL_KEY_TAG_VALUES

    def serves_account_a(self, secret_name: str) -> bool:
        """True for a key secretshare made, for this secret or for its pool: like the AWS managed key, it lets A's
        principals use it through Secrets Manager for any secret on it (`keypolicy.with_account_use`)."""
        return self.made_for(secret_name) or self.in_pool


@dataclass(frozen=True)
class SecretCopy:
    """The secret in one region (the primary, or a replica), with the key that encrypts it there.

    `key` is None on the AWS managed key; `target_key` is the existing key it would move to (None: a dedicated
    key must be created in that region), and `target_needs_alias` says it is the key made for the secret whose
    alias was never created (a run that stopped in between): the plan adopts it instead of making another.
    """

    region: str
    arn: str
    kms_key_id: str | None = None
    key: KeyState | None = None
    target_key: KeyState | None = None
    target_needs_alias: bool = False
    # Pool mode, for a copy leaving the AWS managed key with no key of its own to go to: the pool keys of its region
    # open for new secrets (empty: a pool key is to be made). None: not in pool mode.
    pool_keys: tuple[KeyState, ...] | None = None
    problem: str | None = None  # why this replica cannot be shared (it is shared with nobody, the others are)


@dataclass(frozen=True)
class SecretState:
    """Everything reconciliation reads, gathered before anything is decided.

    `key` is the customer-managed key encrypting the secret (None on the AWS managed key). `other_keys` are every
    other key of A that may hold our statements for the secret (found by tag, in every region of the secret), so
    grants on a key the secret left are revoked. For a secret that no longer exists, `exists` is False, and
    `known_by_name` says it was named by name or partial ARN only (then every secret of that name in its region
    is meant; a complete ARN means that secret alone). `target_key` is the existing key a secret on the AWS
    managed key would move to (None: a dedicated key must be created). `replicas` are its copies in other
    regions. `owning_service` names the AWS service that manages the secret (RDS, ...), if any. `parameters` maps
    each consumer account read to its parameter's current value (None when absent);
    `unreachable` maps accounts that could not be read to the reason. `expiry_schedule` is when the exact-time
    expiry schedule fires (None: no schedule), read only where the tags say one may exist. `organization` is A's
    organization when ALLOWED_CONSUMERS=organization (its grants are narrowed to it), and `scope_members` the
    accounts each organization or OU consumer, wanted or granted before, covers (None: A cannot list them).
    """

    arn: str
    name: str
    exists: bool = True
    known_by_name: bool = False
    pending_deletion: bool = False
    owning_service: str | None = None
    tags: tuple[Mapping[str, str], ...] = ()
    kms_key_id: str | None = None
    key: KeyState | None = None
    other_keys: tuple[KeyState, ...] = ()
    resource_policy: Document | None = None
    target_key: KeyState | None = None
    target_needs_alias: bool = False
    pool_keys: tuple[KeyState, ...] | None = None
    replicas: tuple[SecretCopy, ...] = ()
    parameters: Mapping[str, str | None] = field(default_factory=dict)
    unreachable: Mapping[str, str] = field(default_factory=dict)
    expiry_schedule: datetime | None = None
    organization: Organization | None = None
    scope_members: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    # The name of the secret's parameter in every consumer account (settings.parameter_prefix, `names.parameter_name`).
    parameter_name: str = ""

    def with_policies(self, policies: Mapping[str, Document]) -> SecretState:
        """This state with the policies of these keys (ARN -> policy) as read again; the rest as it was read."""

        def fresh(key: KeyState | None) -> KeyState | None:
            return replace(key, policy=policies[key.arn]) if key is not None and key.arn in policies else key

        def fresh_all(keys: tuple[KeyState, ...] | None) -> tuple[KeyState, ...] | None:
            return None if keys is None else tuple(key for key in map(fresh, keys) if key is not None)

        def fresh_copy(copy: SecretCopy) -> SecretCopy:
            return replace(
                copy, key=fresh(copy.key), target_key=fresh(copy.target_key), pool_keys=fresh_all(copy.pool_keys)
            )

        return replace(
            self,
            key=fresh(self.key),
            target_key=fresh(self.target_key),
            pool_keys=fresh_all(self.pool_keys),
            other_keys=fresh_all(self.other_keys) or (),
            replicas=tuple(map(fresh_copy, self.replicas)),
        )

    @cached_property
    def location(self) -> Arn:
        """Partition, region and account of the secret, parsed once from its ARN."""
        arn = parse_arn(self.arn)
        if arn is None:
            raise ValueError(f"{self.arn!r} is not an ARN")
        return arn

    @property
    def schedule_name(self) -> str:
        """The name of the secret's expiry schedule."""
        return expiry_schedule_name(self.arn)

    @property
    def readable(self) -> bool:
        """False once the secret is deleted or scheduled for deletion: then it is shared with nobody."""
        return self.exists and not self.pending_deletion

    @property
    def copies(self) -> tuple[SecretCopy, ...]:
        """The secret in every region it can be shared in, the primary first."""
        primary = SecretCopy(
            self.location.region,
            self.arn,
            self.kms_key_id,
            self.key,
            self.target_key,
            self.target_needs_alias,
            self.pool_keys,
        )
        return (primary, *(replica for replica in self.replicas if replica.problem is None))

    @property
    def unshared_replicas(self) -> tuple[SecretCopy, ...]:
        """The replicas that cannot be shared, each with why."""
        return tuple(replica for replica in self.replicas if replica.problem is not None)

    @property
    def selects(self) -> SecretSelector:
        """Which secret ARNs in policies are this secret's: its own ARN in every region, or, for a secret known by
        name alone that no longer exists, every ARN of that name in its region."""
        if self.known_by_name:
            return for_secret_name(self.name, self.location.region)
        return for_secret_family(self.arn)

    @property
    def keys(self) -> tuple[KeyState, ...]:
        """Every key read: each copy's key, then the others that may hold our statements (an unshared replica's
        among them: ours are revoked there)."""
        copies = (*self.copies, *self.unshared_replicas)
        found = {k.arn: k for k in (*(copy.key for copy in copies), *self.other_keys) if k is not None}
        return tuple(found.values())

    def previous_consumers(self) -> set[Consumer]:
        """The consumers (principals, organizations, OUs) our statements grant the secret to now."""
        granted = [secret_grantees(k.policy, self.selects) for k in self.keys]
        return granted_principals(self.resource_policy).union(*granted)

    def previous_scopes(self) -> set[OrganizationConsumer]:
        """The organizations and OUs our statements grant the secret to now."""
        return {consumer for consumer in self.previous_consumers() if isinstance(consumer, OrganizationConsumer)}

    def previous_accounts(self) -> set[str]:
        """Accounts our statements for this secret grant, or still mark for cleanup: those that may hold its
        parameter. Read from the accounts our statements record, never from principals AWS may have rewritten;
        for an organization or OU, the accounts it covers where A can list them."""
        selects = self.selects
        from_keys = [
            granted_accounts(k.policy, selects) | pending_cleanup_accounts(k.policy, selects) for k in self.keys
        ]
        ours = [s for s in statements(self.resource_policy) if is_ours(s) and s.get("Effect") == "Allow"]
        recorded = set().union(*from_keys, *(recorded_accounts(s) for s in ours))
        return recorded | self.accounts_of(self.previous_scopes())

    def accounts_of(self, consumers: Iterable[Consumer]) -> set[str]:
        """The accounts these consumers are in (and would get the consumer policy): each principal's own, and those
        of each organization or OU where A can list them; never A itself."""
        found = set().union(*(consumer.accounts(self.scope_members) or () for consumer in consumers))
        return found - {self.location.account}

    @property
    def org_narrowing(self) -> str | None:
        """A's organization when ALLOWED_CONSUMERS=organization: every principal grant is narrowed to it."""
        return self.organization.id if self.organization else None
