"""Deleting a secret revokes what secretshare granted for it; restoring a still-tagged secret grants again."""

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
NAME = "app/db-password"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db-password"
ADMIN_PRINCIPAL = {"AWS": "arn:aws:iam::123456789012:root"}


def shared_secret(world):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    key_arn = world.kms_key_id(arn)
    assert world.parameter(B, PARAMETER) and world.parameter(C, PARAMETER)
    # One grant for the account, one for the role by name (its account's root, narrowed to its ARN).
    assert len(world.key_grants_for(world.key_policy(key_arn), arn)) == 2
    return arn, key_arn


def assert_everything_revoked(world, key_arn):
    policy = world.key_policy(key_arn)
    assert world.ours(policy) == []
    assert [s["Principal"] for s in world.foreign(policy)] == [ADMIN_PRINCIPAL], "A must keep administering the key"
    assert world.parameter(B, PARAMETER) is None
    assert world.parameter(C, PARAMETER) is None


def test_deleting_with_a_recovery_window_revokes_the_key_grant_and_deletes_parameters(world):
    arn, key_arn = shared_secret(world)

    world.secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    result = world.reconcile(arn)

    assert_everything_revoked(world, key_arn)
    assert result.consumers == ()


def test_force_deleted_secret_reconciled_by_full_arn_has_its_grants_revoked(world):
    arn, key_arn = shared_secret(world)

    world.secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    result = world.reconcile(arn)

    assert_everything_revoked(world, key_arn)
    assert set(result.plan.grants_revoked) == {ROOT_B, ROLE_C}


def test_force_deleted_secret_reconciled_by_name_has_its_grants_revoked(world):
    arn, key_arn = shared_secret(world)

    world.secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    result = world.reconcile(NAME)

    assert_everything_revoked(world, key_arn)
    assert set(result.plan.grants_revoked) == {ROOT_B, ROLE_C}


def test_reconciling_a_force_deleted_secret_again_changes_nothing(world):
    arn, key_arn = shared_secret(world)
    world.secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    world.reconcile(arn)

    again = world.reconcile(arn)

    assert again.changes == []
    assert_everything_revoked(world, key_arn)


def test_restoring_a_deleted_secret_that_is_still_tagged_brings_the_grants_back(world):
    arn, key_arn = shared_secret(world)
    world.secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    world.reconcile(arn)

    world.secretsmanager.restore_secret(SecretId=arn)
    world.reconcile(arn)

    sharing = world.sharing(arn)
    assert sharing.key_id == key_arn
    assert sharing.key_grantees == {ROOT_B, ROLE_C}
    assert sharing.resource_grantees == {ROOT_B, ROLE_C}
    assert sharing.parameter_accounts == {B, C}
    assert world.parameter(B, PARAMETER) is not None
