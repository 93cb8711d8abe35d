"""Throttling and transient errors: botocore's retry mode (not a loop of ours) absorbs them; past its last
attempt the reconciliation fails, and the retry SQS makes (a second reconciliation) converges."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from checks import ROLE_C, ROOT_B, B, assert_grants_nothing_beyond, assert_shared_exactly, metric_totals
from support.sam import LambdaContext, json_lines, sqs_record

from secretshare.domain.errors import AwsCallFailed
from secretshare.gateway.base import CLIENT_CONFIG
from secretshare.reconciler.sweep import sweep_message
from secretshare.runtime.observability import RECONCILE_FAILED, RECONCILE_SUCCEEDED


def total_attempts() -> int:
    """Attempts botocore makes per call under the library's client configuration (first try included)."""
    client = boto3.Session(region_name="eu-west-1").client("sts", config=CLIENT_CONFIG)
    return client.meta.config.retries["total_max_attempts"]


TRANSIENT = [
    pytest.param(None, "Rate exceeded", 400, id="throttling"),  # ThrottlingException (STS: Throttling)
    pytest.param("LimitExceededException", "Rate exceeded", 400, id="limit-exceeded"),
    pytest.param("InternalFailure", "We encountered an internal error. Please try again.", 500, id="internal-failure"),
]


def test_the_client_configuration_retries_in_botocore_with_room_for_two_failures():
    retries = CLIENT_CONFIG.retries
    assert retries["mode"] in ("standard", "adaptive")
    assert total_attempts() >= 3


@pytest.mark.usefixtures("dedicated_keys")
@pytest.mark.parametrize(("code", "message", "status"), TRANSIENT)
def test_every_call_failing_twice_still_shares_edits_and_revokes_exactly(world, faults, clock, code, message, status):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    if code is None:
        fault = faults.throttle("*", attempts=2)
    else:
        fault = faults.fail("*", code, message, status=status, attempts=2)

    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    world.tag(arn, ROLE_C)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROLE_C})
    world.untag(arn)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, set())

    operations = {operation for operation, _, _ in fault.hits}
    # Every call of share, edit and revoke, in A and in the consumer accounts, was refused twice before it went through.
    assert {
        "secretsmanager.DescribeSecret",
        "secretsmanager.GetResourcePolicy",
        "secretsmanager.PutResourcePolicy",
        "secretsmanager.DeleteResourcePolicy",
        "secretsmanager.UpdateSecret",
        "kms.CreateKey",
        "kms.CreateAlias",
        "kms.GetKeyPolicy",
        "kms.PutKeyPolicy",
        "sts.AssumeRole",
        "ssm.GetParameter",
        "ssm.PutParameter",
        "ssm.DeleteParameter",
    } <= operations
    calls = [(operation, attempt) for operation, attempt, _ in fault.hits if attempt == 1]
    assert [attempt for _, attempt, _ in fault.hits] == [1, 2] * len(calls)
    assert faults.attempts.count((calls[0][0], 3)) >= 1, "the third attempt went through"
    # botocore backed off before each retry: the retries are its own, not a loop of ours.
    assert len(clock.sleeps) == 2 * len(calls)
    assert all(delay >= 0 for delay in clock.sleeps)


@pytest.mark.usefixtures("dedicated_keys")
def test_a_throttled_create_key_leaves_no_extra_key(world, faults):
    # A throttled request changes nothing in AWS: the retried CreateKey makes the only key.
    arn = world.create_secret("app/db-password", B)
    faults.throttle("kms.CreateKey", attempts=2)

    world.reconcile(arn)

    assert world.key_count() == 1
    assert world.aliases() == {"alias/secretshare/app/db-password": world.kms_key_id(arn).split("/")[-1]}


def test_failures_that_outlast_the_retries_raise_and_the_next_run_converges(world, faults, calls):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    fault = faults.throttle("secretsmanager.PutResourcePolicy", attempts=None)

    with pytest.raises(AwsCallFailed) as raised:
        world.reconcile(arn)

    assert raised.value.code == "ThrottlingException" and raised.value.transient
    assert raised.value.action == "secretsmanager:PutResourcePolicy"
    assert isinstance(raised.value.__cause__, ClientError)
    # One call, retried by botocore to its limit; the library adds no loop of its own.
    assert len(calls.named("PutResourcePolicy")) == 1
    assert faults.attempts_of("secretsmanager.PutResourcePolicy") == list(range(1, total_attempts() + 1))
    assert_grants_nothing_beyond(world, arn, {ROOT_B, ROLE_C})

    faults.remove(fault)
    world.reconcile(arn)  # SQS delivers the message again

    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    assert world.reconcile(arn).plan.is_noop


def test_a_record_whose_reconciliation_keeps_failing_is_reported_and_redelivery_converges(
    world, reconcile_app, handler_faults, handler_output
):
    failing = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    other = world.create_secret("app/api-key", B)
    handler_faults.throttle("secretsmanager.DescribeSecret", attempts=None, when=lambda p: p["SecretId"] == failing)
    records = [sqs_record(sweep_message(arn)) for arn in (failing, other)]

    response = reconcile_app.handler({"Records": records}, LambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert_shared_exactly(world, other, {ROOT_B})
    assert_shared_exactly(world, failing, set())
    output = handler_output.readouterr().out
    assert metric_totals(output)[RECONCILE_FAILED] == 1
    assert metric_totals(output)[RECONCILE_SUCCEEDED] == 1
    (failure,) = [line for line in json_lines(output) if line.get("message") == "reconciliation failed"]
    assert failure["secret_arn"] == failing
    assert "ThrottlingException" in failure["exception"]

    handler_faults.clear()
    redelivered = reconcile_app.handler({"Records": [records[0]]}, LambdaContext())

    assert redelivered == {"batchItemFailures": []}
    assert_shared_exactly(world, failing, {ROOT_B, ROLE_C})
