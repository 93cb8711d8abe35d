"""Secrets Manager in account A: the secret's description, its resource policy, its key and its status tag."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from .base import OPERATOR_ROLE, Service, calls, error_code


class SecretsManager(Service):
    """The calls secretshare makes on secrets."""

    name = "secretsmanager"

    @calls("secretsmanager:DescribeSecret")
    def describe(self, secret_id: str, region: str | None) -> dict | None:
        """The secret's description, or None when it does not exist."""
        try:
            return self._client(region).describe_secret(SecretId=secret_id)
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                return None
            raise

    @calls("secretsmanager:GetResourcePolicy")
    def resource_policy(self, secret_arn: str, region: str) -> dict | None:
        """The secret's resource policy, parsed, or None when it has none."""
        found = self._client(region).get_resource_policy(SecretId=secret_arn)
        text = found.get("ResourcePolicy")
        return json.loads(text) if text else None

    @calls("secretsmanager:ListSecrets")
    def tagged(self, tag_key: str) -> list[dict]:
        """Every secret of this region carrying a tag whose key starts with `tag_key`, as ListSecrets describes it.

        Secrets scheduled for deletion are included. The `tag-key` filter matches by prefix (`share-with` also
        matches `share-without`): the caller keeps the keys it wants. A list, not a generator, so that a page that
        fails does so inside this method and its error names the action (`calls`).
        """
        pages = (
            self._client()
            .get_paginator("list_secrets")
            .paginate(IncludePlannedDeletion=True, Filters=[{"Key": "tag-key", "Values": [tag_key]}])
        )
        return [secret for page in pages for secret in page["SecretList"]]

    @calls("secretsmanager:UpdateSecret")
    def set_key(self, secret_arn: str, key_arn: str, region: str) -> None:
        """Point the secret at `key_arn` by full ARN (a key id or alias would resolve in the reader's account)."""
        self._client(region).update_secret(SecretId=secret_arn, KmsKeyId=key_arn)

    @calls("secretsmanager:PutResourcePolicy")
    def put_resource_policy(self, secret_arn: str, policy: str, region: str) -> None:
        """Write the secret's resource policy, refusing anything AWS considers public."""
        self._client(region).put_resource_policy(SecretId=secret_arn, ResourcePolicy=policy, BlockPublicPolicy=True)

    @calls("secretsmanager:DeleteResourcePolicy")
    def delete_resource_policy(self, secret_arn: str, region: str) -> None:
        """Remove the secret's resource policy."""
        self._client(region).delete_resource_policy(SecretId=secret_arn)

    @calls("secretsmanager:TagResource", "secretsmanager:UntagResource")
    def set_tag(self, secret_arn: str, key: str, value: str | None, region: str) -> None:
        """Write one tag on the secret, or remove it when `value` is None."""
        client = self._client(region)
        if value is None:
            client.untag_resource(SecretId=secret_arn, TagKeys=[key])
        else:
            client.tag_resource(SecretId=secret_arn, Tags=[{"Key": key, "Value": value}])

    @calls("secretsmanager:UntagResource", role=OPERATOR_ROLE)
    def untag(self, secret_arn: str, keys: list[str], region: str) -> None:
        """Remove the person's share tags from the secret (`secretshare unshare`): the share ends where it began."""
        self._client(region).untag_resource(SecretId=secret_arn, TagKeys=keys)

    @calls("secretsmanager:TagResource", role=OPERATOR_ROLE)
    def tag(self, secret_arn: str, tags: dict[str, str], region: str) -> None:
        """Write the person's share tags on the secret (`secretshare adopt`)."""
        self._client(region).tag_resource(SecretId=secret_arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
