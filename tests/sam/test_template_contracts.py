"""What template.yaml and samconfig.toml promise: runtime and layer, queue, alarms, parameters and outputs."""

from __future__ import annotations

import tomllib

import pytest
from samcli.cli.types import CfnParameterOverridesType
from support.sam import REPO, load_template, parameter_defaults

from secretshare.domain.settings import STACK_OUTPUT_SETTINGS, STACK_PARAMETER_SETTINGS, Settings

PARAMETERS = {
    "ShareTagKey",
    "ShareUntilTagKey",
    "ConsumerRoleName",
    "ParameterPrefix",
    "AllowedConsumers",
    "SharedKeyArn",
    "KeyMode",
    "SweepSchedule",
    "AlarmEmail",
    "CreateTrail",
    "ReconcileRoleName",
}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_sam_transform_globals_and_an_arm64_python_runtime(template):
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    function = template["Globals"]["Function"]
    assert function["Runtime"].startswith("python3.")
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [{"Ref": "SecretShareLayer"}]


def test_the_layer_is_built_from_layers_for_the_same_runtime_and_architecture(template):
    layer = template["Resources"]["SecretShareLayer"]
    runtime = template["Globals"]["Function"]["Runtime"]
    assert layer["Properties"]["ContentUri"] == "layers/"
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": runtime, "BuildArchitecture": "arm64"}
    requirements = (REPO / "layers" / "requirements.txt").read_text()
    assert "aws-lambda-powertools>=3" in requirements


def test_function_settings_come_from_the_parameters_with_the_librarys_names(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {key: value for key, value in variables.items() if isinstance(value, dict)} == {
        "SHARE_TAG_KEY": {"Ref": "ShareTagKey"},
        "CONSUMER_ROLE_NAME": {"Ref": "ConsumerRoleName"},
        "PARAMETER_PREFIX": {"Ref": "ParameterPrefix"},
        "ALLOWED_CONSUMERS": {"Ref": "AllowedConsumers"},
        "SHARED_KEY_ARN": {"Ref": "SharedKeyArn"},
        "KEY_MODE": {"Ref": "KeyMode"},
        "SHARE_UNTIL_TAG_KEY": {"Ref": "ShareUntilTagKey"},
        "EXPIRY_SCHEDULE_GROUP": {"Ref": "ExpiryScheduleGroup"},
        "EXPIRY_SCHEDULE_ROLE_ARN": {"Fn::GetAtt": ["ExpiryScheduleRole", "Arn"]},
        "QUEUE_ARN": {"Fn::GetAtt": ["ReconcileQueue", "Arn"]},
        "QUEUE_URL": {"Ref": "ReconcileQueue"},
    }
    defaults = parameter_defaults(template)
    references = {name: value.get("Ref") for name, value in variables.items() if isinstance(value, dict)}
    from_parameters = {name: defaults[ref] for name, ref in references.items() if ref in defaults}
    settings = Settings.from_env(from_parameters)
    assert settings == Settings()  # the template's defaults are the library's defaults


def test_reconcile_function_reads_the_fifo_queue_reporting_partial_failures(template):
    function = template["Resources"]["ReconcileFunction"]["Properties"]
    (source,) = function["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": ["ReconcileQueue", "Arn"]}
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (function["CodeUri"], function["Handler"]) == ("functions/reconcile/", "app.handler")
    assert template["Resources"]["SweepFunction"]["Properties"]["CodeUri"] == "functions/sweep/"


def test_queue_is_fifo_with_content_deduplication_and_a_fifo_dead_letter_queue(template):
    queue = template["Resources"]["ReconcileQueue"]["Properties"]
    assert queue["FifoQueue"] is True and queue["ContentBasedDeduplication"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "Arn"]}
    assert 2 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 5
    dead = template["Resources"]["ReconcileDeadLetterQueue"]["Properties"]
    # The function moves spent retries there itself (runtime.retries): a FIFO queue deduplicating by content.
    assert dead["FifoQueue"] is True and dead["ContentBasedDeduplication"] is True
    # AWS's advice for SQS event sources: visibility timeout at least six times the function timeout.
    assert queue["VisibilityTimeout"] >= 6 * template["Resources"]["ReconcileFunction"]["Properties"]["Timeout"]


