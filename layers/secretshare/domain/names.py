"""Every name secretshare writes, defined once: Sids, tags, aliases, parameter paths."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import unquote

SID_PREFIX = "SecretShare"
RESOURCE_POLICY_SID = f"{SID_PREFIX}Consumers"
# The resource-policy statement granting roles and users by name (consumers.PrincipalConsumer).
NAMED_RESOURCE_POLICY_SID = f"{SID_PREFIX}ConsumersByName"
CONSUMER_READ_SID = f"{SID_PREFIX}ReadSecret"
CONSUMER_DECRYPT_SID = f"{SID_PREFIX}DecryptSecret"
PROBE_SID = f"{SID_PREFIX}Probe"
CLEANUP_SID_PREFIX = f"{SID_PREFIX}Cleanup"
GRANT_SID_PREFIX = f"{SID_PREFIX}Decrypt"
# Key-level statements: account A's own use of a key a secret was moved to, as the AWS managed key allowed it, and
# (on the keys secretshare makes) nobody's use outside Secrets Manager. They belong to the key, not to one share.
ACCOUNT_USE_SID = f"{SID_PREFIX}AccountUse"
ACCOUNT_DATA_KEYS_SID = f"{SID_PREFIX}AccountDataKeys"
DENY_DIRECT_USE_SID = f"{SID_PREFIX}DenyDirectUse"
KEY_LEVEL_SIDS = frozenset({ACCOUNT_USE_SID, ACCOUNT_DATA_KEYS_SID, DENY_DIRECT_USE_SID})
KEY_ALIAS_PREFIX = "alias/secretshare/"
# On keys secretshare created.
MANAGED_BY_TAG = ("managed-by", "secretshare")
# On every key that holds (or may hold) secretshare statements, so reading a secret finds every key that may grant
# on it with one tagging-API query, whatever the consumer accounts say. The value is `name_tag_value(<name>)` on the
# key secretshare made for one secret name (tagged when it is created, so a run that stops before its alias is made
# leaves a key that the next run recognizes and adopts), POOL_KEY_TAG_VALUE or FULL_POOL_KEY_TAG_VALUE on a key of
# secretshare's pool (`keypool.py`: open for new secrets, or not), and SHARED_KEY_TAG_VALUE on any other key (a shared
# key, a team's key). Earlier versions wrote LEGACY_KEY_TAG_VALUE on every key; it is read like SHARED_KEY_TAG_VALUE.
GRANTS_TAG_KEY = "secretshare-grants"
NAME_TAG_PREFIX = "name-"
SHARED_KEY_TAG_VALUE = "shared"
LEGACY_KEY_TAG_VALUE = "true"
POOL_KEY_TAG_VALUE = "pool"
FULL_POOL_KEY_TAG_VALUE = "pool-full"
POOL_KEY_TAG_VALUES = (POOL_KEY_TAG_VALUE, FULL_POOL_KEY_TAG_VALUE)

# Characters kept as they are in both KMS alias names (a-zA-Z0-9/_-) and SSM parameter names
# (a-zA-Z0-9_.-/), minus "_" which is our escape character. Everything else becomes _XX (hex).
_KEPT = re.compile(r"[A-Za-z0-9-]")
# KMS alias names are at most 256 characters.
_ALIAS_MAX = 256
# An SSM parameter name has at most 15 levels; the account and region take two below the prefix.
_SSM_MAX_LEVELS = 15
# SSM's limit on a parameter name, counted with the ARN before it.
_SSM_NAME_MAX = 1011


def encode_name(secret_name: str, max_slashes: int | None = None) -> str:
    """Encode a secret name reversibly into characters that aliases and parameter names allow.

    A "/" stays a hierarchy separator only between two non-empty segments and up to `max_slashes`
    of them: a leading, trailing or doubled "/" would make an empty level, which SSM rejects.
    """
    out: list[str] = []
    kept_slashes = 0
    for i, ch in enumerate(secret_name):
        if ch == "/" and _separates(secret_name, i) and (max_slashes is None or kept_slashes < max_slashes):
            kept_slashes += 1
            out.append(ch)
        else:
            out.append(ch if _KEPT.fullmatch(ch) else _escape(ch))
    return "".join(out)


def _separates(name: str, i: int) -> bool:
    return 0 < i < len(name) - 1 and name[i - 1] != "/" and name[i + 1] != "/"


def _escape(ch: str) -> str:
    return "".join(f"_{byte:02X}" for byte in ch.encode())


def decode_name(encoded: str) -> str:
    """Invert `encode_name`."""
    return unquote(encoded.replace("_", "%"), errors="strict")


def dedicated_key_description(secret_name: str) -> str:
    """Description of the key secretshare makes for a secret: with its tags, the record of what the key is for."""
    return f"secretshare: encrypts secret {secret_name} so it can be shared across accounts"


def pool_key_description(region: str) -> str:
    """Description of a key of secretshare's pool: it encrypts many secrets, each grant on it naming its secret."""
    return f"secretshare: pool key encrypting shared secrets of {region}; each grant names its secret"


