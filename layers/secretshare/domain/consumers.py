"""Consumers: who a share grants, one type per kind. Pure: no boto3.

A `share-with` entry names an account (`222222222222`, granted as `arn:aws:iam::222222222222:root`), an IAM role or
user (its ARN), an AWS Organization (`o-a1b2c3d4e5`: every account of it) or an OU
(`o-a1b2c3d4e5/r-ab12/ou-ab12-11111111`, the OU's path from the organization's root: every account under it, nested
OUs included). A policy read back may also hold what AWS wrote in place of a principal it no longer knows
(`AROA...`: a deleted role's unique id).

A consumer *is* its text, the way policies, tags and reports write it (each kind subclasses `str`), and the kind says
what differs. A consumer set is granted in one statement per `audience` (see `audiences`):
- **accounts**, together: `Principal` their roots, so each account's own IAM decides who inside it may read;
- **IAM roles and users**, together: `Principal` the roots of their accounts, narrowed by `ArnEquals aws:PrincipalArn`
  to their ARNs. AWS stores a role or user named as `Principal` by its unique id: deleted, it shows as `AROA...`,
  which KMS then refuses in every policy write, and a role created again under the name does not match it
  (docs/aws-facts.md §12). A condition is never rewritten: the grant follows the name, as the tag does, and a role
  that does not exist yet can be granted (AWS's own pattern: IAM user guide, aws:PrincipalArn; docs/security.md);
- **organizations and OUs**, each alone: `Principal: *` narrowed by AWS's global condition keys, which AWS evaluates
  at request time in key policies and resource policies alike (docs/aws-facts.md §4): `aws:PrincipalOrgID` for both,
  and for an OU also `ForAnyValue:StringLike aws:PrincipalOrgPaths = <path>/*`, which covers the OU and every OU
  below it (an OU id is unique only within its organization: the path includes the organization, as AWS
  recommends);
- a **unique id** read back from an old statement (`UnknownPrincipal`) is granted nothing: it never survives a write.

`consumer(text)` is the one place a text's kind is told apart; `parse_entry` reads a tag entry, with the reason a
human can act on when it cannot be granted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .arns import account_root, is_account_id, parse_arn

ORG_ID_KEY = "aws:PrincipalOrgID"
ORG_PATHS_KEY = "aws:PrincipalOrgPaths"
PRINCIPAL_ARN_KEY = "aws:PrincipalArn"
# A role's or user's name binding: exact ARNs (ARN operators are case-sensitive: IAM user guide, condition operators).
NAMED = "ArnEquals"
# The unique ids AWS shows in place of a deleted principal: roles (AROA), users (AIDA), and the like.
_UNIQUE_ID = re.compile(r"A(RO|ID|GP|IP|NP|NV|SI)A[A-Z0-9]{12,}")

# Formats from the Organizations API (docs/aws-facts.md §4).
_ORG_ID = r"o-[a-z0-9]{10,32}"
_ROOT_ID = r"r-[0-9a-z]{4,32}"
_OU_ID = r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}"
_ORG = re.compile(_ORG_ID)
_OU_PATH = re.compile(rf"({_ORG_ID})/{_ROOT_ID}(/{_OU_ID})+")
# IAM path segments and names: alphanumerics and +=,.@_- (names at most 64 characters).
_IAM_NAME = r"[\w+=,.@-]"
_ROLE_OR_USER = re.compile(rf"(role|user)(/{_IAM_NAME}+)*/{_IAM_NAME}{{1,64}}", re.ASCII)

Condition = dict[str, dict[str, str]]


class InvalidShareEntry(ValueError):
    """One tag entry is not a consumer secretshare can grant; `code` is the short word the status tag shows."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Admission:
    """Who may be a consumer of one secret: never its own account, and what the allow-list admits."""

    producer_account: str
    accounts: frozenset[str] | None  # None: any account
    organizations: frozenset[str] | None  # None: any organization
    allow_list: str = "ALLOWED_CONSUMERS"  # as the user wrote it, for the messages


@dataclass(frozen=True)
class Organization:
    """Account A's organization: its id and, where A may list them, its accounts (None: only the management
    account or a delegated administrator may list them, docs/aws-facts.md §5)."""

    id: str
    accounts: frozenset[str] | None = None

    @property
    def listed(self) -> bool:
        """True when membership is checked up front, not only enforced by AWS at request time."""
        return self.accounts is not None