def test_the_sweep_is_started_and_continued_through_its_own_queue_within_lambdas_limits(template):
    resources = template["Resources"]
    sweep = resources["SweepFunction"]["Properties"]
    (source,) = sweep["Events"].values()
    assert source == {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["SweepQueue", "Arn"]}, "BatchSize": 1}}
    assert sweep["Timeout"] <= 900  # Lambda's maximum (docs/aws-facts.md §9)
    assert resources["SweepQueue"]["Properties"]["VisibilityTimeout"] > sweep["Timeout"]
    assert sweep["Environment"]["Variables"]["SWEEP_QUEUE_URL"] == {"Ref": "SweepQueue"}
    rule = resources["SweepScheduleRule"]["Properties"]
    assert rule["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    assert rule["Targets"] == [
        {"Id": "sweep-queue", "Arn": {"Fn::GetAtt": ["SweepQueue", "Arn"]}, "Input": '{"resume_after": ""}'}
    ]


def test_only_the_two_rules_may_send_to_the_queue(template):
    policy = template["Resources"]["ReconcileQueuePolicy"]
    allow = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "SecretShareRulesSend",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["ReconcileQueue", "Arn"]},
            "Condition": {
                "ArnEquals": {
                    "aws:SourceArn": [
                        {"Fn::GetAtt": ["ShareTagChangeRule", "Arn"]},
                        {"Fn::GetAtt": ["SecretApiCallRule", "Arn"]},
                    ]
                }
            },
        }
    ]


def test_the_cloudtrail_rule_listens_to_the_calls_the_issue_lists(template):
    pattern = template["Resources"]["SecretApiCallRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["eventSource"] == ["secretsmanager.amazonaws.com"]
    assert set(pattern["detail"]["eventName"]) == {
        "CreateSecret",
        "TagResource",
        "UntagResource",
        "UpdateSecret",
        "DeleteSecret",
        "RestoreSecret",
        "PutResourcePolicy",
        "DeleteResourcePolicy",
        "ReplicateSecretToRegions",
        "RemoveRegionsFromReplication",
    }


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric"),
    [
        ("ReconcileFailedAlarm", "SecretShare", "ReconcileFailed"),
        ("ReconcileErrorsAlarm", "AWS/Lambda", "Errors"),
        ("DeadLetterQueueAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    ],
)
def test_alarms_fire_at_one_and_treat_missing_data_as_fine(template, alarm, namespace, metric):
    properties = template["Resources"][alarm]["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric)
    assert properties["Threshold"] == 1
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_alarm_email_and_trail_are_optional(template):
    assert template["Resources"]["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    trail_parts = {"TrailBucket", "TrailBucketPolicy", "Trail"}
    assert {name for name, r in template["Resources"].items() if r.get("Condition") == "CreateTrail"} == trail_parts
    assert template["Parameters"]["CreateTrail"]["Default"] == "false"
    trail = template["Resources"]["Trail"]["Properties"]
    assert trail["IsLogging"] is True
    assert trail["EventSelectors"] == [{"IncludeManagementEvents": True, "ReadWriteType": "WriteOnly"}]


def test_the_command_lines_stack_settings_are_what_the_stack_passes_its_functions(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    from_stack = {variable: {"Ref": parameter} for parameter, variable in STACK_PARAMETER_SETTINGS.items()}
    from_stack |= {variable: template["Outputs"][output]["Value"] for output, variable in STACK_OUTPUT_SETTINGS.items()}
    # Every setting the functions get from the stack, the command line's --stack reads the same way.
    assert from_stack == {name: value for name, value in variables.items() if isinstance(value, dict)}


def test_parameters_and_outputs(template):
    assert set(template["Parameters"]) == PARAMETERS
    assert template["Parameters"]["SweepSchedule"]["Default"] == "rate(1 hour)"
    assert {"ReconcileRoleArn", "ReconcileQueueUrl", "ReconcileQueueArn", "AlarmTopicArn"} <= set(template["Outputs"])
    assert template["Outputs"]["ReconcileRoleArn"]["Value"] == {"Fn::GetAtt": ["ReconcileRole", "Arn"]}
    # Named by CloudFormation (within IAM's 64 characters whatever the stack name) unless ReconcileRoleName is set.
    assert template["Resources"]["ReconcileRole"]["Properties"]["RoleName"] == {
        "Fn::If": ["HasReconcileRoleName", {"Ref": "ReconcileRoleName"}, {"Ref": "AWS::NoValue"}]
    }


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_samconfig_environments_deploy_with_iam_capabilities_and_valid_overrides(template, environment):
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    deploy = config[environment]["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}
    assert deploy["resolve_s3"] is True
    # Parsed as `sam deploy` parses them: values with spaces must survive (SAM splits unquoted ones).
    overrides = CfnParameterOverridesType().convert(deploy["parameter_overrides"], None, None)
    assert set(overrides) <= set(template["Parameters"])
    assert overrides["SweepSchedule"] == "rate(1 hour)"
    if environment == "prod":
        assert overrides["AllowedConsumers"] == "222222222222 333333333333"
