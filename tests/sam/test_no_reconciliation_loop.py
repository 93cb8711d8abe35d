"""Writing the status tag (or any other write of a reconciliation) never sets off another reconciliation.

For each write AWS emits an "AWS API Call via CloudTrail" event whose identity is the reconcile role and, for a
tag write, a "Tag Change on Resource" event. moto emits neither, so the test makes them from the calls the
reconcile handler made (recorded with a botocore hook), shaped as AWS sends them, and puts them on moto's
EventBridge carrying the template's rules. The same writes made by a person are routed, so the check can fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from support.sam import (
    API_RULE,
    PRODUCER,
    RECONCILE_ROLE_ARN,
    REGION,
    TAG_RULE,
    LambdaContext,
    sqs_batch,
)
from test_event_routing import Bus, pattern_rules

from secretshare.reconciler.sweep import sweep_message

# The API calls the CloudTrail rule listens for that a reconciliation makes itself.
SECRET_WRITES = {"TagResource", "UntagResource", "UpdateSecret", "PutResourcePolicy", "DeleteResourcePolicy"}
PERSON = {
    "type": "AssumedRole",
    "arn": f"arn:aws:sts::{PRODUCER}:assumed-role/PlatformAdmin/alice",
    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{PRODUCER}:role/PlatformAdmin"}},
}


def reconcile_role_identity() -> dict[str, Any]:
    """The CloudTrail identity of the reconcile function: its role, as CloudFormation names it by default."""
    role_name = RECONCILE_ROLE_ARN.split("/")[-1]
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{PRODUCER}:assumed-role/{role_name}/secretshare-reconcile",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{PRODUCER}:role/{role_name}"}},
    }


class Recorder:
    """The Secrets Manager writes made through a session, as (operation, request parameters)."""

    def __init__(self, session: boto3.Session) -> None:
        self.writes: list[tuple[str, dict[str, Any]]] = []
        session.events.register("before-call.secretsmanager", self._record)

    def _record(self, model: Any, params: dict, **_: Any) -> None:
        if model.name in SECRET_WRITES:
            self.writes.append((model.name, json.loads(params["body"] or b"{}")))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        taken, self.writes = self.writes, []
        return taken


def events_for(operation: str, request: dict[str, Any], identity: dict[str, Any]) -> list[dict[str, Any]]:
    """What EventBridge receives for one Secrets Manager call: the CloudTrail event, and a tag-change event."""
    secret = request["SecretId"]
    cloudtrail = {
        "source": "aws.secretsmanager",
        "detail-type": "AWS API Call via CloudTrail",
        "resources": [],
        "detail": {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": operation,
            "awsRegion": REGION,
            "userIdentity": identity,
            "requestParameters": {
                "secretId": secret,
                **(
                    {"tags": [{"key": t["Key"], "value": t["Value"]} for t in request["Tags"]]}
                    if "Tags" in request
                    else {}
                ),
                **({"tagKeys": request["TagKeys"]} if "TagKeys" in request else {}),
            },
            "responseElements": None,
        },
    }
    changed = [t["Key"] for t in request.get("Tags", [])] + request.get("TagKeys", [])
    if not changed:
        return [cloudtrail]
    tag_change = {
        "source": "aws.tag",
        "detail-type": "Tag Change on Resource",
        "resources": [secret],
        "detail": {"changed-tag-keys": changed, "service": "secretsmanager", "resource-type": "secret", "tags": {}},
    }
    return [cloudtrail, tag_change]


@pytest.fixture
def bus(world) -> Iterator[Bus]:
    yield Bus(pattern_rules())


def run_until_quiet(reconcile_app, bus: Bus, recorder: Recorder, first: dict, rounds: int = 5) -> list[set[str]]:
    """Reconcile, turn the handler's writes into the events AWS would emit, route them, repeat while any is routed.

    Returns the rules that fired after each round.
    """
    fired: list[set[str]] = []
    messages = [first]
    for _ in range(rounds):
        reconcile_app.handler(sqs_batch(*messages), LambdaContext())
        for operation, request in recorder.take():
            for event in events_for(operation, request, reconcile_role_identity()):
                bus.put(event)
        fired.append(bus.receivers())
        if not fired[-1]:
            break
        messages = [first]  # any routed event names the same secret
    return fired


def test_the_status_tag_and_every_other_write_of_a_reconciliation_set_off_nothing(
    world, bus, reconcile_app, default_session
):
    recorder = Recorder(default_session)
    arn = world.create_secret("app/db-password", "222222222222 12345")

    fired = run_until_quiet(reconcile_app, bus, recorder, sweep_message(arn))

    assert fired == [set()], "a reconciliation's own writes must not queue another reconciliation"
    status = {t["Key"]: t["Value"] for t in world.secretsmanager.describe_secret(SecretId=arn)["Tags"]}
    assert status["share-with-status"] == "error 1 rejected: 12345 not-an-account / ok 1 consumer"


def test_revoking_and_removing_the_status_tag_sets_off_nothing(world, bus, reconcile_app, default_session):
    recorder = Recorder(default_session)
    arn = world.create_secret("app/db-password", "222222222222")
    run_until_quiet(reconcile_app, bus, recorder, sweep_message(arn))
    world.secretsmanager.untag_resource(SecretId=arn, TagKeys=["share-with"])

    fired = run_until_quiet(reconcile_app, bus, recorder, sweep_message(arn))

    assert fired == [set()]
    tags = world.secretsmanager.describe_secret(SecretId=arn).get("Tags", [])
    assert [t for t in tags if t["Key"] == "share-with-status"] == []


def test_the_same_writes_made_by_a_person_are_routed(world, bus):
    arn = world.create_secret("app/db-password")
    status = {"SecretId": arn, "Tags": [{"Key": "share-with-status", "Value": "ok 1 consumer"}]}
    share = {"SecretId": arn, "Tags": [{"Key": "share-with", "Value": "222222222222"}]}

    for event in events_for("TagResource", status, PERSON):
        bus.put(event)
    by_person_status = bus.receivers()
    for event in events_for("PutResourcePolicy", {"SecretId": arn}, PERSON):
        bus.put(event)
    by_person_policy = bus.receivers()
    for event in events_for("TagResource", share, reconcile_role_identity()):
        bus.put(event)
    share_tag_by_role = bus.receivers()

    # A person's calls are routed by the API rule; the status tag alone never reaches the tag rule.
    assert by_person_status == {API_RULE}
    assert by_person_policy == {API_RULE}
    # A share tag written with the reconcile role's credentials (someone running as it) still reaches the tag rule.
    assert share_tag_by_role == {TAG_RULE}
