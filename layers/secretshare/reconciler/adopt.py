"""Taking over a secret shared by hand (`secretshare adopt`): tag it so that secretshare grants who can read it now,
reconcile it, then remove the hand-written statements its own grants replace (domain.adoption decides which).

Nothing hand-written is removed before secretshare's grants are in place, so nobody loses access in between; a
statement adoption cannot express stays, and is reported. The tag write starts the functions' own reconciliation
too: a removal it overwrites (PutKeyPolicy has no conditional write) is seen when the policies are read back, and
made again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ..domain.adoption import Adoption, plan_adoption
from ..domain.grants import KEY_POLICY, RESOURCE_POLICY
from ..domain.policy import Document, Statement, canonical, render, statements
from ..domain.settings import Settings
from ..domain.sharetag import tag_value
from ..gateway import Aws, Clients
from .read import customer_key_metadata, describe
from .reconcile import ReconcileResult, reconcile_secret

# Secrets Manager tag values hold at most 256 characters (botocore's secretsmanager model, TagValueType).
TAG_VALUE_MAX = 256
# How often the removal of taken-over statements is checked and made again, and the pause between.
_REMOVAL_ATTEMPTS = 3
_REMOVAL_PAUSE_SECONDS = 2.0


@dataclass(frozen=True)
class Adopted:
    """What adopting one secret did (or, without `apply`, would do)."""

    secret_arn: str
    adoption: Adoption
    tags: dict[str, str]  # the share tags written: what reproduces who can read it now
    result: ReconcileResult | None = None
    left_behind: tuple[str, ...] = ()  # taken-over statements still there after every attempt (policy and Sid)


def adopt_secret(secret_id: str, *, settings: Settings, clients: Clients, apply: bool = False) -> Adopted | None:
    """Adopt `secret_id` (name or ARN); None when there is no such secret."""
    aws = Aws(settings, clients)
    description, region = describe(aws, secret_id)
    if description is None:
        return None
    arn = description["ARN"]
    resource_policy, _, key_policy = _policies(aws, description, region)
    adoption = plan_adoption(resource_policy, key_policy, arn, arn.split(":")[4])
    tags = _share_tags(description, settings, adoption.entries)
    if not apply or not adoption.entries:
        return Adopted(arn, adoption, tags)
    aws.secrets.tag(arn, tags, region)
    result = reconcile_secret(arn, settings=settings, clients=clients)
    left = _remove_taken_over(settings, clients, description, region, adoption)
    return Adopted(arn, adoption, tags, result, left)


def _policies(aws: Aws, description: dict, region: str) -> tuple[Document | None, str | None, Document | None]:
    resource_policy = aws.secrets.resource_policy(description["ARN"], region)
    metadata = customer_key_metadata(aws, description, region)
    if metadata is None:
        return resource_policy, None, None
    return resource_policy, metadata["Arn"], aws.kms.key_policy(metadata["Arn"], region)


def _share_tags(description: dict, settings: Settings, entries: tuple[str, ...]) -> dict[str, str]:
    """The share tags: the entries the secret's `share-with` already has, then the adopted ones, split over
    `share-with`, `share-with/adopted-2`, ... where one tag value cannot hold them all."""
    current = (tag_value(description.get("Tags", []), settings.share_tag_key) or "").split()
    wanted = [*current, *(entry for entry in entries if entry not in current)]
    values: list[str] = []
    for entry in wanted:
        if values and len(values[-1]) + 1 + len(entry) <= TAG_VALUE_MAX:
            values[-1] += " " + entry
        else:
            values.append(entry)
    keys = [settings.share_tag_key, *(f"{settings.share_tag_key}/adopted-{i}" for i in range(2, len(values) + 1))]
    return dict(zip(keys, values, strict=False))  # no entries: no tags


def _remove_taken_over(
    settings: Settings, clients: Clients, description: dict, region: str, adoption: Adoption
) -> tuple[str, ...]:
    """Remove the taken-over statements, reading the policies back and removing again what came back."""
    for attempt in range(_REMOVAL_ATTEMPTS + 1):
        aws = Aws(settings, clients)  # fresh: the policies are read again, not taken from a cache
        resource_policy, key_arn, key_policy = _policies(aws, description, region)
        documents = {RESOURCE_POLICY: resource_policy, KEY_POLICY: key_policy}
        present = [(policy, stmt) for policy, stmt in adoption.taken_over if _holds(documents[policy], stmt)]
        if not present or attempt == _REMOVAL_ATTEMPTS:
            return tuple(f"{policy} {stmt.get('Sid', '(no Sid)')}" for policy, stmt in present)
        if attempt:
            time.sleep(_REMOVAL_PAUSE_SECONDS)  # another writer put them back: let it finish first
        for policy in {policy for policy, _ in present}:
            document = documents[policy] or {}
            gone = [stmt for name, stmt in present if name == policy]
            kept = [s for s in statements(document) if not any(canonical(s) == canonical(g) for g in gone)]
            _write(aws, policy, description["ARN"], key_arn, {**document, "Statement": kept}, region)
    return ()


def _holds(document: Document | None, statement: Statement) -> bool:
    return any(canonical(s) == canonical(statement) for s in statements(document))


def _write(aws: Aws, policy: str, secret_arn: str, key_arn: str | None, document: Document, region: str) -> None:
    if policy == RESOURCE_POLICY:
        if document["Statement"]:
            aws.secrets.put_resource_policy(secret_arn, render(document), region)
        else:
            aws.secrets.delete_resource_policy(secret_arn, region)
    elif key_arn:
        aws.kms.put_key_policy(key_arn, json.dumps(document), region)
