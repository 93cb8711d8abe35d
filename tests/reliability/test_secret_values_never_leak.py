"""Secret values never appear in logs, metrics, errors or the published parameters: secretshare never reads them.

The secrets here hold a distinctive value, and everything secretshare emits while sharing, failing and revoking
them (every log record down to botocore's DEBUG wire logs, stdout and stderr, EMF metrics, exception messages,
results, parameters and policies) is searched for it.
"""

from __future__ import annotations

import fnmatch
import json
import logging

import pytest
from checks import ACCOUNTS, ROLE_C, SECRET_VALUE, B
from support.sam import (
    CONSUMER_TEMPLATE,
    LambdaContext,
    as_list,
    emf_blobs,
    load_template,
    resources_of_type,
    sqs_record,
)

from secretshare import ReconcileFailed
from secretshare.reconciler.sweep import sweep, sweep_message

READS_OF_VALUES = {"GetSecretValue", "BatchGetSecretValue"}
VALUE_READ_ACTIONS = [f"secretsmanager:{operation}" for operation in sorted(READS_OF_VALUES)]


def deny_put_parameter_in_b(faults):
    return faults.deny("ssm.PutParameter", "not authorized to perform: ssm:PutParameter", account=B)


def test_the_library_never_reads_a_value_nor_lets_one_out(world, faults, calls, caplog, capsys):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C} 12345", value=SECRET_VALUE)
    world.secretsmanager.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": SECRET_VALUE}))
    caplog.set_level(logging.DEBUG)  # botocore's request and response bodies included
    emitted: list[str] = []

    emitted += world.reconcile(arn, dry_run=True).changes
    denied = deny_put_parameter_in_b(faults)
    with pytest.raises(ReconcileFailed) as failed:
        world.reconcile(arn)
    emitted += [str(failed.value), *failed.value.failures, *failed.value.result.changes]
    emitted += [f"{r.entry}: {r.reason}" for r in failed.value.result.rejected]
    emitted += [str(sweep(settings=world.settings, session=world.session))]
    faults.remove(denied)
    emitted += world.reconcile(arn).changes
    published = [value for account in ACCOUNTS for value in world.parameters(account).values()]
    policies = [json.dumps(world.key_policy(world.kms_key_id(arn))), json.dumps(world.resource_policy(arn))]
    world.untag(arn)
    emitted += world.reconcile(arn).changes

    assert len(published) == 2 and "DEBUG" in {record.levelname for record in caplog.records}
    assert READS_OF_VALUES.isdisjoint(call.operation for call in calls.calls)
    output = capsys.readouterr()
    for text in [caplog.text, output.out, output.err, *emitted, *published, *policies]:
        assert SECRET_VALUE not in text


@pytest.mark.usefixtures("dedicated_keys")
def test_the_handler_lets_no_value_out_in_logs_or_metrics(world, reconcile_app, handler_faults, handler_output):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}", value=SECRET_VALUE)
    failing = world.create_secret("app/api-key", B, value=SECRET_VALUE)
    deny_put_parameter_in_b(handler_faults)
    handler_faults.throttle("kms.CreateKey", attempts=None, when=lambda p: "api-key" in p.get("Description", ""))
    records = [sqs_record(sweep_message(secret)) for secret in (arn, failing)]

    response = reconcile_app.handler({"Records": records}, LambdaContext())

    # The denied consumer is left to the sweep; the throttled key has no queue to go back on here (QUEUE_URL unset).
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [records[1]["messageId"]]
    output = handler_output.readouterr()
    assert emf_blobs(output.out), "metrics were emitted"
    assert "reconciliation failed" in output.out
    assert SECRET_VALUE not in output.out + output.err
    assert READS_OF_VALUES.isdisjoint(operation.split(".")[1] for operation, _ in handler_faults.attempts)


@pytest.mark.parametrize("template", [None, CONSUMER_TEMPLATE], ids=["producer", "consumer"])
def test_no_role_secretshare_deploys_may_read_a_secret_value(template):
    roles = resources_of_type(load_template(*([template] if template else [])), "AWS::IAM::Role")
    assert roles
    for name, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                assert "NotAction" not in statement, name
                for action in as_list(statement["Action"]):
                    # IAM action patterns match case-insensitively, with * and ? wildcards.
                    reads = [op for op in VALUE_READ_ACTIONS if fnmatch.fnmatchcase(op.lower(), action.lower())]
                    assert not reads, f"{name} allows {action}"
