"""What real AWS does that moto does not, and what secretshare does about it (the strict layer: tests/support/strict).

First the layer itself, so that it cannot silently allow everything: it refuses what the template's roles do not
allow, with AWS's error on the wire, and enforces KMS's principal checks, AWS's eventual consistency and its limits.
Then each defect it found, fixed: the first share was denied (tag-on-create), a retry while the tagging index lags
relabelled our own key and could make a second one, KMS not finding a key it just made was left to the hourly sweep,
an expiry whose minute passed during the run failed it, a replica's event was reconciled by the replica's region, and
the sweep never saw a status left on a secret whose share tags were gone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from support.faults import AwsFaults
from support.sam import RECONCILE_ROLE_ARN, LambdaContext, sqs_batch
from support.statements import ADMIN
from support.strict.authorization import Steps, reconcile_role
from support.strict.requests import AwsRequest
from support.world import REGION

from secretshare.domain.errors import AwsCallFailed
from secretshare.domain.names import DENY_DIRECT_USE_SID, GRANTS_TAG_KEY, name_tag_value
from secretshare.reconciler.sweep import sweep, sweep_message
from secretshare.runtime.retries import made_keys_of

B = "222222222222"
NAME = "app/db-password"
SESSION = f"arn:aws:sts::123456789012:assumed-role/{RECONCILE_ROLE_ARN.split('/')[-1]}/secretshare"


def as_reconcile_role(world, service, region=REGION):
    """A client with the functions' role's credentials, as the library has them."""
    return world.session.client(service, region_name=region)


# --- the layer itself ------------------------------------------------------------------------------------------------


def test_the_layer_refuses_what_the_template_does_not_allow_with_aws_s_error(world):
    arn = world.create_secret(NAME)
    secrets = as_reconcile_role(world, "secretsmanager")

    with pytest.raises(ClientError) as refused:  # the role may write the status tag, and no other tag
        secrets.tag_resource(SecretId=arn, Tags=[{"Key": "owner", "Value": "me"}])

    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 400)
    assert error["Error"]["Message"] == (
        f"User: {SESSION} is not authorized to perform: secretsmanager:TagResource on resource: {arn} because no "
        "identity-based policy allows the secretsmanager:TagResource action"
    )
    secrets.tag_resource(SecretId=arn, Tags=[{"Key": "share-with-status", "Value": "ok 1 consumer"}])
    assert world.status(arn) == "ok 1 consumer"


def test_the_layer_authorizes_tagging_on_creation_as_kms_tag_resource_with_the_requests_tags(world, strict_aws):
    kms = as_reconcile_role(world, "kms")
    ours = [{"TagKey": "managed-by", "TagValue": "secretshare"}, {"TagKey": GRANTS_TAG_KEY, "TagValue": "name-1"}]
    for tags in ([*ours, {"TagKey": "team", "TagValue": "payments"}], ours[:1]):
        with pytest.raises(ClientError, match="AccessDeniedException"):
            kms.create_key(Tags=tags)
    assert kms.create_key(Tags=ours)["KeyMetadata"]["KeyManager"] == "CUSTOMER"

    # The role as the template had it before TagNewKeys: CreateKey allowed, its tags refused, as on AWS.
    role = reconcile_role(world.settings)
    before = replace(role, policies=tuple(without_statement(p, "TagNewKeys") for p in role.policies))
    request = AwsRequest("kms", "CreateKey", REGION, "", {"Tags": ours}, None)  # type: ignore[arg-type]
    refusals = [strict_aws.authorizer.refusal(before, step) for step in Steps(request, role.account, lambda _: None)]
    assert refusals == [
        None,
        f"User: {SESSION} is not authorized to perform: kms:TagResource because no identity-based policy allows "
        "the kms:TagResource action",
    ]


def without_statement(policy, sid):
    return {**policy, "Statement": [s for s in policy["Statement"] if s.get("Sid") != sid]}


def test_the_layer_authorizes_the_publisher_role_in_the_consumer_account_and_its_trust(world):
    sts = as_reconcile_role(world, "sts")
    with pytest.raises(ClientError) as refused:  # only the consumer stack's role exists, and trusts the reconcile role
        sts.assume_role(RoleArn=f"arn:aws:iam::{B}:role/admin", RoleSessionName="xx")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{B}:role/secretshare-publisher", RoleSessionName="xx")
    keys = credentials["Credentials"]
    ssm = boto3.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=REGION,
    ).client("ssm")
    ssm.put_parameter(Name="/secretshare/123456789012/eu-west-1/app", Value="{}", Type="String")
    with pytest.raises(ClientError, match="not authorized to perform: ssm:PutParameter"):
        ssm.put_parameter(Name="/elsewhere/app", Value="{}", Type="String")


def test_kms_refuses_a_key_policy_naming_a_unique_id_or_a_principal_that_does_not_exist(world, strict_aws):
    key = world.create_key()["Arn"]
    naming = {
        "Version": "2012-10-17",
        "Statement": [ADMIN, {**ADMIN, "Sid": "Other", "Principal": {"AWS": "AROAEXAMPLE1234567890"}}],
    }
    strict_aws.iam.never_existed(f"arn:aws:iam::{B}:role/typo")
    missing = {
        **naming,
        "Statement": [ADMIN, {**ADMIN, "Sid": "Other", "Principal": {"AWS": f"arn:aws:iam::{B}:role/typo"}}],
    }

    for policy in (naming, missing):
        with pytest.raises(ClientError) as refused:
            world.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
        assert refused.value.response["Error"] == {
            "Code": "MalformedPolicyDocumentException",
            "Message": "Policy contains a statement with one or more invalid principals.",
        }


def test_deleting_a_principal_shows_its_unique_id_in_every_policy_and_a_re_created_one_does_not_match_it(
    world, strict_aws
):
    role = f"arn:aws:iam::{B}:role/app"
    key = world.create_key(
        {"Version": "2012-10-17", "Statement": [ADMIN, {**ADMIN, "Sid": "App", "Principal": {"AWS": role}}]}
    )

    unique_id = strict_aws.iam.delete(role)
    strict_aws.iam.create(role)

    assert unique_id.startswith("AROA")
    assert [s["Principal"]["AWS"] for s in world.key_policy(key["Arn"])["Statement"]] == [
        ADMIN["Principal"]["AWS"],
        unique_id,
    ]
    with pytest.raises(ClientError, match="invalid principals"):  # KMS refuses every write that still holds it
        world.kms.put_key_policy(
            KeyId=key["Arn"], PolicyName="default", Policy=json.dumps(world.key_policy(key["Arn"]))
        )


def test_the_tagging_index_shows_a_new_tag_only_once_time_passes(world, strict_aws):
    kms = as_reconcile_role(world, "kms")
    tags = world.session.client("resourcegroupstaggingapi")
    ours = [{"TagKey": "managed-by", "TagValue": "secretshare"}, {"TagKey": GRANTS_TAG_KEY, "TagValue": "name-1"}]
    key = kms.create_key(Tags=ours)["KeyMetadata"]["Arn"]
    query = {"ResourceTypeFilters": ["kms:key"], "TagFilters": [{"Key": GRANTS_TAG_KEY}]}

    assert tags.get_resources(**query)["ResourceTagMappingList"] == []
    strict_aws.time_passes()
    assert [r["ResourceARN"] for r in tags.get_resources(**query)["ResourceTagMappingList"]] == [key]


def test_kms_does_not_find_a_key_it_just_created_the_first_time_it_is_asked(world):
    kms = as_reconcile_role(world, "kms")
    ours = [{"TagKey": "managed-by", "TagValue": "secretshare"}, {"TagKey": GRANTS_TAG_KEY, "TagValue": "name-1"}]
    key = kms.create_key(Tags=ours)["KeyMetadata"]["Arn"]

    with pytest.raises(ClientError) as refused:
        kms.describe_key(KeyId=key)

    assert refused.value.response["Error"] == {"Code": "NotFoundException", "Message": f"Key '{key}' does not exist"}
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key


def test_scheduler_refuses_a_one_off_schedule_already_past_and_kms_a_key_policy_over_32_kb(world):
    scheduler = world.own_session.client("scheduler")
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("at(%Y-%m-%dT%H:%M:%S)")
    target = {"Arn": "arn:aws:sqs:eu-west-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"}
    with pytest.raises(ClientError, match="ValidationException"):
        scheduler.create_schedule(Name="n", ScheduleExpression=past, FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    big = {"Version": "2012-10-17", "Statement": [ADMIN, {**ADMIN, "Sid": "x" * 33_000}]}
    with pytest.raises(ClientError, match="LimitExceededException"):
        world.kms.create_key(Policy=json.dumps(big))


# --- what it found, fixed ---------------------------------------------------------------------------------------------


def test_the_first_share_of_a_secret_on_the_aws_managed_key_may_tag_the_key_it_creates(world, calls):
    arn = world.create_secret(NAME, B)

    world.reconcile(arn)

    (create,) = calls.named("CreateKey")
    assert {t["TagKey"] for t in create.arguments["Tags"]} == {"managed-by", GRANTS_TAG_KEY}
    assert world.sharing(arn).key_grantees == {f"arn:aws:iam::{B}:root"}


@pytest.mark.usefixtures("dedicated_keys")
def test_a_run_right_after_while_the_tagging_index_lags_keeps_the_keys_deny_and_its_name(world, calls):
    arn = world.create_secret(NAME, B)
    world.reconcile(arn)
    key = world.kms_key_id(arn)
    calls.clear()

    world.reconcile(arn)  # the index does not show the new key's tags yet

    assert calls.writes() == [], "nothing relabelled, nothing rewritten"
    assert DENY_DIRECT_USE_SID in {s.get("Sid") for s in world.key_policy(key)["Statement"]}
    tags = {t["TagKey"]: t["TagValue"] for t in world.kms.list_resource_tags(KeyId=key)["Tags"]}
    assert tags[GRANTS_TAG_KEY] == name_tag_value(NAME)


@pytest.mark.usefixtures("dedicated_keys")
def test_a_retry_after_a_failure_between_the_key_and_its_alias_adopts_the_key_instead_of_making_another(world, faults):
    arn = world.create_secret(NAME, B)
    refuse = faults.deny("kms.CreateAlias", "not authorized to perform: kms:CreateAlias")
    with pytest.raises(AwsCallFailed) as failed:
        world.reconcile(arn)
    (made,) = failed.value.made_keys
    faults.remove(refuse)
    keys_before = world.key_count()

    world.reconcile(arn, made_keys=failed.value.made_keys)  # the retry, while the tagging index still lags

    assert world.key_count() == keys_before, "no second key"
    assert world.kms_key_id(arn) == made
    assert world.kms.describe_key(KeyId=f"alias/secretshare/{NAME}")["KeyMetadata"]["Arn"] == made


@pytest.mark.usefixtures("dedicated_keys")
def test_a_retry_request_carries_the_keys_made_before_the_failure(
    world, faults, default_session, reconcile_app, monkeypatch
):
    sqs = world.sqs
    queue = sqs.create_queue(
        QueueName="reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", queue)
    arn = world.create_secret(NAME, B)
    AwsFaults(default_session, "123456789012").fail(
        "kms.CreateAlias",
        "ThrottlingException",
        "Rate exceeded",  # every attempt: botocore's retries run out
    )

    assert reconcile_app.handler(sqs_batch(sweep_message(arn)), LambdaContext()) == {"batchItemFailures": []}

    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    retry = json.loads(message["Body"])
    assert retry["source"] == "secretshare.retry"
    assert made_keys_of(retry) and made_keys_of(retry)[0].startswith("arn:aws:kms:eu-west-1:123456789012:key/")


@pytest.mark.usefixtures("dedicated_keys")
def test_kms_not_finding_a_key_it_just_made_is_transient_and_retried_soon(world, faults):
    arn = world.create_secret(NAME, B)
    faults.fail("kms.CreateAlias", "NotFoundException", "Key does not exist")  # longer than the pauses in the library

    with pytest.raises(AwsCallFailed) as failed:
        world.reconcile(arn)

    assert failed.value.transient, "queued again soon, not left to the hourly sweep"
    assert failed.value.made_keys


def test_an_expiry_whose_minute_passed_during_the_run_neither_fails_it_nor_extends_the_share(world, calls):
    sqs = world.sqs
    queue = sqs.create_queue(
        QueueName="reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    world.own_session.client("scheduler").create_schedule_group(Name="secretshare-expiry")
    world.settings = replace(
        world.settings,
        expiry_schedule_group="secretshare-expiry",
        expiry_schedule_role_arn="arn:aws:iam::123456789012:role/secretshare-expiry",
        queue_url=queue,
        queue_arn="arn:aws:sqs:eu-west-1:123456789012:reconcile.fifo",
    )
    until = (datetime.now(UTC) - timedelta(seconds=90)).replace(microsecond=0)
    arn = world.create_secret(NAME, B, tags={"share-until": until.strftime("%Y-%m-%dT%H:%M:%SZ")})

    world.reconcile(arn, now=until - timedelta(seconds=5))  # planned while the share still ran

    assert calls.named("CreateSchedule") == [], "no schedule for a moment already past"
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(message["Body"])["source"] == "secretshare.expiry"
    world.reconcile(arn)  # the expiry request, delivered
    assert world.sharing(arn).key_grantees == set()


def test_an_event_about_a_replica_in_the_replica_s_region_is_left_to_the_primary_s_region(
    world, default_session, reconcile_app, calls, monkeypatch
):
    arn = world.create_secret(NAME, B)
    world.secretsmanager.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": "us-east-1"}])
    replica = arn.replace(":eu-west-1:", ":us-east-1:")
    credentials = world.credentials
    boto3.setup_default_session(
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    recorder = []
    boto3.DEFAULT_SESSION.events.register("before-call", lambda model, **_: recorder.append(model.name))

    assert reconcile_app.handler(sqs_batch(sweep_message(replica)), LambdaContext()) == {"batchItemFailures": []}

    assert [name for name in recorder if not name.startswith(("Get", "Describe", "List"))] == []
    assert world.sharing(arn).key_grantees == set(), "the stack of eu-west-1 shares it"


def test_the_sweep_finds_a_status_left_on_a_secret_whose_share_tags_are_gone(world):
    arn = world.create_secret(NAME, "12345")  # every entry rejected: nothing granted, an error status
    world.reconcile(arn)
    assert world.status(arn).startswith("error 1 rejected")
    world.untag(arn)

    report = sweep(settings=world.settings, session=world.session)

    assert report.to_reconcile == (arn,)
    world.reconcile(arn)
    assert world.status(arn) is None
    assert sweep(settings=world.settings, session=world.session).checked == ()