class Consumer(str):
    """A consumer, as its text. The base class is a principal AWS names in a policy (an account root, a role or user
    ARN); subclasses say what differs for their kind."""

    __slots__ = ()

    @property
    def account(self) -> str | None:
        """The account the consumer is in; None where it names no one account (an organization, a unique id)."""
        arn = parse_arn(self)
        return arn.account if arn and arn.service == "iam" and is_account_id(arn.account) else None

    @property
    def audience(self) -> str | None:
        """Which statement of a consumer set grants it: the one of the consumers of the same `audience`; None: a
        statement of its own (an organization or OU), or none at all (a unique id)."""
        return "accounts"

    @property
    def grantable(self) -> bool:
        """False for what may be read back from a policy but is never granted (a deleted principal's unique id)."""
        return True

    @property
    def principal(self) -> str:
        """What the statement's `Principal` names for it."""
        return str(self)

    def conditions(self) -> Condition:
        """The conditions that narrow `principal` to this consumer (none for a principal named outright)."""
        return {}

    def accounts(self, scope_members: Mapping[str, frozenset[str] | None]) -> frozenset[str] | None:
        """The accounts that get the consumer policy; None where A cannot list them (`scope_members`: the accounts
        of each organization and OU consumer, as A could list them)."""
        return frozenset({self.account}) if self.account else frozenset()

    def admit(self, entry: str, admission: Admission) -> None:
        """Raise InvalidShareEntry, naming `entry`, when `admission` rules the consumer out."""
        producer = admission.producer_account
        if self.account == producer:
            raise InvalidShareEntry(f"{entry!r} is in the producer account {producer} itself", "producer-account")
        if admission.accounts is not None and self.account not in admission.accounts:
            raise InvalidShareEntry(
                f"{entry!r}: account {self.account} is not allowed by {admission.allow_list}", "not-allowed"
            )


class AccountConsumer(Consumer):
    """A whole account, as its root principal: the account's own IAM decides who inside it may read."""

    __slots__ = ()


class PrincipalConsumer(Consumer):
    """An IAM role or user of an account, granted by name: its account's root, narrowed to its ARN."""

    __slots__ = ()

    @property
    def audience(self) -> str | None:
        return "principals"

    @property
    def principal(self) -> str:
        arn = parse_arn(self)
        assert arn is not None  # `consumer` made it from an IAM ARN
        return account_root(arn.partition, arn.account)

    def conditions(self) -> Condition:
        return {NAMED: {PRINCIPAL_ARN_KEY: str(self)}}


class UnknownPrincipal(Consumer):
    """What a policy names that is no account and no IAM principal secretshare could have written: the unique id
    (`AROA...`, `AIDA...`) AWS shows in place of a deleted principal (docs/aws-facts.md §12). Never granted."""

    __slots__ = ()

    @property
    def audience(self) -> str | None:
        return None

    @property
    def grantable(self) -> bool:
        return False


class OrganizationConsumer(Consumer):
    """Every account of an AWS Organization: `Principal: *` narrowed by `aws:PrincipalOrgID`."""

    __slots__ = ()

    @property
    def audience(self) -> str | None:
        return None

    @property
    def principal(self) -> str:
        return "*"

    @property
    def organization(self) -> str:
        """The organization the consumer belongs to."""
        return self.split("/", 1)[0]

    @property
    def ou(self) -> str | None:
        """The OU the consumer names (the last of its path), None for a whole organization."""
        return None

    def conditions(self) -> Condition:
        return {"StringEquals": {ORG_ID_KEY: self.organization}}

    def accounts(self, scope_members: Mapping[str, frozenset[str] | None]) -> frozenset[str] | None:
        return scope_members.get(self)

    def admit(self, entry: str, admission: Admission) -> None:
        if admission.organizations is not None and self.organization not in admission.organizations:
            raise InvalidShareEntry(
                f"{entry!r}: organization {self.organization} is not allowed by {admission.allow_list} (A's own "
                "organization is, under 'organization'; another must be listed)",
                "other-organization",
            )


