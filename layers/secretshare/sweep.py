"""The sweep: find every secret that needs a look, so drift and missed events get repaired.

Its cost grows with the number of shared secrets, not with all secrets in the account: it lists only
tagged secrets (the tag-key filter matches `share-with` and `share-with/...` by prefix) and reads the
policies of only the keys that hold secretshare statements (tagged `secretshare-grants` when the first
statement is written, found with one tagging-API query).
"""

from __future__ import annotations

import json

import boto3

from .aws import Aws
from .keypolicy import granted_secret_arns
from .names import GRANTS_TAG, is_ours
from .policy import statements
from .settings import Settings

SWEEP_SOURCE = "secretshare.sweep"
SWEEP_DETAIL_TYPE = "Scheduled Reconciliation"
# One message group: reconciliations never run concurrently, so edits of a shared key policy never race.
MESSAGE_GROUP_ID = "secretshare"
_SQS_BATCH = 10


def secrets_to_reconcile(*, settings: Settings | None = None, session: boto3.Session | None = None) -> list[str]:
    """ARNs of every secret that is tagged, or that a key of ours still grants on (untagged or deleted)."""
    aws = Aws(settings or Settings.from_env(), session or boto3.Session())
    return sorted(_tagged_secrets(aws) | _secrets_granted_on_our_keys(aws))


def _tagged_secrets(aws: Aws) -> set[str]:
    pages = (
        aws.client("secretsmanager")
        .get_paginator("list_secrets")
        .paginate(
            IncludePlannedDeletion=True,
            Filters=[{"Key": "tag-key", "Values": [aws.settings.share_tag_key]}],
        )
    )
    tag_key = aws.settings.share_tag_key
    return {
        secret["ARN"]
        for page in pages
        for secret in page["SecretList"]
        # The filter matches by prefix, so `share-without` would match too: keep exact keys only.
        if any(t["Key"] == tag_key or t["Key"].startswith(tag_key + "/") for t in secret.get("Tags", []))
    }


def _secrets_granted_on_our_keys(aws: Aws) -> set[str]:
    """Secret ARNs named in our statements (grants and cleanup markers) on every key that holds any."""
    region = aws.session.region_name or ""
    key_arns = set(aws.tagged_keys(GRANTS_TAG[0], region))
    if aws.settings.shared_key_arn:
        key_arns.add(aws.settings.shared_key_arn)
    return {
        arn
        for key_arn in sorted(key_arns)
        for statement in statements(aws.key_policy(key_arn, region))
        if is_ours(statement)
        for arn in granted_secret_arns(statement)
    }


def sweep_message(secret_arn: str) -> dict:
    """The EventBridge-shaped event the sweep queues for one secret."""
    return {
        "version": "0",
        "source": SWEEP_SOURCE,
        "detail-type": SWEEP_DETAIL_TYPE,
        "resources": [secret_arn],
        "detail": {},
    }


def enqueue_reconciliations(secret_arns: list[str], queue_url: str, *, session: boto3.Session | None = None) -> int:
    """Queue one reconcile message per secret on the FIFO queue; return how many were sent."""
    sqs = (session or boto3.Session()).client("sqs")
    for start in range(0, len(secret_arns), _SQS_BATCH):
        batch = secret_arns[start : start + _SQS_BATCH]
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(sweep_message(arn)), "MessageGroupId": MESSAGE_GROUP_ID}
                for i, arn in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            failed = [batch[int(f["Id"])] + ": " + f.get("Message", f["Code"]) for f in response["Failed"]]
            raise RuntimeError(f"could not queue reconciliations for {'; '.join(failed)}")
    return len(secret_arns)
