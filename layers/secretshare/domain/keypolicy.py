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
from .consumers import (
    ORG_ID_KEY,
    Consumer,
    accounts_of,
    as_consumers,
    audiences,
    grant_of,
    granted_by,
    is_unique_id,
    principals_of,
)
from .names import (
    ACCOUNT_DATA_KEYS_SID,
    ACCOUNT_USE_SID,
    CLEANUP_SID_PREFIX,
    DENY_DIRECT_USE_SID,
    GRANT_SID_PREFIX,
    KEY_LEVEL_SIDS,
    PROBE_SID,
    cleanup_statement_sid,
    is_ours,
    key_grant_sid,
)
from .policy import (
    PRINCIPAL_ACCOUNT_KEY,
    Document,
    Statement,
    account_condition,
    canonical,
    ending,
    grant_ends,
    recorded_accounts,
    statements,
    via_service,
    via_service_pattern,
)

SECRET_ARN_KEY = "kms:EncryptionContext:SecretARN"
SECRET_VERSION_KEY = "kms:EncryptionContext:SecretVersionId"
# Decides whether a secret ARN named in a statement is the secret being reconciled.
SecretSelector = Callable[[str], bool]


def for_secret_family(secret_arn: str) -> SecretSelector:
    """Selects the secret's ARN in every region: the primary and each replica, present or removed."""
    wanted = parse_arn(secret_arn)
    family = replace(wanted, region="") if wanted is not None else None
    # Every ARN of the family ends with ":<resource>": most ARNs of a pool key's policy are told apart by that alone.
    ending = f":{wanted.resource}" if wanted is not None else None

    def selects(arn: str) -> bool:
        if ending is None or not arn.endswith(ending):
            return False
        found = parse_arn(arn)
        return found is not None and replace(found, region="") == family

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
    """The grant one secret should have: its ARN, its consumers (never empty) and when it ends (None: never)."""

    secret_arn: str
    consumers: tuple[str, ...]
    ends: str | None = None


# A grant statement's identity in a key policy: who it grants, and until when (see `policy.ending`).
GrantGroup = tuple[frozenset[Consumer], str | None]


def key_grant_statement(
    audience: Iterable[str],
    secret_arns: Iterable[str],
    region: str,
    partition: str,
    org_id: str | None = None,
    ends: str | None = None,
) -> Statement:
    """Let one audience decrypt these secrets, and only through Secrets Manager in their region.

    An audience is the accounts of a consumer set, its roles and users, or one organization or OU
    (`consumers.audiences`); `consumers.grant_of` says whom the statement names and how it narrows them. For accounts
    and principals, `aws:PrincipalAccount` names their accounts: it narrows nothing, but AWS never rewrites a
    condition: the accounts still to clean up are read from here. `org_id` narrows them to A's organization, which AWS
    then enforces (ALLOWED_CONSUMERS=organization). `ends`: when the grant stops working (`policy.ending`); secrets of
    one audience with different ends get a statement each.
    """
    arns = sorted(secret_arns)
    members = sorted(as_consumers(audience))
    pinned = {"kms:ViaService": via_service(region, partition), SECRET_ARN_KEY: arns[0] if len(arns) == 1 else arns}
    principal, conditions = grant_of(members)
    if principal == "*":  # an organization or OU: its conditions say who
        strings = {**pinned, **conditions.get("StringEquals", {})}
    else:
        narrowing = {ORG_ID_KEY: org_id} if org_id else {}
        strings = {**pinned, PRINCIPAL_ACCOUNT_KEY: account_condition(members), **narrowing}
    return {
        "Sid": key_grant_sid(members, ends),
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {**conditions, "StringEquals": strings, **ending(ends)},
    }


def audience_of(statement: Statement) -> frozenset[Consumer]:
    """Who a grant of ours grants: its principals, or the organization or OU its conditions name."""
    return granted_by(statement)


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


def secret_grantees(document: Document | None, selects: SecretSelector) -> set[Consumer]:
    """The consumers (principals, organizations, OUs) our grants give the selected secret to."""
    return {member for s in _naming(document, selects) if _is_grant(s) for member in audience_of(s)}


def granted_accounts(document: Document | None, selects: SecretSelector) -> set[str]:
    """Accounts our Allow statements grant on the selected secret (their recorded accounts)."""
    return set().union(*(recorded_accounts(s) for s in _naming(document, selects) if _is_grant(s)))


