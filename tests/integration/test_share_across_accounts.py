"""Sharing a secret with an account id and a role ARN: the key, both policies and the consumers' parameters."""

import dataclasses
import json
import re

import pytest

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"
ROOT_C = f"arn:aws:iam::{C}:root"
NAME = "app/db-password"
ALIAS = "alias/secretshare/app/db-password"
PARAMETER = "/secretshare/123456789012/eu-west-1/app/db-password"
VIA_SECRETS_MANAGER = "secretsmanager.eu-west-1.amazonaws.com"
KEY_ARN = re.compile(r"arn:aws:kms:eu-west-1:123456789012:key/[0-9a-f-]{36}")


def share_with_b_and_c(world, kms_key_id=None):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}", kms_key_id=kms_key_id)
    result = world.reconcile(arn)
    return arn, result


def without_sid(statement):
    return {key: value for key, value in statement.items() if key != "Sid"}


def as_set(value):
    return {value} if isinstance(value, str) else set(value)


@pytest.mark.parametrize(
    "initial_key",
    [None, "alias/aws/secretsmanager", "arn:aws:kms:eu-west-1:123456789012:alias/aws/secretsmanager"],
    ids=["no-KmsKeyId", "aws-managed-alias", "aws-managed-alias-arn"],
)
@pytest.mark.usefixtures("dedicated_keys")
def test_sharing_moves_the_secret_from_the_aws_managed_key_to_a_dedicated_key_by_full_arn(world, initial_key):
    arn, result = share_with_b_and_c(world, kms_key_id=initial_key)

    assert list(world.aliases()) == [ALIAS]
    key_arn = world.key_arn(ALIAS)
    assert KEY_ARN.fullmatch(key_arn), key_arn
    assert world.kms_key_id(arn) == key_arn
    assert result.key_arn == key_arn
    assert set(result.consumers) == {ROOT_B, ROLE_C}
    assert result.rejected == ()


def test_dedicated_key_policy_keeps_producer_admin_and_grants_decrypt_for_this_secret_only(world):
    arn, _ = share_with_b_and_c(world)
    policy = world.key_policy(world.kms_key_id(arn))

    assert [without_sid(s) for s in world.foreign(policy)] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    # The account, by its root; the role by name: its account's root, narrowed to the role's ARN.
    account, role = world.ours(policy)
    assert (as_set(account["Principal"]["AWS"]), as_set(role["Principal"]["AWS"])) == ({ROOT_B}, {ROOT_C})
    for grant in (account, role):
        assert grant["Effect"] == "Allow"
        assert set(grant["Principal"]) == {"AWS"}
        assert as_set(grant["Action"]) == {"kms:Decrypt"}
        assert grant["Resource"] == "*"
    pinned = {"kms:ViaService": {VIA_SECRETS_MANAGER}, "kms:EncryptionContext:SecretARN": {arn}}
    # aws:PrincipalAccount narrows nothing; it records the accounts to clean up in a form AWS never rewrites.
    assert conditions(account) == {"StringEquals": {**pinned, "aws:PrincipalAccount": {B}}}
    assert conditions(role) == {
        "StringEquals": {**pinned, "aws:PrincipalAccount": {C}},
        "ArnEquals": {"aws:PrincipalArn": {ROLE_C}},
    }


def conditions(statement):
    return {op: {k: as_set(v) for k, v in c.items()} for op, c in statement["Condition"].items()}


