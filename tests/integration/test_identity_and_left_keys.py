"""Grants follow the secret's exact identity and every key it ever used; consumer accounts are untrusted input.

Each case is one that real estates reach: a secret recreated under its old name, an operator's typo, a key swapped
by hand, a run stopped half way, a consumer account's admin editing its parameter, a consumer role deleted.
"""

import json

import pytest
from support.statements import ADMIN
from test_unreachable_consumer import publisher_role_gone, role_back

from secretshare import ReconcileFailed
from secretshare.domain.names import GRANTS_TAG_KEY, key_alias
from secretshare.reconciler.sweep import sweep

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
NAME = "app/db"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db"


def every_key_arn(world):
    return [key["KeyArn"] for page in world.kms.get_paginator("list_keys").paginate() for key in page["Keys"]]


def grants_naming(world, secret_arn):
    """Key ARN -> principals of our grants naming `secret_arn`, on every key of A."""
    found = {}
    for key_arn in every_key_arn(world):
        principals = {p for s in world.key_grants_for(world.key_policy(key_arn), secret_arn) for p in as_set(s)}
        if principals:
            found[key_arn] = principals
    return found


def as_set(statement):
    value = statement["Principal"]["AWS"]
    return {value} if isinstance(value, str) else set(value)


@pytest.fixture
def recreated(world):
    """`app/db` shared with B and C, force-deleted, then recreated under the same name and shared with B alone."""
    old = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(old)
    world.secretsmanager.delete_secret(SecretId=old, ForceDeleteWithoutRecovery=True)
    new = world.create_secret(NAME, B)
    world.reconcile(new)
    return old, new


def live_share_intact(world, new):
    assert world.sharing(new, (B,)).key_grantees == {ROOT_B}
    assert world.sharing(new, (B,)).resource_grantees == {ROOT_B}
    assert json.loads(world.parameter(B, PARAMETER)["Value"])["Statement"][0]["Resource"] == new


# --- identity ------------------------------------------------------------------------------------------------------


def test_a_late_event_for_the_old_arn_cleans_up_the_old_secret_and_leaves_the_recreated_one_alone(world, recreated):
    old, new = recreated

    world.reconcile(old)  # a DeleteSecret event for the old ARN, delivered late

    live_share_intact(world, new)
    assert grants_naming(world, old) == {}
    assert world.parameter(C, PARAMETER) is None  # C held the old secret's parameter only: cleaned up


def test_a_mistyped_suffix_changes_nothing(world, recreated, calls):
    _, new = recreated
    calls.clear()

    world.reconcile(new[:-6] + "QQQQQQ")

    live_share_intact(world, new)
    assert calls.writes() == []


def test_the_sweep_meeting_the_old_arn_on_a_key_leaves_the_recreated_secret_alone(world, recreated):
    old, new = recreated
    for arn in sweep(settings=world.settings, session=world.session).to_reconcile:
        world.reconcile(arn)

    live_share_intact(world, new)
    assert grants_naming(world, old) == {}


def test_account_ids_in_other_scripts_digits_are_rejected_and_the_valid_entries_converge(world):
    fullwidth, arabic = "２２２２２２２２２２２２", "٣٣٣٣٣٣٣٣٣٣٣٣"
    arn = world.create_secret(NAME, f"{fullwidth} {arabic} {B}")

    result = world.reconcile(arn)

    assert {e.entry: e.code for e in result.rejected} == {fullwidth: "non-ascii", arabic: "non-ascii"}
    assert "U+FF12" in next(e.reason for e in result.rejected if e.entry == fullwidth)
    assert result.consumers == (ROOT_B,)
    assert world.sharing(arn, (B,)).key_grantees == {ROOT_B}
    assert world.status(arn).startswith("error 2 rejected:")


# --- keys the secret left --------------------------------------------------------------------------------------------


def test_a_key_swapped_and_the_tag_removed_before_one_reconciliation_keeps_no_grant(world):
    team_key = world.create_key()["Arn"]
    arn = world.create_secret(NAME, f"{B} {ROLE_C}", kms_key_id=team_key)
    world.reconcile(arn)
    other_key = world.create_key()["Arn"]
    world.secretsmanager.update_secret(SecretId=arn, KmsKeyId=other_key)
    world.untag(arn)

    world.reconcile(arn)

    assert grants_naming(world, arn) == {}
    assert world.parameter(B, PARAMETER) is None and world.parameter(C, PARAMETER) is None


def test_a_secret_moved_back_to_the_aws_managed_key_by_hand_is_granted_on_its_own_key_and_nowhere_else(world):
    team_key = world.create_key()["Arn"]
    arn = world.create_secret(NAME, B, kms_key_id=team_key)
    world.reconcile(arn)
    world.secretsmanager.update_secret(SecretId=arn, KmsKeyId="alias/aws/secretsmanager")

    world.reconcile(arn)

    dedicated = world.kms_key_id(arn)
    assert dedicated not in (None, team_key)
    assert grants_naming(world, arn) == {dedicated: {ROOT_B}}


