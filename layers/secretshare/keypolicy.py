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
from .names import CLEANUP_SID_PREFIX, PROBE_SID, cleanup_statement_sid, is_ours, key_grant_sid
from .policy import (
    PRINCIPAL_ACCOUNT_KEY,
    Document,
    Statement,
    account_condition,
    canonical,
    principal_accounts,
    principals_of,
    recorded_accounts,
    statements,
    via_service,
)

SECRET_ARN_KEY = "kms:EncryptionContext:SecretARN"
SECRET_VERSION_KEY = "kms:EncryptionContext:SecretVersionId"
# Decides whether a secret ARN named in a statement is the secret being reconciled.
SecretSelector = Callable[[str], bool]


def for_secret_family(secret_arn: str) -> SecretSelector:
    """Selects the secret's ARN in every region: the primary and each replica, present or removed."""
    wanted = parse_arn(secret_arn)

    def selects(arn: str) -> bool:
        found = parse_arn(arn)
        return found is not None and wanted is not None and replace(found, region="") == replace(wanted, region="")

    return selects


def for_secret_name(name: str, region: str) -> SecretSelector:
    """Selects every ARN of a secret called `name` in `region`: used only once no secret of that name exists there,
    for a secret known by name alone (a complete ARN selects its own family, never a namesake)."""

    def selects(arn: str) -> bool:
        found = parse_arn(arn)
        try:
            return found is not None and found.region == region and secret_name_from_arn(arn) == name
        except ValueError:
            return False

    return selects


@dataclass(frozen=True)
class KeyGrant:
    """The grant one secret should have: its ARN and its consumers (never empty)."""

    secret_arn: str
    consumers: tuple[str, ...]


def key_grant_statement(consumers: Iterable[str], secret_arns: Iterable[str], region: str, partition: str) -> Statement:
    """Let the consumers decrypt these secrets, and only through Secrets Manager in their region.

    `aws:PrincipalAccount` names the consumers' accounts: it narrows nothing (each principal is in one of them), but
    AWS never rewrites a condition, while it shows a deleted role as its unique id (`AROA...`, docs/aws-facts.md
    §12): the accounts still to clean up are read from here, not parsed out of principals.
    """
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
                PRINCIPAL_ACCOUNT_KEY: account_condition(principals),
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


def probe_statement(secret_arn: str, principal: str) -> Statement:
    """A statement naming one principal and granting nothing, to ask KMS whether it accepts that principal.

    KMS refuses a key policy naming a principal that does not exist (docs/aws-facts.md §6). A Deny narrows only,
    and no request carries this secret version id, so it matches nothing; if a run stops between a probe and its
    real write, the next merge drops it (it names the secret, and only a grant of ours survives a merge for it).
    """
    return {
        "Sid": PROBE_SID,
        "Effect": "Deny",
        "Principal": {"AWS": principal},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {SECRET_ARN_KEY: secret_arn, SECRET_VERSION_KEY: "secretshare-probe"}},
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
    return {
        principal
        for statement in _naming(document, selects)
        if _is_grant(statement)
        for principal in principals_of(statement)
    }


def granted_accounts(document: Document | None, selects: SecretSelector) -> set[str]:
    """Accounts our Allow statements grant on the selected secret (their recorded accounts)."""
    return set().union(*(recorded_accounts(s) for s in _naming(document, selects) if _is_grant(s)))


def pending_cleanup_accounts(document: Document | None, selects: SecretSelector) -> set[str]:
    """Accounts our cleanup markers for the selected secret name."""
    return principal_accounts(
        principal
        for statement in _naming(document, selects)
        if str(statement.get("Sid", "")).startswith(CLEANUP_SID_PREFIX)
        for principal in principals_of(statement)
    )


def _naming(document: Document | None, selects: SecretSelector) -> list[Statement]:
    """Our statements that name the selected secret in their encryption-context condition."""
    return [s for s in statements(document) if is_ours(s) and any(map(selects, granted_secret_arns(s)))]


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