def test_resource_policy_holds_one_statement_for_the_accounts_and_one_for_the_roles_by_name(world, calls):
    arn, _ = share_with_b_and_c(world)
    policy = world.resource_policy(arn)

    [put] = calls.named("PutResourcePolicy")
    assert put.arguments["BlockPublicPolicy"] is True

    assert world.foreign(policy) == []
    account, role = world.ours(policy)
    assert (as_set(account["Principal"]["AWS"]), as_set(role["Principal"]["AWS"])) == ({ROOT_B}, {ROOT_C})
    for grant in (account, role):
        assert grant["Effect"] == "Allow"
        assert as_set(grant["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
        assert grant["Resource"] == "*"
    assert conditions(account) == {"StringEquals": {"aws:PrincipalAccount": {B}}}
    assert conditions(role) == {
        "StringEquals": {"aws:PrincipalAccount": {C}},
        "ArnEquals": {"aws:PrincipalArn": {ROLE_C}},
    }


@pytest.mark.parametrize("account", [B, C])
def test_each_consumer_account_gets_the_iam_policy_to_attach_as_a_string_parameter(world, account):
    arn, _ = share_with_b_and_c(world)
    key_arn = world.kms_key_id(arn)

    parameter = world.parameter(account, PARAMETER)

    assert parameter is not None, f"no parameter {PARAMETER} in {account}"
    assert parameter["Type"] == "String"
    assert arn in parameter["Description"] and key_arn in parameter["Description"]
    document = json.loads(parameter["Value"])
    assert document["Version"] == "2012-10-17"
    statements = document["Statement"]
    for statement in statements:
        # What `aws iam put-role-policy --policy-document` accepts: known keys, alphanumeric Sid, no wildcards.
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert re.fullmatch(r"[A-Za-z0-9]*", statement.get("Sid", ""))
        assert statement["Effect"] == "Allow"
        assert "*" not in json.dumps(statement)
    read = [s for s in statements if "secretsmanager:GetSecretValue" in as_set(s["Action"])]
    decrypt = [s for s in statements if "kms:Decrypt" in as_set(s["Action"])]
    assert [as_set(s["Resource"]) for s in read] == [{arn}]
    assert "secretsmanager:DescribeSecret" in as_set(read[0]["Action"])
    assert [as_set(s["Resource"]) for s in decrypt] == [{key_arn}]
    assert decrypt[0]["Condition"] == {"StringEquals": {"kms:ViaService": VIA_SECRETS_MANAGER}}


def test_no_parameter_is_written_in_the_producer_or_accounts_not_named(world):
    arn, _ = share_with_b_and_c(world)

    assert world.parameters_for("444444444444", arn) == []
    assert world.parameters_for("123456789012", arn) == []


def test_the_secret_value_is_still_readable_after_the_key_move(world):
    # moto does not encrypt, so this guards against the move rewriting or dropping the secret's versions.
    arn, _ = share_with_b_and_c(world)

    assert world.secret_value(arn) == "s3cr3t-value"
    assert world.secret_value(NAME) == "s3cr3t-value"


@pytest.mark.usefixtures("dedicated_keys")
def test_a_secret_in_another_region_than_the_session_is_shared_in_its_own_region(world):
    secretsmanager = world.own_session.client("secretsmanager", region_name="us-east-1")
    arn = secretsmanager.create_secret(Name=NAME, SecretString="v", Tags=[{"Key": "share-with", "Value": B}])["ARN"]

    # As a person reconciles it with the command line: a stack's role acts in its own region only.
    world.reconcile(arn, session=world.own_session)

    kms = world.own_session.client("kms", region_name="us-east-1")
    key_arn = secretsmanager.describe_secret(SecretId=arn)["KmsKeyId"]
    assert key_arn.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["Arn"] == key_arn
    [grant] = world.ours(json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]))
    assert grant["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    credentials = world.sts.assume_role(RoleArn=f"arn:aws:iam::{B}:role/operator", RoleSessionName="check")[
        "Credentials"
    ]
    ssm_b = world.own_session.client(
        "ssm",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    value = ssm_b.get_parameter(Name="/secretshare/123456789012/us-east-1/app/db-password")["Parameter"]["Value"]
    assert arn in value and key_arn in value
    assert "secretsmanager.us-east-1.amazonaws.com" in value
    assert world.parameters(B) == {}, "nothing is published in the session's region"


def test_parameters_are_written_through_the_publisher_role_of_each_consumer_account(world, calls):
    share_with_b_and_c(world)

    assert {call.arguments["RoleArn"] for call in calls.named("AssumeRole")} == {
        f"arn:aws:iam::{B}:role/secretshare-publisher",
        f"arn:aws:iam::{C}:role/secretshare-publisher",
    }
    assert {call.account for call in calls.named("PutParameter")} == {B, C}
    assert {call.account for call in calls.calls if call.service == "ssm"} <= {B, C}


def test_tag_key_publisher_role_and_parameter_prefix_follow_the_settings(world, calls):
    world.settings = dataclasses.replace(
        world.settings, share_tag_key="team:share", consumer_role_name="my-publisher", parameter_prefix="/org/shared"
    )
    arn = world.create_secret(NAME, tags={"team:share": B, "team:share/more": ROLE_C, "share-with": "444444444444"})

    result = world.reconcile(arn)

    assert set(result.consumers) == {ROOT_B, ROLE_C}
    assert {call.arguments["RoleArn"] for call in calls.named("AssumeRole")} == {
        f"arn:aws:iam::{B}:role/my-publisher",
        f"arn:aws:iam::{C}:role/my-publisher",
    }
    for account in (B, C):
        assert world.parameter(account, "/org/shared/123456789012/eu-west-1/app/db-password") is not None
        assert world.parameter(account, PARAMETER) is None
