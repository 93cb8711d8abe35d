"""Who a secret's policies let in from other accounts: every grant, ours and others', and per principal whether
both policies let it read.

Reading a secret of account A from account B takes an Allow in the secret's resource policy and, on a
customer-managed key, an Allow of kms:Decrypt in the key policy (besides B's own IAM policy, which A cannot see).
A secret on the AWS managed key cannot be read from another account at all ("You can't use the AWS KMS default key
for the account": Secrets Manager user guide, "Access AWS Secrets Manager secrets from a different account"). Deny
statements are not weighed: a grant shown here may still be refused by one, or by B's own policies.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from .arns import is_account_id, parse_arn
from .keypolicy import SECRET_ARN_KEY
from .names import is_ours
from .policy import Document, Statement, statements

RESOURCE_POLICY = "resource policy"
KEY_POLICY = "key policy"
_READ_ACTION = {RESOURCE_POLICY: "secretsmanager:GetSecretValue", KEY_POLICY: "kms:Decrypt"}
# Condition keys that narrow a statement's principal to some principals of its accounts, or of an organization.
_NARROWING_KEYS = ("aws:principalarn", "aws:principalorgid", "aws:principalorgpaths")
# Condition keys that narrow it to the principals of some accounts (A's own statements for its account's use).
_ACCOUNT_KEYS = ("kms:calleraccount", "aws:principalaccount")
ANYONE = "*"


@dataclass(frozen=True)
class Grant:
    """One principal a statement lets read: `principal` as the statement names it (an account's root, a role or
    user, or ANYONE), `narrowed_to` the values of the conditions that narrow it (aws:PrincipalArn,
    aws:PrincipalOrgID, aws:PrincipalOrgPaths), in `policy`, by statement `sid`; `ours` when secretshare wrote it."""

    principal: str
    narrowed_to: tuple[str, ...]
    policy: str
    sid: str
    ours: bool
    accounts: tuple[str, ...] = ()  # the accounts kms:CallerAccount or aws:PrincipalAccount narrow it to

    @property
    def who(self) -> str:
        """The principal the grant is for: the role or user aws:PrincipalArn names, else the principal itself."""
        arns = [value for value in self.narrowed_to if value.startswith("arn:")]
        return arns[0] if len(arns) == 1 else self.principal


@dataclass(frozen=True)
class Reader:
    """A principal of another account and whether both policies let it read the secret."""

    principal: str
    account: str | None  # None for ANYONE (an organization, or every account)
    reads: bool
    grants: tuple[Grant, ...]

    @property
    def origin(self) -> str:
        """ "secretshare", "foreign" (another hand), or "both"."""
        owners = {grant.ours for grant in self.grants}
        return "both" if len(owners) == 2 else "secretshare" if True in owners else "foreign"


def cross_account_grants(
    resource_policy: Document | None, key_policy: Document | None, secret_arn: str, producer: str
) -> tuple[Grant, ...]:
    """Every grant to read the secret given to a principal outside account `producer`, in either policy; the key
    policy's only where a customer-managed key encrypts the secret (`key_policy` None: the AWS managed key)."""
    found = [*_grants(resource_policy, RESOURCE_POLICY, secret_arn)]
    found += _grants(key_policy, KEY_POLICY, secret_arn)
    return tuple(grant for grant in found if _account_of(grant.who) != producer and set(grant.accounts) != {producer})


def readers(grants: Iterable[Grant], on_customer_managed_key: bool) -> tuple[Reader, ...]:
    """Each principal the grants name, judged: it reads when the resource policy and (on a customer-managed key) the
    key policy both let it in, by a grant to it, to its account's root, or to ANYONE."""
    grants = tuple(grants)
    found = []
    for who in sorted({grant.who for grant in grants}):
        covering = tuple(grant for grant in grants if _covers(grant, who))
        in_resource = any(grant.policy == RESOURCE_POLICY for grant in covering)
        in_key = any(grant.policy == KEY_POLICY for grant in covering)
        reads = in_resource and in_key and on_customer_managed_key
        found.append(Reader(who, _account_of(who), reads, tuple(g for g in grants if g.who == who)))
    return tuple(found)


def _grants(document: Document | None, policy: str, secret_arn: str) -> list[Grant]:
    found = []
    for statement in statements(document):
        if statement.get("Effect") != "Allow" or not _allows(statement, _READ_ACTION[policy]):
            continue
        if policy == KEY_POLICY and not _names_secret(statement, secret_arn):
            continue
        narrowed, accounts = condition_values(statement, _NARROWING_KEYS), condition_values(statement, _ACCOUNT_KEYS)
        sid, ours = str(statement.get("Sid", "")), is_ours(statement)
        found += [Grant(p, narrowed, policy, sid, ours, accounts) for p in aws_principals(statement)]
    return found


def _allows(statement: Statement, action: str) -> bool:
    def matches(patterns: object) -> bool:
        listed = [patterns] if isinstance(patterns, str) else patterns if isinstance(patterns, list) else []
        return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in listed)

    if "NotAction" in statement:
        return not matches(statement["NotAction"])
    return matches(statement.get("Action"))


def _names_secret(statement: Statement, secret_arn: str) -> bool:
    """False when the statement's encryption-context condition names other secrets only (a shared key's grants)."""
    values = condition_values(statement, (SECRET_ARN_KEY.lower(),))
    return not values or any(fnmatch.fnmatchcase(secret_arn, value) for value in values)


def condition_values(statement: Statement, keys: tuple[str, ...]) -> tuple[str, ...]:
    """Every value the statement's conditions give the condition keys `keys` (lowercase), under any operator."""
    return tuple(
        sorted(
            str(value)
            for operator in (statement.get("Condition") or {}).values()
            if isinstance(operator, dict)
            for key, given in operator.items()
            if key.lower() in keys
            for value in ([given] if isinstance(given, str) else given)
        )
    )


def aws_principals(statement: Statement) -> list[str]:
    """The AWS principals a statement names (a bare account id as its root); service principals are not accounts."""
    principal = statement.get("Principal")
    if principal == ANYONE:
        return [ANYONE]
    named = principal.get("AWS", []) if isinstance(principal, dict) else []
    return [_as_arn(str(p)) for p in ([named] if isinstance(named, str) else named)]


def _as_arn(principal: str) -> str:
    return f"arn:aws:iam::{principal}:root" if is_account_id(principal) else principal


def _account_of(principal: str) -> str | None:
    arn = parse_arn(principal)
    return arn.account if arn else None


def _covers(grant: Grant, who: str) -> bool:
    account = _account_of(who)
    if grant.accounts and account not in grant.accounts:
        return False
    if grant.who in (who, ANYONE):
        return True
    return not grant.narrowed_to and account is not None and grant.who.endswith(f":iam::{account}:root")
