"""secretshare's statements in a KMS key policy. Pure: no boto3.

One grant statement per consumer set, listing every secret it covers in its
`kms:EncryptionContext:SecretARN` condition. Grouping keeps a shared key's policy under the 32 KB KMS
limit for hundreds of secrets, while each secret's grant stays exact: a secret ARN appears in at most
one grant, and that grant's principals are exactly the secret's consumers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from .arns import account_root, parse_arn, secret_name_from_arn
from .names import cleanup_statement_sid, is_ours, key_grant_sid
from .policy import Document, Statement, canonical, principals_of, statements, via_service

SECRET_ARN_KEY = "kms:EncryptionContext:SecretARN"
# Decides whether a secret ARN named in a statement is the secret being reconciled.
SecretSelector = Callable[[str], bool]


def for_secret_family(secret_arn: str) -> SecretSelector:
    """Selects the secret's ARN in every region: the primary and each replica, present or removed."""
    wanted = parse_arn(secret_arn)

    def selects(arn: str) -> bool:
        found = parse_arn(arn)
        return found is not None and wanted is not None and replace(found, region="") == replace(wanted, region="")

    return selects


def for_secret_name(name: str) -> SecretSelector:
    """Selects every ARN of a secret called `name` (used once the secret is gone and its ARN unknown)."""

    def selects(arn: str) -> bool:
        try:
            return secret_name_from_arn(arn) == name
        except ValueError:
            return False

    return selects


@dataclass(frozen=True)
class KeyGrant:
    """The grant one secret should have: its ARN and its consumers (never empty)."""

    secret_arn: str
    consumers: tuple[str, ...]


def key_grant_statement(consumers: Iterable[str], secret_arns: Iterable[str], region: str, partition: str) -> Statement:
    """Let the consumers decrypt these secrets, and only through Secrets Manager in their region."""
    arns = sorted(secret_arns)
    principals = sorted(consumers)
    return {
        "Sid": key_grant_sid(principals),
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": via_service(region, partition),
                SECRET_ARN_KEY: arns[0] if len(arns) == 1 else arns,
            }
        },
    }


def cleanup_marker_statement(secret_arn: str, partition: str, accounts: Iterable[str]) -> Statement:
    """Key-policy marker: consumer accounts whose parameter for this secret could not be deleted yet.

    It lives in the key policy because every run reads that anyway, so the next run (or the sweep)
    still knows where to clean up after the grant itself is gone. As a Deny it can only narrow access.
    """
    return {
        "Sid": cleanup_statement_sid(secret_arn),
        "Effect": "Deny",
        "Principal": {"AWS": sorted(account_root(partition, account) for account in accounts)},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {SECRET_ARN_KEY: secret_arn}},
    }


def granted_secret_arns(statement: Statement) -> list[str]:
    """Secret ARNs named in a statement's `kms:EncryptionContext:SecretARN` condition."""
    found: list[str] = []
    for operator in (statement.get("Condition") or {}).values():
        value = operator.get(SECRET_ARN_KEY) if isinstance(operator, dict) else None
        found.extend([value] if isinstance(value, str) else value or [])
    return found


def secret_grantees(document: Document | None, selects: SecretSelector) -> set[str]:
    """Principals our Allow statements grant on the selected secret."""
    return _principals_naming(document, selects, "Allow")


def pending_cleanup_principals(document: Document | None, selects: SecretSelector) -> set[str]:
    """Principals of our cleanup markers for the selected secret."""
    return _principals_naming(document, selects, "Deny")


def _principals_naming(document: Document | None, selects: SecretSelector, effect: str) -> set[str]:
    return {
        principal
        for statement in statements(document)
        if is_ours(statement)
        and statement.get("Effect") == effect
        and any(map(selects, granted_secret_arns(statement)))
        for principal in principals_of(statement)
    }


def merge_key_policy(
    document: Document | None,
    selects: SecretSelector,
    *,
    region: str,
    partition: str,
    grant: KeyGrant | None = None,
    marker: Statement | None = None,
) -> Document | None:
    """Give the selected secret exactly `grant` (none when None) and `marker`, touching nothing else.

    Statements we did not write are kept as they were. Our statements for other secrets keep their
    principals and secrets; one that named the selected secret is rewritten without it. A statement
    whose canonical form does not change is kept byte-for-byte, so AWS's reformatting never causes a write.
    """
    wanted = canonical({"AWS": sorted(grant.consumers)}) if grant else None
    placed = grant is None
    merged: list[Statement] = []
    for statement in statements(document):
        arns = granted_secret_arns(statement)
        takes_grant = not placed and _is_grant(statement) and canonical(statement.get("Principal")) == wanted
        if not is_ours(statement) or not (takes_grant or any(map(selects, arns))):
            merged.append(statement)
            continue
        if not _is_grant(statement):
            continue  # this secret's old cleanup marker; `marker` replaces it
        remaining = [arn for arn in arns if not selects(arn)]
        if takes_grant and grant:
            remaining.append(grant.secret_arn)
            placed = True
        if remaining:
            rebuilt = {
                **key_grant_statement(principals_of(statement), remaining, region, partition),
                "Sid": statement["Sid"],
            }
            merged.append(statement if canonical(rebuilt) == canonical(statement) else rebuilt)
    if grant and not placed:
        merged.append(key_grant_statement(grant.consumers, [grant.secret_arn], region, partition))
    if marker:
        merged.append(marker)
    if not merged:
        return None
    base = {key: value for key, value in (document or {}).items() if key != "Statement"}
    return {"Version": "2012-10-17", **base, "Statement": merged}


def _is_grant(statement: Statement) -> bool:
    return is_ours(statement) and statement.get("Effect") == "Allow"
