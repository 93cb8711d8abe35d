"""Policy documents: the statements secretshare wants and the merge that edits only those. Pure: no boto3.

A merge keeps every statement it does not own exactly as it was, in its place; it replaces an owned
statement only when the canonical forms differ, so AWS's reformatting (a one-element list returned as a
string, reordered principals) never causes a write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .arns import is_account_id
from .consumers import ORG_ID_KEY, Consumer, accounts_of, as_consumers, audiences, grant_of, granted_by, principals_of
from .errors import PolicyTooLarge
from .names import (
    CONSUMER_DECRYPT_SID,
    CONSUMER_READ_SID,
    NAMED_RESOURCE_POLICY_SID,
    RESOURCE_POLICY_SID,
    is_ours,
    name_hash,
)

POLICY_VERSION = "2012-10-17"
SECRET_READ_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
# Our grants record their consumers' accounts here (see `keypolicy.key_grant_statement`).
PRINCIPAL_ACCOUNT_KEY = "aws:PrincipalAccount"
# A time-boxed share's grants end here, to the second (see `ending`).
CURRENT_TIME_KEY = "aws:CurrentTime"
# AWS limits, checked before writing because a rejected write would leave the two policies out of step.
KEY_POLICY_MAX_BYTES = 32 * 1024
RESOURCE_POLICY_MAX_CHARS = 20_480

Statement = dict[str, Any]
Document = dict[str, Any]

_DNS_SUFFIX = {"aws-cn": "amazonaws.com.cn"}
# The resource-policy statement of each audience granted together (consumers.Consumer.audience).
_RESOURCE_POLICY_SIDS = {"accounts": RESOURCE_POLICY_SID, "principals": NAMED_RESOURCE_POLICY_SID}


def via_service(region: str, partition: str = "aws") -> str:
    """The `kms:ViaService` value for Secrets Manager in a region."""
    return f"secretsmanager.{region}.{_DNS_SUFFIX.get(partition, 'amazonaws.com')}"


def via_service_pattern(partition: str = "aws") -> str:
    """The `kms:ViaService` pattern for Secrets Manager in every region of a partition (for `StringLike`)."""
    return via_service("*", partition)


def ending(ends: str | None) -> dict[str, dict[str, str]]:
    """The condition that ends a grant at `ends` (a UTC moment to the second, `sharetag.format_time`); none for a
    share without end.

    AWS evaluates it on every request, so a time-boxed share stops working at that second whether or not a
    reconciliation has run yet: `aws:CurrentTime` is a global key present in every request, and a date operator on
    it is how AWS's own examples bound access in time (docs/aws-facts.md §16). The expiry schedule and the sweep then
    remove the grants themselves.
    """
    return {"DateLessThan": {CURRENT_TIME_KEY: ends}} if ends else {}


def grant_ends(statement: Statement) -> str | None:
    """When a grant of ours ends (its `ending` condition), None if it does not."""
    value = ((statement.get("Condition") or {}).get("DateLessThan") or {}).get(CURRENT_TIME_KEY)
    return value if isinstance(value, str) else None


def resource_grant_statements(
    consumers: Iterable[str], org_id: str | None = None, ends: str | None = None
) -> list[Statement]:
    """The resource-policy statements for a consumer set, one per audience (`consumers.audiences`), each until `ends`
    (see `ending`)."""
    return [resource_grant_statement(audience, org_id, ends) for audience in audiences(consumers)]


def resource_grant_statement(audience: Iterable[str], org_id: str | None = None, ends: str | None = None) -> Statement:
    """Secret resource-policy statement letting one audience read the secret, as the key grant does: accounts by their
    roots, roles and users through their accounts' roots narrowed by name, both with their accounts recorded and
    narrowed to A's organization by `org_id`; an organization or OU as `Principal: *` with its conditions (a fixed
    `aws:PrincipalOrgID` in every one, see docs/security.md)."""
    members = sorted(as_consumers(audience))
    principal, conditions = grant_of(members)
    if principal == "*":
        sid = f"{RESOURCE_POLICY_SID}{name_hash(members[0])}"
        condition = {**conditions, **ending(ends)}
    else:
        sid = _RESOURCE_POLICY_SIDS[members[0].audience or ""]
        narrowing = {ORG_ID_KEY: org_id} if org_id else {}
        strings = {PRINCIPAL_ACCOUNT_KEY: account_condition(members), **narrowing}
        condition = {**conditions, "StringEquals": strings, **ending(ends)}
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": list(SECRET_READ_ACTIONS),
        "Resource": "*",
        "Condition": condition,
    }


def account_condition(principals: Iterable[str]) -> str | list[str]:
    """The `aws:PrincipalAccount` value recording the principals' accounts."""
    return _one_or_list(sorted(accounts_of(principals)))


