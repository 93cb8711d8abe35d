"""Every failure in account A is reported where the person acted: an `error ...` status tag naming the cause, and
a log line naming the secret, the call and the fix. And a secret another service manages is never changed in a
way AWS refuses.

moto never refuses a call for permissions and does not model secrets owned by other services: those answers are
given at the botocore boundary in AWS's shapes (an AccessDeniedException, a DescribeSecret carrying
`OwningService`, docs/aws-facts.md §2).
"""

import logging

import pytest

from secretshare.domain.errors import AwsCallFailed, KeyNotUsable, ManagedSecretNotShareable

B = "222222222222"
ROOT_B = f"arn:aws:iam::{B}:root"
NAME = "app/db"


def owned_by(world, service):
    """DescribeSecret answers as AWS does for a secret another service manages."""

    def add_owner(parsed, **_):
        parsed["OwningService"] = service

    world.session.events.register("after-call.secretsmanager.DescribeSecret", add_owner)


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("kms.PutKeyPolicy", "kms:PutKeyPolicy"),
        ("secretsmanager.UpdateSecret", "secretsmanager:UpdateSecret"),
        ("secretsmanager.PutResourcePolicy", "secretsmanager:PutResourcePolicy"),
    ],
)
def test_access_denied_in_a_names_the_call_in_the_status_and_the_fix_in_the_log(
    world, faults, caplog, operation, action
):
    arn = world.create_secret(NAME, B)
    faults.deny(operation, f"User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: {action}")

    with caplog.at_level(logging.ERROR, logger="secretshare"), pytest.raises(AwsCallFailed) as raised:
        world.reconcile(arn)

    assert raised.value.action == action and not raised.value.transient
    assert world.status(arn) == f"error AccessDeniedException {action}"
    (line,) = [r.getMessage() for r in caplog.records if "reconciliation failed" in r.getMessage()]
    assert arn in line and action in line and "fix: make sure the reconcile role may call" in line


def test_a_call_in_a_that_gets_no_answer_is_reported_as_unreachable(world, faults):
    arn = world.create_secret(NAME, B)
    faults.unreachable("kms.PutKeyPolicy")

    with pytest.raises(AwsCallFailed, match="aws-unreachable") as raised:
        world.reconcile(arn)

    assert raised.value.transient
    assert world.status(arn) == "error aws-unreachable"


def test_a_disabled_key_is_unusable_and_says_so(world):
    key = world.create_key()["KeyId"]
    world.kms.disable_key(KeyId=key)
    arn = world.create_secret(NAME, B, kms_key_id=key)

    with pytest.raises(KeyNotUsable, match="Disabled"):
        world.reconcile(arn)

    assert world.status(arn) == "error key-not-usable"
    assert world.ours(world.key_policy(key)) == []


def test_a_secret_rds_manages_on_the_aws_managed_key_is_not_moved_and_says_why(world, calls):
    arn = world.create_secret(f"rds!db-{NAME}", B)
    owned_by(world, "rds")

    with pytest.raises(ManagedSecretNotShareable, match="managed by rds") as raised:
        world.reconcile(arn)

    assert "MasterUserSecretKmsKeyId" in str(raised.value)
    assert world.status(arn) == "error managed-by-rds"
    assert not {"UpdateSecret", "CreateKey", "PutKeyPolicy", "PutResourcePolicy"} & {c.operation for c in calls.calls}
    assert world.kms_key_id(arn) is None


def test_a_secret_rds_manages_on_a_customer_managed_key_is_shared_where_it_is(world, calls):
    key = world.key_arn(world.create_key()["KeyId"])
    arn = world.create_secret(f"rds!db-{NAME}", B, kms_key_id=key)
    owned_by(world, "rds")

    world.reconcile(arn)

    assert world.sharing(arn, (B,)).key_grantees == {ROOT_B}
    assert world.sharing(arn, (B,)).resource_grantees == {ROOT_B}
    assert world.sharing(arn, (B,)).parameter_accounts == {B}
    assert calls.named("UpdateSecret") == []
    assert world.status(arn) == "ok 1 consumer"
