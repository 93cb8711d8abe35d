"""Policies AWS would refuse for their size are refused before the first write, with an error naming the secret
and the limit, so nothing is half-written (moto enforces no size limit, so the library must). Parameters are
written in the Intelligent-Tiering tier, in which AWS moves a value past the Standard tier's 4 KB to Advanced."""

from __future__ import annotations

import json

import pytest
from checks import ROLE_C, ROOT_B, B
from support.statements import ADMIN

from secretshare import PolicyTooLarge
from secretshare.domain.policy import KEY_POLICY_MAX_BYTES, RESOURCE_POLICY_MAX_CHARS

NAME = "app/db-password"


def padded_to(document, size):
    """`document` with a statement someone else wrote appended, padded so the whole is `size` bytes compact:
    AWS accepts it as it is, and secretshare's own statement (a few hundred bytes) would take it over the limit."""
    statement = {
        "Sid": "BackupVault",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::555555555555:role/backup"},
        "Action": "kms:Decrypt" if document["Statement"] else "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/vault": ""}},
    }
    padded = {**document, "Statement": [*document["Statement"], statement]}
    statement["Condition"]["StringEquals"]["aws:PrincipalTag/vault"] = "v" * (size - compact_size(padded))
    assert compact_size(padded) == size
    return padded


def policy_writes(calls):
    """Every write but the status tag, which reports the refusal on the secret."""
    return [call for call in calls.writes() if call.operation != "TagResource"]


def compact_size(document):
    return len(json.dumps(document, separators=(",", ":")).encode())


def test_a_key_policy_over_32kb_is_refused_before_any_write(world, calls):
    policy = padded_to({"Version": "2012-10-17", "Statement": [ADMIN]}, KEY_POLICY_MAX_BYTES - 100)
    key = world.create_key(policy)
    arn = world.create_secret(NAME, f"{B} {ROLE_C}", kms_key_id=key["Arn"])

    with pytest.raises(PolicyTooLarge) as refused:
        world.reconcile(arn)

    message = str(refused.value)
    assert arn in message and "key policy" in message and str(KEY_POLICY_MAX_BYTES) in message
    assert policy_writes(calls) == []
    assert world.status(arn) == "error policy-too-large"
    assert world.key_policy(key["Arn"]) == policy
    assert world.resource_policy(arn) is None
    assert world.sharing(arn).parameter_accounts == set()


def test_a_resource_policy_over_20480_characters_is_refused_before_any_write(world, calls):
    foreign = padded_to({"Version": "2012-10-17", "Statement": []}, RESOURCE_POLICY_MAX_CHARS - 100)
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.put_resource_policy(arn, foreign)

    with pytest.raises(PolicyTooLarge) as refused:
        world.reconcile(arn)

    message = str(refused.value)
    assert arn in message and "resource policy" in message and str(RESOURCE_POLICY_MAX_CHARS) in message
    assert policy_writes(calls) == []
    assert world.status(arn) == "error policy-too-large"
    assert world.key_count() == 0, "no key was created for a share that cannot be written"
    assert world.kms_key_id(arn) is None
    assert world.resource_policy(arn) == foreign
    assert world.sharing(arn).parameter_accounts == set()


def test_parameters_are_written_in_the_intelligent_tiering_tier(world, calls):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    world.ssm(B).delete_parameter(Name=f"/secretshare/123456789012/eu-west-1/{NAME}")
    world.ssm(C := ROLE_C.split(":")[4]).put_parameter(
        Name=f"/secretshare/123456789012/eu-west-1/{NAME}", Value="{}", Type="String", Overwrite=True
    )
    world.reconcile(arn)  # creates B's again, overwrites C's

    writes = calls.named("PutParameter")
    assert {call.account for call in writes} == {B, C}
    assert any(call.arguments.get("Overwrite") for call in writes), "an overwrite was made"
    assert any(not call.arguments.get("Overwrite") for call in writes), "a creation was made"
    assert [call.arguments.get("Tier") for call in writes] == ["Intelligent-Tiering"] * len(writes)
    assert world.sharing(arn).parameter_accounts == {B, C}
    assert {ROOT_B, ROLE_C} == world.sharing(arn).key_grantees
