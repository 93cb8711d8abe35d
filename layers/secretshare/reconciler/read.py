"""Reading: everything a reconciliation decides from, gathered before anything is decided.

`read_state` returns a `SecretState` and the `ShareTag` its tags ask for; the planner (`plan.py`) takes it from
there. Nothing here writes. The state is complete: besides the keys the secret uses, it holds every key of A
that may hold our statements for it, found by the `secretshare-grants` tag (docs/aws-facts.md §11) whatever the
consumer accounts say, and the parameter of every account that may hold one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..domain.arns import Arn, in_region, is_complete_secret_arn, key_account, parse_arn, secret_name_from_arn
from ..domain.consumers import Organization, OrganizationConsumer
from ..domain.errors import AllowListUnavailable, ConsumerAccountError, KeyNotUsable
from ..domain.keypool import POOL_FILL_BYTES, grant_fits
from ..domain.names import (
    CONSUMER_DECRYPT_SID,
    GRANTS_TAG_KEY,
    LEGACY_KEY_TAG_VALUE,
    MANAGED_BY_TAG,
    POOL_KEY_TAG_VALUE,
    POOL_KEY_TAG_VALUES,
    SHARED_KEY_TAG_VALUE,
    key_alias,
    name_tag_value,
    parameter_name,
)
from ..domain.policy import published_resources
from ..domain.settings import ALLOW_ANY, ALLOW_ORGANIZATION, KEY_MODE_POOL, AllowList, Settings
from ..domain.sharetag import ShareTag, format_time, has_share_tag, parse_share_tag, tag_value
from ..domain.status import promises_expiry
from ..gateway import Aws
from ..gateway.base import clients_of
from .state import KeyState, SecretCopy, SecretState

logger = logging.getLogger("secretshare")

# Key states in which KMS refuses to encrypt or decrypt (docs/aws-facts.md §13), so a grant on the key would be
# useless. Revoking needs only PutKeyPolicy, which KMS allows in every state.
_UNUSABLE_KEY_STATES = {
    "Disabled",
    "PendingDeletion",
    "PendingReplicaDeletion",
    "Unavailable",
    "PendingImport",
    "Creating",
}
# A published consumer policy names the keys of the secret's regions; the regions of keys it names are searched for
# our statements too (a replica region since removed). It is untrusted input: only well-formed regions, and few.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
_MAX_HINTED_KEYS = 8

# Keys carrying the grants tag, by region: ARN -> tags. The sweep lists them once for every secret it checks.
KeyIndex = Mapping[str, Mapping[str, Mapping[str, str]]]


def read_state(
    aws: Aws,
    secret_id: str,
    key_index: KeyIndex | None = None,
    made_keys: Sequence[str] = (),
    hinted_keys: Iterable[str] = (),
) -> tuple[SecretState, ShareTag]:
    """Read the secret, its tags, replicas, keys, policies and consumer parameters: everything the plan needs.

    `key_index` is the keys carrying our tag (the sweep reads it once for all its secrets), saving the tagging
    query. `made_keys` are keys an earlier attempt made (a key made for the secret among them is adopted, however
    far behind the tagging index is). `hinted_keys` are keys whose policy names the secret (the sweep read them): a
    pool key among them is read too. A replica is reconciled through its primary, which owns the tags and the
    resource policy.
    """
    description, region = describe(aws, secret_id)
    if description is None:
        state = _gone_secret_state(aws, secret_id, region)
        # Pool keys are not tagged per secret: every one of the region may still hold the gone secret's grants.
        keys = _Keys(aws, state.name, state.location.account, key_index, every_pool_key=True)
        return _complete(aws, state, keys, ()), ShareTag()
    description = _primary_description(aws, description)
    arn = description["ARN"]
    location = parse_arn(arn)
    assert location is not None  # describe_secret always returns a secret ARN
    tags = tuple(description.get("Tags", []))
    settings = aws.settings
    allow = settings.allowed_consumers
    tagged = has_share_tag(tags, settings.share_tag_key)
    organization = (
        aws.organizations.organization(location.account) if tagged and allow.mode == ALLOW_ORGANIZATION else None
    )
    allowed_accounts, allowed_organizations = _allowed(allow, organization)
    share = parse_share_tag(
        tags,
        tag_key=settings.share_tag_key,
        partition=location.partition,
        producer_account=location.account,
        allowed_accounts=allowed_accounts,
        allowed_organizations=allowed_organizations,
        allow_list_name=f"ALLOWED_CONSUMERS={allow}",
        until_key=settings.share_until_tag_key,
    )
    pending_deletion = "DeletedDate" in description
    wanted = bool(share.consumers) and not pending_deletion
    keys = _Keys(aws, description["Name"], location.account, key_index, tuple(made_keys), frozenset(hinted_keys))
    fits = _grant_fits(arn, share, organization) if wanted else None
    primary = _copy(aws, keys, location.region, arn, description.get("KmsKeyId"), fits)
    state = SecretState(
        arn=arn,
        name=description["Name"],
        pending_deletion=pending_deletion,
        owning_service=description.get("OwningService"),
        tags=tags,
        kms_key_id=primary.kms_key_id,
        key=primary.key,
        resource_policy=None if pending_deletion else aws.secrets.resource_policy(arn, location.region),
        target_key=primary.target_key,
        target_needs_alias=primary.target_needs_alias,
        pool_keys=primary.pool_keys,
        replicas=_replicas(aws, keys, description, wanted=wanted),
        organization=organization,
        parameter_name=_parameter_name(settings, location, description["Name"]),
    )
    state = replace(state, expiry_schedule=_expiry_schedule(aws, state))
    # A new key means a new parameter value everywhere: publishing does not need to read first.
    new_key = wanted and any(copy.key is None and copy.target_key is None for copy in state.copies)
    return _complete(aws, state, keys, share.consumers if wanted else (), read_wanted=not new_key), share


def _allowed(
    allow: AllowList, organization: Organization | None
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """Which accounts and which organizations' entries the allow-list admits (None: any)."""
    if allow.mode == ALLOW_ANY:
        return None, None
    if allow.mode == ALLOW_ORGANIZATION:
        if organization is None:  # not read: the secret carries no share tag, so no entry to admit
            return frozenset(), frozenset()
        return organization.accounts, frozenset({organization.id})
    return allow.accounts, allow.organizations


