"""Ending a share for good (`secretshare unshare`): the share tags go, so the functions do not grant it again, and a
reconciliation revokes every grant and parameter secretshare made for it. On request the secret goes back to the AWS
managed key, and the key secretshare made for it is retired.

UpdateSecret re-encrypts "any existing versions with the staging labels AWSCURRENT, AWSPENDING, or AWSPREVIOUS" under
the new key (botocore's secretsmanager model, UpdateSecretRequest.KmsKeyId); older versions stay under the old key,
so it is scheduled for deletion after the longest waiting period (30 days), during which CancelKeyDeletion undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..domain.names import key_alias
from ..domain.settings import Settings
from ..domain.sharetag import is_share_tag_key
from ..gateway import Aws, Clients
from .read import customer_key_metadata, describe
from .reconcile import ReconcileResult, reconcile_secret
from .state import KeyState

# What UpdateSecret takes for the AWS managed key of Secrets Manager.
AWS_MANAGED_KEY = "alias/aws/secretsmanager"


@dataclass(frozen=True)
class Unshared:
    """What ending one secret's share did (or, in a dry run, would do)."""

    secret_arn: str
    removed_tags: tuple[str, ...]
    revoked: tuple[str, ...]  # the consumers whose grants and parameters go
    result: ReconcileResult
    retired_key: str | None = None  # the key secretshare made for the secret, scheduled for deletion
    key_deletion_date: str | None = None
    key_kept: str | None = None  # why the secret stays on its key, when a move back was asked for
    left_pool_key: str | None = None  # the pool key the secret moved off (it stays: it encrypts other secrets)


def unshare_secret(
    secret_id: str, *, settings: Settings, clients: Clients, restore_key: bool = False, dry_run: bool = False
) -> Unshared:
    """End the share of `secret_id` (name or ARN): remove its share tags, then reconcile it so everything
    secretshare granted for it is revoked; with `restore_key`, move it back to the AWS managed key and retire the key
    secretshare made for it (a key it did not make, or shares with other secrets, stays; a pool key is left for the
    secrets it still encrypts, and the secret moves back all the same)."""
    aws = Aws(settings, clients)
    description, region = describe(aws, secret_id)
    tags = _share_tags(description, settings) if description else ()
    if tags and not dry_run:
        aws.secrets.untag(description["ARN"], list(tags), region)
    # Without the tags nothing is wanted any more: what was granted is revoked (a dry run, tags still on, plans none).
    result = reconcile_secret(secret_id, settings=settings, clients=clients, dry_run=dry_run)
    unshared = Unshared(result.secret_arn, tags, result.plan.previous_consumers, result)
    if description is None:  # already deleted: what was left of its grants is cleaned up as usual
        return unshared
    if not restore_key:
        return unshared
    return _restore_key(aws, unshared, description, region, dry_run)


def _share_tags(description: dict, settings: Settings) -> tuple[str, ...]:
    keys = [tag["Key"] for tag in description.get("Tags", [])]
    return tuple(k for k in keys if is_share_tag_key(k, settings.share_tag_key) or k == settings.share_until_tag_key)


def _restore_key(aws: Aws, unshared: Unshared, description: dict, region: str, dry_run: bool) -> Unshared:
    """Move the secret back to the AWS managed key and retire the key made for it. "A key alias is always prefixed by
    alias/, for example alias/aws/secretsmanager" (botocore's secretsmanager model, UpdateSecretRequest.KmsKeyId):
    the AWS managed key is named by its alias."""
    metadata = customer_key_metadata(aws, description, region)
    if metadata is None:
        return replace(unshared, key_kept="the secret is on the AWS managed key already")
    key = KeyState(metadata["Arn"], {}, aws.kms.tags(metadata["Arn"], region), metadata.get("Description", ""))
    if key.in_pool:
        if not dry_run:
            aws.secrets.set_key(unshared.secret_arn, AWS_MANAGED_KEY, region)
        return replace(unshared, left_pool_key=key.arn)
    if not key.made_for(description["Name"]):
        return replace(unshared, key_kept=f"key {key.arn} is not one secretshare made for this secret: it stays")
    if dry_run:
        return replace(unshared, retired_key=key.arn)
    aws.secrets.set_key(unshared.secret_arn, AWS_MANAGED_KEY, region)
    deletion = aws.kms.retire(key.arn, key_alias(description["Name"]), region)
    return replace(unshared, retired_key=key.arn, key_deletion_date=deletion)
