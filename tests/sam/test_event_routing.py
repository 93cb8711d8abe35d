"""Each sample event reaches the rule it is meant for and no other.

The template's rules are created in moto's EventBridge with their event patterns as written in template.yaml
(parameters at their defaults), each with a FIFO queue of its own as target, configured like the template's
target. Then every sample is put and the queues are read.

moto's matcher cannot match a field inside an array of objects; none of the template's patterns does that (the
CloudTrail rule never looks into `requestParameters.tags`, which is such an array). `changed-tag-keys` is an
array of strings, which moto matches like EventBridge: any element may match.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from support.sam import (
    API_RULE,
    REGION,
    ROUTES,
    SQS_SAMPLES,
    TAG_RULE,
    load_sample,
    load_template,
    parameter_defaults,
    resolve,
    resources_of_type,
    sample_names,
)

from secretshare.reconciler.sweep import MESSAGE_GROUP_ID


def pattern_rules(**parameters: str) -> dict[str, dict]:
    """Logical id -> rule properties (parameters resolved) for every rule with an event pattern."""
    template = load_template()
    values = parameter_defaults(template, **parameters)
    return {
        name: resolve(rule["Properties"], values)
        for name, rule in resources_of_type(template, "AWS::Events::Rule").items()
        if "EventPattern" in rule["Properties"]
    }


class Bus:
    """moto's default event bus with the template's pattern rules, each delivering to a FIFO queue of its own."""

    def __init__(self, rules: dict[str, dict]) -> None:
        session = boto3.Session(region_name=REGION)
        self.events = session.client("events")
        self.sqs = session.client("sqs")
        self.queues: dict[str, str] = {}
        for name, properties in rules.items():
            url = self.sqs.create_queue(
                QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
            )["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.queues[name] = url
            self.events.put_rule(Name=name, EventPattern=json.dumps(properties["EventPattern"]), State="ENABLED")
            (target,) = properties["Targets"]
            self.events.put_targets(
                Rule=name, Targets=[{"Id": target["Id"], "Arn": arn, "SqsParameters": target["SqsParameters"]}]
            )

    def put(self, event: dict) -> None:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event["resources"],
                }
            ]
        )
        assert response["FailedEntryCount"] == 0, response

    def receivers(self) -> set[str]:
        """Rules whose queue received a message since the last call (the messages are consumed)."""
        found = set()
        for name, url in self.queues.items():
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
            ).get("Messages", [])
            for message in messages:
                assert message["Attributes"]["MessageGroupId"] == MESSAGE_GROUP_ID
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                found.add(name)
        return found


@pytest.fixture
def bus() -> Iterator[Bus]:
    with mock_aws():
        yield Bus(pattern_rules())


def test_the_template_has_exactly_the_pattern_rules_routed_here():
    assert set(pattern_rules()) == {TAG_RULE, API_RULE}
    assert set(ROUTES) == {name for name in sample_names() if name not in SQS_SAMPLES}


@pytest.mark.parametrize("sample", sorted(ROUTES))
def test_sample_reaches_only_the_rule_it_is_meant_for(bus: Bus, sample: str):
    bus.put(load_sample(sample))
    expected = {ROUTES[sample]} - {None}
    assert bus.receivers() == expected


def test_the_delivered_message_is_the_event_with_the_secret_in_it(bus: Bus):
    bus.put(load_sample("cloudtrail-untag-resource-partial-arn.json"))
    (message,) = bus.sqs.receive_message(QueueUrl=bus.queues[API_RULE])["Messages"]
    body = json.loads(message["Body"])
    assert body["detail-type"] == "AWS API Call via CloudTrail"
    assert body["detail"]["requestParameters"]["secretId"].endswith(":secret:payments/db-password")


def test_a_custom_share_tag_key_is_what_the_tag_rule_matches():
    with mock_aws():
        bus = Bus(pattern_rules(ShareTagKey="team"))
        bus.put(load_sample("tag-change-unrelated-keys.json"))  # changes `team` and `share-without`
        assert bus.receivers() == {TAG_RULE}
        bus.put(load_sample("tag-change.json"))  # changes `share-with`, now an ordinary tag
        assert bus.receivers() == set()


def test_the_sweep_samples_are_what_the_schedule_rule_and_a_hand_over_put_on_the_sweep_queue():
    # A schedule rule has no pattern: EventBridge fires it and sends its constant input to the sweep queue.
    template = load_template()
    rule = template["Resources"]["SweepScheduleRule"]["Properties"]
    assert resolve(rule["ScheduleExpression"], parameter_defaults(template)) == "rate(1 hour)"
    (target,) = rule["Targets"]
    (start,) = load_sample("sweep-start.json")["Records"]
    assert json.loads(start["body"]) == json.loads(target["Input"]) == {"resume_after": ""}
    (handed_over,) = load_sample("sweep-continue.json")["Records"]
    assert json.loads(handed_over["body"])["resume_after"].startswith(f"arn:aws:secretsmanager:{REGION}:")