def describe(aws: Aws, secret_id: str) -> tuple[dict | None, str]:
    """The secret's description (None: it does not exist) and the region it was looked for in: the ARN's, else the
    session's."""
    region = region_of(secret_id) or aws.region
    return aws.secrets.describe(secret_id, region), region


def customer_key_metadata(aws: Aws, description: dict, region: str) -> dict | None:
    """DescribeKey's metadata of the customer-managed key encrypting a described secret; None on the AWS managed
    key."""
    key_id = description.get("KmsKeyId")
    if not key_id or _is_aws_managed_alias(key_id):
        return None
    metadata = aws.kms.describe_key(key_id, region)
    return None if metadata is None or metadata.get("KeyManager") == "AWS" else metadata


def region_of(secret_id: str) -> str | None:
    """The region in an ARN; None for a name."""
    arn = parse_arn(secret_id)
    return arn.region if arn else None


@dataclass
class _Keys:
    """The keys of account A that may hold our statements for one secret name, by region, found by tag."""

    aws: Aws
    name: str
    account: str
    index: KeyIndex | None = None
    # Keys an earlier attempt of this reconciliation made (its retry request says so): adopted if made for this name.
    made: tuple[str, ...] = ()
    # Pool keys hold the grants of many secrets, and are not searched for one by tag: besides the key a secret is on,
    # those named for it (by the sweep, or by a consumer policy published for it) are read, and, for a secret that
    # no longer exists, every pool key of its regions.
    hinted: frozenset[str] = frozenset()
    every_pool_key: bool = False
    _found: dict[tuple[str, tuple[str, ...]], Mapping[str, Mapping[str, str]]] = field(default_factory=dict)

    def _with(self, region: str, values: tuple[str, ...]) -> Mapping[str, Mapping[str, str]]:
        """ARN -> tags of every key in `region` whose grants tag has one of `values`."""
        if (region, values) not in self._found:
            self._found[region, values] = (
                {arn: tags for arn, tags in self.index[region].items() if tags.get(GRANTS_TAG_KEY) in values}
                if self.index is not None and region in self.index
                else self.aws.tagging.tagged_keys(GRANTS_TAG_KEY, list(values), region)
            )
        return self._found[region, values]

    def _in(self, region: str) -> Mapping[str, Mapping[str, str]]:
        """ARN -> tags of every key in `region` tagged for this name, shared, or by an earlier version (and every
        pool key, for a secret that no longer exists)."""
        pool = POOL_KEY_TAG_VALUES if self.every_pool_key else ()
        return self._with(region, (name_tag_value(self.name), SHARED_KEY_TAG_VALUE, LEGACY_KEY_TAG_VALUE, *pool))

    def tagged(self, region: str, known: frozenset[str] = frozenset()) -> dict[str, Mapping[str, str]]:
        """ARN -> tags of the keys in `region` that may hold statements for this name: the keys made for it, keys
        holding statements of several secrets, and the pool keys named for it or made by an earlier attempt. Keys an
        earlier version made (tagged `true` and managed-by) are left out: each serves one name, and reading them all
        would cost a read per key of the estate; the one a secret is on is read as its current key, and retagged.
        Hinted keys among `known` (read already) are not looked at again."""
        found = {arn: tags for arn, tags in self._in(region).items() if not _made_by_an_earlier_version(tags)}
        for arn in sorted((self.hinted | set(self.made)) - found.keys() - known):
            tags = self._pool_key_tags(arn, region) if region_of(arn) == region else None
            if tags is not None:
                found[arn] = tags
        return found

    def _pool_key_tags(self, key_arn: str, region: str) -> Mapping[str, str] | None:
        """A hinted key's tags when it is a pool key; None for any other key, or one that cannot be read (a consumer
        policy is untrusted input: it may name a key that does not exist)."""
        if self.aws.kms.describe_key(key_arn, region) is None:
            logger.warning("secret %s: key %s, named for it, does not exist", self.name, key_arn)
            return None
        tags = self.tags(key_arn, region)
        return tags if KeyState(key_arn, {}, tags).in_pool else None

    def hint(self, key_arns: Iterable[str]) -> bool:
        """Name more keys that may hold statements for this name; True when one is new."""
        before = self.hinted
        self.hinted = before | set(key_arns)
        return self.hinted != before

    def open_pool_keys(self, region: str) -> dict[str, Mapping[str, str]]:
        """ARN -> tags of the pool keys in `region` open for new secrets, with those an earlier attempt made and those
        made in this process (the tagging index may not show them yet: docs/aws-facts.md §11, §17)."""
        found = dict(self._with(region, (POOL_KEY_TAG_VALUE,)))
        made_here = clients_of(self.aws.clients.session).pool_keys_made(region)
        for arn in (*self.made, *made_here):
            if region_of(arn) == region and arn not in found:
                tags = self.tags(arn, region)
                if tags.get(GRANTS_TAG_KEY) == POOL_KEY_TAG_VALUE:
                    found[arn] = tags
        return dict(sorted(found.items()))

    def tags(self, key_arn: str, region: str) -> Mapping[str, str]:
        """A key's tags: as the tagging query found them or, for a key it did not return, as KMS holds them. The query
        reads an index that may not show yet a key tagged seconds ago (docs/aws-facts.md §11, §17): a key secretshare
        made is recognised as its own all the same, and never relabelled as another's."""
        indexed = self.index.get(region, {}) if self.index is not None else {}
        found = self._in(region).get(key_arn) or indexed.get(key_arn)
        return found if found is not None else self.aws.kms.tags(key_arn, region)

    def others(self, regions: Iterable[str], known: Iterable[KeyState | None]) -> list[KeyState]:
        """The keys found by tag in `regions`, besides `known`; a key A may not read is left out, with a warning."""
        skip = frozenset(key.arn for key in known if key is not None)
        found = []
        for region in sorted(set(regions)):
            for arn, tags in sorted(self.tagged(region, skip).items()):
                if arn in skip:
                    continue
                try:
                    found.append(KeyState(arn, self.aws.kms.key_policy(arn, region), tags))
                except KeyNotUsable as err:
                    logger.warning("secret %s: key %s cannot be read, its statements stay: %s", self.name, arn, err)
        return found


