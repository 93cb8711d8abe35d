"""The sweep function on moto: one message per secret out of sync, on the FIFO queue, in the shape the reconcile
function reads; then those messages, fed to the reconcile function, repair what drifted."""

from __future__ import annotations

import json

import pytest
from support.sam import CONSUMER_B, LambdaContext, load_sample, load_template, sqs_batch

from secretshare.domain.errors import ConfigurationError
from secretshare.reconciler.sweep import MESSAGE_GROUP_ID, sweep_message


@pytest.fixture
def queue_url(world, monkeypatch) -> str:
    url = world.sqs.create_queue(
        QueueName="secretshare-reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    return url


def drain(world, queue_url: str) -> list[dict]:
    """Every message on the queue (received and deleted), in order."""
    found = []
    while True:
        messages = world.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            world.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        found += messages


def test_sweep_queues_tagged_secrets_and_secrets_still_granted_then_reconcile_repairs_them(
    world, queue_url, sweep_app, reconcile_app
):
    tagged = world.create_secret("payments/db-password", share_with=CONSUMER_B)
    untagged_later = world.create_secret("billing/api-key", share_with=CONSUMER_B)
    in_sync = world.create_secret("team/in-sync", share_with=CONSUMER_B)
    world.create_secret("unrelated/secret")
    for arn in (untagged_later, in_sync):
        reconcile_app.handler(sqs_batch(sweep_message(arn)), LambdaContext())
    assert world.published_policy(CONSUMER_B, "billing/api-key") is not None
    world.secretsmanager.untag_resource(SecretId=untagged_later, TagKeys=["share-with"])  # no event seen

    assert sweep_app.handler(load_sample("sweep-start.json"), LongContext()) == {
        "checked": 3,
        "queued": 2,
        "resume_after": None,
    }

    messages = drain(world, queue_url)
    assert sorted(json.loads(m["Body"])["resources"][0] for m in messages) == sorted([tagged, untagged_later])
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {MESSAGE_GROUP_ID}

    records = {"Records": [{**sqs_batch(m["Body"])["Records"][0], "messageId": m["MessageId"]} for m in messages]}
    assert reconcile_app.handler(records, LambdaContext()) == {"batchItemFailures": []}
    assert world.published_policy(CONSUMER_B, "payments/db-password") is not None
    assert world.published_policy(CONSUMER_B, "billing/api-key") is None


def test_a_second_sweep_within_five_minutes_is_deduplicated_by_the_fifo_queue(world, queue_url, sweep_app):
    world.create_secret("payments/db-password", share_with=CONSUMER_B)

    sweep_app.handler({}, LongContext())
    sweep_app.handler({}, LongContext())

    assert len(drain(world, queue_url)) == 1


def test_sweep_without_queue_url_fails_saying_so(world, sweep_app, monkeypatch):
    monkeypatch.delenv("QUEUE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="QUEUE_URL is not set"):
        sweep_app.handler({}, LongContext())


def test_the_template_points_the_sweep_at_the_reconcile_queue_and_the_rules_use_the_sweeps_message_group():
    template = load_template()
    assert template["Globals"]["Function"]["Environment"]["Variables"]["QUEUE_URL"] == {"Ref": "ReconcileQueue"}
    for name in ("ShareTagChangeRule", "SecretApiCallRule"):
        (target,) = template["Resources"][name]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["ReconcileQueue", "Arn"]}
        assert target["SqsParameters"] == {"MessageGroupId": MESSAGE_GROUP_ID}


class LongContext(LambdaContext):
    """A sweep invocation with the function's full 900 s ahead of it."""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class LastMinuteContext(LambdaContext):
    """A sweep invocation with only the 60 s the sweep keeps back left."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_a_sweep_cut_short_hands_the_rest_over_and_the_next_invocation_finishes_it_repeating_nothing(
    world, queue_url, sweep_app, monkeypatch
):
    sweep_queue = world.sqs.create_queue(QueueName="secretshare-sweep")["QueueUrl"]
    monkeypatch.setenv("SWEEP_QUEUE_URL", sweep_queue)
    monkeypatch.setattr("secretshare.reconciler.sweep.SWEEP_CHUNK", 2)
    arns = sorted(world.create_secret(f"app/s{i}", share_with=CONSUMER_B) for i in range(5))

    # 60 s left: the sweep keeps 60 s back, so it does one chunk and hands the rest over.
    first = sweep_app.handler(load_sample("sweep-start.json"), LastMinuteContext())
    (hand_over,) = world.sqs.receive_message(QueueUrl=sweep_queue)["Messages"]
    second = sweep_app.handler(sqs_batch(hand_over["Body"]), LongContext())

    assert first == {"checked": 2, "queued": 2, "resume_after": arns[1]}
    assert json.loads(hand_over["Body"]) == {"resume_after": arns[1]}
    assert second == {"checked": 3, "queued": 3, "resume_after": None}
    queued = [json.loads(m["Body"])["resources"][0] for m in drain(world, queue_url)]
    assert sorted(queued) == arns  # every secret once: nothing lost, nothing repeated
