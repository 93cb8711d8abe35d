"""Every name secretshare writes, defined once: Sids, tags, aliases, parameter paths."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import unquote

SID_PREFIX = "SecretShare"
RESOURCE_POLICY_SID = f"{SID_PREFIX}Consumers"
CONSUMER_READ_SID = f"{SID_PREFIX}ReadSecret"
CONSUMER_DECRYPT_SID = f"{SID_PREFIX}DecryptSecret"
KEY_ALIAS_PREFIX = "alias/secretshare/"
# On keys secretshare created.
MANAGED_BY_TAG = ("managed-by", "secretshare")
# On keys secretshare did not create but put grants on, so a sweep and a deleted secret can find them.
GRANTS_TAG = ("secretshare-grants", "true")

# Characters kept as they are in both KMS alias names (a-zA-Z0-9/_-) and SSM parameter names
# (a-zA-Z0-9_.-/), minus "_" which is our escape character. Everything else becomes _XX (hex).
_KEPT = re.compile(r"[A-Za-z0-9-]")
# KMS alias names are at most 256 characters.
_ALIAS_MAX = 256
# An SSM parameter name has at most 15 levels; the account and region take two below the prefix.
_SSM_MAX_LEVELS = 15


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


def key_alias(secret_name: str) -> str:
    """Alias of the dedicated key made for a secret; hashed at the end when the name is too long."""
    alias = KEY_ALIAS_PREFIX + encode_name(secret_name)
    if len(alias) <= _ALIAS_MAX:
        return alias
    digest = hashlib.sha256(secret_name.encode()).hexdigest()[:16]
    return f"{alias[: _ALIAS_MAX - len(digest) - 1]}-{digest}"


def parameter_name(prefix: str, producer_account: str, region: str, secret_name: str) -> str:
    """Name of the consumer-policy parameter in each consumer account."""
    base = f"{prefix.rstrip('/')}/{producer_account}/{region}"
    levels_left = _SSM_MAX_LEVELS - len([level for level in base.split("/") if level])
    return f"{base}/{encode_name(secret_name, max_slashes=levels_left - 1)}"


def key_grant_sid(consumers: Iterable[str]) -> str:
    """Sid of the key-policy grant for one consumer set (a shared key groups its secrets by consumer set)."""
    return f"{SID_PREFIX}Decrypt{_hash(' '.join(sorted(consumers)))}"


def cleanup_statement_sid(secret_arn: str) -> str:
    """Sid of the key-policy marker listing accounts whose parameter for this secret is still to delete."""
    return f"{SID_PREFIX}Cleanup{_hash(secret_arn)}"


def expiry_schedule_name(secret_arn: str) -> str:
    """Name of the one-off EventBridge Scheduler schedule that ends a time-boxed share (at most 64 characters)."""
    return f"secretshare-expiry-{_hash(secret_arn)}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def is_ours(statement: dict) -> bool:
    """True for statements secretshare wrote: their Sid starts with the SecretShare prefix."""
    sid = statement.get("Sid")
    return isinstance(sid, str) and sid.startswith(SID_PREFIX)
