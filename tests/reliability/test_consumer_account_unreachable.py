"""A consumer account that cannot be reached (its publisher role missing or not trusting A, or refusing
PutParameter) does not hold back the others; the failure names the account and the role, is counted for the
alarm, fails the SQS record, and the sweep keeps queueing the secret until it is fixed."""

from __future__ import annotations

import pytest
from checks import ROLE_C, ROOT_B, B, C, assert_shared_exactly, metric_totals
from support.sam import LambdaContext, json_lines, sqs_record

from secretshare import ReconcileFailed
from secretshare.reconciler.sweep import sweep, sweep_message
from secretshare.runtime.observability import RECONCILE_FAILED

NAME = "app/db-password"
PUBLISHER_B = f"arn:aws:iam::{B}:role/secretshare-publisher"
PARAMETER = f"/secretshare/123456789012/eu-west-1/{NAME}"


def deny_assume_role(faults):
    return faults.deny(
        "sts.AssumeRole",
        "User: arn:aws:sts::123456789012:assumed-role/secretshare-reconcile-eu-west-1/reconcile is not authorized "
        f"to perform: sts:AssumeRole on resource: {PUBLISHER_B}",
        when=lambda parameters: parameters["RoleArn"] == PUBLISHER_B,
    )


def deny_put_parameter(faults):
    return faults.deny(
        "ssm.PutParameter",
        f"User: arn:aws:sts::{B}:assumed-role/secretshare-publisher/secretshare is not authorized to perform: "
        f"ssm:PutParameter on resource: arn:aws:ssm:eu-west-1:{B}:parameter{PARAMETER} because no "
        "identity-based policy allows the ssm:PutParameter action",
        account=B,
    )


FAULTS = [
    pytest.param(deny_assume_role, "AccessDenied", id="assume-role-denied"),
    pytest.param(deny_put_parameter, "AccessDeniedException", id="put-parameter-denied"),
]


@pytest.mark.parametrize(("deny", "code"), FAULTS)
def test_the_other_consumers_converge_and_the_failure_names_account_and_role(world, faults, deny, code):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    fault = deny(faults)

    with pytest.raises(ReconcileFailed) as failed:
        world.reconcile(arn)

    assert fault.hits, "the fault was injected"
    (failure,) = failed.value.failures
    assert f"consumer account {B}" in failure
    assert PUBLISHER_B in failure
    assert code in failure
    assert arn in str(failed.value)
    sharing = world.sharing(arn)
    # A's side grants every consumer; only B's parameter is missing.
    assert sharing.key_grantees == sharing.resource_grantees == {ROOT_B, ROLE_C}
    assert sharing.parameter_accounts == {C}
    faults.remove(fault)
    world.reconcile(arn)
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})


@pytest.mark.parametrize(("deny", "code"), FAULTS)
def test_the_sweep_queues_the_secret_until_the_consumer_is_reachable(world, faults, deny, code):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    in_sync = world.create_secret("app/other", ROLE_C)
    world.reconcile(in_sync)
    fault = deny(faults)
    with pytest.raises(ReconcileFailed):
        world.reconcile(arn)

    report = sweep(settings=world.settings, session=world.session)

    assert report.to_reconcile == (arn,)
    faults.remove(fault)
    world.reconcile(arn)
    assert sweep(settings=world.settings, session=world.session).to_reconcile == ()


@pytest.mark.parametrize(("deny", "code"), FAULTS)
def test_the_handler_counts_the_failure_for_the_alarm_and_leaves_it_to_the_sweep_without_failing_the_record(
    world, reconcile_app, handler_faults, handler_output, deny, code
):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    deny(handler_faults)
    record = sqs_record(sweep_message(arn))

    response = reconcile_app.handler({"Records": [record]}, LambdaContext())

    # Retrying soon cannot fix an account that refuses: the record does not fail (it would hold back the FIFO
    # group); the status tag, the metric and the sweep do the rest.
    assert response == {"batchItemFailures": []}
    assert world.status(arn).startswith(f"error 1 unreachable: {B} / ")
    output = handler_output.readouterr().out
    assert metric_totals(output)[RECONCILE_FAILED] == 1
    (line,) = [line for line in json_lines(output) if line.get("message") == "reconciliation failed"]
    assert line["level"] == "ERROR"
    assert line["secret_arn"] == arn
    (failure,) = line["failures"]
    assert f"consumer account {B}" in failure and PUBLISHER_B in failure and code in failure
    assert world.sharing(arn).parameter_accounts == {C}