def pending_cleanup_accounts(document: Document | None, selects: SecretSelector) -> set[str]:
    """Accounts our cleanup markers for the selected secret name."""
    return accounts_of(
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
    org_id: str | None = None,
) -> Document | None:
    """Give the selected secret exactly `grant` (none when None) and `marker`, touching nothing else.

    Statements we did not write are kept as they were, in their place. Our grants are regrouped: one statement per
    audience and end (`GrantGroup`), listing its secrets, where the first statement of that group was; the selected
    secret leaves every group but its grant's. A statement whose canonical form does not change is kept byte-for-byte,
    so AWS's reformatting never causes a write. Statements written before grants were bound by name are split into
    their audiences, and the unique ids AWS left in them for deleted principals are dropped: KMS refuses any policy
    holding one (docs/aws-facts.md §12). `org_id`: see `key_grant_statement`.
    """
    groups: dict[GrantGroup, dict[str, None]] = {}  # each group's secret ARNs, in order (a dict: no repeats)
    written: dict[GrantGroup, list[Statement]] = {}
    touched: set[GrantGroup] = set()
    wanted = {key_grant_sid(audience, grant.ends) for audience in audiences(grant.consumers)} if grant else set()
    merged: list[Statement | GrantGroup] = []
    for statement in statements(document):
        if not is_ours(statement) or _is_key_level(statement):
            merged.append(statement)
            continue
        arns = granted_secret_arns(statement)
        if not _is_grant(statement):
            if not any(map(selects, arns)):
                merged.append(statement)  # another secret's cleanup marker
            continue  # this secret's old marker (`marker` replaces it), or a probe left by a stopped run
        # A grant of this secret's group naming no secret (its conditions edited away by hand) grants what we never
        # meant: it goes, and the group's statement is written again.
        stripped = not arns and statement.get("Sid") in wanted
        rewrite = stripped or any(map(selects, arns)) or not _in_our_form(statement)
        for audience in audiences(audience_of(statement)):
            group = (audience, grant_ends(statement))
            _open(group, groups, merged)
            groups[group].update(dict.fromkeys(arn for arn in arns if not selects(arn)))
            written.setdefault(group, []).append(statement)
            if rewrite or len(written[group]) > 1:
                touched.add(group)
    if grant is not None:
        for audience in audiences(grant.consumers):
            group = (audience, grant.ends)
            _open(group, groups, merged)
            groups[group][grant.secret_arn] = None
            touched.add(group)

    def placed(item: Statement | GrantGroup) -> Statement | None:
        """A statement as it was, or a group's statement: as written where nothing changed it, else rebuilt."""
        if not isinstance(item, tuple):
            return item
        if item not in touched:
            return written[item][0]
        return _rebuilt(item, list(groups[item]), _only(written.get(item, [])), region, partition, org_id)

    found = [statement for statement in map(placed, merged) if statement is not None] + ([marker] if marker else [])
    if not found:
        return None
    base = {key: value for key, value in (document or {}).items() if key != "Statement"}
    return {"Version": "2012-10-17", **base, "Statement": found}


def _only(written: list[Statement]) -> Statement | None:
    return written[0] if len(written) == 1 else None


def _in_our_form(statement: Statement) -> bool:
    """True when a grant of ours names whom it grants as this version does: one audience, each by its `principal`.
    Grants written before roles were bound by name named them, or the unique ids AWS left for them, as principals."""
    audience = audience_of(statement)
    return audiences(audience) == [audience] and principals_of(statement) == {c.principal for c in audience}


def _open(group: GrantGroup, groups: dict[GrantGroup, dict[str, None]], merged: list[Statement | GrantGroup]) -> None:
    """Make room for a group's statement, where it first appears."""
    if group not in groups:
        groups[group] = {}
        merged.append(group)


def _rebuilt(
    group: GrantGroup,
    secret_arns: list[str],
    written: Statement | None,
    region: str,
    partition: str,
    org_id: str | None,
) -> Statement | None:
    """A changed group's statement: the one written where it already is what it should be; None once it grants
    nothing."""
    if not secret_arns:
        return None
    audience, ends = group
    statement = key_grant_statement(audience, secret_arns, region, partition, org_id, ends)
    return written if written is not None and canonical(written) == canonical(statement) else statement


def _is_grant(statement: Statement) -> bool:
    return str(statement.get("Sid", "")).startswith(GRANT_SID_PREFIX) and statement.get("Effect") == "Allow"


def _is_key_level(statement: Statement) -> bool:
    return statement.get("Sid") in KEY_LEVEL_SIDS


def deleted_principals(document: Document | None) -> dict[str, list[str]]:
    """Sid (or position) -> the unique ids of deleted principals each statement we did not write names. KMS refuses
    every write of a key policy that holds one ("one or more invalid principals", docs/aws-facts.md §12)."""
    found: dict[str, list[str]] = {}
    for number, statement in enumerate(statements(document), start=1):
        ids = sorted(p for p in principals_of(statement) if is_unique_id(p))
        if ids and not is_ours(statement):
            found[str(statement.get("Sid") or f"statement {number}")] = ids
    return found


