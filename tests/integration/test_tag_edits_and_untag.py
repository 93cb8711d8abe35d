"""Editing and removing the share tag: grants follow the tag exactly; what we did not write stays as it was."""

import copy

from support.statements import ADMIN

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
USER_B = f"arn:aws:iam::{B}:user/alice"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db-password"

# Statements someone else wrote, one of them without a Sid: secretshare must never touch them.
FOREIGN_KEY_POLICY = {
    "Version": "2012-10-17",
    "Id": "team-key-policy",
    "Statement": [
        ADMIN,
        {
            "Sid": "AuditorsMayDescribe",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
            "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::555555555555:role/backup"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
        },
    ],
}
FOREIGN_RESOURCE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "BackupReads",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::555555555555:role/backup"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::444444444444:root"]},
            "Action": ["secretsmanager:DescribeSecret"],
            "Resource": "*",
        },
    ],
}


def shared_secret(world, share_with=f"{B} {ROLE_C}"):
    arn = world.create_secret("app/db-password", share_with)
    world.reconcile(arn)
    return arn


def test_editing_the_tag_changes_the_grants_exactly_and_deletes_the_dropped_accounts_parameter(world):
    arn = shared_secret(world)
    key_id = world.kms_key_id(arn)
    b_parameter = world.parameter(B, PARAMETER)

    world.tag(arn, f"{B} {USER_B}")
    result = world.reconcile(arn)

    sharing = world.sharing(arn)
    assert sharing.key_id == key_id
    assert sharing.key_grantees == {ROOT_B, USER_B}
    assert sharing.resource_grantees == {ROOT_B, USER_B}
    assert sharing.parameter_accounts == {B}
    assert world.parameter(C, PARAMETER) is None
    assert world.parameter(B, PARAMETER)["Value"] == b_parameter["Value"]
    # One statement for the account, one for the user by name, in each policy.
    assert len(world.ours(world.key_policy(key_id))) == 2
    assert len(world.ours(world.resource_policy(arn))) == 2
    assert set(result.consumers) == {ROOT_B, USER_B}


def test_untagging_revokes_key_and_resource_grants_and_deletes_parameters(world):
    arn = shared_secret(world)
    key_id = world.kms_key_id(arn)

    world.untag(arn)
    result = world.reconcile(arn)

    assert world.ours(world.key_policy(key_id)) == []
    assert world.foreign(world.key_policy(key_id)) == [ADMIN]
    assert world.parameter(B, PARAMETER) is None
    assert world.parameter(C, PARAMETER) is None
    assert result.consumers == ()


def test_untagging_deletes_a_resource_policy_that_held_only_our_statement(world):
    arn = shared_secret(world)

    world.untag(arn)
    world.reconcile(arn)

    assert world.resource_policy(arn) is None


def test_untagging_keeps_a_resource_policy_that_holds_foreign_statements(world):
    arn = world.create_secret("app/db-password")
    world.put_resource_policy(arn, FOREIGN_RESOURCE_POLICY)
    world.tag(arn, f"{B} {ROLE_C}")
    world.reconcile(arn)
    assert len(world.ours(world.resource_policy(arn))) == 2  # the account's, and the role's by name

    world.untag(arn)
    world.reconcile(arn)

    assert world.resource_policy(arn) == FOREIGN_RESOURCE_POLICY


def test_foreign_statements_stay_unchanged_through_share_edit_and_untag(world):
    key = world.create_key(copy.deepcopy(FOREIGN_KEY_POLICY))
    arn = world.create_secret("app/db-password", kms_key_id=key["KeyId"])
    world.put_resource_policy(arn, FOREIGN_RESOURCE_POLICY)

    def assert_foreign_statements_unchanged():
        key_policy = world.key_policy(key["Arn"])
        resource_policy = world.resource_policy(arn)
        assert world.foreign(key_policy) == FOREIGN_KEY_POLICY["Statement"]
        assert {k: v for k, v in key_policy.items() if k != "Statement"} == {
            "Version": "2012-10-17",
            "Id": "team-key-policy",
        }
        assert world.foreign(resource_policy) == FOREIGN_RESOURCE_POLICY["Statement"]

    world.tag(arn, f"{B} {ROLE_C}")
    world.reconcile(arn)
    assert world.sharing(arn).key_grantees == {ROOT_B, ROLE_C}
    assert_foreign_statements_unchanged()

    world.tag(arn, USER_B)
    world.reconcile(arn)
    assert world.sharing(arn).key_grantees == {USER_B}
    assert_foreign_statements_unchanged()

    world.untag(arn)
    world.reconcile(arn)
    assert world.key_policy(key["Arn"]) == FOREIGN_KEY_POLICY
    assert world.resource_policy(arn) == FOREIGN_RESOURCE_POLICY