class OrgUnitConsumer(OrganizationConsumer):
    """Every account under an OU, nested OUs included: `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths`."""

    __slots__ = ()

    @property
    def ou(self) -> str | None:
        return self.split("/")[-1]

    @property
    def path(self) -> list[str]:
        """The OU's ancestors, the root first (the path between the organization and the OU)."""
        return self.split("/")[1:-1]

    def conditions(self) -> Condition:
        return {**super().conditions(), "ForAnyValue:StringLike": {ORG_PATHS_KEY: f"{self}/*"}}


def consumer(text: str) -> Consumer:
    """The consumer a text names, of its kind: the one place a text's kind is told apart."""
    if isinstance(text, Consumer):
        return text
    if text.startswith("o-"):
        return OrgUnitConsumer(text) if "/" in text else OrganizationConsumer(text)
    arn = parse_arn(text)
    if arn is None or arn.service != "iam" or not is_account_id(arn.account):
        return UnknownPrincipal(text)
    return AccountConsumer(text) if arn.resource == "root" else PrincipalConsumer(text)


def as_consumers(texts: Iterable[str]) -> list[Consumer]:
    """Each text as its consumer."""
    return [consumer(text) for text in texts]


def parse_entry(entry: str, partition: str) -> Consumer:
    """The consumer a `share-with` entry names, or InvalidShareEntry saying why it cannot be granted."""
    if entry.startswith("o-"):
        return _organization_entry(entry)
    if not entry.isascii():
        # AWS account ids and IAM names are ASCII: fullwidth or Arabic-Indic digits, or `role/ápp`, name nobody.
        odd = next(ch for ch in entry if not ch.isascii())
        raise InvalidShareEntry(
            f"{entry!r} contains {odd!r} (U+{ord(odd):04X}); account ids are 12 ASCII digits and IAM names ASCII",
            "non-ascii",
        )
    if "*" in entry or "?" in entry:
        raise InvalidShareEntry(
            f"{entry!r} contains a wildcard; name an account id or an IAM role/user ARN", "wildcard"
        )
    if is_account_id(entry):
        return AccountConsumer(account_root(partition, entry))
    if entry.startswith("arn:"):
        return _arn_entry(entry, partition)
    if entry.endswith(".amazonaws.com") or entry.endswith(".amazonaws.com.cn"):
        raise InvalidShareEntry(
            f"{entry!r} is a service principal; only accounts and IAM roles/users can be consumers", "service-principal"
        )
    raise InvalidShareEntry(
        f"{entry!r} is not a 12-digit account id or an IAM role/user ARN{_hint(entry)}", "not-an-account"
    )


def _organization_entry(entry: str) -> OrganizationConsumer:
    """An organization id, or an OU path without a trailing "/"."""
    text = entry.rstrip("/")
    if _ORG.fullmatch(text) or _OU_PATH.fullmatch(text):
        return consumer(text)  # type: ignore[return-value]
    raise InvalidShareEntry(
        f"{entry!r} is neither an organization id (o- and 10 to 32 lowercase letters or digits) nor an OU path "
        "from the root (o-a1b2c3d4e5/r-ab12/ou-ab12-11111111)",
        "malformed-organization",
    )


def _arn_entry(entry: str, partition: str) -> Consumer:
    arn = parse_arn(entry)
    if arn is None or not is_account_id(arn.account):
        raise InvalidShareEntry(
            f"{entry!r} is not a well-formed ARN (arn:{partition}:iam::<account>:role/<name>){_hint(entry)}",
            "malformed-arn",
        )
    if arn.partition != partition:
        raise InvalidShareEntry(
            f"{entry!r} is in partition {arn.partition!r}; the secret is in {partition!r}", "other-partition"
        )
    if arn.service == "sts":
        raise InvalidShareEntry(f"{entry!r} is a session principal; name the IAM role ARN instead", "session-principal")
    if arn.service != "iam" or arn.region:
        raise InvalidShareEntry(
            f"{entry!r} is not an IAM ARN; only accounts and IAM roles/users can be consumers", "not-iam"
        )
    if arn.resource == "root":
        return AccountConsumer(account_root(partition, arn.account))
    if arn.resource.startswith("group/"):
        raise InvalidShareEntry(
            f"{entry!r} is an IAM group, which cannot be a principal; name a role or user", "iam-group"
        )
    if not _ROLE_OR_USER.fullmatch(arn.resource):
        raise InvalidShareEntry(
            f"{entry!r} is not an IAM role or user ARN (arn:{partition}:iam::<account>:role/<path/name>){_hint(entry)}",
            "not-role-or-user",
        )
    return PrincipalConsumer(entry)