def _made_by_an_earlier_version(tags: Mapping[str, str]) -> bool:
    return tags.get(MANAGED_BY_TAG[0]) == MANAGED_BY_TAG[1] and tags.get(GRANTS_TAG_KEY) == LEGACY_KEY_TAG_VALUE


def _complete(
    aws: Aws, state: SecretState, keys: _Keys, consumers: Iterable[str], *, read_wanted: bool = True
) -> SecretState:
    """Add the other keys that may hold our statements, the accounts each organization or OU consumer covers, and
    the parameters of every account that may hold one (the wanted consumers' only when `read_wanted`).

    Keys are searched in the secret's regions and, once the parameters are read, in the regions of the keys they
    name (a replica region removed since); what that second search finds may name accounts to read as well.
    """
    searched = {copy.region for copy in state.copies}
    state = replace(state, other_keys=tuple(keys.others(searched, (copy.key for copy in state.copies))))
    state = _with_scope_members(aws, state, consumers)
    wanted = state.accounts_of(consumers) if read_wanted else set()
    parameters, unreachable = _read_parameters(aws, state, wanted | state.previous_accounts())
    hinted = _hinted_keys(parameters.values(), state.location.account) - {key.arn for key in state.keys}
    regions = {region for region in map(region_of, hinted) if region} - searched
    if keys.hint(hinted) or regions:
        more = keys.others(searched | regions, state.keys)
        state = _with_scope_members(aws, replace(state, other_keys=(*state.other_keys, *more)), consumers)
        extra, extra_unreachable = _read_parameters(aws, state, state.previous_accounts() - parameters.keys())
        parameters, unreachable = {**parameters, **extra}, {**unreachable, **extra_unreachable}
    return replace(state, parameters=parameters, unreachable=unreachable)


