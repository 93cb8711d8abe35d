"""Taking over a secret shared by hand (`secretshare adopt`): the `share-with` entries that reproduce who can read it
now, the hand-written statements those entries replace, and the statements left as they are, each with why.

A statement is taken over only when secretshare's own grant says all it says: it allows principals that can read the
secret now (accounts, roles or users), the read actions and nothing else, on the secret (or, in the key policy, for
this secret alone: kms:EncryptionContext:SecretARN), with no other condition. Anything else is left in place and
reported: a key statement that lets a principal decrypt every secret on the key, a condition secretshare does not
write (aws:SourceIp, say), a wildcard principal, a grant in one policy only (it lets nobody read; taking it over would
grant more than it does).
"""

from __future__ import annotations

from dataclasses import dataclass

from .arns import parse_arn
from .grants import KEY_POLICY, RESOURCE_POLICY, aws_principals, condition_values, cross_account_grants, readers
from .keypolicy import SECRET_ARN_KEY
from .names import is_ours
from .policy import Document, Statement, statements

_READ_ACTIONS = {
    RESOURCE_POLICY: {"secretsmanager:getsecretvalue", "secretsmanager:describesecret"},
    KEY_POLICY: {"kms:decrypt", "kms:describekey"},
}
_SECRETSHARE_CONDITIONS = {RESOURCE_POLICY: set(), KEY_POLICY: {"kms:viaservice", SECRET_ARN_KEY.lower()}}


@dataclass(frozen=True)
class KeptStatement:
    """A hand-written statement adoption leaves as it is, and why."""

    policy: str
    sid: str
    why: str


@dataclass(frozen=True)
class Adoption:
    """`entries` for the share tag; `taken_over`, per policy, the statements secretshare's grants replace (removed
    once those are in place); `kept`, the foreign statements left as they are."""

    entries: tuple[str, ...]
    taken_over: tuple[tuple[str, Statement], ...]
    kept: tuple[KeptStatement, ...]


def plan_adoption(
    resource_policy: Document | None, key_policy: Document | None, secret_arn: str, producer: str
) -> Adoption:
    """What adopting the secret does, from its policies as they are (`key_policy` None: on the AWS managed key, where
    nobody of another account can read it)."""
    grants = cross_account_grants(resource_policy, key_policy, secret_arn, producer)
    reading = {reader.principal for reader in readers(grants, key_policy is not None) if reader.reads}
    entries: set[str] = set()
    taken: list[tuple[str, Statement]] = []
    kept: list[KeptStatement] = []
    for policy, document in ((RESOURCE_POLICY, resource_policy), (KEY_POLICY, key_policy)):
        for statement in statements(document):
            if is_ours(statement) or not _grants_outside(statement, policy, secret_arn, producer):
                continue
            why = _why_kept(statement, policy, secret_arn, reading)
            if why:
                kept.append(KeptStatement(policy, str(statement.get("Sid", "")) or "(no Sid)", why))
                continue
            taken.append((policy, statement))
            entries |= {_entry(principal) for principal in aws_principals(statement)}
    return Adoption(tuple(sorted(entries)), tuple(taken), tuple(kept))


def _grants_outside(statement: Statement, policy: str, secret_arn: str, producer: str) -> bool:
    """True when the statement lets a principal of another account read the secret (in its part)."""
    alone = {"Statement": [statement]}
    documents = (alone, None) if policy == RESOURCE_POLICY else (None, alone)
    return bool(cross_account_grants(*documents, secret_arn, producer))


def _why_kept(statement: Statement, policy: str, secret_arn: str, reading: set[str]) -> str | None:
    if any(key in statement for key in ("NotPrincipal", "NotAction", "NotResource")):
        return "it uses NotPrincipal, NotAction or NotResource"
    principals = aws_principals(statement)
    if not principals or any(p == "*" or parse_arn(p) is None for p in principals):
        return "its principal is not an account, a role or a user"
    actions = statement.get("Action")
    listed = {a.lower() for a in ([actions] if isinstance(actions, str) else actions or [])}
    if not listed <= _READ_ACTIONS[policy]:
        return f"it allows more than reading: {', '.join(sorted(listed - _READ_ACTIONS[policy]))}"
    conditions = {key.lower() for operator in (statement.get("Condition") or {}).values() for key in operator}
    if conditions - _SECRETSHARE_CONDITIONS[policy]:
        return (
            f"its condition on {', '.join(sorted(conditions - _SECRETSHARE_CONDITIONS[policy]))} is not secretshare's"
        )
    if policy == KEY_POLICY and not _for_this_secret_alone(statement, secret_arn):
        return "it lets its principals decrypt other secrets on the key, not this one alone"
    unread = [p for p in principals if p not in reading]
    if unread:
        return f"{', '.join(unread)} cannot read the secret now (one policy only): taking it over would grant more"
    return None


def _for_this_secret_alone(statement: Statement, secret_arn: str) -> bool:
    values = condition_values(statement, (SECRET_ARN_KEY.lower(),))
    return bool(values) and all(value == secret_arn for value in values)


def _entry(principal: str) -> str:
    """The share-with entry for a principal: an account id for an account's root, else the ARN."""
    arn = parse_arn(principal)
    return arn.account if arn and arn.resource == "root" else principal
