"""Policy merge: ours replaced, everything else kept exactly, and idempotent."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secretshare.errors import PolicyTooLarge
from secretshare.names import is_ours
from secretshare.policy import (
    canonical,
    check_size,
    consumer_policy,
    granted_principals,
    key_grant_statement,
    merge_statements,
    owned_key_statement,
    owned_key_statement_by_name,
    resource_grant_statement,
    statements,
)

SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db-AbCdEf"
OTHER_SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:other-XyZxYz"
B = "arn:aws:iam::222222222222:root"
C = "arn:aws:iam::333333333333:role/app"

principals = st.lists(st.sampled_from([B, C, "arn:aws:iam::444444444444:root"]), min_size=1, unique=True)
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


@st.composite
def our_statements(draw):
    kind = draw(st.sampled_from(["this", "other", "resource"]))
    consumers = draw(principals)
    if kind == "resource":
        return resource_grant_statement(consumers)
    return key_grant_statement(SECRET if kind == "this" else OTHER_SECRET, "eu-west-1", "aws", consumers)


documents = st.lists(st.one_of(foreign_statements(), our_statements()), max_size=8).map(
    lambda found: {"Version": "2012-10-17", "Statement": found}
)
desired = st.one_of(st.just([]), principals.map(lambda p: [key_grant_statement(SECRET, "eu-west-1", "aws", p)]))


def not_owned(document, owned):
    return [s for s in (document or {}).get("Statement", []) if not owned(s)]


@given(documents, desired)
def test_merging_never_drops_or_changes_a_statement_it_does_not_own(document, wanted):
    owned = owned_key_statement(SECRET)
    before = json.loads(json.dumps(document))
    merged = merge_statements(document, owned, wanted)
    assert not_owned(merged, owned) == not_owned(before, owned)
    assert document == before, "merge must not mutate its input"


@given(documents, desired)
def test_merging_twice_is_the_same_as_merging_once(document, wanted):
    owned = owned_key_statement(SECRET)
    once = merge_statements(document, owned, wanted)
    assert merge_statements(once, owned, wanted) == once


@given(documents, desired)
def test_after_merging_the_owned_statements_are_exactly_the_desired_ones(document, wanted):
    owned = owned_key_statement(SECRET)
    merged = merge_statements(document, owned, wanted)
    assert [canonical(s) for s in statements(merged) if owned(s)] == [canonical(s) for s in wanted]


def test_an_owned_statement_equal_up_to_aws_reformatting_is_kept_byte_for_byte():
    reformatted = key_grant_statement(SECRET, "eu-west-1", "aws", [C])
    reformatted["Principal"] = {"AWS": C}  # AWS returns a one-element list as a string
    document = {"Version": "2012-10-17", "Statement": [reformatted]}
    assert (
        merge_statements(document, owned_key_statement(SECRET), [key_grant_statement(SECRET, "eu-west-1", "aws", [C])])
        == document
    )


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
    statement = key_grant_statement(SECRET, "eu-west-1", "aws", [C, B])
    assert statement["Action"] == "kms:Decrypt" and statement["Resource"] == "*"
    assert statement["Principal"] == {"AWS": [B, C]}
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
            "kms:EncryptionContext:SecretARN": SECRET,
        }
    }


def test_consumer_policy_names_the_exact_secret_and_key():
    key = "arn:aws-cn:kms:cn-north-1:111111111111:key/k"
    policy = consumer_policy(SECRET, key, "cn-north-1", "aws-cn")
    read, decrypt = policy["Statement"]
    assert read["Resource"] == SECRET
    assert set(read["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert decrypt["Resource"] == key
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com.cn"}}


def test_statements_of_a_gone_secret_are_found_by_its_name():
    owned = owned_key_statement_by_name("app/db")
    assert owned(key_grant_statement(SECRET, "eu-west-1", "aws", [B]))
    assert not owned(key_grant_statement(OTHER_SECRET, "eu-west-1", "aws", [B]))
    assert not owned({"Sid": "Theirs", "Condition": {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET}}})


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
