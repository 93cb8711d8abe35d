"""Reading: everything a reconciliation decides from, gathered before anything is decided.

`read_state` returns a `SecretState` and the `ShareTag` its tags ask for; the planner (`plan.py`) takes it from
there. Nothing here writes.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from .arns import in_region, is_complete_secret_arn, parse_arn, secret_name_from_arn
from .aws import Aws, key_account
from .errors import ConsumerAccountError, KeyNotUsable
from .names import GRANTS_TAG, MANAGED_BY_TAG, expiry_schedule_name, key_alias, parameter_name
from .plan import KeyState, SecretCopy, SecretState
from .policy import principal_accounts, published_key_arns
from .sharetag import ShareTag, has_share_tag, parse_share_tag, tag_value
from .status import promises_expiry

logger = logging.getLogger("secretshare")

# Key states in which KMS refuses to encrypt or decrypt, so a grant on the key would be useless.
_UNUSABLE_KEY_STATES = {"PendingDeletion", "PendingReplicaDeletion", "Unavailable", "PendingImport"}


def read_state(aws: Aws, secret_id: str, description: dict | None = None) -> tuple[SecretState, ShareTag]:
    """Read the secret, its tags, replicas, keys, policies and consumer parameters: everything the plan needs.

    `description` is the secret as ListSecrets already returned it (the sweep), saving DescribeSecret. A
    replica is reconciled through its primary, which owns the tags and the resource policy.
    """
    region = region_of(secret_id) or aws.session.region_name
    description = description or aws.describe_secret(secret_id, region)
    if description is None:
        return _gone_secret_state(aws, secret_id, region), ShareTag()
    description = _primary_description(aws, description)
    arn = description["ARN"]
    location = parse_arn(arn)
    assert location is not None  # describe_secret always returns a secret ARN
    tags = tuple(description.get("Tags", []))
    settings = aws.settings
    allowed = aws.allowed_accounts() if has_share_tag(tags, settings.share_tag_key) else frozenset()
    share = parse_share_tag(
        tags,
        tag_key=settings.share_tag_key,
        partition=location.partition,
        producer_account=location.account,
        allowed_accounts=allowed,
        allow_list_name=f"ALLOWED_CONSUMERS={settings.allowed_consumers}",
        until_key=settings.share_until_tag_key,
    )
    pending_deletion = "DeletedDate" in description
    wanted = share.consumers and not pending_deletion
    kms_key_id = description.get("KmsKeyId")
    key = _current_key(aws, arn, kms_key_id, required=bool(wanted))
    state = SecretState(
        arn=arn,
        name=description["Name"],
        pending_deletion=pending_deletion,
        tags=tags,
        kms_key_id=kms_key_id,
        key=key,
        resource_policy=None if pending_deletion else aws.resource_policy(arn, location.region),
        target_key=_move_target(aws, arn, description["Name"]) if wanted and key is None else None,
        replicas=_replicas(aws, description, required=bool(wanted)),
        expiry_schedule=_expiry_schedule(aws, arn, tags),
    )
    if not wanted:
        return state, share
    if any(copy.key is None and copy.target_key is None for copy in state.copies):
        # A new key means a new parameter value everywhere: publishing does not need to read first.
        return state, share
    parameters, unreachable = _read_parameters(aws, state, principal_accounts(share.consumers))
    # A key the published policies name but no copy of the secret uses: someone moved the secret, or removed a
    # replica. Our grants there still decrypt what is left under it, so they are revoked on that key too.
    in_use = {copy.key.arn for copy in state.copies if copy.key}
    previous_keys = set().union(*map(published_key_arns, parameters.values())) - in_use
    other_keys = tuple(
        KeyState(key_arn, aws.key_policy(key_arn, region_of(key_arn) or location.region))
        for key_arn in sorted(previous_keys)
        if _is_key_arn_in(key_arn, location.account)
    )
    return replace(state, parameters=parameters, unreachable=unreachable, other_keys=other_keys), share


def region_of(secret_id: str) -> str | None:
    """The region in an ARN; None for a name."""
    arn = parse_arn(secret_id)
    return arn.region if arn else None


def _primary_description(aws: Aws, description: dict) -> dict:
    """The primary secret's description when `description` is a replica's (its PrimaryRegion is elsewhere)."""
    location = parse_arn(description["ARN"])
    primary_region = description.get("PrimaryRegion")
    if location is None or not primary_region or primary_region == location.region:
        return description
    primary = aws.describe_secret(in_region(description["ARN"], primary_region), primary_region)
    return primary or description


def _replicas(aws: Aws, description: dict, *, required: bool) -> tuple[SecretCopy, ...]:
    """The secret's replicas, each with the key that encrypts it in its region.

    A replica whose replication failed does not exist yet: it is left out until it does (the sweep retries).
    """
    arn, name = description["ARN"], description["Name"]
    found = []
    for replica in description.get("ReplicationStatus", []):
        if replica.get("Status") == "Failed":
            logger.warning("secret %s: replica in %s failed to replicate and is not shared", arn, replica["Region"])
            continue
        region = replica["Region"]
        replica_arn = in_region(arn, region)
        kms_key_id = replica.get("KmsKeyId")
        key = _current_key(aws, replica_arn, kms_key_id, required=required)
        target = _move_target(aws, replica_arn, name, replica=True) if required and key is None else None
        found.append(SecretCopy(region, replica_arn, kms_key_id, key, target))
    return tuple(found)


def _expiry_schedule(aws: Aws, secret_arn: str, tags: tuple[dict, ...]) -> datetime | None:
    """When the expiry schedule fires; read only where one may exist (a `share-until` tag, or a status that
    promised one), so a secret without expiry costs no Scheduler call.
    """
    settings = aws.settings
    has_until = tag_value(tags, settings.share_until_tag_key) is not None
    if not settings.schedules_expiry or not (has_until or promises_expiry(tag_value(tags, settings.status_tag_key))):
        return None
    return aws.expiry_schedule(expiry_schedule_name(secret_arn), region_of(secret_arn) or "")


def _is_aws_managed_alias(kms_key_id: str) -> bool:
    return kms_key_id.startswith("alias/aws/") or ":alias/aws/" in kms_key_id


def _current_key(aws: Aws, secret_arn: str, kms_key_id: str | None, *, required: bool) -> KeyState | None:
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
            return KeyState(kms_key_id, aws.key_policy(kms_key_id, location.region))
        return _customer_key(aws, kms_key_id, location.account, location.region, f"secret {secret_arn}")
    except KeyNotUsable:
        if required:
            raise
        return None


def _is_key_arn_in(key_id: str, account: str) -> bool:
    arn = parse_arn(key_id)
    return arn is not None and arn.service == "kms" and arn.account == account and arn.resource.startswith("key/")


def _customer_key(aws: Aws, key_id: str, account: str, region: str, owner: str) -> KeyState | None:
    """Key metadata and policy for a key A administers; None when it is an AWS managed key."""
    if key_account(key_id) not in (None, account):
        raise KeyNotUsable(f"{owner} uses key {key_id} of another account; secretshare grants only on A's keys")
    metadata = aws.describe_key(key_id, region)
    if metadata is None:
        raise KeyNotUsable(f"{owner} uses key {key_id}, which does not exist in {account} {region}")
    if metadata.get("KeyManager") == "AWS":
        return None
    if metadata.get("KeyState") in _UNUSABLE_KEY_STATES:
        raise KeyNotUsable(f"{owner} uses key {metadata['Arn']}, which is {metadata['KeyState']}")
    return KeyState(metadata["Arn"], aws.key_policy(metadata["Arn"], region))


def _move_target(aws: Aws, secret_arn: str, name: str, *, replica: bool = False) -> KeyState | None:
    """The existing key a secret leaving the AWS managed key moves to; None means create a dedicated key.

    A replica in a region other than SHARED_KEY_ARN's gets a dedicated key in its own region.
    """
    location = parse_arn(secret_arn)
    assert location is not None
    shared = aws.settings.shared_key_arn
    in_same_region = region_of(shared) == location.region
    if shared and not in_same_region and not replica:
        raise KeyNotUsable(f"SHARED_KEY_ARN {shared} is not in the region of secret {secret_arn}")
    if shared and in_same_region:
        key = _customer_key(aws, shared, location.account, location.region, "SHARED_KEY_ARN")
        if key is None:
            raise KeyNotUsable(f"SHARED_KEY_ARN {shared} is an AWS managed key; name a customer-managed key")
        return key
    if aws.describe_key(key_alias(name), location.region) is None:
        return None
    return _customer_key(aws, key_alias(name), location.account, location.region, f"alias {key_alias(name)}")


def _read_parameters(aws: Aws, state: SecretState, accounts: set[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    location = state.location
    name = parameter_name(aws.settings.parameter_prefix, location.account, location.region, state.name)
    values: dict[str, str | None] = {}
    unreachable: dict[str, str] = {}
    for account in sorted(accounts):
        try:
            values[account] = aws.read_parameter(account, name, location.partition, location.region)
        except ConsumerAccountError as err:
            unreachable[account] = str(err)
    return values, unreachable


def _gone_secret_state(aws: Aws, secret_id: str, region: str | None) -> SecretState:
    """State of a secret that no longer exists: the keys that may still hold our grants for it."""
    if parse_arn(secret_id):
        arn = secret_id
        name = secret_name_from_arn(secret_id) if is_complete_secret_arn(secret_id) else _partial_name(secret_id)
    else:
        caller = parse_arn(aws.caller_arn(region))
        assert caller is not None
        arn = f"arn:{caller.partition}:secretsmanager:{region}:{caller.account}:secret:{secret_id}"
        name = secret_id
    location = parse_arn(arn)
    assert location is not None
    keys = {key.arn: key for key in _keys_that_may_grant(aws, name, location.account, location.region)}
    return SecretState(arn=arn, name=name, exists=False, other_keys=tuple(keys.values()))


def _keys_that_may_grant(aws: Aws, name: str, account: str, region: str) -> list[KeyState]:
    """Keys that may still hold grants for a deleted secret: its dedicated key, the shared key, and any
    other key we put grants on (tagged; secretshare's own dedicated keys are skipped, they serve one name).
    """
    reused = [
        arn
        for arn, tags in aws.tagged_keys(GRANTS_TAG[0], region).items()
        if tags.get(MANAGED_BY_TAG[0]) != MANAGED_BY_TAG[1]
    ]
    candidates = [key_alias(name), *([aws.settings.shared_key_arn] if aws.settings.shared_key_arn else []), *reused]
    found = []
    for key_id in dict.fromkeys(candidates):
        if aws.describe_key(key_id, region) is not None:
            key = _customer_key(aws, key_id, account, region, f"deleted secret {name}")
            found += [key] if key else []
    return found


def _partial_name(partial_arn: str) -> str:
    location = parse_arn(partial_arn)
    assert location is not None
    return location.resource.removeprefix("secret:")
