"""Policy merge: ours replaced, everything else kept exactly, and idempotent."""

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secretshare.domain.consumers import scope_of
from secretshare.domain.errors import PolicyTooLarge
from secretshare.domain.keypolicy import (
    KeyGrant,
    audience_of,
    audiences,
    cleanup_marker_statement,
    for_secret_family,
    for_secret_name,
    granted_secret_arns,
    key_grant_statement,
    merge_key_policy,
    pending_cleanup_accounts,
    secret_grantees,
)
from secretshare.domain.names import is_ours
from secretshare.domain.policy import (
    check_size,
    consumer_policy,
    grant_ends,
    granted_principals,
    merge_statements,
    recorded_accounts,
    resource_grant_statement,
    statements,
)

SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db-AbCdEf"
OTHERS = [
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:other-XyZxYz",
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:third-QwErTy",
]
B = "arn:aws:iam::222222222222:root"
C = "arn:aws:iam::333333333333:role/app"
ROOT_C = "arn:aws:iam::333333333333:root"

principals = st.lists(st.sampled_from([B, C, "arn:aws:iam::444444444444:root"]), min_size=1, unique=True)
ORG = "o-a1b2c3d4e5"
SCOPES = [ORG, f"{ORG}/r-ab12/ou-ab12-11111111"]
# A consumer set: principals, organizations and OUs, at least one of them.
consumer_sets = (
    st.tuples(
        st.lists(st.sampled_from([B, C, "arn:aws:iam::444444444444:root"]), unique=True),
        st.lists(st.sampled_from(SCOPES), unique=True),
    )
    .map(lambda parts: [*parts[0], *parts[1]])
    .filter(bool)
)
# Near-misses of our prefix included: only an exact "SecretShare" prefix marks a statement as ours.
foreign_sids = st.sampled_from([None, "Enable IAM User Permissions", "AllowAdmins", "secretshareLower", "Secret", ""])


@st.composite
def foreign_statements(draw):
    statement = {
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        "Principal": {"AWS": draw(st.one_of(st.sampled_from([B, C]), principals))},
        "Action": draw(
            st.one_of(st.just("kms:*"), st.lists(st.sampled_from(["kms:Decrypt", "kms:Encrypt"]), min_size=1))
        ),
        "Resource": "*",
    }
    sid = draw(foreign_sids)
    return statement if sid is None else {"Sid": sid, **statement}


# When a grant ends: never, or one of two moments (a shared key groups secrets by audience and end).
ends = st.sampled_from([None, "2030-06-01T18:00:00Z", "2030-06-01T20:00:00Z"])


def grants_with_ends(document, secret):
    """Who our grants give the secret to, and until when."""
    return {
        (member, grant_ends(s))
        for s in statements(document)
        if is_ours(s) and s.get("Effect") == "Allow" and secret in granted_secret_arns(s)
        for member in audience_of(s)
    }


@st.composite
def our_key_statements(draw):
    """Grants covering any of the secrets (as a previous run or another secret left them), or markers."""
    arns = draw(st.lists(st.sampled_from([SECRET, *OTHERS]), min_size=1, unique=True))
    if draw(st.booleans()):
        return cleanup_marker_statement(arns[0], "aws", ["555555555555"])
    audience = draw(st.one_of(principals, st.sampled_from(SCOPES).map(lambda scope: [scope])))
    return key_grant_statement(audience, arns, "eu-west-1", "aws", ends=draw(ends))


@st.composite
def key_policies(draw):
    """Key policies in which each secret appears in at most one grant to principals and one per organization or OU,
    as secretshare keeps them."""
    found = draw(st.lists(st.one_of(foreign_statements(), our_key_statements()), max_size=8))
    seen: set[tuple[str, str | None]] = set()
    kept = []
    for statement in found:
        kind = scope_of(statement)
        arns = {(arn, kind) for arn in granted_secret_arns(statement)}
        if statement.get("Effect") == "Allow" and is_ours(statement) and arns & seen:
            continue
        seen |= arns if statement.get("Effect") == "Allow" else set()
        kept.append(statement)
    return {"Version": "2012-10-17", "Statement": kept}


grants = st.one_of(
    st.none(), st.builds(lambda consumers, until: KeyGrant(SECRET, tuple(consumers), until), consumer_sets, ends)
)