@pytest.mark.usefixtures("dedicated_keys")
def test_a_run_stopped_between_the_new_key_and_its_alias_is_finished_with_that_key(world, faults):
    arn = world.create_secret(NAME, B)
    faults.fail("kms.CreateAlias", "KMSInternalException", "internal error", attempts=99)
    with pytest.raises(Exception, match="internal error"):
        world.reconcile(arn)
    (orphan,) = every_key_arn(world)
    faults.clear()

    world.reconcile(arn)

    assert every_key_arn(world) == [orphan], "the retry adopts the key it made, no second key"
    assert world.aliases() == {key_alias(NAME): orphan.split("/")[-1]}
    assert grants_naming(world, arn) == {orphan: {ROOT_B}}
    tags = {t["TagKey"]: t["TagValue"] for t in world.kms.list_resource_tags(KeyId=orphan)["Tags"]}
    assert tags["managed-by"] == "secretshare" and tags[GRANTS_TAG_KEY].startswith("name-")
    assert NAME in world.kms.describe_key(KeyId=orphan)["KeyMetadata"]["Description"]


# --- consumer accounts are untrusted -------------------------------------------------------------------------------


GARBAGE = [
    pytest.param("{not json", id="not-json"),
    pytest.param(json.dumps({"Statement": "a string"}), id="statement-is-a-string"),
    pytest.param(json.dumps({"Statement": ["a string", {"Sid": "SecretShareDecryptSecret", "Resource": 7}]}), id="odd"),
    pytest.param(
        json.dumps(
            {
                "Statement": [
                    {"Sid": "SecretShareDecryptSecret", "Resource": "arn:aws:kms:eu-west-1:123456789012:key/nope"}
                ]
            }
        ),
        id="key-that-does-not-exist",
    ),
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_consumer_overwriting_its_parameter_stops_neither_a_revocation_nor_the_sweep(world, garbage):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    world.ssm(B).put_parameter(Name=PARAMETER, Value=garbage, Type="String", Overwrite=True)
    world.tag(arn, B)  # C is dropped

    world.reconcile(arn)

    assert world.sharing(arn).key_grantees == {ROOT_B}
    assert world.parameter(C, PARAMETER) is None
    assert json.loads(world.parameter(B, PARAMETER)["Value"])["Statement"][0]["Resource"] == arn  # repaired
    world.ssm(B).put_parameter(Name=PARAMETER, Value=garbage, Type="String", Overwrite=True)
    report = sweep(settings=world.settings, session=world.session)
    assert report.errors == {} and report.drifted == (arn,)


def test_a_sweep_isolates_a_secret_whose_check_fails_in_any_way(world, faults):
    good = world.create_secret("app/good", B)
    bad = world.create_secret(NAME, B)
    world.reconcile(good)
    world.reconcile(bad)
    # Not an AWS error answer: the connection itself fails (botocore's EndpointConnectionError), for this secret only.
    faults.unreachable("secretsmanager.GetResourcePolicy").when = lambda p: p["SecretId"] == bad

    report = sweep(settings=world.settings, session=world.session)

    assert set(report.checked) == {good, bad}
    assert set(report.errors) == {bad} and report.drifted == ()


# --- principals AWS rewrote ----------------------------------------------------------------------------------------


def test_a_deleted_role_an_earlier_version_named_is_dropped_as_its_unique_id_and_its_account_cleaned_up(
    world, strict_aws
):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    key_arn = world.kms_key_id(arn)
    # As versions before name binding wrote the grants: the role as a principal, beside the account.
    earlier = {"Principal": {"AWS": [ROOT_B, ROLE_C]}}
    key_policy = world.key_policy(key_arn)
    grants = world.ours(key_policy)
    old_grant = {**grants[0], **earlier, "Sid": "SecretShareDecryptEarlierVersion"}
    old_grant["Condition"] = {
        "StringEquals": {**grants[0]["Condition"]["StringEquals"], "aws:PrincipalAccount": [B, C]}
    }
    key_policy["Statement"] = [*world.foreign(key_policy), *world.account_use(key_policy).values(), old_grant]
    world.kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(key_policy))
    resource = world.ours(world.resource_policy(arn))[0]
    old_resource = {**resource, **earlier, "Condition": {"StringEquals": {"aws:PrincipalAccount": [B, C]}}}
    world.put_resource_policy(arn, {"Version": "2012-10-17", "Statement": [old_resource]})
    # What AWS shows once role/app is deleted: its unique id where its ARN was, in every policy that named it.
    unique_id = strict_aws.iam.delete(ROLE_C)
    assert unique_id in json.dumps(world.key_policy(key_arn)) + json.dumps(world.resource_policy(arn))
    world.tag(arn, B)

    world.reconcile(arn)

    assert unique_id not in json.dumps(world.key_policy(key_arn)) + json.dumps(world.resource_policy(arn))
    assert world.parameter(C, PARAMETER) is None
    assert world.sharing(arn).key_grantees == {ROOT_B}


def test_a_consumer_unreachable_while_revoked_is_remembered_and_cleaned_up_once_it_answers(world, faults):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    world.tag(arn, B)
    gone = publisher_role_gone(faults, C)

    with pytest.raises(ReconcileFailed, match=C):
        world.reconcile(arn)
    assert world.sharing(arn).key_grantees == {ROOT_B}, "revoked in A at once"
    assert world.parameter(C, PARAMETER) is not None
    role_back(faults, gone)

    world.reconcile(arn)

    assert world.parameter(C, PARAMETER) is None
    assert ADMIN in world.key_policy(world.kms_key_id(arn))["Statement"]
    assert [s["Sid"] for s in world.ours(world.key_policy(world.kms_key_id(arn)))] == [
        s["Sid"] for s in world.key_grants_for(world.key_policy(world.kms_key_id(arn)), arn)
    ], "no cleanup marker left"
