"""Organization and OU consumers: the entry forms, and the conditions that grant them. Pure: no boto3.

A `share-with` entry `o-a1b2c3d4e5` names every account of that AWS Organization; `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111`
(the OU's path from the organization's root) every account under that OU, nested OUs included. They are granted to
`Principal: *` narrowed by AWS's own global condition keys, which it evaluates at request time in key policies and
resource policies alike (docs/aws-facts.md §4): `aws:PrincipalOrgID` for both forms, and for an OU also
`ForAnyValue:StringLike aws:PrincipalOrgPaths = <path>/*`, which covers the OU and every OU below it (an OU id is
unique only within its organization: the path includes the organization, as AWS recommends).

Inside the library such a consumer is the entry itself (`o-...` or `o-.../r-.../ou-...`), beside principal ARNs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ORG_ID_KEY = "aws:PrincipalOrgID"
ORG_PATHS_KEY = "aws:PrincipalOrgPaths"

# Formats from the Organizations API (docs/aws-facts.md §4).
_ORG_ID = r"o-[a-z0-9]{10,32}"
_ROOT_ID = r"r-[0-9a-z]{4,32}"
_OU_ID = r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}"
_ORG = re.compile(_ORG_ID)
_OU_PATH = re.compile(rf"({_ORG_ID})/{_ROOT_ID}(/{_OU_ID})+")


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


class MalformedScope(ValueError):
    """An entry that starts like an organization id but is neither an organization id nor an OU path."""


def is_scope(consumer: str) -> bool:
    """True for an organization or OU consumer (every other consumer is a principal ARN)."""
    return consumer.startswith("o-")


def parse_scope(entry: str) -> str:
    """The consumer an `o-...` entry names: the organization id, or the OU path without a trailing "/".

    Raises MalformedScope saying what is wrong with it.
    """
    text = entry.rstrip("/")
    if _ORG.fullmatch(text) or _OU_PATH.fullmatch(text):
        return text
    raise MalformedScope(
        f"{entry!r} is neither an organization id (o- and 10 to 32 lowercase letters or digits) nor an OU path "
        "from the root (o-a1b2c3d4e5/r-ab12/ou-ab12-11111111)"
    )


def scope_organization(scope: str) -> str:
    """The organization a scope belongs to."""
    return scope.split("/", 1)[0]


def scope_ou(scope: str) -> str | None:
    """The OU a scope names (the last of its path), or None for a whole organization."""
    parts = scope.split("/")
    return parts[-1] if len(parts) > 2 else None


def scope_condition(scope: str) -> dict[str, dict[str, str]]:
    """The condition that limits `Principal: *` to the scope's accounts."""
    condition: dict[str, dict[str, str]] = {"StringEquals": {ORG_ID_KEY: scope_organization(scope)}}
    if scope_ou(scope):
        condition["ForAnyValue:StringLike"] = {ORG_PATHS_KEY: f"{scope}/*"}
    return condition


def scope_of(statement: dict[str, Any]) -> str | None:
    """The scope a statement of ours grants (`Principal: *` with our organization conditions), None otherwise."""
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
        return paths.removesuffix("/*")
    return org if isinstance(org, str) else None
