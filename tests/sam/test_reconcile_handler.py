"""The reconcile function on moto: SQS records built from events/ converge the secret; failures fail only their
record; metrics come out as EMF and every log line names the secret.

Account A is moto's default account; consumer accounts are reached with sts.assume_role, as in production.
An unreachable consumer is simulated at the AWS boundary: a botocore `before-call` hook on boto3's default
session (the one the handler uses) answers AssumeRole into that account with STS's real AccessDenied error.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from support.sam import (
    CONSUMER_B,
    CONSUMER_C,
    ROUTES,
    LambdaContext,
    emf_blobs,
    json_lines,
    load_sample,
    load_template,
    sqs_batch,
    sqs_record,
)

from secretshare.domain.errors import ReconcileFailed
from secretshare.domain.events import UnrecognizedEvent
from secretshare.reconciler.sweep import sweep_message
from secretshare.runtime.observability import (
    ENTRIES_REJECTED,
    GRANTS_ADDED,
    GRANTS_REVOKED,
    NAMESPACE,
    RECONCILE_FAILED,
    RECONCILE_SUCCEEDED,
    SERVICE,
)

SECRET = "payments/db-password"
QUEUED_SAMPLES = sorted(name for name, rule in ROUTES.items() if rule is not None)


def deny_assume_role_into(session: boto3.Session, account: str) -> None:
    """Make AssumeRole into `account` fail as STS does when the role's trust policy does not allow the caller."""

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        role_arn = params["body"]["RoleArn"]
        if f"::{account}:" not in role_arn:
            return None
        message = (
            "User: arn:aws:sts::123456789012:assumed-role/secretshare-reconcile-eu-west-1/reconcile is not "
            f"authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        response = AWSResponse(url="https://sts.eu-west-1.amazonaws.com/", status_code=403, headers={}, raw=None)
        parsed = {
            "Error": {"Type": "Sender", "Code": "AccessDenied", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": "c6104cbe-af31-11e0-8154-cbc7ccf896c7"},
        }
        return response, parsed

    session.events.register("before-call.sts.AssumeRole", answer)


def metric_totals(output: str) -> dict[str, float]:
    """Sum of each metric over every EMF document in the output."""
    totals: dict[str, float] = {}
    for blob in emf_blobs(output):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(as_values(values))
    return totals


def as_values(value: Any) -> list[float]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("sample", QUEUED_SAMPLES)
def test_each_queued_event_shape_converges_the_secret(world, reconcile_app, sample):
    # The event only says which secret to look at: the secret's own tags say whom to share with.
    arn = world.create_secret(SECRET, share_with=CONSUMER_B)

    response = reconcile_app.handler(sqs_batch(load_sample(sample, secret_arn=arn)), LambdaContext())

    assert response == {"batchItemFailures": []}
    policy = world.published_policy(CONSUMER_B, SECRET)
    assert policy is not None
    assert arn in {statement["Resource"] for statement in policy["Statement"]}
    assert world.published_policy(CONSUMER_C, SECRET) is None


def test_the_sqs_batch_sample_converges_and_a_second_delivery_changes_nothing(world, reconcile_app):
    arn = world.create_secret(SECRET, share_with=f"{CONSUMER_B} arn:aws:iam::{CONSUMER_C}:role/app")
    batch = load_sample("sqs-batch.json", secret_arn=arn)

    assert reconcile_app.handler(batch, LambdaContext()) == {"batchItemFailures": []}
    assert world.published_policy(CONSUMER_B, SECRET) is not None
    assert world.published_policy(CONSUMER_C, SECRET) is not None
    assert reconcile_app.handler(json.loads(batch["Records"][0]["body"]), LambdaContext())["changes"] == []


def test_untagging_then_an_event_revokes_and_deletes_the_parameter(world, reconcile_app):
    arn = world.create_secret(SECRET, share_with=CONSUMER_B)
    reconcile_app.handler(sqs_batch(load_sample("tag-change.json", secret_arn=arn)), LambdaContext())
    world.secretsmanager.untag_resource(SecretId=arn, TagKeys=["share-with"])

    event = load_sample("cloudtrail-untag-resource-partial-arn.json")
    assert reconcile_app.handler(sqs_batch(event), LambdaContext()) == {"batchItemFailures": []}

    assert world.published_policy(CONSUMER_B, SECRET) is None
    assert world.secretsmanager.get_resource_policy(SecretId=arn).get("ResourcePolicy") is None


def test_an_unreachable_consumer_is_counted_and_left_to_the_sweep_and_rejected_entries_fail_nothing(
    world, reconcile_app, default_session, handler_output
):
    shared = world.create_secret(SECRET, share_with=CONSUMER_B)
    unreachable = world.create_secret("billing/api-key", share_with=CONSUMER_C)
    with_rejected = world.create_secret("orders/token", share_with=f"{CONSUMER_B} 12345 *")
    deny_assume_role_into(default_session, CONSUMER_C)
    records = [sqs_record(sweep_message(arn)) for arn in (shared, unreachable, with_rejected)]

    response = reconcile_app.handler({"Records": records}, LambdaContext())

    # No record fails: a failed record would hold every message of the FIFO group back (secretshare.runtime.retries).
    assert response == {"batchItemFailures": []}
    assert world.status(unreachable) == f"error 1 unreachable: {CONSUMER_C} / ok 1 consumer"
    assert world.published_policy(CONSUMER_B, SECRET) is not None
    assert world.published_policy(CONSUMER_B, "orders/token") is not None
    assert world.published_policy(CONSUMER_C, "billing/api-key") is None
    output = handler_output.readouterr().out
    assert metric_totals(output) == {
        RECONCILE_SUCCEEDED: 2,
        RECONCILE_FAILED: 1,
        # Each secret granted its consumer in A; the unreachable one too (its key and resource policy were applied).
        GRANTS_ADDED: 3,
        GRANTS_REVOKED: 0,
        ENTRIES_REJECTED: 2,
    }
    failure = next(line for line in json_lines(output) if line.get("message") == "reconciliation failed")
    assert failure["secret_arn"] == unreachable
    assert "consumer account 333333333333" in failure["failures"][0]
    assert "AccessDenied" in failure["failures"][0]
    (then,) = [line for line in json_lines(output) if line.get("message", "").startswith("reconciliation failed: ")]
    assert then["secret_arn"] == unreachable and "left to the next sweep" in then["message"]


def test_records_that_cannot_be_queued_again_are_reported_and_the_function_does_not_raise(
    world, reconcile_app, handler_faults
):
    """Without a queue to put a transient failure back on (QUEUE_URL unset), its record fails, every one of them."""
    arns = [world.create_secret(name, share_with=CONSUMER_B) for name in ("billing/api-key", "orders/token")]
    handler_faults.fail("secretsmanager.PutResourcePolicy", "InternalServiceError", "down", status=500)
    batch = sqs_batch(*(sweep_message(arn) for arn in arns))

    response = reconcile_app.handler(batch, LambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in batch["Records"]]}


def test_a_record_naming_no_secret_is_logged_whole_counted_and_dropped(world, reconcile_app, handler_output):
    """Retrying cannot make it name a secret; failing it would hold the FIFO group back."""
    arn = world.create_secret(SECRET, share_with=CONSUMER_B)
    batch = sqs_batch(load_sample("schedule.json"), sweep_message(arn), "not json")

    response = reconcile_app.handler(batch, LambdaContext())

    assert response == {"batchItemFailures": []}
    assert world.published_policy(CONSUMER_B, SECRET) is not None
    output = handler_output.readouterr().out
    dropped = [line for line in json_lines(output) if line.get("message") == "record names no secret; dropped"]
    assert [line["body"] for line in dropped] == [json.dumps(load_sample("schedule.json")), "not json"]
    assert "source=aws.events" in dropped[0]["exception"]
    assert metric_totals(output)[RECONCILE_FAILED] == 2


def test_one_eventbridge_event_on_its_own_is_reconciled_and_returns_the_result(world, reconcile_app):
    arn = world.create_secret(SECRET, share_with=f"{CONSUMER_B} 12345")

    result = reconcile_app.handler(load_sample("tag-change.json", secret_arn=arn), LambdaContext())

    assert result["secret_arn"] == arn
    assert result["consumers"] == [f"arn:aws:iam::{CONSUMER_B}:root"]
    assert [entry["entry"] for entry in result["rejected"]] == ["12345"]
    assert result["changes"]
    assert world.published_policy(CONSUMER_B, SECRET) is not None


def test_one_eventbridge_event_that_fails_raises_to_the_caller(world, reconcile_app, default_session):
    arn = world.create_secret("billing/api-key", share_with=CONSUMER_C)
    deny_assume_role_into(default_session, CONSUMER_C)

    with pytest.raises(ReconcileFailed, match="consumer account 333333333333"):
        reconcile_app.handler(load_sample("tag-change.json", secret_arn=arn), LambdaContext())
    with pytest.raises(UnrecognizedEvent):
        reconcile_app.handler(load_sample("schedule.json"), LambdaContext())


def test_metrics_are_emitted_as_emf_in_the_secretshare_namespace(world, reconcile_app, handler_output):
    arn = world.create_secret(SECRET, share_with=CONSUMER_B)

    reconcile_app.handler(sqs_batch(load_sample("tag-change.json", secret_arn=arn)), LambdaContext())

    (blob,) = emf_blobs(handler_output.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE == "SecretShare"
    assert directive["Dimensions"] == [["service"]]
    assert blob["service"] == SERVICE == "secretshare"
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert names == {RECONCILE_SUCCEEDED, GRANTS_ADDED, GRANTS_REVOKED, ENTRIES_REJECTED}
    assert all(metric["Unit"] == "Count" for metric in directive["Metrics"])
    assert (as_values(blob[RECONCILE_SUCCEEDED]), as_values(blob[GRANTS_ADDED])) == ([1.0], [1.0])


def test_the_failure_alarm_watches_the_metric_the_handler_emits():
    template = load_template()
    alarm = template["Resources"]["ReconcileFailedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, RECONCILE_FAILED)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert (variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]) == (NAMESPACE, SERVICE)


def test_every_log_line_of_a_reconciliation_names_the_secret(world, reconcile_app, handler_output):
    arn = world.create_secret(SECRET, share_with=f"{CONSUMER_B} 12345")

    reconcile_app.handler(sqs_batch(load_sample("tag-change.json", secret_arn=arn)), LambdaContext())

    lines = [line for line in json_lines(handler_output.readouterr().out) if "level" in line]
    messages = " | ".join(str(line.get("message")) for line in lines)
    assert "rejected share entry '12345'" in messages  # the library's own lines come out as JSON too
    assert "created key" in messages
    assert lines and all(line.get("secret_arn") == arn for line in lines), lines
    assert all(line.get("function_name") == LambdaContext().function_name for line in lines)
    (done,) = [line for line in lines if line["message"] == "reconciled"]
    assert done["result"]["consumers"] == [f"arn:aws:iam::{CONSUMER_B}:root"]


def test_handler_module_makes_no_aws_client_at_import():
    import ast
    from pathlib import Path

    from support.sam import REPO

    for function in ("reconcile", "sweep"):
        tree = ast.parse(Path(REPO / "functions" / function / "app.py").read_text())
        module_level_calls = [
            node
            for statement in tree.body
            if not isinstance(statement, ast.FunctionDef | ast.ClassDef)
            for node in ast.walk(statement)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if node.func.attr in ("client", "resource", "Session", "setup_default_session")
        ]
        assert module_level_calls == [], function


def test_the_expiry_schedules_message_revokes_a_share_whose_time_is_up(world, reconcile_app):
    arn = world.create_secret(SECRET, CONSUMER_B)
    reconcile_app.handler(sqs_batch(sweep_message(arn)), LambdaContext())
    assert world.published_policy(CONSUMER_B, SECRET) is not None
    # The moment passed (by the real clock the handler reads) while the schedule's message was on its way.
    world.secretsmanager.tag_resource(SecretId=arn, Tags=[{"Key": "share-until", "Value": "2026-01-01"}])

    response = reconcile_app.handler(sqs_batch(load_sample("share-expired.json", secret_arn=arn)), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert world.published_policy(CONSUMER_B, SECRET) is None
    tags = {t["Key"]: t["Value"] for t in world.secretsmanager.describe_secret(SecretId=arn)["Tags"]}
    assert tags["share-with-status"] == "expired 2026-01-01T00:00:00Z"
    assert tags["share-with"] == CONSUMER_B
