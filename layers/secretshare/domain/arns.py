"""ARN parsing for the few ARN shapes secretshare reads. Pure: no boto3."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Secrets Manager appends a hyphen and six random characters to every secret name in its ARN.
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class Arn:
    """The colon-separated parts of an ARN; `resource` keeps any further colons."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its parts, or return None when `text` is not shaped like one."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(*parts[1:])


def in_region(arn: str, region: str) -> str:
    """The same ARN in another region: a replica secret's ARN differs from its primary's only there."""
    parts = parse_arn(arn)
    if parts is None:
        raise ValueError(f"{arn!r} is not an ARN")
    return str(Arn(parts.partition, parts.service, region, parts.account, parts.resource))


def secret_name_from_arn(secret_arn: str) -> str:
    """The secret's name: the ARN's resource after `secret:`, without the random suffix."""
    arn = parse_arn(secret_arn)
    if arn is None or arn.service != "secretsmanager" or not arn.resource.startswith("secret:"):
        raise ValueError(f"{secret_arn!r} is not a Secrets Manager secret ARN")
    return _SECRET_SUFFIX.sub("", arn.resource.removeprefix("secret:"))


def is_complete_secret_arn(text: str) -> bool:
    """True when `text` is a secret ARN that includes the six-character suffix (a full ARN)."""
    arn = parse_arn(text)
    return (
        arn is not None
        and arn.service == "secretsmanager"
        and arn.resource.startswith("secret:")
        and bool(_SECRET_SUFFIX.search(arn.resource))
    )


def account_root(partition: str, account: str) -> str:
    """The principal that delegates to the account's own IAM."""
    return f"arn:{partition}:iam::{account}:root"


def is_account_id(text: str) -> bool:
    """True for exactly twelve ASCII digits (`\\d` would also take other scripts' digits, which AWS does not)."""
    return bool(_ACCOUNT_ID.fullmatch(text))


def principal_account(principal: str) -> str | None:
    """The account id in an IAM principal ARN (or a bare account id), None for anything else."""
    if is_account_id(principal):
        return principal
    arn = parse_arn(principal)
    if arn is None or arn.service != "iam" or not is_account_id(arn.account):
        return None
    return arn.account


def key_account(key_id: str) -> str | None:
    """The account of a key given by ARN, None for key ids and alias names (those resolve in A)."""
    arn = parse_arn(key_id)
    return arn.account if arn else None
