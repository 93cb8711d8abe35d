"""The command line acts with the deployed stack's settings (`--stack`), and refuses to act with others.

The stack is a CloudFormation stack on moto with template.yaml's setting parameters and the outputs the command line
reads; the functions' environment is built from the same names (tests/sam checks the mapping against template.yaml).
"""

import json

import pytest
from commandline import shared_secret

from secretshare_cli.cli import EXIT_OK, EXIT_USAGE

STACK_TEMPLATE = {
    "Parameters": {
        name: {"Type": "String", "Default": default}
        for name, default in {
            "ShareTagKey": "share-with",
            "ShareUntilTagKey": "share-until",
            "ConsumerRoleName": "secretshare-publisher",
            "ParameterPrefix": "/secretshare",
            "AllowedConsumers": "organization",
            "SharedKeyArn": "",
        }.items()
    },
    "Resources": {
        "ReconcileQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"FifoQueue": True, "QueueName": "secretshare-reconcile.fifo"},
        }
    },
    "Outputs": {
        "ReconcileQueueUrl": {"Value": {"Ref": "ReconcileQueue"}},
        "ReconcileQueueArn": {"Value": {"Fn::GetAtt": ["ReconcileQueue", "Arn"]}},
        "ExpiryScheduleGroupName": {"Value": "default"},
    },
}


@pytest.fixture
def stack(aws):
    """A secretshare stack deployed with two consumer accounts allowed, as the platform team configured it."""
    aws.client("cloudformation").create_stack(
        StackName="secretshare",
        TemplateBody=json.dumps(STACK_TEMPLATE),
        Parameters=[{"ParameterKey": "AllowedConsumers", "ParameterValue": "222222222222 333333333333"}],
    )
    return "secretshare"


def test_a_run_whose_settings_differ_from_the_stack_says_so_and_writes_nothing(aws, run, stack, monkeypatch):
    arn = shared_secret(aws, "222222222222 333333333333")
    assert run("--stack", stack, "reconcile", arn).exit_code == EXIT_OK  # what the stack's functions would do
    monkeypatch.setenv("ALLOWED_CONSUMERS", "222222222222")

    for command in (["reconcile", arn], ["reconcile", arn, "--dry-run"], ["status"], ["sweep"]):
        outcome = run(*command)
        assert outcome.exit_code == EXIT_USAGE, (command, outcome.stderr)
        assert outcome.error_lines == [
            "Error: these settings differ from those of the deployed stack 'secretshare': ALLOWED_CONSUMERS is "
            "'222222222222' here, '222222222222 333333333333' in the stack; hint: --stack secretshare (or "
            "SECRETSHARE_STACK) acts with the stack's settings; --stack none with these, unchecked"
        ]
        assert outcome.stdout == ""
    policy = json.loads(aws.client("secretsmanager").get_resource_policy(SecretId=arn)["ResourcePolicy"])
    assert "333333333333" in json.dumps(policy)  # the stack's grant is still there


@pytest.mark.parametrize("how", ["option", "environment"])
def test_with_the_stack_named_the_run_acts_with_its_settings_and_not_the_environments(
    aws, run, stack, monkeypatch, how
):
    arn = shared_secret(aws, "222222222222 333333333333")
    run("--stack", stack, "reconcile", arn)
    monkeypatch.setenv("ALLOWED_CONSUMERS", "222222222222")
    if how == "environment":
        monkeypatch.setenv("SECRETSHARE_STACK", stack)
    named = ["--stack", stack] if how == "option" else []

    outcome = run(*named, "reconcile", arn, "--dry-run", "--json")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["drift"] is False and document["changes"] == []
    assert document["consumers"] == ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"]


def test_stack_none_acts_with_the_environments_settings_unchecked(aws, run, stack, monkeypatch):
    arn = shared_secret(aws, "222222222222 333333333333")
    run("--stack", stack, "reconcile", arn)
    monkeypatch.setenv("ALLOWED_CONSUMERS", "222222222222")

    outcome = run("--stack", "none", "reconcile", arn, "--dry-run", "--json")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert json.loads(outcome.stdout)["consumers"] == ["arn:aws:iam::222222222222:root"]


def test_a_stack_that_does_not_exist_is_a_usage_error(aws, run):
    outcome = run("--stack", "secretshare-prod", "status")
    assert outcome.exit_code == EXIT_USAGE
    assert outcome.error_lines == [
        "Error: no secretshare stack 'secretshare-prod' in account 123456789012, region eu-west-1; hint: name the "
        "stack `sam deploy` created (`aws cloudformation describe-stacks`), in its region"
    ]


def test_settings_that_match_the_stack_need_no_option(aws, run, stack):
    arn = shared_secret(aws, "222222222222 333333333333")  # the fixture's ALLOWED_CONSUMERS is the stack's
    assert run("reconcile", arn).exit_code == EXIT_OK


@pytest.mark.parametrize(
    ("key_mode", "new_key"),
    [(None, "dedicated"), ("pool", "pool"), ("dedicated", "dedicated")],
    ids=["stack-from-before-the-pool", "pool", "dedicated"],
)
def test_the_stacks_key_mode_decides_the_new_key_and_a_stack_from_before_the_pool_keeps_dedicated_keys(
    aws, run, key_mode, new_key
):
    template = json.loads(json.dumps(STACK_TEMPLATE))
    if key_mode:
        template["Parameters"]["KeyMode"] = {"Type": "String", "Default": key_mode}
    allowed = [{"ParameterKey": "AllowedConsumers", "ParameterValue": "222222222222"}]
    aws.client("cloudformation").create_stack(
        StackName="secretshare", TemplateBody=json.dumps(template), Parameters=allowed
    )
    arn = shared_secret(aws, "222222222222")

    outcome = run("--stack", "secretshare", "reconcile", arn, "--dry-run", "--json")

    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert [key["new_key"] for key in json.loads(outcome.stdout)["keys"]] == [new_key]
