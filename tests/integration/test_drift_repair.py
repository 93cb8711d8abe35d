"""Reconciling again repairs what someone changed by hand, and finishes what an interrupted run started."""

import json

import pytest

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
NAME = "app/db-password"
ALIAS = "alias/secretshare/app/db-password"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db-password"


def shared_secret(world):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    return arn


def test_a_tampered_parameter_is_rewritten(world):
    arn = shared_secret(world)
    published = world.parameter(B, PARAMETER)["Value"]
    world.ssm(B).put_parameter(Name=PARAMETER, Value='{"Statement": []}', Type="String", Overwrite=True)

    world.reconcile(arn)

    assert world.parameter(B, PARAMETER)["Value"] == published


def test_a_parameter_deleted_by_hand_is_published_again(world):
    arn = shared_secret(world)
    published = world.parameter(C, PARAMETER)["Value"]
    world.ssm(C).delete_parameter(Name=PARAMETER)

    world.reconcile(arn)

    assert world.parameter(C, PARAMETER)["Value"] == published


def test_our_resource_policy_statement_removed_by_hand_is_restored(world):
    arn = shared_secret(world)
    world.secretsmanager.delete_resource_policy(SecretId=arn)

    world.reconcile(arn)

    assert world.sharing(arn).resource_grantees == {ROOT_B, ROLE_C}


def test_our_key_statement_widened_by_hand_is_narrowed_back(world):
    arn = shared_secret(world)
    key_arn = world.kms_key_id(arn)
    policy = world.key_policy(key_arn)
    grant, _ = world.ours(policy)  # the account's grant (the role's, by name, follows)
    grant["Principal"] = {"AWS": [ROOT_B, "arn:aws:iam::444444444444:root"]}
    del grant["Condition"]
    world.kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(policy))

    world.reconcile(arn)

    restored, _ = world.key_grants_for(world.key_policy(key_arn), arn)
    assert world.sharing(arn).key_grantees == {ROOT_B, ROLE_C}
    assert set(restored["Condition"]["StringEquals"]) == {
        "kms:ViaService",
        "kms:EncryptionContext:SecretARN",
        "aws:PrincipalAccount",
    }


@pytest.mark.usefixtures("dedicated_keys")
def test_retagging_an_unshared_secret_reuses_its_dedicated_key(world):
    arn = shared_secret(world)
    key_arn = world.kms_key_id(arn)
    world.untag(arn)
    world.reconcile(arn)

    world.tag(arn, B)
    world.reconcile(arn)

    assert list(world.aliases()) == [ALIAS]
    assert world.kms_key_id(arn) == key_arn
    assert world.sharing(arn).key_grantees == {ROOT_B}
    assert world.sharing(arn).parameter_accounts == {B}


def test_a_run_interrupted_after_creating_the_key_is_finished_with_that_key(world):
    # As if an earlier run created the dedicated key and its alias, then stopped before moving the secret.
    key = world.create_key()
    world.kms.create_alias(AliasName=ALIAS, TargetKeyId=key["KeyId"])
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    keys_before = world.key_count()

    world.reconcile(arn)

    assert world.key_count() == keys_before
    assert world.kms_key_id(arn) == key["Arn"]
    sharing = world.sharing(arn)
    assert sharing.key_grantees == {ROOT_B, ROLE_C}
    assert sharing.parameter_accounts == {B, C}


def test_a_human_moving_the_secret_to_another_key_moves_the_grants_and_revokes_them_on_the_old_key(world):
    arn = world.create_secret("app/moved", f"{B}")
    world.reconcile(arn)
    old_key = world.kms_key_id(arn)
    new_key = world.create_key()["Arn"]
    world.secretsmanager.update_secret(SecretId=arn, KmsKeyId=new_key)

    world.reconcile(arn)

    assert world.sharing(arn).key_grantees == {f"arn:aws:iam::{B}:root"}
    assert [s for s in world.ours(world.key_policy(old_key)) if s["Effect"] == "Allow"] == []
    assert new_key in world.parameter(B, "/secretshare/123456789012/eu-west-1/app/moved")["Value"]
    assert world.reconcile(arn).plan.is_noop