def _with_scope_members(aws: Aws, state: SecretState, consumers: Iterable[str]) -> SecretState:
    """The accounts of every organization or OU consumer, wanted or granted before (None where A cannot list them)."""
    scopes = {c for c in consumers if isinstance(c, OrganizationConsumer)} | state.previous_scopes()
    if not scopes:
        return state
    organization = state.organization or _organization_if_any(aws, state.location.account)
    members = {
        scope: aws.organizations.scope_members(scope, organization) if organization else None for scope in scopes
    }
    return replace(state, scope_members=members)


def _organization_if_any(aws: Aws, account: str) -> Organization | None:
    """A's organization, to list the accounts a revoked organization or OU consumer may hold parameters in."""
    try:
        return aws.organizations.organization(account)
    except AllowListUnavailable as err:
        logger.warning("%s", err)
        return None


def _hinted_keys(values: Iterable[str | None], account: str) -> set[str]:
    """The keys of A that published consumer policies name: in their regions, and on a pool key, our statements for
    the secret may remain (a replica region since removed, a key the secret left)."""
    keys = set()
    for value in values:
        for resource in published_resources(value, CONSUMER_DECRYPT_SID):
            arn = parse_arn(resource)
            if arn and arn.service == "kms" and arn.account == account and _REGION.fullmatch(arn.region):
                keys.add(resource)
    return set(sorted(keys)[:_MAX_HINTED_KEYS])


def _primary_description(aws: Aws, description: dict) -> dict:
    """The primary secret's description when `description` is a replica's (its PrimaryRegion is elsewhere)."""
    location = parse_arn(description["ARN"])
    primary_region = description.get("PrimaryRegion")
    if location is None or not primary_region or primary_region == location.region:
        return description
    primary = aws.secrets.describe(in_region(description["ARN"], primary_region), primary_region)
    return primary or description


