"""The thin AWS layer: every call secretshare makes, and the IAM action each one needs.

Reads gather a `SecretState`; writes apply one plan step. Nothing here decides anything.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .arns import parse_arn
from .errors import AllowListUnavailable, ConsumerAccountError, KeyNotUsable
from .events import MESSAGE_GROUP_ID
from .names import MANAGED_BY_TAG
from .orgs import Organization, scope_organization, scope_ou
from .settings import Settings

logger = logging.getLogger("secretshare")

# Adaptive retry mode backs off on throttling and 5xx and, once throttled, paces further calls on the client
# (the sweep's parallel reads stay near the per-account quotas). `total_max_attempts` counts the first try (botocore's
# `max_attempts` counts retries only: botocore/args.py `_compute_retry_max_attempts`). Four attempts back off at most
# 1 + 2 + 4 s (botocore/retries/standard.py: rand * 2^(attempt-1)), so a call that keeps failing costs a
# reconciliation seconds, not its minute; a reconciliation that still fails is queued again (secretshare.retries).
# A pool as large as the sweep's threads (botocore's default is 10): `make bench` saw 932 connections discarded
# with 16 threads on 10, each a new TLS handshake against AWS.
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 4}, max_pool_connections=32, user_agent_extra="secretshare"
)
# A consumer account that does not answer must not hold up the reconciliations queued behind (one FIFO message group):
# short timeouts there (SSM answers in well under a second), three attempts so that throttling (PutParameter's quota
# is per account) is still absorbed: at most 3 x (3 + 5) s + 1 + 2 s = 27 s, within retries.RESERVE_SECONDS. An
# account that failed is not tried again in the same invocation.
CONSUMER_CLIENT_CONFIG = CLIENT_CONFIG.merge(
    Config(connect_timeout=3, read_timeout=5, retries={"mode": "adaptive", "total_max_attempts": 3})
)
# Organization membership changes rarely; a warm Lambda reuses it for this long.
ORGANIZATION_CACHE_SECONDS = 300
# SendMessageBatch takes at most ten messages.
_SQS_BATCH = 10

# The IAM action each AWS operation needs, so the template's roles can be held against the code. Filled in by the
# `calls` declarations on the methods below: every AWS call secretshare makes is one of those methods.
REQUIRED_ACTIONS: dict[tuple[str, str], str] = {}
# IAM's service prefix where it differs from botocore's service name.
_IAM_PREFIX = {"resourcegroupstaggingapi": "tag", "accessanalyzer": "access-analyzer"}
# Operations authorized by an IAM action of another name.
_IAM_ACTION = {("sqs", "SendMessageBatch"): "sqs:SendMessage"}

_Method = TypeVar("_Method", bound=Callable[..., Any])


def calls(*operations: str) -> Callable[[_Method], _Method]:
    """Declare the AWS operations (`"kms:PutKeyPolicy"`, botocore's service name) a method makes.

    Each one lands in REQUIRED_ACTIONS with the IAM action it needs, as Cloud Custodian's actions declare
    their permissions: the declaration sits on the code that makes the call. An AWS error the method lets through
    carries that action (`failed_action`), so the failure can name the permission to check.
    """
    actions = {}
    for operation in operations:
        service, name = operation.split(":")
        default = f"{_IAM_PREFIX.get(service, service)}:{name}"
        actions[name] = REQUIRED_ACTIONS[(service, name)] = _IAM_ACTION.get((service, name), default)

    def declare(method: _Method) -> _Method:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except ClientError as err:
                err.failed_action = actions.get(err.operation_name, "")  # type: ignore[attr-defined]
                raise

        return call  # type: ignore[return-value]

    return declare


def failed_action(err: ClientError) -> str:
    """The IAM action of the call that failed (empty when it did not come through a declared method)."""
    return str(getattr(err, "failed_action", ""))


# EventBridge Scheduler's one-off expression: at(yyyy-mm-ddThh:mm:ss), read in ScheduleExpressionTimezone.
_AT_FORMAT = "at(%Y-%m-%dT%H:%M:%S)"

_organization_cache: dict[str, tuple[float, Organization]] = {}


def default_session() -> boto3.Session:
    """boto3's default session, made on first use (not at import) and reused while a Lambda stays warm."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


def error_code(err: ClientError) -> str:
    """The AWS error code of a failed call."""
    return str(err.response.get("Error", {}).get("Code", ""))


@dataclass
class Clients:
    """boto3 clients, made on first use and reused: for account A, and for consumer accounts.

    One instance serves one Lambda invocation (a batch of reconciliations, or a sweep) or one CLI run,
    so each consumer account's publisher role is assumed once per invocation. All clients come from one
    boto3 session, so event hooks registered on it (call counters, fault injectors) see every call.
    """

    session: boto3.Session = field(default_factory=boto3.Session)
    # Consumer accounts that failed in this invocation, and why: not tried again until the next one.
    failed_accounts: dict[str, str] = field(default_factory=dict)
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # Clients are thread-safe once made; making them from one session is not (the sweep reads in parallel).
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, service: str, region: str | None, identity: str = "", **credentials: str) -> Any:
        """The client for a service and region, as account A (`identity` "") or as an assumed role."""
        cache_key = (service, region or "", identity)
        config = CONSUMER_CLIENT_CONFIG if identity else CLIENT_CONFIG
        with self._lock:
            if cache_key not in self._clients:
                self._clients[cache_key] = self.session.client(
                    service, region_name=region, config=config, **credentials
                )
            return self._clients[cache_key]

    def has(self, service: str, region: str | None, identity: str) -> bool:
        """True when that client was already made."""
        return (service, region or "", identity) in self._clients