def key_alias(secret_name: str) -> str:
    """Alias of the dedicated key made for a secret; hashed at the end when the name is too long."""
    return _capped(KEY_ALIAS_PREFIX + encode_name(secret_name), _ALIAS_MAX, secret_name)


def parameter_name(prefix: str, producer_account: str, region: str, secret_name: str, partition: str = "aws") -> str:
    """Name of the consumer-policy parameter in each consumer account.

    SSM counts a name's length with the ARN before it: at most 1011 characters in all (docs/aws-facts.md §9), which a
    legal 512-character secret name, encoded, can pass. Such a name ends in a hash of the secret name instead.
    """
    base = f"{prefix.rstrip('/')}/{producer_account}/{region}"
    levels_left = _SSM_MAX_LEVELS - len([level for level in base.split("/") if level])
    name = f"{base}/{encode_name(secret_name, max_slashes=levels_left - 1)}"
    arn_prefix = len(f"arn:{partition}:ssm:{region}:{producer_account}:parameter")  # a consumer id is as long
    return _capped(name, _SSM_NAME_MAX - arn_prefix, secret_name)


def _capped(name: str, limit: int, secret_name: str) -> str:
    """`name` within `limit` characters: cut, with a hash of the secret name so that capped names stay distinct.

    The cut never leaves a trailing "/" or half an escape (`_XX`), which would make an empty level or a name that
    decodes differently.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(secret_name.encode()).hexdigest()[:16]
    kept = name[: limit - len(digest) - 1].rstrip("/")
    escape = kept.rfind("_")
    if escape > len(kept) - 3:
        kept = kept[:escape]
    return f"{kept.rstrip('/')}-{digest}"


def key_grant_sid(consumers: Iterable[str], ends: str | None = None) -> str:
    """Sid of the key-policy grant for one consumer set and end (a shared key groups its secrets by both)."""
    until = f" until {ends}" if ends else ""
    return f"{GRANT_SID_PREFIX}{name_hash(' '.join(sorted(consumers)) + until)}"


def cleanup_statement_sid(secret_arn: str) -> str:
    """Sid of the key-policy marker listing accounts whose parameter for this secret is still to delete."""
    return f"{CLEANUP_SID_PREFIX}{name_hash(secret_arn)}"


def expiry_schedule_name(secret_arn: str) -> str:
    """Name of the one-off EventBridge Scheduler schedule that ends a time-boxed share (at most 64 characters)."""
    return f"secretshare-expiry-{name_hash(secret_arn)}"


def name_tag_value(secret_name: str) -> str:
    """The `secretshare-grants` tag value of the key made for a secret name (a tag value holds 256 characters;
    a secret name up to 512)."""
    return f"{NAME_TAG_PREFIX}{name_hash(secret_name)}"


def name_hash(text: str) -> str:
    """A short stable hash for names and Sids: twenty hex characters of SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def is_ours(statement: dict) -> bool:
    """True for statements secretshare wrote: their Sid starts with the SecretShare prefix."""
    sid = statement.get("Sid")
    return isinstance(sid, str) and sid.startswith(SID_PREFIX)