def merge(document, grant):
    return merge_key_policy(document, for_secret_family(SECRET), region="eu-west-1", partition="aws", grant=grant)


def foreign(document):
    return [s for s in statements(document) if not is_ours(s)]


@given(key_policies(), grants)
def test_merging_never_drops_or_changes_a_statement_it_does_not_own(document, grant):
    before = json.loads(json.dumps(document))
    merged = merge(document, grant)
    assert foreign(merged) == foreign(before)
    assert document == before, "merge must not mutate its input"


@given(key_policies(), grants)
def test_merging_never_changes_another_secrets_grant(document, grant):
    merged = merge(document, grant)
    for other in OTHERS:
        assert grants_with_ends(merged, other) == grants_with_ends(document, other)
        assert pending_cleanup_accounts(merged, for_secret_family(other)) == pending_cleanup_accounts(
            document, for_secret_family(other)
        )


@given(key_policies(), grants)
def test_merging_twice_is_the_same_as_merging_once(document, grant):
    once = merge(document, grant)
    assert merge(once, grant) == once


@given(key_policies(), grants)
def test_after_merging_the_secret_is_granted_to_exactly_its_consumers_one_statement_per_audience(document, grant):
    merged = merge(document, grant)
    granting = [
        s for s in statements(merged) if is_ours(s) and s["Effect"] == "Allow" and SECRET in granted_secret_arns(s)
    ]
    assert secret_grantees(merged, for_secret_family(SECRET)) == set(grant.consumers if grant else ())
    assert grants_with_ends(merged, SECRET) == ({(c, grant.ends) for c in grant.consumers} if grant else set())
    assert len(granting) == (len(audiences(grant.consumers)) if grant else 0)
    before, after = (Counter(s["Sid"] for s in statements(d) if is_ours(s)) for d in (document, merged))
    assert all(count <= max(before[sid], 1) for sid, count in after.items()), "a merge never repeats a Sid"
    assert pending_cleanup_accounts(merged, for_secret_family(SECRET)) == set()


def test_secrets_with_the_same_consumers_share_one_statement_and_leave_it_one_by_one():
    policy = {"Version": "2012-10-17", "Statement": [key_grant_statement([B], [OTHERS[0]], "eu-west-1", "aws")]}
    shared = merge(policy, KeyGrant(SECRET, (B,)))
    assert len(shared["Statement"]) == 1
    assert sorted(granted_secret_arns(shared["Statement"][0])) == sorted([SECRET, OTHERS[0]])
    moved = merge(shared, KeyGrant(SECRET, (B, C)))
    assert secret_grantees(moved, for_secret_family(SECRET)) == {B, C}
    assert secret_grantees(moved, for_secret_family(OTHERS[0])) == {B}
    assert merge(moved, None) == policy


@pytest.mark.parametrize(
    ("consumers", "secrets", "statements"),
    [((B,), 300, 1), ((B, C), 150, 2)],
    ids=["accounts", "an-account-and-a-role"],
)
def test_a_shared_key_holds_hundreds_of_secrets_with_the_same_consumers_within_32_kb(consumers, secrets, statements):
    """One statement per audience lists every secret of that consumer set: a set of accounts and roles takes two (the
    accounts', and the roles' by name), so half as many secrets fit."""
    arns = [
        f"arn:aws:secretsmanager:eu-west-1:111111111111:secret:team/service-{i:04d}/db-AbCdEf" for i in range(secrets)
    ]
    policy = {"Version": "2012-10-17", "Statement": []}
    for arn in arns:
        policy = merge_key_policy(
            policy, for_secret_family(arn), region="eu-west-1", partition="aws", grant=KeyGrant(arn, consumers)
        )
    assert len(policy["Statement"]) == statements
    assert len(json.dumps(policy, separators=(",", ":"))) < 32 * 1024


def test_resource_policy_merge_keeps_foreign_statements_and_is_idempotent():
    theirs = {"Sid": "Backup", "Effect": "Allow", "Principal": {"AWS": C}, "Action": "x", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [theirs, resource_grant_statement([C])]}
    merged = merge_statements(document, is_ours, [resource_grant_statement([B])])
    assert merged["Statement"] == [theirs, resource_grant_statement([B])]
    assert merge_statements(merged, is_ours, [resource_grant_statement([B])]) == merged