@dataclass
class Aws:
    """Every AWS call secretshare makes, for one reconciliation or one sweep.

    Key reads are cached for the life of this instance (a sweep reads each key once for all its secrets;
    a reconciliation never reads one twice), and our own key-policy writes update that cache. A new
    instance per reconciliation means a key policy is never written from a read made for another secret.
    """

    settings: Settings
    clients: Clients = field(default_factory=Clients)
    _key_metadata: dict[tuple[str, str], dict | None] = field(default_factory=dict)
    _key_policies: dict[str, dict] = field(default_factory=dict)
    _scopes: dict[str, frozenset[str] | None] = field(default_factory=dict)
    # One lock per consumer account: each account's role is assumed once, while the sweep's threads assume
    # different accounts' roles at once (one lock for all held 500 AssumeRoles in a row: `make bench`).
    _assuming: dict[str, threading.Lock] = field(default_factory=dict)
    _assuming_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def session(self) -> boto3.Session:
        """The boto3 session of account A."""
        return self.clients.session

    def _client(self, service: str, region: str | None = None) -> Any:
        """A client in account A: only the methods below use it, each declaring the operations it calls."""
        return self.clients.get(service, region or self.session.region_name)

    # --- reads in account A ---------------------------------------------------------------

    @calls("secretsmanager:DescribeSecret")
    def describe_secret(self, secret_id: str, region: str | None) -> dict | None:
        """The secret's description, or None when it does not exist."""
        try:
            return self._client("secretsmanager", region).describe_secret(SecretId=secret_id)
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                return None
            raise

    @calls("secretsmanager:GetResourcePolicy")
    def resource_policy(self, secret_arn: str, region: str) -> dict | None:
        """The secret's resource policy, parsed, or None when it has none."""
        found = self._client("secretsmanager", region).get_resource_policy(SecretId=secret_arn)
        text = found.get("ResourcePolicy")
        return json.loads(text) if text else None

    @calls("kms:DescribeKey")
    def describe_key(self, key_id: str, region: str) -> dict | None:
        """The key's metadata, or None when the key (or alias) does not exist."""
        if (key_id, region) not in self._key_metadata:
            try:
                found = self._client("kms", region).describe_key(KeyId=key_id)["KeyMetadata"]
            except ClientError as err:
                if error_code(err) != "NotFoundException":
                    raise
                found = None
            self._key_metadata[(key_id, region)] = found
        return self._key_metadata[(key_id, region)]

    @calls("kms:GetKeyPolicy")
    def key_policy(self, key_arn: str, region: str) -> dict:
        """The key policy, parsed; KeyNotUsable when account A may not read it."""
        if key_arn in self._key_policies:
            return self._key_policies[key_arn]
        try:
            found = self._client("kms", region).get_key_policy(KeyId=key_arn, PolicyName="default")
        except ClientError as err:
            if error_code(err) in ("AccessDeniedException", "AccessDenied"):
                raise KeyNotUsable(f"account A cannot administer key {key_arn}: {err}") from err
            if error_code(err) == "NotFoundException":
                raise KeyNotUsable(f"key {key_arn} does not exist") from err
            raise
        self._key_policies[key_arn] = json.loads(found["Policy"])
        return self._key_policies[key_arn]

    @calls("sts:GetCallerIdentity")
    def caller_arn(self, region: str | None) -> str:
        """The ARN account A's credentials act as (its partition and account name a secret known only by name)."""
        return self._client("sts", region).get_caller_identity()["Arn"]

    @calls("secretsmanager:ListSecrets")
    def tagged_secrets(self, tag_key: str) -> list[dict]:
        """Every secret of this region carrying a tag whose key starts with `tag_key`, as ListSecrets describes it.

        Secrets scheduled for deletion are included. The `tag-key` filter matches by prefix (`share-with` also
        matches `share-without`): the caller keeps the keys it wants. A list, not a generator, so that a page that
        fails does so inside this method and its error names the action (`calls`).
        """
        pages = (
            self._client("secretsmanager")
            .get_paginator("list_secrets")
            .paginate(IncludePlannedDeletion=True, Filters=[{"Key": "tag-key", "Values": [tag_key]}])
        )
        return [secret for page in pages for secret in page["SecretList"]]

    @calls("organizations:DescribeOrganization")
    def organization(self, account: str) -> Organization:
        """Account A's organization: its id (DescribeOrganization answers any member account) and, where A may list
        them, its active accounts (ListAccounts answers only the management account or a delegated administrator:
        docs/aws-facts.md §5). Cached for ORGANIZATION_CACHE_SECONDS. AllowListUnavailable when A is in no
        organization, or may not even describe it: then nothing can be checked, nor enforced."""
        cached = _organization_cache.get(account)
        if cached and time.monotonic() - cached[0] < ORGANIZATION_CACHE_SECONDS:
            return cached[1]
        try:
            found = self._client("organizations").describe_organization()["Organization"]
        except ClientError as err:
            raise AllowListUnavailable(
                f"ALLOWED_CONSUMERS=organization, but account {account} cannot describe its organization "
                f"(organizations:DescribeOrganization): {err}. Set ALLOWED_CONSUMERS to account ids or 'any'"
            ) from err
        organization = Organization(found["Id"], self._active_members(account))
        _organization_cache[account] = (time.monotonic(), organization)
        return organization

    @calls("organizations:ListAccounts")
    def _active_members(self, account: str) -> frozenset[str] | None:
        """The organization's ACTIVE accounts (read from `State`: `Status` was retired on 2026-09-09), or None when
        A may not list them, or the answer cannot be a real organization's (empty, or without A itself)."""
        try:
            pages = self._client("organizations").get_paginator("list_accounts").paginate()
            listed = {a["Id"]: a.get("State") for page in pages for a in page["Accounts"]}
        except ClientError as err:
            if error_code(err) not in ("AccessDeniedException", "AccessDenied"):
                raise
            logger.info("organization accounts cannot be listed from %s; AWS enforces membership: %s", account, err)
            return None
        if account not in listed:
            logger.warning("ListAccounts answered %d accounts without %s itself: ignored", len(listed), account)
            return None
        return frozenset(member for member, state in listed.items() if state == "ACTIVE")

    @calls(
        "organizations:ListParents",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
    )
    def scope_members(self, scope: str, organization: Organization) -> frozenset[str] | None:
        """The active accounts an organization or OU consumer covers (nested OUs included), or None when they cannot
        be listed from A (another organization, a member account of this one, or an OU path that is not this
        organization's). Read once per instance."""
        if scope not in self._scopes:
            self._scopes[scope] = self._list_scope(scope, organization)
        return self._scopes[scope]

    def _list_scope(self, scope: str, organization: Organization) -> frozenset[str] | None:
        if scope_organization(scope) != organization.id or organization.accounts is None:
            return None
        ou = scope_ou(scope)
        if ou is None:
            return organization.accounts
        organizations = self._client("organizations")
        try:
            if not self._path_is(ou, scope.split("/")[1:-1]):
                logger.warning(
                    "OU path %s does not lead to %s in %s: its accounts are not listed", scope, ou, organization.id
                )
                return None
            found: set[str] = set()
            pending = [ou]
            while pending:
                parent = pending.pop()
                for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                    found |= {a["Id"] for a in page["Accounts"] if a.get("State") == "ACTIVE"}
                for page in organizations.get_paginator("list_organizational_units_for_parent").paginate(
                    ParentId=parent
                ):
                    pending += [unit["Id"] for unit in page["OrganizationalUnits"]]
        except ClientError as err:
            logger.warning("the accounts under %s cannot be listed: %s", scope, err)
            return None
        return frozenset(found)

    def _path_is(self, ou: str, ancestors: list[str]) -> bool:
        """True when `ancestors` (root first) are the OU's parents up to the root."""
        organizations = self._client("organizations")
        child = ou
        for expected in reversed(ancestors):
            (parent,) = organizations.list_parents(ChildId=child)["Parents"]
            if parent["Id"] != expected:
                return False
            child = parent["Id"]
        return True

    # --- writes in account A --------------------------------------------------------------

    @calls("kms:CreateKey")
    def create_key(self, description: str, policy: str, tags: Mapping[str, str], region: str) -> str:
        """Create a symmetric customer-managed key with `policy`, tagged on creation; return its ARN."""
        key = self._client("kms", region).create_key(
            Policy=policy,
            Description=description,
            Tags=[{"TagKey": tag, "TagValue": value} for tag, value in tags.items()],
        )["KeyMetadata"]
        return key["Arn"]

    @calls("kms:CreateAlias")
    def create_alias(self, alias: str, key_arn: str, region: str) -> None:
        """Point a new alias at a key."""
        self._client("kms", region).create_alias(AliasName=alias, TargetKeyId=key_arn)

    @calls("kms:TagResource")
    def tag_key(self, key_arn: str, tag: str, value: str, region: str) -> None:
        """Tag a key (idempotent)."""
        self._client("kms", region).tag_resource(KeyId=key_arn, Tags=[{"TagKey": tag, "TagValue": value}])

    @calls("resourcegroupstaggingapi:GetResources")
    def tagged_keys(self, tag: str, values: list[str], region: str) -> dict[str, dict[str, str]]:
        """ARNs of the KMS keys whose `tag` has one of `values` (every value when `values` is empty), each with all
        its tags (one query per 100 keys, docs/aws-facts.md §11)."""
        tag_filter: dict[str, Any] = {"Key": tag, **({"Values": values} if values else {})}
        pages = (
            self._client("resourcegroupstaggingapi", region)
            .get_paginator("get_resources")
            .paginate(ResourceTypeFilters=["kms:key"], TagFilters=[tag_filter])
        )
        return {
            found["ResourceARN"]: {tag["Key"]: tag["Value"] for tag in found.get("Tags", [])}
            for page in pages
            for found in page["ResourceTagMappingList"]
        }

    @calls("kms:PutKeyPolicy")
    def put_key_policy(self, key_arn: str, policy: str, region: str) -> None:
        """Replace the key policy (the merge already kept every statement we do not own)."""
        self._client("kms", region).put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy)
        self._key_policies[key_arn] = json.loads(policy)

    @calls("secretsmanager:UpdateSecret")
    def set_secret_key(self, secret_arn: str, key_arn: str, region: str) -> None:
        """Point the secret at `key_arn` by full ARN (a key id or alias would resolve in the reader's account)."""
        self._client("secretsmanager", region).update_secret(SecretId=secret_arn, KmsKeyId=key_arn)

    @calls("secretsmanager:PutResourcePolicy")
    def put_resource_policy(self, secret_arn: str, policy: str, region: str) -> None:
        """Write the secret's resource policy, refusing anything AWS considers public."""
        self._client("secretsmanager", region).put_resource_policy(
            SecretId=secret_arn, ResourcePolicy=policy, BlockPublicPolicy=True
        )

    @calls("accessanalyzer:CheckNoPublicAccess")
    def public_access_verdict(self, policy: str, region: str) -> str:
        """IAM Access Analyzer's CheckNoPublicAccess result for a secret resource policy: PASS or FAIL."""
        found = self._client("accessanalyzer", region).check_no_public_access(
            policyDocument=policy, resourceType="AWS::SecretsManager::Secret"
        )
        return found["result"]

    @calls("secretsmanager:DeleteResourcePolicy")
    def delete_resource_policy(self, secret_arn: str, region: str) -> None:
        """Remove the secret's resource policy."""
        self._client("secretsmanager", region).delete_resource_policy(SecretId=secret_arn)

    @calls("secretsmanager:TagResource", "secretsmanager:UntagResource")
    def set_secret_tag(self, secret_arn: str, key: str, value: str | None, region: str) -> None:
        """Write one tag on the secret, or remove it when `value` is None."""
        secretsmanager = self._client("secretsmanager", region)
        if value is None:
            secretsmanager.untag_resource(SecretId=secret_arn, TagKeys=[key])
        else:
            secretsmanager.tag_resource(SecretId=secret_arn, Tags=[{"Key": key, "Value": value}])

    # --- expiry schedules (EventBridge Scheduler) -------------------------------------------

    @calls("scheduler:GetSchedule")
    def expiry_schedule(self, name: str, region: str) -> datetime | None:
        """When the one-off schedule `name` fires (UTC), or None when there is no such schedule."""
        try:
            found = self._client("scheduler", region).get_schedule(
                Name=name, GroupName=self.settings.expiry_schedule_group
            )
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                return None
            raise
        try:
            return datetime.strptime(found["ScheduleExpression"], _AT_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None  # not a one-off schedule of ours: rewriting it puts it right

    @calls("scheduler:CreateSchedule", "scheduler:UpdateSchedule")
    def put_expiry_schedule(self, name: str, at: datetime, message: str, region: str) -> None:
        """Create or move the one-off schedule that sends `message` to the reconcile queue at `at` (UTC).

        Scheduler deletes it once it has fired; a message sent a little late only delays the revocation
        until it arrives, and the sweep enforces the expiry as well.
        """
        settings = self.settings
        arguments = {
            "Name": name,
            "GroupName": settings.expiry_schedule_group,
            "ScheduleExpression": at.astimezone(UTC).strftime(_AT_FORMAT),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Description": "secretshare: revoke a time-boxed share when it expires",
            "Target": {
                "Arn": settings.queue_arn,
                "RoleArn": settings.expiry_schedule_role_arn,
                "Input": message,
                "SqsParameters": {"MessageGroupId": MESSAGE_GROUP_ID},
            },
        }
        scheduler = self._client("scheduler", region)
        try:
            scheduler.create_schedule(**arguments)
        except ClientError as err:
            if error_code(err) != "ConflictException":
                raise
            scheduler.update_schedule(**arguments)

    @calls("scheduler:DeleteSchedule")
    def delete_expiry_schedule(self, name: str, region: str) -> None:
        """Delete the one-off schedule; one already gone (it fired) is fine."""
        try:
            self._client("scheduler", region).delete_schedule(Name=name, GroupName=self.settings.expiry_schedule_group)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise

    # --- the reconcile queue ----------------------------------------------------------------------

    @calls("sqs:SendMessageBatch")
    def send_messages(self, queue_url: str, bodies: list[str], group_id: str) -> None:
        """Send messages to the FIFO queue, ten to a batch (SQS's limit); raise naming every message that failed."""
        sqs = self._client("sqs")
        for start in range(0, len(bodies), _SQS_BATCH):
            batch = bodies[start : start + _SQS_BATCH]
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "MessageBody": body, "MessageGroupId": group_id} for i, body in enumerate(batch)
                ],
            )
            if response.get("Failed"):
                failed = [batch[int(f["Id"])] + ": " + f.get("Message", f["Code"]) for f in response["Failed"]]
                raise RuntimeError(f"could not queue {'; '.join(failed)}")

    @calls("sqs:SendMessage")
    def send_message(self, queue_url: str, body: str) -> None:
        """Send one message to a standard queue."""
        self._client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)

    # --- consumer accounts -----------------------------------------------------------------

    def consumer_ssm(self, account: str, partition: str, region: str) -> Any:
        """An SSM client in a consumer account, through its publisher role (assumed once per account); an account
        that already failed in this invocation fails again at once, with the same reason."""
        role_arn = self.settings.consumer_role_arn(partition, account)
        if account in self.clients.failed_accounts:
            raise ConsumerAccountError(account, role_arn, self.clients.failed_accounts[account])
        with self._assuming_lock:
            account_lock = self._assuming.setdefault(account, threading.Lock())
        with account_lock:  # one AssumeRole per account, even when the sweep's threads ask at once
            return self._consumer_ssm(account, role_arn, region)

    @calls("sts:AssumeRole")
    def _consumer_ssm(self, account: str, role_arn: str, region: str) -> Any:
        if self.clients.has("ssm", region, role_arn):
            return self.clients.get("ssm", region, role_arn)
        try:
            credentials = self._client("sts", region).assume_role(RoleArn=role_arn, RoleSessionName="secretshare")[
                "Credentials"
            ]
        except (ClientError, BotoCoreError) as err:
            reason = self.clients.failed_accounts[account] = f"cannot assume the publisher role: {err}"
            raise ConsumerAccountError(account, role_arn, reason) from err
        return self.clients.get(
            "ssm",
            region,
            role_arn,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    @calls("ssm:GetParameter")
    def read_parameter(self, account: str, name: str, partition: str, region: str) -> str | None:
        """The parameter's value in a consumer account, or None when it does not exist."""
        ssm = self.consumer_ssm(account, partition, region)
        try:
            return ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as err:
            if error_code(err) == "ParameterNotFound":
                return None
            raise self._consumer_error(account, partition, "cannot read", name, err) from err
        except BotoCoreError as err:
            raise self._consumer_error(account, partition, "cannot read", name, err) from err

    @calls("ssm:PutParameter", "ssm:AddTagsToResource")
    def write_parameter(
        self,
        account: str,
        name: str,
        value: str,
        description: str,
        *,
        exists: bool | None,
        partition: str,
        region: str,
    ) -> None:
        """Create the parameter (with tags) or overwrite it (AWS refuses tags together with Overwrite).

        `exists` None means not read: try to create, and overwrite if it is there after all.
        """
        ssm = self.consumer_ssm(account, partition, region)
        # Intelligent-Tiering: AWS picks the Advanced tier when a value outgrows the Standard tier's 4 KB.
        arguments: dict[str, Any] = {
            "Name": name,
            "Value": value,
            "Type": "String",
            "Description": description,
            "Tier": "Intelligent-Tiering",
        }
        try:
            if exists:
                ssm.put_parameter(**arguments, Overwrite=True)
                return
            try:
                ssm.put_parameter(**arguments, Tags=[{"Key": MANAGED_BY_TAG[0], "Value": MANAGED_BY_TAG[1]}])
            except ClientError as err:
                if exists is not None or error_code(err) != "ParameterAlreadyExists":
                    raise
                ssm.put_parameter(**arguments, Overwrite=True)
        except (ClientError, BotoCoreError) as err:
            raise self._consumer_error(account, partition, "cannot write", name, err) from err

    @calls("ssm:DeleteParameter")
    def delete_parameter(self, account: str, name: str, partition: str, region: str) -> None:
        """Delete the parameter in a consumer account; one already gone is fine."""
        ssm = self.consumer_ssm(account, partition, region)
        try:
            ssm.delete_parameter(Name=name)
        except ClientError as err:
            if error_code(err) != "ParameterNotFound":
                raise self._consumer_error(account, partition, "cannot delete", name, err) from err
        except BotoCoreError as err:
            raise self._consumer_error(account, partition, "cannot delete", name, err) from err

    def _consumer_error(
        self, account: str, partition: str, verb: str, name: str, err: ClientError | BotoCoreError
    ) -> Exception:
        """The failure of one call in a consumer account; an account that did not answer is not asked again in this
        invocation (the next reconciliation or sweep tries again)."""
        role_arn = self.settings.consumer_role_arn(partition, account)
        reason = f"{verb} parameter {name}: {err}"
        if isinstance(err, BotoCoreError):
            self.clients.failed_accounts[account] = reason
        return ConsumerAccountError(account, role_arn, reason)


def key_account(key_id: str) -> str | None:
    """The account of a key given by ARN, None for key ids and alias names (those resolve in A)."""
    arn = parse_arn(key_id)
    return arn.account if arn else None