def _replicas(aws: Aws, keys: _Keys, description: dict, *, wanted: bool) -> tuple[SecretCopy, ...]:
    """The secret's replicas, each with the key that encrypts it in its region.

    A replica whose replication failed does not exist yet: it is left out until it does (the sweep retries). A
    replica that cannot be shared (on the AWS managed key, or on a key A cannot grant on) carries why, and is
    shared with nobody: the others are shared all the same.
    """
    arn = description["ARN"]
    found = []
    for replica in description.get("ReplicationStatus", []):
        region = replica["Region"]
        if replica.get("Status") == "Failed":
            logger.warning("secret %s: replica in %s failed to replicate and is not shared", arn, region)
            continue
        found.append(_replica(aws, keys, arn, region, replica.get("KmsKeyId"), wanted=wanted))
    return tuple(found)


def _replica(
    aws: Aws, keys: _Keys, primary_arn: str, region: str, kms_key_id: str | None, *, wanted: bool
) -> SecretCopy:
    """One replica. Its key is never changed: no AWS API reference documents a call that changes a replica's key
    (UpdateSecret on a replica is refused in the field: docs/aws-facts.md §7); a replica gets a key when it is
    replicated (ReplicateSecretToRegions, AddReplicaRegions[].KmsKeyId)."""
    replica_arn = in_region(primary_arn, region)
    try:
        key = _current_key(aws, keys, replica_arn, kms_key_id, required=wanted)
    except KeyNotUsable as err:
        left = _current_key(aws, keys, replica_arn, kms_key_id, required=False)  # its grants are revoked still
        return SecretCopy(region, replica_arn, kms_key_id, left, problem=str(err))
    if wanted and key is None:
        return SecretCopy(region, replica_arn, kms_key_id, problem=_replica_fix(primary_arn, region))
    return SecretCopy(region, replica_arn, kms_key_id, key)


def _replica_fix(primary_arn: str, region: str) -> str:
    return (
        f"replica in {region} is on the AWS managed key, which other accounts cannot use, and AWS offers no call "
        "that changes a replica's key. To share it, replicate it again with a customer-managed key of its region "
        f"(its readers in {region} lose it meanwhile): aws secretsmanager remove-regions-from-replication "
        f"--secret-id {primary_arn} --remove-replica-regions {region}, then aws secretsmanager "
        f"replicate-secret-to-regions --secret-id {primary_arn} "
        f"--add-replica-regions Region={region},KmsKeyId=<key ARN>"
    )


def _grant_fits(secret_arn: str, share: ShareTag, organization: Organization | None) -> Callable[[KeyState], bool]:
    """Whether a pool key has room for the secret's grant within `keypool.POOL_FILL_BYTES` (every consumer the tags
    name: a time-boxed share never needs more)."""
    ends = format_time(share.until) if share.until else None
    org_id = organization.id if organization else None
    return lambda key: grant_fits(key.policy, secret_arn, share.consumers, ends, org_id, limit=POOL_FILL_BYTES)


def _copy(
    aws: Aws,
    keys: _Keys,
    region: str,
    secret_arn: str,
    kms_key_id: str | None,
    fits: Callable[[KeyState], bool] | None,
) -> SecretCopy:
    """The primary: its current key and, when it is on the AWS managed key, the key it would move to (in pool mode,
    with no key of its own, the pool keys it may go to). `fits` (None when nothing is to be granted) says whether a
    pool key has room for its grant.

    On a pool key near its limit with the secret's grant, the other open pool keys are read too: should the grant not
    fit the key's 32 KB (the grants there grew), the plan moves the secret to one of them (`plan._copy_plan`)."""
    wanted = fits is not None
    key = _current_key(aws, keys, secret_arn, kms_key_id, required=wanted)
    if fits is not None and key is not None and key.in_pool and not fits(key):
        others = tuple(found for found in _open_pool_keys(aws, keys, region) if found.arn != key.arn)
        return SecretCopy(region, secret_arn, kms_key_id, key, pool_keys=others)
    if not wanted or key is not None:
        return SecretCopy(region, secret_arn, kms_key_id, key)
    target, needs_alias = _move_target(aws, keys, secret_arn)
    pool = _open_pool_keys(aws, keys, region) if target is None and aws.settings.key_mode == KEY_MODE_POOL else None
    return SecretCopy(region, secret_arn, kms_key_id, key, target, needs_alias, pool)


