"""A burst of interleaved tag changes on secrets sharing one KMS key, delivered through the FIFO queue (one
message group, as the template configures it) to the reconcile handler, ends with every grant present and exact.

The queue is moto's SQS FIFO queue; the test plays Lambda's event source mapping: receive up to ten messages,
hand them to the handler as an SQS event, delete those it did not report failed. Tags keep changing while
batches are in flight.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter

import pytest
from checks import ROLE_C, ROOT_B, ROOT_D, B, D, assert_shared_exactly
from support.sam import LambdaContext, lambda_records, load_sample

from secretshare.domain.consumers import audiences
from secretshare.domain.keypolicy import granted_secret_arns
from secretshare.reconciler.sweep import MESSAGE_GROUP_ID

SECRETS = ["app/db-password", "app/api-key", "billing/token", "orders/queue-key", "reports/readonly"]
# Tag values a person might set, and None for removing the tag.
TAG_VALUES = [B, ROLE_C, D, f"{B} {ROLE_C}", f"{ROLE_C} {D}", f"{B} {D}", f"{B} {ROLE_C} {D}", None]
PRINCIPALS = {B: ROOT_B, ROLE_C: ROLE_C, D: ROOT_D}


@pytest.fixture
def shared_key(world, monkeypatch):
    key_arn = world.create_key()["Arn"]
    monkeypatch.setenv("SHARED_KEY_ARN", key_arn)
    return key_arn


@pytest.fixture
def queue(world):
    sqs = world.own_session.client("sqs")
    url = sqs.create_queue(
        QueueName="secretshare-ReconcileQueue.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "720"},
    )["QueueUrl"]
    return sqs, url


def tag_change_event(secret_arn, value):
    """What EventBridge delivers for one tag change: its own id and time, so no two are deduplicated."""
    event = load_sample("tag-change.json")
    event["id"] = str(uuid.uuid4())
    event["resources"] = [secret_arn]
    event["detail"]["tags"] = {"share-with": value} if value else {}
    return event


def send(queue, event):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageGroupId=MESSAGE_GROUP_ID)


def test_a_burst_of_interleaved_tag_changes_on_one_shared_key_ends_with_every_grant_exact(
    world, shared_key, queue, reconcile_app, default_session
):
    sqs, url = queue
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    arns = {name: world.create_secret(name) for name in SECRETS}
    final: dict[str, str | None] = dict.fromkeys(SECRETS)
    rng = random.Random(20261128)

    def change_a_tag(name=None, value=""):
        name = name or rng.choice(SECRETS)
        value = rng.choice(TAG_VALUES) if value == "" else value
        if value is None:
            world.untag(arns[name])
        else:
            world.tag(arns[name], value)
        final[name] = value
        send(queue, tag_change_event(arns[name], value))

    for _ in range(12):
        change_a_tag()
    handled = 0
    batches = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        batches += 1
        # While a batch is in flight, more changes happen (and are queued behind it).
        if batches <= 3:
            for _ in range(rng.randint(2, 6)):
                change_a_tag()
        if batches == 3:
            change_a_tag("app/api-key", None)  # the last change unshares a secret shared earlier
        response = reconcile_app.handler({"Records": lambda_records(messages, queue_arn)}, LambdaContext())
        assert response == {"batchItemFailures": []}
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        handled += len(messages)

    assert None in final.values() and len({v for v in final.values() if v}) < len([v for v in final.values() if v])
    assert batches > 2 and handled > 20, (batches, handled)
    for name, value in final.items():
        wanted = {PRINCIPALS[entry] for entry in value.split()} if value else set()
        assert_shared_exactly(world, arns[name], wanted)
        if wanted:
            assert world.kms_key_id(arns[name]) == shared_key
    # On the shared key, each secret is named in exactly one grant per audience of its consumers (its accounts, its
    # roles by name), and no grant is left naming no secret.
    ours = world.ours(world.key_policy(shared_key))
    named = Counter(arn for statement in ours for arn in granted_secret_arns(statement))
    wanted_grants = {
        arns[name]: len(audiences(PRINCIPALS[entry] for entry in value.split()))
        for name, value in final.items()
        if value
    }
    assert named == Counter(wanted_grants)
    assert all(granted_secret_arns(statement) for statement in ours)