def names_for_cleanup(statement: Statement) -> list[str]:
    """The secret ARNs a statement of ours grants or marks for cleanup (the key-level statements name none)."""
    return [] if not is_ours(statement) or _is_key_level(statement) else granted_secret_arns(statement)


# --- account A's own use ---------------------------------------------------------------------------------------------

# What the AWS managed key aws/secretsmanager lets every principal of its account do, through Secrets Manager only
# (its key policy, docs/aws-facts.md §1a): app roles of A that hold only secretsmanager:GetSecretValue, and rotation
# functions that hold only secretsmanager:* actions, read and write through it. A key whose policy holds only the
# `root: kms:*` statement lets none of them (each would need kms:Decrypt in its own IAM policy), so a secret moved
# off the managed key keeps that access on its new key.
_SECRETS_MANAGER_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"]
# The managed key allows data keys through Secrets Manager of any region (`StringLike secretsmanager.*`): replicating
# a secret asks for a data key for the replica's key (docs/aws-facts.md §1b), through which region's endpoint AWS
# does not say; narrowing it could break replication in A, and a data key decrypts nothing already written.
_DATA_KEYS = "kms:GenerateDataKey*"
# A secret moved to a key someone else chose (SHARED_KEY_ARN) gets A's access for that secret only: conditions on the
# encryption context apply only to operations that carry one (docs/aws-facts.md §14), so CreateGrant and DescribeKey
# are left out there.
_SCOPED_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*"]
_DIRECT_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


def account_use_statements(
    account: str, region: str, partition: str, secret_arns: Iterable[str] | None = None
) -> list[Statement]:
    """A's principals may use the key as the AWS managed key let them: through Secrets Manager, as callers of A.

    `secret_arns` None is the key made for a secret (as the managed key: any secret on it); otherwise the use is
    limited to those secrets, the ones secretshare moved to a key it did not make.
    """
    scoped = {} if secret_arns is None else {SECRET_ARN_KEY: _one_or_sorted(secret_arns)}
    in_region = {"kms:CallerAccount": account, "kms:ViaService": via_service(region, partition)}
    return [
        {
            "Sid": ACCOUNT_USE_SID,
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": _SECRETS_MANAGER_USE if secret_arns is None else _SCOPED_USE,
            "Resource": "*",
            "Condition": {"StringEquals": {**in_region, **scoped}},
        },
        {
            "Sid": ACCOUNT_DATA_KEYS_SID,
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": _DATA_KEYS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account, **scoped},
                "StringLike": {"kms:ViaService": via_service_pattern(partition)},
            },
        },
    ]


def deny_direct_use_statement(partition: str) -> Statement:
    """Nobody, in A or elsewhere, encrypts or decrypts with the key outside Secrets Manager.

    The key-admin statement delegates the key to A's IAM, so a role of A allowed `kms:*` in IAM could otherwise
    decrypt directly, which the AWS managed key never allowed. Administering the key (its policy included) stays
    open to A's IAM, so nobody is locked out. Only on keys secretshare makes: a key someone chose is theirs.
    """
    return {
        "Sid": DENY_DIRECT_USE_SID,
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": _DIRECT_USE,
        "Resource": "*",
        "Condition": {"StringNotLike": {"kms:ViaService": via_service_pattern(partition)}},
    }


def with_account_use(
    document: Document,
    *,
    account: str,
    region: str,
    partition: str,
    made_by_us: bool,
    moved: Iterable[str] = (),
) -> Document:
    """`document` with account A's own use in place: on a key secretshare made, the managed key's equivalent and the
    deny of direct use; on another key, A's use of the secrets in `moved` (and of those it already lists).

    Statements already in their form are kept as they are, so a policy in sync is never rewritten.
    """
    current = {s.get("Sid"): s for s in statements(document) if _is_key_level(s)}
    if made_by_us:
        desired = [*account_use_statements(account, region, partition), deny_direct_use_statement(partition)]
    else:
        listed = granted_secret_arns(current.get(ACCOUNT_USE_SID, {}))
        arns = sorted({*listed, *moved})
        desired = account_use_statements(account, region, partition, arns) if arns else []
    wanted = {s["Sid"]: s for s in desired}
    kept = [
        s if s.get("Sid") not in wanted or canonical(s) == canonical(wanted[s["Sid"]]) else wanted[s["Sid"]]
        for s in statements(document)
        if not _is_key_level(s) or s.get("Sid") in wanted
    ]
    added = [s for sid, s in wanted.items() if sid not in current]
    return {**document, "Statement": [*kept, *added]}


def _one_or_sorted(values: Iterable[str]) -> str | list[str]:
    found = sorted(set(values))
    return found[0] if len(found) == 1 else found
