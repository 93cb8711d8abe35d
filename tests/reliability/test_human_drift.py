"""Someone edits by hand what secretshare wrote; the sweep notices it, and the next reconciliation restores exactly
the desired state, leaving every statement it did not write as it was."""

from __future__ import annotations

import json

import pytest
from checks import ROLE_C, ROOT_B, B, C, assert_shared_exactly, published_keys, snapshot
from support.statements import ADMIN, AUDITORS, BACKUPS

from secretshare.reconciler.sweep import sweep

NAME = "app/db-password"
PARAMETER = f"/secretshare/123456789012/eu-west-1/{NAME}"


@pytest.fixture
def shared(world):
    """A secret on an existing customer key, both policies holding a statement someone else wrote, shared with B
    and a role in C; its state as secretshare left it."""
    key = world.create_key({"Version": "2012-10-17", "Statement": [ADMIN, AUDITORS]})
    arn = world.create_secret(NAME, f"{B} {ROLE_C}", kms_key_id=key["Arn"])
    world.put_resource_policy(arn, {"Version": "2012-10-17", "Statement": [BACKUPS]})
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    return arn, snapshot(world, arn)


def put_key_policy(world, arn, edit):
    key_arn = world.kms_key_id(arn)
    policy = world.key_policy(key_arn)
    edit(policy)
    world.kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(policy))


def put_resource_policy(world, arn, edit):
    policy = world.resource_policy(arn)
    edit(policy)
    world.put_resource_policy(arn, policy)


def ours(policy):
    """Our last statement: the role's grant, by name (B's account grant comes before it)."""
    _account, named = [s for s in policy["Statement"] if s.get("Sid", "").startswith("SecretShare")]
    return named


def delete_our_key_statement(world, arn):
    put_key_policy(world, arn, lambda p: p["Statement"].remove(ours(p)))


def widen_our_key_statement(world, arn):
    put_key_policy(world, arn, lambda p: ours(p).update(Action="kms:*"))


def drop_the_conditions_of_our_key_statement(world, arn):
    put_key_policy(world, arn, lambda p: ours(p).pop("Condition"))


def add_a_principal_to_our_resource_statement(world, arn):
    put_resource_policy(world, arn, lambda p: ours(p)["Principal"]["AWS"].append("arn:aws:iam::666666666666:root"))


def widen_our_resource_statement(world, arn):
    put_resource_policy(world, arn, lambda p: ours(p).update(Action="secretsmanager:*"))


def delete_our_resource_statement(world, arn):
    put_resource_policy(world, arn, lambda p: p["Statement"].remove(ours(p)))


def delete_the_parameter_in_b(world, arn):
    world.ssm(B).delete_parameter(Name=PARAMETER)


def overwrite_the_parameter_in_c(world, arn):
    world.ssm(C).put_parameter(Name=PARAMETER, Value=json.dumps({"Statement": []}), Type="String", Overwrite=True)


DRIFTS = [
    delete_our_key_statement,
    widen_our_key_statement,
    drop_the_conditions_of_our_key_statement,
    add_a_principal_to_our_resource_statement,
    widen_our_resource_statement,
    delete_our_resource_statement,
    delete_the_parameter_in_b,
    overwrite_the_parameter_in_c,
]


@pytest.mark.parametrize("drift", DRIFTS)
def test_the_sweep_finds_the_drift_and_the_next_reconciliation_restores_exactly_what_secretshare_wrote(
    world, shared, drift
):
    arn, desired = shared
    in_sync = world.create_secret("app/other", ROLE_C)
    world.reconcile(in_sync)
    drift(world, arn)
    assert snapshot(world, arn) != desired

    assert sweep(settings=world.settings, session=world.session).to_reconcile == (arn,)
    world.reconcile(arn)  # the event of the change, or the sweep's message

    assert snapshot(world, arn) == desired
    assert sweep(settings=world.settings, session=world.session).to_reconcile == ()


def test_a_secret_moved_by_hand_to_another_customer_key_has_its_grants_moved_with_it(world, shared, calls):
    arn, desired = shared
    old_key = desired["kms_key_id"]
    new_key = world.create_key({"Version": "2012-10-17", "Statement": [ADMIN]})["Arn"]
    world.secretsmanager.update_secret(SecretId=arn, KmsKeyId=new_key)
    assert sweep(settings=world.settings, session=world.session).to_reconcile == (arn,)

    world.reconcile(arn)

    assert world.kms_key_id(arn) == new_key
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    assert published_keys(world, arn) == {B: {new_key}, C: {new_key}}
    # The old key keeps everything but this secret's grant, which no longer opens anything of ours.
    assert world.key_policy(old_key) == {"Version": "2012-10-17", "Statement": [ADMIN, AUDITORS]}
    assert world.key_policy(new_key)["Statement"][0] == ADMIN
    assert world.resource_policy(arn) == desired["resource_policy"]
    assert world.reconcile(arn).plan.is_noop
    assert sweep(settings=world.settings, session=world.session).to_reconcile == ()
