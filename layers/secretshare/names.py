"""Every name secretshare writes, defined once: Sids, tags, aliases, parameter paths."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

SID_PREFIX = "SecretShare"
RESOURCE_POLICY_SID = f"{SID_PREFIX}Consumers"
CONSUMER_READ_SID = f"{SID_PREFIX}ReadSecret"
CONSUMER_DECRYPT_SID = f"{SID_PREFIX}DecryptSecret"
KEY_ALIAS_PREFIX = "alias/secretshare/"
MANAGED_BY_TAG = ("managed-by", "secretshare")

# Characters kept as they are in both KMS alias names (a-zA-Z0-9/_-) and SSM parameter names
# (a-zA-Z0-9_.-/), minus "_" which is our escape character. Everything else becomes _XX (hex).
_KEPT = re.compile(r"[A-Za-z0-9/-]")
# KMS alias names are at most 256 characters.
_ALIAS_MAX = 256


def encode_name(secret_name: str) -> str:
    """Encode a secret name reversibly into characters that aliases and parameter names allow."""
    return "".join(ch if _KEPT.fullmatch(ch) else _escape(ch) for ch in secret_name)


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
    return f"{prefix.rstrip('/')}/{producer_account}/{region}/{encode_name(secret_name)}"


def key_statement_sid(secret_arn: str) -> str:
    """Sid of the key-policy grant for one secret: unique per secret ARN, since a shared key holds many."""
    return f"{SID_PREFIX}Decrypt{hashlib.sha256(secret_arn.encode()).hexdigest()[:20]}"


def is_ours(statement: dict) -> bool:
    """True for statements secretshare wrote: their Sid starts with the SecretShare prefix."""
    sid = statement.get("Sid")
    return isinstance(sid, str) and sid.startswith(SID_PREFIX)