def test_an_owned_statement_equal_up_to_aws_reformatting_is_kept_byte_for_byte():
    reformatted = key_grant_statement([C], [SECRET], "eu-west-1", "aws")
    reformatted["Principal"] = {"AWS": ROOT_C}  # AWS returns a one-element list as a string
    document = {"Version": "2012-10-17", "Statement": [reformatted]}
    assert merge(document, KeyGrant(SECRET, (C,))) == document


def test_removing_the_only_statement_yields_no_document_so_the_policy_is_deleted():
    document = {"Version": "2012-10-17", "Statement": [resource_grant_statement([B])]}
    assert merge_statements(document, is_ours, []) is None


def test_a_single_statement_object_is_read_as_a_list():
    document = {
        "Version": "2012-10-17",
        "Statement": {"Sid": "Theirs", "Effect": "Allow", "Principal": "*", "Action": "x"},
    }
    merged = merge_statements(document, is_ours, [resource_grant_statement([B])])
    assert merged["Statement"] == [document["Statement"], resource_grant_statement([B])]


def test_key_grant_is_decrypt_only_through_secrets_manager_for_the_exact_secret():
    accounts, named = (key_grant_statement(audience, [SECRET], "eu-west-1", "aws") for audience in audiences([C, B]))
    pinned = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:EncryptionContext:SecretARN": SECRET}
    for statement in (accounts, named):
        assert statement["Action"] == "kms:Decrypt" and statement["Resource"] == "*"
    assert accounts["Principal"] == {"AWS": [B]}
    assert accounts["Condition"] == {"StringEquals": {**pinned, "aws:PrincipalAccount": "222222222222"}}
    # A role by name: its account's root, narrowed to its ARN (a condition AWS never rewrites to a unique id).
    assert named["Principal"] == {"AWS": [ROOT_C]}
    assert named["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": C},
        "StringEquals": {**pinned, "aws:PrincipalAccount": "333333333333"},
    }


def test_the_accounts_to_clean_up_are_read_from_the_grant_even_once_aws_rewrote_a_deleted_role():
    statement = key_grant_statement([C, B], [SECRET], "eu-west-1", "aws")
    rewritten = {**statement, "Principal": {"AWS": ["AROAEXAMPLEUNIQUEID00", B]}}
    assert recorded_accounts(rewritten) == {"222222222222", "333333333333"}
    # A grant an earlier version wrote (no record): the accounts of the principals that are still ARNs.
    legacy = {**rewritten, "Condition": {"StringEquals": {"kms:ViaService": "x"}}}
    assert recorded_accounts(legacy) == {"222222222222"}


def test_consumer_policy_names_the_exact_secret_and_key():
    key = "arn:aws-cn:kms:cn-north-1:111111111111:key/k"
    policy = consumer_policy(SECRET, key, "cn-north-1", "aws-cn")
    read, decrypt = policy["Statement"]
    assert read["Resource"] == SECRET
    assert set(read["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert decrypt["Resource"] == key
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com.cn"}}


def test_statements_of_a_gone_secret_are_found_by_its_name():
    selects = for_secret_name("app/db", "eu-west-1")
    assert selects(SECRET)
    assert not selects(OTHERS[0])
    document = {"Statement": [key_grant_statement([B], [SECRET, OTHERS[0]], "eu-west-1", "aws")]}
    revoked = merge_key_policy(document, selects, region="eu-west-1", partition="aws")
    assert granted_secret_arns(revoked["Statement"][0]) == [OTHERS[0]]


def test_granted_principals_reads_only_our_statements():
    document = {"Statement": [resource_grant_statement([B]), {"Sid": "Theirs", "Principal": {"AWS": C}}]}
    assert granted_principals(document) == {B}


def test_oversized_policy_is_refused_before_writing_naming_the_secret_and_limit():
    document = {
        "Version": "2012-10-17",
        "Statement": [resource_grant_statement([f"arn:aws:iam::{i:012d}:root" for i in range(700)])],
    }
    with pytest.raises(PolicyTooLarge, match=r"resource policy for .*app/db.* the AWS limit is 20480"):
        check_size(document, limit=20_480, what="resource policy", secret=SECRET)
