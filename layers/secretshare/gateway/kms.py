"""KMS in account A: keys, their policies, aliases and tags."""

from __future__ import annotations

import json
from collections.abc import Mapping

from botocore.exceptions import ClientError

from ..domain.errors import KeyNotUsable
from ..domain.settings import Settings
from .base import Clients, Service, calls, error_code


class Kms(Service):
    """The calls secretshare makes on KMS keys.

    Key reads are cached for the life of this instance (a sweep reads each key once for all its secrets; a
    reconciliation never reads one twice), and our own key-policy writes update that cache. A new instance per
    reconciliation means a key policy is never written from a read made for another secret.
    """

    name = "kms"

    def __init__(self, settings: Settings, clients: Clients) -> None:
        super().__init__(settings, clients)
        self._metadata: dict[tuple[str, str], dict | None] = {}
        self._policies: dict[str, dict] = {}

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
    def key_policy(self, key_arn: str, region: str) -> dict:
        """The key policy, parsed; KeyNotUsable when account A may not read it."""
        if key_arn in self._policies:
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

    @calls("kms:CreateKey")
    def create_key(self, description: str, policy: str, tags: Mapping[str, str], region: str) -> str:
        """Create a symmetric customer-managed key with `policy`, tagged on creation; return its ARN."""
        key = self._client(region).create_key(
            Policy=policy,
            Description=description,
            Tags=[{"TagKey": tag, "TagValue": value} for tag, value in tags.items()],
        )["KeyMetadata"]
        return key["Arn"]

    @calls("kms:CreateAlias")
    def create_alias(self, alias: str, key_arn: str, region: str) -> None:
        """Point a new alias at a key."""
        self._client(region).create_alias(AliasName=alias, TargetKeyId=key_arn)

    @calls("kms:TagResource")
    def tag_key(self, key_arn: str, tag: str, value: str, region: str) -> None:
        """Tag a key (idempotent)."""
        self._client(region).tag_resource(KeyId=key_arn, Tags=[{"TagKey": tag, "TagValue": value}])

    @calls("kms:PutKeyPolicy")
    def put_key_policy(self, key_arn: str, policy: str, region: str) -> None:
        """Replace the key policy (the merge already kept every statement we do not own)."""
        self._client(region).put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy)
        self._policies[key_arn] = json.loads(policy)
