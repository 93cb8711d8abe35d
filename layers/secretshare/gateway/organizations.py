"""AWS Organizations, read from account A: its organization, and the accounts an organization or OU consumer covers."""

from __future__ import annotations

import logging
import time

from botocore.exceptions import ClientError

from ..domain.consumers import Organization, OrganizationConsumer, OrgUnitConsumer
from ..domain.errors import AllowListUnavailable
from ..domain.settings import Settings
from .base import Clients, Service, calls, error_code

logger = logging.getLogger("secretshare")

# Organization membership changes rarely; a warm Lambda reuses it for this long.
ORGANIZATION_CACHE_SECONDS = 300

_organization_cache: dict[str, tuple[float, Organization]] = {}


class Organizations(Service):
    """The reads secretshare makes in AWS Organizations; the accounts of each scope are listed once per instance."""

    name = "organizations"

    def __init__(self, settings: Settings, clients: Clients) -> None:
        super().__init__(settings, clients)
        self._scopes: dict[str, frozenset[str] | None] = {}

    @calls("organizations:DescribeOrganization")
    def organization(self, account: str) -> Organization:
        """Account A's organization: its id (DescribeOrganization answers any member account) and, where A may list
        them, its active accounts (ListAccounts answers only the management account or a delegated administrator:
        docs/aws-facts.md §5). Cached for ORGANIZATION_CACHE_SECONDS. AllowListUnavailable when A is in no
        organization, or may not even describe it: then nothing can be checked, nor enforced."""
        cached = _organization_cache.get(account)
        if cached and time.monotonic() - cached[0] < ORGANIZATION_CACHE_SECONDS:
            return cached[1]
        try:
            found = self._client().describe_organization()["Organization"]
        except ClientError as err:
            raise AllowListUnavailable(
                f"ALLOWED_CONSUMERS=organization, but account {account} cannot describe its organization "
                f"(organizations:DescribeOrganization): {err}. Set ALLOWED_CONSUMERS to account ids or 'any'"
            ) from err
        organization = Organization(found["Id"], self._active_members(account))
        _organization_cache[account] = (time.monotonic(), organization)
        return organization

    @calls("organizations:ListAccounts")
    def _active_members(self, account: str) -> frozenset[str] | None:
        """The organization's ACTIVE accounts (read from `State`: `Status` was retired on 2026-09-09), or None when
        A may not list them, or the answer cannot be a real organization's (empty, or without A itself)."""
        try:
            pages = self._client().get_paginator("list_accounts").paginate()
            listed = {a["Id"]: a.get("State") for page in pages for a in page["Accounts"]}
        except ClientError as err:
            if error_code(err) not in ("AccessDeniedException", "AccessDenied"):
                raise
            logger.info("organization accounts cannot be listed from %s; AWS enforces membership: %s", account, err)
            return None
        if account not in listed:
            logger.warning("ListAccounts answered %d accounts without %s itself: ignored", len(listed), account)
            return None
        return frozenset(member for member, state in listed.items() if state == "ACTIVE")

    @calls(
        "organizations:ListParents",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
    )
    def scope_members(self, scope: OrganizationConsumer, organization: Organization) -> frozenset[str] | None:
        """The active accounts an organization or OU consumer covers (nested OUs included), or None when they cannot
        be listed from A (another organization, a member account of this one, or an OU path that is not this
        organization's). Read once per instance."""
        if scope not in self._scopes:
            self._scopes[scope] = self._list_scope(scope, organization)
        return self._scopes[scope]

    def _list_scope(self, scope: OrganizationConsumer, organization: Organization) -> frozenset[str] | None:
        if scope.organization != organization.id or organization.accounts is None:
            return None
        if not isinstance(scope, OrgUnitConsumer):
            return organization.accounts
        ou = scope.ou
        client = self._client()
        try:
            if not self._path_is(ou, scope.path):
                logger.warning(
                    "OU path %s does not lead to %s in %s: its accounts are not listed", scope, ou, organization.id
                )
                return None
            found: set[str] = set()
            pending = [ou]
            while pending:
                parent = pending.pop()
                for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                    found |= {a["Id"] for a in page["Accounts"] if a.get("State") == "ACTIVE"}
                for page in client.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
                    pending += [unit["Id"] for unit in page["OrganizationalUnits"]]
        except ClientError as err:
            logger.warning("the accounts under %s cannot be listed: %s", scope, err)
            return None
        return frozenset(found)

    def _path_is(self, ou: str, ancestors: list[str]) -> bool:
        """True when `ancestors` (root first) are the OU's parents up to the root."""
        client = self._client()
        child = ou
        for expected in reversed(ancestors):
            (parent,) = client.list_parents(ChildId=child)["Parents"]
            if parent["Id"] != expected:
                return False
            child = parent["Id"]
        return True