def _open_pool_keys(aws: Aws, keys: _Keys, region: str) -> tuple[KeyState, ...]:
    """The pool keys of `region` open for new secrets that can carry grants, with their policies."""
    found = []
    for arn, tags in keys.open_pool_keys(region).items():
        metadata = aws.kms.describe_key(arn, region)
        if metadata and metadata.get("KeyState") not in _UNUSABLE_KEY_STATES:
            found.append(KeyState(arn, aws.kms.key_policy(arn, region), tags))
    return tuple(found)


def _expiry_schedule(aws: Aws, state: SecretState) -> datetime | None:
    """When the expiry schedule fires; read only where one may exist (a `share-until` tag, or a status that
    promised one), so a secret without expiry costs no Scheduler call.
    """
    settings, tags = aws.settings, state.tags
    has_until = tag_value(tags, settings.share_until_tag_key) is not None
    if not settings.schedules_expiry or not (has_until or promises_expiry(tag_value(tags, settings.status_tag_key))):
        return None
    return aws.scheduler.expiry_schedule(state.schedule_name, state.location.region)


def _parameter_name(settings: Settings, location: Arn, secret_name: str) -> str:
    return parameter_name(settings.parameter_prefix, location.account, location.region, secret_name, location.partition)


def _is_aws_managed_alias(kms_key_id: str) -> bool:
    return kms_key_id.startswith("alias/aws/") or ":alias/aws/" in kms_key_id


def _current_key(aws: Aws, keys: _Keys, secret_arn: str, kms_key_id: str | None, *, required: bool) -> KeyState | None:
    """The customer-managed key in A that encrypts the secret; None for the AWS managed key.

    A key we cannot put grants on is an error only when there are grants to put.
    """
    if not kms_key_id or _is_aws_managed_alias(kms_key_id):
        return None
    location = parse_arn(secret_arn)
    assert location is not None
    try:
        if not required and _is_key_arn_in(kms_key_id, location.account):
            # Revoking needs only the key policy, whatever the key's state: skip DescribeKey.
            policy = aws.kms.key_policy(kms_key_id, location.region)
            return KeyState(kms_key_id, policy, keys.tags(kms_key_id, location.region))
        return _customer_key(aws, keys, kms_key_id, location.region, f"key {kms_key_id} of secret {secret_arn}")
    except KeyNotUsable:
        if required:
            raise
        return None


def _is_key_arn_in(key_id: str, account: str) -> bool:
    arn = parse_arn(key_id)
    return arn is not None and arn.service == "kms" and arn.account == account and arn.resource.startswith("key/")


def _customer_key(aws: Aws, keys: _Keys, key_id: str, region: str, what: str) -> KeyState | None:
    """Key metadata, policy and tags for a key A administers; None when it is an AWS managed key."""
    metadata = usable_key(aws, key_id, region, keys.account, what)
    if metadata is None:
        return None
    arn = metadata["Arn"]
    return KeyState(arn, aws.kms.key_policy(arn, region), keys.tags(arn, region), metadata.get("Description", ""))


def usable_key(aws: Aws, key_id: str, region: str, account: str, what: str) -> dict | None:
    """The metadata of a customer-managed key of `account` that can carry grants; None for an AWS managed key.

    KeyNotUsable, its message starting with `what` (the key, as the user named it), for a key of another account,
    one that does not exist, or one KMS will not use (docs/aws-facts.md §13).
    """
    owner = key_account(key_id)
    if owner not in (None, account):
        raise KeyNotUsable(
            f"{what} is a key of account {owner}; secretshare runs as account {account} and grants only on its own keys"
        )
    metadata = aws.kms.describe_key(key_id, region)
    if metadata is None:
        raise KeyNotUsable(f"{what} names no key: it does not exist in account {account}, region {region}")
    if metadata.get("KeyManager") == "AWS":
        return None
    if metadata.get("KeyState") in _UNUSABLE_KEY_STATES:
        raise KeyNotUsable(f"{what} is {metadata['KeyState']}: it cannot carry grants")
    return metadata


