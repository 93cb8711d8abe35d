"""Which key carries the grants: a dedicated key, the shared key, the secret's own customer-managed key."""

import dataclasses
import json
import re

import pytest
from support.statements import ADMIN

from secretshare import KeyNotUsable, PolicyTooLarge

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
FOREIGN_KEY = "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def shared_key(world):
    """A customer-managed key in A named by SHARED_KEY_ARN."""
    key = world.create_key()
    world.settings = dataclasses.replace(world.settings, shared_key_arn=key["Arn"])
    return key["Arn"]


def test_shared_key_mode_puts_both_secrets_on_the_one_key_each_with_its_own_statement(world, shared_key):
    first = world.create_secret("app/first", B)
    second = world.create_secret("app/second", ROLE_C)

    world.reconcile(first)
    world.reconcile(second)

    assert world.aliases() == {}, "shared key mode creates no dedicated key"
    assert world.kms_key_id(first) == shared_key
    assert world.kms_key_id(second) == shared_key
    policy = world.key_policy(shared_key)
    assert len(world.ours(policy)) == 2
    assert len(world.key_grants_for(policy, first)) == 1
    assert len(world.key_grants_for(policy, second)) == 1
    assert world.sharing(first).key_grantees == {ROOT_B}
    assert world.sharing(second).key_grantees == {ROLE_C}
    assert world.sharing(first).parameter_accounts == {B}
    assert world.sharing(second).parameter_accounts == {C}


def test_unsharing_one_secret_on_the_shared_key_leaves_the_other_secrets_statement(world, shared_key):
    first = world.create_secret("app/first", B)
    second = world.create_secret("app/second", f"{B} {ROLE_C}")
    world.reconcile(first)
    world.reconcile(second)
    assert len(world.ours(world.key_policy(shared_key))) == 2  # B's, which both secrets share, and the role's

    world.untag(first)
    world.reconcile(first)

    policy = world.key_policy(shared_key)
    assert world.key_grants_for(policy, first) == []
    assert world.sharing(second).key_grantees == {ROOT_B, ROLE_C}
    seconds = world.key_grants_for(policy, second)
    assert [s["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] for s in seconds] == [second, second]
    assert len(world.ours(policy)) == 2
    assert world.sharing(first).parameter_accounts == set()
    assert world.sharing(second).parameter_accounts == {B, C}


def test_force_deleting_one_secret_on_the_shared_key_revokes_only_its_statement(world, shared_key):
    first = world.create_secret("app/first", B)
    second = world.create_secret("app/second", B)
    world.reconcile(first)
    world.reconcile(second)

    world.secretsmanager.delete_secret(SecretId=first, ForceDeleteWithoutRecovery=True)
    world.reconcile("app/first")

    policy = world.key_policy(shared_key)
    assert world.key_grants_for(policy, first) == []
    assert len(world.key_grants_for(policy, second)) == 1
    assert world.parameters_for(B, first) == []
    assert world.parameters_for(B, second) != []


@pytest.mark.parametrize("named_by", ["key-id", "alias", "alias-arn"])
def test_secret_on_an_existing_customer_key_keeps_it_repointed_to_its_full_arn_with_the_grant_added(world, named_by):
    key = world.create_key()
    world.kms.create_alias(AliasName="alias/team/app", TargetKeyId=key["KeyId"])
    kms_key_id = {
        "key-id": key["KeyId"],
        "alias": "alias/team/app",
        "alias-arn": "arn:aws:kms:eu-west-1:123456789012:alias/team/app",
    }[named_by]
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}", kms_key_id=kms_key_id)
    keys_before = world.key_count()

    result = world.reconcile(arn)

    assert world.key_count() == keys_before, "no new key is created"
    assert world.aliases() == {}
    assert world.kms_key_id(arn) == key["Arn"]
    assert result.key_arn == key["Arn"]
    grants = world.key_grants_for(world.key_policy(key["Arn"]), arn)
    assert len(grants) == 2  # the account's, and the role's by name
    assert world.sharing(arn).key_grantees == {ROOT_B, ROLE_C}
    assert world.sharing(arn).parameter_accounts == {B, C}


def test_secret_on_a_key_of_another_account_is_an_error_naming_the_key(world):
    arn = world.create_secret("app/db-password", B, kms_key_id=FOREIGN_KEY)

    with pytest.raises(KeyNotUsable, match=re.escape(FOREIGN_KEY)):
        world.reconcile(arn)

    assert world.kms_key_id(arn) == FOREIGN_KEY
    assert world.aliases() == {}
    assert world.resource_policy(arn) is None
    assert world.parameters_for(B, arn) == []


def test_secret_on_a_key_pending_deletion_is_an_error_naming_the_key(world):
    key = world.create_key()
    arn = world.create_secret("app/db-password", B, kms_key_id=key["Arn"])
    world.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    with pytest.raises(KeyNotUsable, match=re.escape(key["Arn"])):
        world.reconcile(arn)

    assert world.parameters_for(B, arn) == []


def test_a_key_policy_that_would_exceed_the_32kb_limit_changes_nothing(world):
    padding = {
        "Sid": "LongForeignStatement",
        "Effect": "Deny",
        "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": ""}},
    }
    policy = {"Version": "2012-10-17", "Statement": [ADMIN, padding]}
    # Fill the foreign policy to 150 bytes under the limit (compact JSON): our grant cannot fit.
    room = 32 * 1024 - 150 - len(json.dumps(policy, separators=(",", ":")))
    padding["Condition"]["StringEquals"]["aws:PrincipalTag/team"] = "x" * room
    key = world.create_key(policy)
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}", kms_key_id=key["KeyId"])

    with pytest.raises(PolicyTooLarge, match="key policy"):
        world.reconcile(arn)

    assert world.key_policy(key["Arn"]) == policy
    assert world.kms_key_id(arn) == key["KeyId"]
    assert world.resource_policy(arn) is None
    assert world.parameters_for(B, arn) == []
    assert world.parameters_for(C, arn) == []


def test_force_deleted_secret_on_an_existing_customer_key_has_its_grants_revoked(world):
    key = world.create_key()
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}", kms_key_id=key["KeyId"])
    world.reconcile(arn)
    assert len(world.key_grants_for(world.key_policy(key["Arn"]), arn)) == 2  # the account's, the role's by name

    world.secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    world.reconcile(arn)

    assert world.ours(world.key_policy(key["Arn"])) == []
    assert world.parameters_for(B, arn) == []
    assert world.parameters_for(C, arn) == []