def _hint(entry: str) -> str:
    """What a rejected entry most likely meant: the usual slips, each named."""
    if "," in entry or ";" in entry:
        return "; entries are separated by spaces, not commas or semicolons"
    if re.fullmatch(r"[0-9]{4}-[0-9]{4}-[0-9]{4}", entry):
        return f"; write the account id without dashes ({entry.replace('-', '')})"
    if re.fullmatch(r"[0-9]+", entry):
        return f" (it has {len(entry)} digits)"
    return ""


# --- reading our statements back -------------------------------------------------------------------------------------


def principals_of(statement: Mapping[str, Any]) -> set[str]:
    """The AWS principals a statement names, as AWS shows them."""
    principal = statement.get("Principal") or {}
    value = principal.get("AWS", []) if isinstance(principal, dict) else principal
    return {value} if isinstance(value, str) else set(value)


def granted_by(statement: Mapping[str, Any]) -> frozenset[Consumer]:
    """Whom a grant of ours grants: the organization or OU its conditions name (`Principal: *`), the roles and users
    its `aws:PrincipalArn` condition names, else its principals (accounts; in statements written before grants were
    bound by name, role ARNs or the unique ids AWS left in their place)."""
    scope = scope_of(statement)
    if scope:
        return frozenset({scope})
    named = ((statement.get("Condition") or {}).get(NAMED) or {}).get(PRINCIPAL_ARN_KEY)
    if named:
        return frozenset(as_consumers([named] if isinstance(named, str) else named))
    return frozenset(as_consumers(principals_of(statement)))


def is_unique_id(text: str) -> bool:
    """True for the unique id AWS shows in a policy in place of a principal that was deleted."""
    return bool(_UNIQUE_ID.fullmatch(text))


def audiences(consumers: Iterable[str]) -> list[frozenset[Consumer]]:
    """The audiences a consumer set is granted in, one statement each: its accounts, its roles and users, then each
    organization or OU; unique ids are left out (they are never granted)."""
    found = [c for c in as_consumers(consumers) if c.grantable]
    together: dict[str, set[Consumer]] = {}
    for member in found:
        if member.audience is not None:
            together.setdefault(member.audience, set()).add(member)
    alone = sorted({member for member in found if member.audience is None})
    return [frozenset(together[kind]) for kind in sorted(together)] + [frozenset({member}) for member in alone]


def grant_of(audience: Iterable[Consumer]) -> tuple[str | list[str], Condition]:
    """The `Principal` (its `AWS` value) and the conditions that grant exactly one audience."""
    members = sorted(audience)
    principals = sorted({member.principal for member in members})
    conditions: dict[str, dict[str, Any]] = {}
    for member in members:
        for operator, keys in member.conditions().items():
            for key, value in keys.items():
                found = conditions.setdefault(operator, {}).get(key)
                conditions[operator][key] = value if found is None else sorted({*_listed(found), value})
    principal: str | list[str] = "*" if principals == ["*"] else principals
    return principal, conditions  # type: ignore[return-value]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def scope_of(statement: Mapping[str, Any]) -> Consumer | None:
    """The organization or OU a statement of ours grants (`Principal: *` with our organization conditions)."""
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))
    if not everyone:
        return None
    conditions = statement.get("Condition") or {}
    org = (conditions.get("StringEquals") or {}).get(ORG_ID_KEY)
    paths = (conditions.get("ForAnyValue:StringLike") or {}).get(ORG_PATHS_KEY)
    if isinstance(paths, list) and len(paths) == 1:
        paths = paths[0]
    if isinstance(paths, str) and paths.endswith("/*"):
        return consumer(paths.removesuffix("/*"))
    return consumer(org) if isinstance(org, str) else None


def accounts_of(principals: Iterable[str]) -> set[str]:
    """Accounts of the principals; those that name no account (unique ids, organizations) are skipped."""
    return {account for text in principals if (account := consumer(text).account)}
