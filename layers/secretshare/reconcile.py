"""One reconciliation: read everything, plan, apply, report. The entry point is `reconcile_secret`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .arns import in_region, is_complete_secret_arn, parse_arn, secret_name_from_arn
from .aws import Aws, Clients, error_code, key_account
from .errors import (
    ConsumerAccountError,
    KeyNotUsable,
    PolicyRejected,
    PublicPolicyRefused,
    ReconcileFailed,
    SecretShareError,
)
from .events import EXPIRY_DETAIL_TYPE, EXPIRY_SOURCE, reconcile_request
from .names import GRANTS_TAG, MANAGED_BY_TAG, expiry_schedule_name, is_ours, key_alias, parameter_name
from .plan import CopyPlan, KeyState, Plan, SecretCopy, SecretState, plan_reconciliation
from .policy import (
    KEY_POLICY_MAX_BYTES,
    RESOURCE_POLICY_MAX_CHARS,
    check_size,
    principal_accounts,
    published_key_arns,
    statements,
)
from .settings import Settings
from .sharetag import RejectedEntry, ShareTag, format_time, has_share_tag, parse_share_tag, tag_value
from .status import error_value, promises_expiry

logger = logging.getLogger("secretshare")

# Key states in which KMS refuses to encrypt or decrypt, so a grant on the key would be useless.
_UNUSABLE_KEY_STATES = {"PendingDeletion", "PendingReplicaDeletion", "Unavailable", "PendingImport"}


@dataclass(frozen=True)
class ReconcileResult:
    """What a reconciliation planned and, unless it was a dry run, applied."""

    plan: Plan
    applied: bool
    key_arn: str | None
    failures: tuple[str, ...] = ()

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
    dry_run: bool = False,
    settings: Settings | None = None,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
    now: datetime | None = None,
) -> ReconcileResult:
    """Bring a secret's KMS key policies, resource policy and consumer parameters in line with its tags.

    `secret_id` is a name, full ARN or partial ARN. A dry run reads but never writes. Pass the same
    `clients` to every reconciliation of one invocation to reuse clients and assumed roles. `now` is the
    moment a `share-until` is compared with (default: the clock). Raises ReconcileFailed (carrying the
    partial result) when a consumer account could not be written; errors in account A propagate as they
    are, so the caller retries. Either way the secret's status tag says how it went.
    """
    settings = settings or Settings.from_env()
    clients = clients or Clients(session or boto3.Session())
    now = now or datetime.now(UTC)
    try:
        return _reconcile(secret_id, dry_run=dry_run, settings=settings, clients=clients, now=now)
    except SecretShareError as err:
        if not dry_run and not isinstance(err, ReconcileFailed):
            _report_failure(Aws(settings, clients), secret_id, err)
        raise


def _reconcile(
    secret_id: str, *, dry_run: bool, settings: Settings, clients: Clients, now: datetime
) -> ReconcileResult:
    refused: dict[str, str] = {}
    while True:  # ends: each round refuses at least one more of the finitely many consumers, or raises
        aws = Aws(settings, clients)
        state, share = read_state(aws, secret_id)
        share = share.refusing(refused)
        plan = plan_reconciliation(state, share, settings, now=now)
        for entry in plan.rejected:
            logger.warning("secret %s: rejected share entry %r: %s", plan.secret_arn, entry.entry, entry.reason)
        if dry_run:
            failures = tuple(plan.unreachable.values())
            return ReconcileResult(plan, applied=False, key_arn=plan.key_arn, failures=failures)
        try:
            return _apply(aws, state, share, plan, now)
        except ClientError as err:
            if error_code(err) != "MalformedPolicyDocumentException":
                raise
            refused.update(_refused_principals(aws, plan, err))


def _report_failure(aws: Aws, secret_id: str, err: SecretShareError) -> None:
    """Put `error <what failed>` in the status tag of a secret whose reconciliation failed as a whole.

    Best effort: the failure itself is what the caller reports (log line, metric, alarm).
    """
    try:
        description = aws.describe_secret(secret_id, _region_of(secret_id) or aws.session.region_name)
        if description is None or "DeletedDate" in description:
            return
        key = aws.settings.status_tag_key
        value = error_value(err.status_code)
        if tag_value(description.get("Tags", []), key) == value:
            return
        aws.set_secret_tag(description["ARN"], key, value, _region_of(description["ARN"]) or aws.session.region_name)
    except (ClientError, BotoCoreError) as tag_error:
        logger.warning("secret %s: could not write the status tag: %s", secret_id, tag_error)


def _apply(aws: Aws, state: SecretState, share: ShareTag, plan: Plan, now: datetime) -> ReconcileResult:
    """Apply a plan. Parameters of revoked consumers go first: if one cannot be deleted, the key policy written
    next keeps a cleanup marker naming its account, so the retry still knows where to clean up.
    """
    _serialize(plan)  # a policy over its size limit stops us here, before the first write
    failures = _delete_revoked_parameters(aws, plan)
    if failures:
        plan = plan_reconciliation(state, share, aws.settings, now=now, undeletable=frozenset(failures))
    return _apply_grants(aws, plan, failures)


def _refused_principals(aws: Aws, plan: Plan, err: ClientError) -> dict[str, str]:
    """The role/user consumers AWS refuses (a role that does not exist makes KMS and Secrets Manager reject
    the whole policy). Account roots always exist. Raises PolicyRejected when none can be singled out.
    """
    refused: dict[str, str] = {}
    reason = "no consumer was refused on its own"
    for principal in (p for p in plan.consumers if not p.endswith(":root")):
        try:
            found = aws.principal_refused(plan.secret_arn, principal, plan.region)
        except ClientError as probe_error:
            reason = f"ValidateResourcePolicy failed: {probe_error}"
            break
        if found:
            refused[principal] = found
            logger.error("secret %s: AWS rejected principal %s: %s", plan.secret_arn, principal, found)
    if not refused:
        raise PolicyRejected(f"AWS rejected a policy for secret {plan.secret_arn}: {err} ({reason})") from err
    return refused


def read_state(aws: Aws, secret_id: str, description: dict | None = None) -> tuple[SecretState, ShareTag]:
    """Read the secret, its tags, replicas, keys, policies and consumer parameters: everything the plan needs.

    `description` is the secret as ListSecrets already returned it (the sweep), saving DescribeSecret. A
    replica is reconciled through its primary, which owns the tags and the resource policy.
    """
    region = _region_of(secret_id) or aws.session.region_name
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
        KeyState(key_arn, aws.key_policy(key_arn, _region_of(key_arn) or location.region))
        for key_arn in sorted(previous_keys)
        if _is_key_arn_in(key_arn, location.account)
    )
    return replace(state, parameters=parameters, unreachable=unreachable, other_keys=other_keys), share


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
    return aws.expiry_schedule(expiry_schedule_name(secret_arn), _region_of(secret_arn) or "")


def _region_of(secret_id: str) -> str | None:
    arn = parse_arn(secret_id)
    return arn.region if arn else None


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
    in_same_region = _region_of(shared) == location.region
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
        caller = parse_arn(aws.client("sts", region).get_caller_identity()["Arn"])
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


def _delete_revoked_parameters(aws: Aws, plan: Plan) -> dict[str, str]:
    """Delete the parameter in every revoked consumer account; return the accounts that failed and why."""
    failures: dict[str, str] = {}
    for account in plan.parameter_deletes:
        try:
            aws.delete_parameter(account, plan.parameter_name, plan.partition, plan.region)
        except ConsumerAccountError as err:
            logger.error("secret %s: %s", plan.secret_arn, err)
            failures[account] = str(err)
        else:
            _log(plan, f"deleted parameter {plan.parameter_name} in {account}")
    return failures


def _apply_grants(aws: Aws, plan: Plan, failures: dict[str, str]) -> ReconcileResult:
    """Apply A's side, keys first (a revoked consumer loses kms:Decrypt at once), then publish to consumers.

    Every document is serialized and size-checked before the first write, so a too-large policy changes
    nothing. A consumer account that fails does not stop the others; all failures are raised together
    at the end as ReconcileFailed, after the status tag has recorded them.
    """
    documents = _serialize(plan)
    key_arns = {copy.region: copy.key_arn for copy in plan.copies}
    for copy in plan.copies:
        if copy.new_key:
            new_key = copy.new_key
            key_arns[copy.region] = aws.create_key(
                new_key.alias, documents[f"new-key {copy.region}"], new_key.description, copy.region
            )
            _log(plan, f"created key {key_arns[copy.region]} ({new_key.alias}) in {copy.region}")
    for change in plan.key_policy_changes:
        aws.put_key_policy(change.key_arn, documents[change.key_arn], change.region)
        if change.adds_first_statement:
            aws.tag_key(change.key_arn, GRANTS_TAG, change.region)
        _log(plan, f"updated key policy of {change.key_arn}")
    for copy in plan.copies:
        key_arn = key_arns[copy.region]
        if copy.repoint and key_arn:
            _move_copy(aws, plan, copy, key_arn)
    _apply_resource_policy(aws, plan, documents.get("resource-policy"))
    failures = {**failures, **plan.unreachable}
    if plan.parameter_writes:
        failures |= _publish(aws, plan, {region: arn for region, arn in key_arns.items() if arn})
    _apply_schedule(aws, plan)
    _write_status(aws, plan, plan.status_with(failures))
    result = ReconcileResult(plan, applied=True, key_arn=key_arns[plan.region], failures=tuple(failures.values()))
    if failures:
        raise ReconcileFailed(plan.secret_arn, list(result.failures), result)
    return result


def _move_copy(aws: Aws, plan: Plan, copy: CopyPlan, key_arn: str) -> None:
    """Point the secret, or one of its replicas (UpdateSecret in the replica's region), at `key_arn`."""
    try:
        aws.set_secret_key(copy.secret_arn, key_arn, copy.region)
    except ClientError as err:
        refused = error_code(err) in ("InvalidParameterException", "InvalidRequestException")
        if copy.region == plan.region or not refused:
            raise
        raise KeyNotUsable(
            f"replica {copy.secret_arn} is on {copy.previous_key_id or 'the AWS managed key'}, which other accounts "
            f"cannot use, and AWS refused to move it to {key_arn}: {err}. Replicate it again with that key "
            "(ReplicateSecretToRegions with KmsKeyId), or remove the replica"
        ) from err
    _log(plan, f"{copy.secret_arn} now encrypted with {key_arn}")


def _apply_schedule(aws: Aws, plan: Plan) -> None:
    if plan.schedule_change is None:
        return
    name = expiry_schedule_name(plan.secret_arn)
    at = plan.schedule_change.at
    if at is None:
        aws.delete_expiry_schedule(name, plan.region)
        _log(plan, f"deleted expiry schedule {name}")
    else:
        message = json.dumps(reconcile_request(plan.secret_arn, EXPIRY_SOURCE, EXPIRY_DETAIL_TYPE))
        aws.put_expiry_schedule(name, at, message, plan.region)
        _log(plan, f"expiry schedule {name} fires at {format_time(at)}")


def _write_status(aws: Aws, plan: Plan, value: str | None) -> None:
    """Record the outcome in the status tag, only when it changed: an unchanged outcome writes nothing, so the
    tag write cannot set off another reconciliation that writes again.
    """
    if value == plan.status_before:
        return
    aws.set_secret_tag(plan.secret_arn, aws.settings.status_tag_key, value, plan.region)
    _log(plan, f"status: {value}" if value else "removed the status tag")


def _publish(aws: Aws, plan: Plan, key_arns: dict[str, str]) -> dict[str, str]:
    """Write the consumer policy parameter in each consumer account; return the failed accounts and why."""
    value = plan.consumer_document(key_arns)
    keys = " ".join(key_arns[copy.region] for copy in plan.copies)
    description = f"secretshare: IAM policy to read {plan.secret_arn} (KMS key {keys})"[:1024]
    failures = {}
    for write in plan.parameter_writes:
        try:
            aws.write_parameter(
                write.account,
                plan.parameter_name,
                value,
                description,
                exists=write.exists,
                partition=plan.partition,
                region=plan.region,
            )
        except ConsumerAccountError as err:
            logger.error("secret %s: %s", plan.secret_arn, err)
            failures[write.account] = str(err)
        else:
            _log(plan, f"published parameter {plan.parameter_name} in {write.account}")
    return failures


def _serialize(plan: Plan) -> dict[str, str]:
    def key_policy(document: dict) -> str:
        return check_size(
            document, limit=KEY_POLICY_MAX_BYTES, what="key policy", secret=plan.secret_arn, in_bytes=True
        )

    documents = {change.key_arn: key_policy(change.after) for change in plan.key_policy_changes}
    for copy in plan.copies:
        if copy.new_key:
            documents[f"new-key {copy.region}"] = key_policy(copy.new_key.policy)
    change = plan.resource_policy_change
    if change and change.after is not None:
        documents["resource-policy"] = check_size(
            change.after, limit=RESOURCE_POLICY_MAX_CHARS, what="resource policy", secret=plan.secret_arn
        )
    return documents


def _apply_resource_policy(aws: Aws, plan: Plan, document: str | None) -> None:
    if plan.resource_policy_change is None:
        return
    if document is None:
        aws.delete_resource_policy(plan.secret_arn, plan.region)
        _log(plan, "deleted resource policy")
    else:
        _check_not_public(aws, plan, document)
        aws.put_resource_policy(plan.secret_arn, document, plan.region)
        _log(plan, "updated resource policy")


def _check_not_public(aws: Aws, plan: Plan, document: str) -> None:
    """Ask IAM Access Analyzer whether a resource policy holding statements we did not write is public.

    Ours cannot be (the tag grammar admits no wildcard), so a policy of only ours is not checked. Where
    Access Analyzer is unreachable the check is skipped with a log line; BlockPublicPolicy still applies.
    """
    change = plan.resource_policy_change
    if change is None or all(is_ours(s) for s in statements(change.after)):
        return
    try:
        verdict = aws.public_access_verdict(document, plan.region)
    except (ClientError, BotoCoreError) as err:
        logger.warning("secret %s: public-access check skipped, Access Analyzer unreachable: %s", plan.secret_arn, err)
        return
    if verdict != "PASS":
        raise PublicPolicyRefused(
            f"secret {plan.secret_arn}: IAM Access Analyzer finds its resource policy public ({verdict}); "
            "a statement secretshare did not write grants broad access: fix it, then reconcile again"
        )


def _log(plan: Plan, message: str) -> None:
    logger.info("secret %s: %s", plan.secret_arn, message)
