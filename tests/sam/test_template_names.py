"""Every name template.yaml gives a resource stays within AWS's limit for the longest stack name CloudFormation allows
(128 characters) in the longest region names; names it leaves to CloudFormation are made within the limits."""

from __future__ import annotations

import pytest
from support.sam import load_template, parameter_defaults, resolve

LONGEST_STACK_NAME = "s" * 128  # CloudFormation's limit
# (resource type, property) -> the longest name AWS accepts (docs/aws-facts.md §9, and each service's API reference).
LIMITS = {
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::Scheduler::ScheduleGroup", "Name"): 64,
    ("AWS::Serverless::Function", "FunctionName"): 64,
    ("AWS::Serverless::LayerVersion", "LayerName"): 140,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::CloudTrail::Trail", "TrailName"): 128,
    ("AWS::SQS::Queue", "QueueName"): 80,
    ("AWS::SNS::Topic", "TopicName"): 256,
}


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-3", "us-gov-west-1"])
def test_every_name_fits_its_limit_with_the_longest_stack_name(region):
    template = load_template()
    pseudo = {
        "AWS::StackName": LONGEST_STACK_NAME,
        "AWS::Region": region,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:123456789012:stack/{LONGEST_STACK_NAME}/"
        "4c5e8a10-ce2f-11ef-9a3b-0a1b2c3d4e5f",
    }
    checked = 0
    for name, resource in template["Resources"].items():
        for (resource_type, field), limit in LIMITS.items():
            if resource["Type"] != resource_type or field not in resource.get("Properties", {}):
                continue
            value = resolve(resource["Properties"][field], parameter_defaults(template), pseudo)
            if isinstance(value, dict) and "Fn::If" in value:
                continue  # ReconcileRoleName: empty by default (CloudFormation names it), else within 64 by pattern
            assert isinstance(value, str) and len(value) <= limit, (name, field, value)
            checked += 1
    assert checked >= 3  # the layer, the two log groups (and the trail)


def test_the_reconcile_role_name_parameter_allows_only_names_iam_accepts():
    pattern = load_template()["Parameters"]["ReconcileRoleName"]["AllowedPattern"]
    assert pattern == "^([A-Za-z0-9+=,.@_-]{1,64})?$"
