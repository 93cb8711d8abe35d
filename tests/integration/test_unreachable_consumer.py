"""A consumer account whose publisher role cannot be assumed fails the reconciliation, not the other accounts."""

import pytest

from secretshare import ReconcileFailed

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
PUBLISHER_B = f"arn:aws:iam::{B}:role/secretshare-publisher"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db-password"


def publisher_role_gone(faults, account):
    """The publisher role of `account` deleted, as AWS then answers (moto lets every role be assumed and every call
    through): STS refuses to assume it, and a session assumed before (secretshare keeps one as long as its credentials
    last) is refused on every call. The faults, to remove when the role is back."""
    role_arn = f"arn:aws:iam::{account}:role/secretshare-publisher"
    return [
        faults.deny(
            "sts.AssumeRole",
            "User: arn:aws:sts::123456789012:assumed-role/secretshare-reconcile/fn is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
            when=lambda params: params["RoleArn"] == role_arn,
        ),
        faults.deny(
            "*",
            f"User: arn:aws:sts::{account}:assumed-role/secretshare-publisher/secretshare is not authorized to "
            "perform this operation because no identity-based policy allows it",
            account=account,
        ),
    ]


def role_back(faults, gone):
    for fault in gone:
        faults.remove(fault)


def test_unreachable_consumer_fails_the_reconciliation_naming_account_and_role_while_the_rest_converges(world, faults):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    publisher_role_gone(faults, B)

    with pytest.raises(ReconcileFailed) as failed:
        world.reconcile(arn)

    message = str(failed.value)
    assert B in message
    assert PUBLISHER_B in message
    assert failed.value.result.key_arn == world.kms_key_id(arn)
    sharing = world.sharing(arn)
    assert sharing.key_grantees == {ROOT_B, ROLE_C}
    assert sharing.resource_grantees == {ROOT_B, ROLE_C}
    assert world.parameter(C, PARAMETER) is not None
    assert world.parameter(B, PARAMETER) is None


def test_consumer_that_becomes_reachable_again_gets_its_parameter_on_the_next_run(world, faults):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    refuse = publisher_role_gone(faults, B)
    with pytest.raises(ReconcileFailed):
        world.reconcile(arn)

    role_back(faults, refuse)
    world.reconcile(arn)

    assert world.sharing(arn).parameter_accounts == {B, C}


def test_parameter_of_a_consumer_unreachable_when_dropped_is_deleted_once_it_is_reachable_again(world, faults):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    world.reconcile(arn)
    refuse = publisher_role_gone(faults, B)
    world.tag(arn, ROLE_C)

    with pytest.raises(ReconcileFailed, match=PUBLISHER_B):
        world.reconcile(arn)

    assert world.sharing(arn).key_grantees == {ROLE_C}, "the revocation in A does not wait for B"
    assert world.parameter(B, PARAMETER) is not None
    markers = [s for s in world.ours(world.key_policy(world.kms_key_id(arn))) if s["Effect"] == "Deny"]
    assert [(s["Action"], s["Principal"]) for s in markers] == [("kms:Decrypt", {"AWS": [f"arn:aws:iam::{B}:root"]})]
    role_back(faults, refuse)
    world.reconcile(arn)
    assert world.parameter(B, PARAMETER) is None
    assert [s for s in world.ours(world.key_policy(world.kms_key_id(arn))) if s["Effect"] == "Deny"] == []
    assert world.reconcile(arn).plan.is_noop
