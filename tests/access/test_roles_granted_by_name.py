"""A role consumer is granted by name: its account's root, narrowed by `aws:PrincipalArn` to the role's ARN, in the key
policy and the resource policy alike. The grant follows the name, as the tag does: AWS never rewrites a condition to a
unique id, so a role deleted leaves nothing KMS refuses, a role created again reads again, and a role can be shared
before it exists. Who reads is the evaluator's verdict (iam-simulate), on the policies AWS holds (the strict layer
rewrites a deleted principal to its unique id wherever it is a `Principal`, as AWS does).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from access import Access
from support.statements import ADMIN

from secretshare.domain.errors import DeletedPrincipalInKeyPolicy

B = "222222222222"
C = "333333333333"
APP_C = f"arn:aws:iam::{C}:role/app"
OTHER_C = f"arn:aws:iam::{C}:role/other"
NAME = "app/db-password"


def readers(world, iam, arn, *roles):
    """The roles, each holding the consumer policy published in its account, that can read the secret."""
    access = Access(iam, world, arn)
    identity = access.published_policy(C)
    return {role for role in roles if access.read(role, identity).allowed}


def test_the_role_reads_and_another_role_of_its_account_does_not(world, iam):
    arn = world.create_secret(NAME, APP_C)

    world.reconcile(arn)

    assert readers(world, iam, arn, APP_C, OTHER_C) == {APP_C}
    assert APP_C not in json.dumps([s["Principal"] for s in world.key_policy(world.kms_key_id(arn))["Statement"]])


def test_a_role_deleted_and_created_again_reads_again_with_no_run_in_between(world, iam, strict_aws):
    arn = world.create_secret(NAME, APP_C)
    world.reconcile(arn)
    key = world.kms_key_id(arn)
    before = (world.key_policy(key), world.resource_policy(arn))

    strict_aws.iam.delete(APP_C)
    assert (world.key_policy(key), world.resource_policy(arn)) == before, "nothing to rewrite: no role is a Principal"
    strict_aws.iam.create(APP_C)

    assert readers(world, iam, arn, APP_C, OTHER_C) == {APP_C}
    assert world.reconcile(arn).changes == []


def test_a_role_shared_before_it_exists_is_granted_and_reads_once_created(world, iam, strict_aws):
    strict_aws.iam.never_existed(APP_C)
    arn = world.create_secret(NAME, APP_C)

    result = world.reconcile(arn)

    assert result.rejected == () and world.status(arn) == "ok 1 consumer"
    strict_aws.iam.create(APP_C)
    assert readers(world, iam, arn, APP_C) == {APP_C}


@pytest.fixture
def shared_key(world):
    """SHARED_KEY_ARN: one key for every secret."""
    arn = world.create_key({"Version": "2012-10-17", "Statement": [ADMIN]})["Arn"]
    world.settings = dataclasses.replace(world.settings, shared_key_arn=arn)
    return arn


def test_on_a_shared_key_a_deleted_role_blocks_neither_a_revocation_nor_a_new_share(world, iam, strict_aws, shared_key):
    first = world.create_secret("app/first", f"{B} {APP_C}")
    second = world.create_secret("app/second", f"{B} {APP_C}")
    world.reconcile(first)
    world.reconcile(second)
    strict_aws.iam.delete(APP_C)

    world.untag(first)
    world.reconcile(first)  # KMS accepts the rewrite: no unique id is left anywhere
    third = world.create_secret("app/third", B)
    result = world.reconcile(third)

    assert world.sharing(first).key_grantees == set() and world.resource_policy(first) is None
    assert result.rejected == () and world.status(third) == "ok 1 consumer"
    assert world.sharing(second).key_grantees == {f"arn:aws:iam::{B}:root", APP_C}
    strict_aws.iam.create(APP_C)
    assert readers(world, iam, second, APP_C) == {APP_C}


def test_a_statement_we_did_not_write_naming_a_deleted_principal_is_reported_against_the_key(
    world, strict_aws, shared_key
):
    operator = f"arn:aws:iam::{B}:role/operator"
    theirs = {**ADMIN, "Sid": "OperatorDecrypts", "Principal": {"AWS": operator}, "Action": "kms:Decrypt"}
    world.kms.put_key_policy(
        KeyId=shared_key,
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [ADMIN, theirs]}),
    )
    arn = world.create_secret(NAME, B)
    world.reconcile(arn)
    unique_id = strict_aws.iam.delete(operator)
    world.untag(arn)

    with pytest.raises(DeletedPrincipalInKeyPolicy) as failed:
        world.reconcile(arn)

    message = str(failed.value)
    assert shared_key in message and "'OperatorDecrypts'" in message and unique_id in message
    assert "remove that principal" in message and "invalid principals" not in message
    assert world.status(arn) == "error deleted-principal-in-key-policy"
    # What could be done was done: the secret's own resource policy no longer grants B; no consumer is blamed.
    assert world.resource_policy(arn) is None
    assert world.parameter(B, f"/secretshare/123456789012/eu-west-1/{NAME}") is None