def recorded_accounts(statement: Statement) -> set[str]:
    """The consumer accounts a statement of ours records in its `aws:PrincipalAccount` condition; for a statement
    written before it did, the accounts of its principals that are still ARNs."""
    for operator in (statement.get("Condition") or {}).values():
        value = operator.get(PRINCIPAL_ACCOUNT_KEY) if isinstance(operator, dict) else None
        if value is not None:
            return {account for account in ([value] if isinstance(value, str) else value) if is_account_id(account)}
    return accounts_of(principals_of(statement))


def key_admin_statement(partition: str, account: str) -> Statement:
    """The default key-policy statement that lets account A's IAM administer a key we create."""
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def consumer_policy(
    secret_arn: str, key_arn: str, region: str, partition: str, replicas: Sequence[tuple[str, str, str]] = ()
) -> Document:
    """The IAM policy a consumer attaches to read the secret: exact secret ARNs, exact key ARNs.

    `replicas` holds (secret ARN, key ARN, region) of each replica: one policy then reads the secret in
    every region, each key only through Secrets Manager in a region of the secret.
    """
    secrets, keys, regions = zip((secret_arn, key_arn, region), *replicas, strict=True)
    services = sorted({via_service(r, partition) for r in regions})
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": CONSUMER_READ_SID,
                "Effect": "Allow",
                "Action": list(SECRET_READ_ACTIONS),
                "Resource": _one_or_list(secrets),
            },
            {
                "Sid": CONSUMER_DECRYPT_SID,
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": _one_or_list(keys),
                "Condition": {"StringEquals": {"kms:ViaService": _one_or_list(services)}},
            },
        ],
    }


def _one_or_list(values: Sequence[str]) -> str | list[str]:
    unique = list(dict.fromkeys(values))
    return unique[0] if len(unique) == 1 else unique


def published_resources(parameter_value: str | None, sid: str) -> set[str]:
    """The resource ARNs of one statement of a published consumer policy, read defensively.

    A consumer account's admins can write anything into its parameter, so nothing here may fail: a value that is
    not JSON, a statement that is not an object, a resource that is not a string all count as naming nothing.
    """
    try:
        document = json.loads(parameter_value or "")
    except (ValueError, RecursionError):
        return set()
    if not isinstance(document, dict):
        return set()
    found: set[str] = set()
    for statement in statements(document):
        if isinstance(statement, dict) and statement.get("Sid") == sid:
            resource = statement.get("Resource")
            found |= {r for r in (resource if isinstance(resource, list) else [resource]) if isinstance(r, str)}
    return found


def statements(document: Document | None) -> list[Statement]:
    """The statements of a policy document, as a list even when the document holds a single one."""
    if not document:
        return []
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found) if isinstance(found, list) else []


def canonical(value: Any) -> Any:
    """A form in which two statements compare equal when AWS treats them the same.

    Strings become one-element lists and lists become sorted sets, so `"a"` equals `["a"]` and order
    does not matter.
    """
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    items = value if isinstance(value, list) else [value]
    return sorted({json.dumps(canonical(i) if isinstance(i, dict) else i, sort_keys=True) for i in items})


def merge_statements(
    document: Document | None,
    owned: Callable[[Statement], bool],
    desired: Iterable[Statement],
) -> Document | None:
    """Replace the statements `owned` selects with `desired`, keeping every other statement as it was.

    An owned statement whose Sid is desired again stays in its place (and stays byte-identical when it
    is canonically equal); other owned statements are dropped; new ones are appended. Returns None when
    no statement is left, so the caller can delete the policy rather than write an empty one.
    """
    wanted = {statement["Sid"]: statement for statement in desired}
    merged: list[Statement] = []
    for statement in statements(document):
        if not owned(statement):
            merged.append(statement)
        elif statement.get("Sid") in wanted:
            replacement = wanted.pop(statement["Sid"])
            same = canonical(statement) == canonical(replacement)
            merged.append(statement if same else replacement)
    merged.extend(wanted.values())
    if not merged:
        return None
    base = {key: value for key, value in (document or {}).items() if key != "Statement"}
    return {"Version": POLICY_VERSION, **base, "Statement": merged}


def granted_principals(document: Document | None) -> set[Consumer]:
    """The consumers our Allow statements in a resource policy grant: principals, organizations and OUs."""
    found: set[Consumer] = set()
    for statement in statements(document):
        if is_ours(statement) and statement.get("Effect") == "Allow":
            found |= granted_by(statement)
    return found


def render(document: Document) -> str:
    """Serialize a policy document the way secretshare writes it."""
    return json.dumps(document, indent=2)


def check_size(document: Document, *, limit: int, what: str, secret: str, in_bytes: bool = False) -> str:
    """Serialize `document`, raising PolicyTooLarge before a write AWS would reject."""
    text = render(document)
    size = len(text.encode()) if in_bytes else len(text)
    if size > limit:
        compact = json.dumps(document, separators=(",", ":"))
        size_compact = len(compact.encode()) if in_bytes else len(compact)
        if size_compact > limit:
            unit = "bytes" if in_bytes else "characters"
            raise PolicyTooLarge(f"{what} for {secret} would be {size_compact} {unit}; the AWS limit is {limit}")
        return compact
    return text
