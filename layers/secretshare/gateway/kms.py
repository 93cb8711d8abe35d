"""KMS in account A: keys, their policies, aliases and tags."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from time import sleep
from typing import TypeVar

from botocore.exceptions import ClientError

from ..domain.errors import KeyNotUsable
from ..domain.names import GRANTS_TAG_KEY, POOL_KEY_TAG_VALUE
from ..domain.settings import Settings
from .base import OPERATOR_ROLE, Clients, Service, calls, clients_of, error_code, new_pool_key_lock

# KMS is eventually consistent: "AWS KMS might return a NotFoundException if you call [an operation on a key]
# immediately after calling CreateKey"; changes "typically" propagate "in less than a few seconds", "in some cases
# several minutes" (KMS developer guide, "eventual consistency"; docs/aws-facts.md §17). A call about a key this
# reconciliation created is tried again after these pauses (15 s in all) before its NotFound counts.
NEW_KEY_PAUSES = (0.5, 1.0, 2.0, 4.0, 7.5)

_Result = TypeVar("_Result")


class Kms(Service):
    """The calls secretshare makes on KMS keys.

    Key reads are cached for the life of this instance (a sweep reads each key once for all its secrets; a
    reconciliation never reads one twice), and our own key-policy writes update that cache. A new instance per
    reconciliation means a key policy is never written from a read made for another secret. `made_keys` collects
    the keys created through this instance, in order (KMS may not find them yet).
    """

    name = "kms"

    def __init__(self, settings: Settings, clients: Clients, made_keys: list[str] | None = None) -> None:
        super().__init__(settings, clients)
        self._metadata: dict[tuple[str, str], dict | None] = {}
        self._policies: dict[str, dict] = {}
        self.made_keys = [] if made_keys is None else made_keys
        self._new_pool_keys: dict[str, str] = {}  # pool keys made here, not yet holding a grant: ARN -> region

    def _about(self, key_arn: str, call: Callable[[], _Result]) -> _Result:
        """`call`, about `key_arn`: about a key created here, a NotFound is tried again after each pause."""
        pauses = iter(NEW_KEY_PAUSES if key_arn in self.made_keys else ())
        while True:
            try:
                return call()
            except ClientError as err:
                pause = next(pauses, None) if error_code(err) == "NotFoundException" else None
                if pause is None:
                    raise
                sleep(pause)

    @calls("kms:DescribeKey")
    def describe_key(self, key_id: str, region: str) -> dict | None:
        """The key's metadata, or None when the key (or alias) does not exist."""
        if (key_id, region) not in self._metadata:
            try:
                found = self._client(region).describe_key(KeyId=key_id)["KeyMetadata"]
            except ClientError as err:
                if error_code(err) != "NotFoundException":
                    raise
                found = None
            self._metadata[(key_id, region)] = found
        return self._metadata[(key_id, region)]

    @calls("kms:GetKeyPolicy")
    def key_policy(self, key_arn: str, region: str, *, fresh: bool = False) -> dict:
        """The key policy, parsed (read again when `fresh`); KeyNotUsable when account A may not read it."""
        if key_arn in self._policies and not fresh:
            return self._policies[key_arn]
        try:
            found = self._client(region).get_key_policy(KeyId=key_arn, PolicyName="default")
        except ClientError as err:
            if error_code(err) in ("AccessDeniedException", "AccessDenied"):
                raise KeyNotUsable(f"account A cannot administer key {key_arn}: {err}") from err
            if error_code(err) == "NotFoundException":
                raise KeyNotUsable(f"key {key_arn} does not exist") from err
            raise
        self._policies[key_arn] = json.loads(found["Policy"])
        return self._policies[key_arn]

    @calls("kms:ListResourceTags")
    def tags(self, key_arn: str, region: str) -> dict[str, str]:
        """The key's tags as KMS holds them: the tagging API reads an index that may not show a key tagged seconds
        ago (docs/aws-facts.md §11, §17)."""
        pages = self._client(region).get_paginator("list_resource_tags").paginate(KeyId=key_arn)
        return {tag["TagKey"]: tag["TagValue"] for page in pages for tag in page.get("Tags", [])}

    @calls("kms:CreateKey")
    def create_key(self, description: str, policy: str, tags: Mapping[str, str], region: str) -> str:
        """Create a symmetric customer-managed key with `policy`, tagged on creation; return its ARN."""
        key = self._client(region).create_key(
            Policy=policy,
            Description=description,
            Tags=[{"TagKey": tag, "TagValue": value} for tag, value in tags.items()],
        )["KeyMetadata"]
        self.made_keys.append(key["Arn"])
        if tags.get(GRANTS_TAG_KEY) == POOL_KEY_TAG_VALUE:
            self._new_pool_keys[key["Arn"]] = region
        return key["Arn"]

    @calls("kms:CreateAlias")
    def create_alias(self, alias: str, key_arn: str, region: str) -> None:
        """Point a new alias at a key."""
        self._about(key_arn, lambda: self._client(region).create_alias(AliasName=alias, TargetKeyId=key_arn))

    @calls("kms:TagResource")
    def tag_key(self, key_arn: str, tag: str, value: str, region: str) -> None:
        """Tag a key (idempotent)."""
        tags = [{"TagKey": tag, "TagValue": value}]
        self._about(key_arn, lambda: self._client(region).tag_resource(KeyId=key_arn, Tags=tags))

    @calls("kms:PutKeyPolicy")
    def put_key_policy(self, key_arn: str, policy: str, region: str) -> None:
        """Replace the key policy (the merge already kept every statement we do not own)."""
        client = self._client(region)
        self._about(key_arn, lambda: client.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy))
        self.clients.key_policies.wrote(key_arn)
        self._policies[key_arn] = json.loads(policy)
        if key_arn in self._new_pool_keys:
            # Other reconciliations of this process may take the pool key once it holds its first grant: had they
            # read it before, one of the two writes would be lost (its lock was nobody's while it was being made).
            region = self._new_pool_keys.pop(key_arn)
            clients_of(self.clients.session).made_pool_key(region, key_arn)
            self.clients.key_policies.wrote(new_pool_key_lock(region))

    @calls("kms:DeleteAlias", "kms:ScheduleKeyDeletion", role=OPERATOR_ROLE)
    def retire(self, key_arn: str, alias: str, region: str) -> str:
        """Delete the key's alias (a later share makes a new key) and schedule the key's deletion after KMS's longest
        waiting period, 30 days, during which CancelKeyDeletion brings it back (botocore's kms model,
        ScheduleKeyDeletionRequest.PendingWindowInDays: 7 to 30). Returns when the key will be deleted."""
        client = self._client(region)
        client.delete_alias(AliasName=alias)
        # By key id: AWS takes the id or the ARN (ScheduleKeyDeletionRequest.KeyId); moto 5 finds it by id only.
        key_id = key_arn.rsplit("/", 1)[-1]
        return client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)["DeletionDate"].isoformat()
