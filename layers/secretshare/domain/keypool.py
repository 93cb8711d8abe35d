"""secretshare's key pool: how full a pool key may get. Pure: no boto3.

A customer-managed key costs $1 a month whatever it encrypts; the AWS managed key it replaces is one key for every
secret of an account and region, isolating secrets by encryption context only. A pool key does the same for shared
secrets: it encrypts many of them, and each grant on it stays pinned to its secret's ARN
(`keypolicy.SECRET_ARN_KEY`), so a consumer decrypts only the secrets granted to it. What bounds a pool key is its
policy: KMS refuses a key policy over 32 KB (`policy.KEY_POLICY_MAX_BYTES`). A secret is placed on a pool key only
while the key's policy, with its grant, stays within `POOL_FILL_BYTES`; the rest is kept for the secrets already
there, whose grants may grow (more consumers, an end date) and which never move to another key without need (a move
re-encrypts every version).

A grant for three accounts and one secret takes about 500 bytes written compactly, so a pool key holds about 58
secrets of distinct consumer sets, and many more where secrets share their consumers (their grants are one
statement, `keypolicy.merge_key_policy`). docs/key-modes.md has the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .arns import parse_arn
from .consumers import Consumer
from .keypolicy import KeyGrant, for_secret_family, merge_key_policy
from .names import FULL_POOL_KEY_TAG_VALUE, POOL_KEY_TAG_VALUE
from .policy import KEY_POLICY_MAX_BYTES, Document

# A new secret goes on a pool key only while its policy stays within this size, in bytes written compactly (what
# `policy.check_size` falls back to near the limit): 2 KB of the 32 KB are left for the grants already there to grow
# in. A grant that outgrows even that moves its secret to another pool key (`grant_fits`).
POOL_FILL_BYTES = 30 * 1024
# A pool key is tagged open while one more typical grant (three accounts: about 500 bytes) fits under
# `POOL_FILL_BYTES`; its grants shrinking below this size opens it again.
POOL_OPEN_BYTES = POOL_FILL_BYTES - 1024


def policy_bytes(document: Document) -> int:
    """A key policy's size in bytes, written compactly."""
    return len(json.dumps(document, separators=(",", ":")).encode())


def takes_new_secret(policy_after: Document) -> bool:
    """True when a pool key whose policy would become `policy_after` may take the secret it was merged for."""
    return policy_bytes(policy_after) <= POOL_FILL_BYTES


def pool_tag_value(policy: Document) -> str:
    """The `secretshare-grants` tag of a pool key with this policy: open for new secrets, or full."""
    return POOL_KEY_TAG_VALUE if policy_bytes(policy) <= POOL_OPEN_BYTES else FULL_POOL_KEY_TAG_VALUE


def grant_fits(
    policy: Document,
    secret_arn: str,
    consumers: Iterable[Consumer],
    ends: str | None,
    org_id: str | None,
    limit: int = KEY_POLICY_MAX_BYTES,
) -> bool:
    """True when a pool key with `policy` can carry the secret's grant to `consumers` within `limit` bytes. A secret
    whose grant outgrew its pool key is the one move the pool makes: to another pool key, with room."""
    location = parse_arn(secret_arn)
    assert location is not None
    grant = KeyGrant(secret_arn, tuple(consumers), ends)
    after = merge_key_policy(
        policy,
        for_secret_family(secret_arn),
        region=location.region,
        partition=location.partition,
        grant=grant,
        org_id=org_id,
    )
    return after is None or policy_bytes(after) <= limit