def check_shared_key(aws: Aws, account: str) -> None:
    """SHARED_KEY_ARN names a customer-managed key of `account` that can carry grants (KeyNotUsable saying why not);
    the command line checks it before it does anything, reconciliation before it moves a secret there."""
    shared = aws.settings.shared_key_arn
    if shared and usable_key(aws, shared, region_of(shared) or aws.region, account, f"SHARED_KEY_ARN={shared}") is None:
        raise KeyNotUsable(f"SHARED_KEY_ARN={shared} is an AWS managed key: it cannot carry grants")


def _move_target(aws: Aws, keys: _Keys, secret_arn: str) -> tuple[KeyState | None, bool]:
    """The existing key a copy leaving the AWS managed key moves to (None: create one, or take a pool key), and
    whether it is the key made for the secret that still needs its alias (a run stopped between CreateKey and
    CreateAlias). A key made for the secret before (an earlier share, or an earlier version) is taken in any key
    mode: it is paid for already.
    """
    location = parse_arn(secret_arn)
    assert location is not None
    region = location.region
    shared = aws.settings.shared_key_arn
    in_same_region = region_of(shared) == region
    if shared and not in_same_region:
        raise KeyNotUsable(f"SHARED_KEY_ARN {shared} is not in the region of secret {secret_arn}")
    if shared and in_same_region:
        check_shared_key(aws, keys.account)
        return _customer_key(aws, keys, shared, region, f"SHARED_KEY_ARN={shared}"), False
    alias = key_alias(keys.name)
    if aws.kms.describe_key(alias, region) is not None:
        return _customer_key(aws, keys, alias, region, f"alias {alias}"), False
    made = [(arn, keys.tags(arn, region)) for arn in keys.made if region_of(arn) == region]
    for arn, tags in [*made, *sorted(keys.tagged(region).items())]:
        if KeyState(arn, {}, tags).made_for(keys.name):
            metadata = aws.kms.describe_key(arn, region)
            if metadata and metadata.get("KeyState") not in _UNUSABLE_KEY_STATES:
                return KeyState(arn, aws.kms.key_policy(arn, region), tags), True
    return None, False


def _read_parameters(aws: Aws, state: SecretState, accounts: set[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    location, name = state.location, state.parameter_name
    values: dict[str, str | None] = {}
    unreachable: dict[str, str] = {}
    for account in sorted(accounts):
        try:
            values[account] = aws.consumers.read_parameter(account, name, location.partition, location.region)
        except ConsumerAccountError as err:
            unreachable[account] = str(err)
    return values, unreachable


def _gone_secret_state(aws: Aws, secret_id: str, region: str | None) -> SecretState:
    """A secret that no longer exists, as its identifier names it.

    A complete ARN (with the six-character suffix) names that secret alone: a secret recreated under the same name
    has another suffix, and is left alone. A name or partial ARN may stand only for secrets of that name that no
    longer exist; DescribeSecret just said no live secret in the region answers to it.
    """
    if parse_arn(secret_id):
        arn = secret_id
        complete = is_complete_secret_arn(secret_id)
        name = secret_name_from_arn(secret_id) if complete else _partial_name(secret_id)
    else:
        caller = parse_arn(aws.sts.caller_arn(region))
        assert caller is not None
        arn = f"arn:{caller.partition}:secretsmanager:{region}:{caller.account}:secret:{secret_id}"
        complete, name = False, secret_id
    state = SecretState(arn=arn, name=name, exists=False, known_by_name=not complete)
    return replace(state, parameter_name=_parameter_name(aws.settings, state.location, name))


def _partial_name(partial_arn: str) -> str:
    location = parse_arn(partial_arn)
    assert location is not None
    return location.resource.removeprefix("secret:")
