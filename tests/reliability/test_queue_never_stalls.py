"""A secret that keeps failing never holds up the others on the FIFO queue.

AWS delivers nothing else of a message group while one of its messages is in flight or waiting to be retried
(docs/aws-facts.md §8), and the reconcile queue has one group. So the handler never leaves a failed message to the
queue's retries: what retrying soon cannot fix is recorded and left to the sweep; what it may fix is queued again
behind the others, and after MAX_ATTEMPTS moved to the dead-letter queue.

The test plays Lambda's event source mapping against moto's FIFO queue. A message left to the queue's own retries
would stay invisible (the visibility timeout): the checks below would find it `NotVisible`, and the other
reconciliations behind it would not have run.
"""

from __future__ import annotations

import json

import pytest
from checks import ROOT_B, B, C, assert_shared_exactly, metric_totals
from support.sam import LambdaContext, deliver_once

from secretshare.reconciler.sweep import MESSAGE_GROUP_ID, sweep_message
from secretshare.runtime.observability import RECONCILE_FAILED, RECONCILE_SUCCEEDED
from secretshare.runtime.retries import MAX_ATTEMPTS, RESERVE_SECONDS, RETRY_SOURCE

GOOD = ["app/one", "app/two", "app/three", "app/four"]


@pytest.fixture
def queues(world, monkeypatch):
    """The reconcile FIFO queue and its dead-letter queue, as the template makes them, named in the settings."""
    sqs = world.sqs
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "720"}
    url = sqs.create_queue(QueueName="reconcile.fifo", Attributes=attributes)["QueueUrl"]
    dead = sqs.create_queue(QueueName="reconcile-dlq.fifo", Attributes=attributes)["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dead)
    return sqs, url, dead


def queue_all(sqs, url, arns):
    for arn in arns:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(sweep_message(arn)), MessageGroupId=MESSAGE_GROUP_ID)


def drain(sqs, url, reconcile_app, polls=20):
    """Poll until the queue is empty; return the messages each poll delivered."""
    delivered = []
    for _ in range(polls):
        messages = deliver_once(sqs, url, reconcile_app.handler, LambdaContext())
        if not messages:
            return delivered
        delivered.append(messages)
    raise AssertionError(f"the queue did not drain in {polls} polls")


def counts(sqs, url):
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(found["ApproximateNumberOfMessages"]), int(found["ApproximateNumberOfMessagesNotVisible"])


def test_a_consumer_account_that_keeps_refusing_delays_nobody_and_is_left_to_the_sweep(
    world, queues, reconcile_app, handler_faults, handler_output
):
    sqs, url, dead = queues
    failing = world.create_secret("app/failing", f"{B} {C}")
    good = [world.create_secret(name, B) for name in GOOD]
    handler_faults.deny("sts.AssumeRole", "not authorized", when=lambda p: C in p["RoleArn"])
    queue_all(sqs, url, [failing, *good])  # the failing secret first: it would hold the others back

    delivered = drain(sqs, url, reconcile_app)

    assert len(delivered) == 1, "everything in one delivery: nothing came back"
    for arn in good:
        assert_shared_exactly(world, arn, {ROOT_B})
    assert counts(sqs, url) == (0, 0) and counts(sqs, dead) == (0, 0)
    assert world.status(failing) == f"error 1 unreachable: {C} / ok 2 consumers"  # both granted in A
    totals = metric_totals(handler_output.readouterr().out)
    assert totals[RECONCILE_FAILED] == 1 and totals[RECONCILE_SUCCEEDED] == len(GOOD)


def test_a_call_in_a_that_keeps_failing_is_retried_behind_the_others_then_dead_lettered(
    world, queues, reconcile_app, handler_faults, handler_output
):
    sqs, url, dead = queues
    failing = world.create_secret("app/failing", B)
    good = [world.create_secret(name, B) for name in GOOD]
    handler_faults.fail(
        "secretsmanager.PutResourcePolicy",
        "InternalServiceError",
        "down",
        status=500,
        when=lambda p: p["SecretId"] == failing,
    )
    queue_all(sqs, url, [failing, *good])

    delivered = drain(sqs, url, reconcile_app)

    # First delivery: all five; then the failing one alone, queued again behind them, each time.
    assert [len(messages) for messages in delivered] == [1 + len(GOOD), *([1] * (MAX_ATTEMPTS - 1))]
    for arn in good:
        assert_shared_exactly(world, arn, {ROOT_B})
    assert counts(sqs, url) == (0, 0)
    (parked,) = sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(parked["Body"])
    assert body["source"] == RETRY_SOURCE and body["resources"] == [failing]
    assert body["detail"]["attempt"] == MAX_ATTEMPTS + 1 and "InternalServiceError" in body["detail"]["reason"]
    assert world.status(failing).startswith("error InternalServiceError secretsmanager:PutResourcePolicy")
    assert metric_totals(handler_output.readouterr().out)[RECONCILE_FAILED] == MAX_ATTEMPTS


def test_a_throttled_call_that_passes_on_the_second_attempt_converges_without_a_person(
    world, queues, reconcile_app, handler_faults
):
    sqs, url, _ = queues
    arn = world.create_secret("app/throttled", B)
    throttle = handler_faults.throttle("kms.CreateKey", attempts=None)
    queue_all(sqs, url, [arn])
    deliver_once(sqs, url, reconcile_app.handler, LambdaContext())
    handler_faults.remove(throttle)

    drain(sqs, url, reconcile_app)

    assert_shared_exactly(world, arn, {ROOT_B})
    assert world.status(arn) == "ok 1 consumer"


class RunningOutContext(LambdaContext):
    """An invocation that has time for `records` reconciliations, then too little (RESERVE_SECONDS less a second)."""

    def __init__(self, records: int) -> None:
        self.asked = 0
        self.records = records

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return 120_000 if self.asked <= self.records else (RESERVE_SECONDS - 1) * 1000


def test_records_an_invocation_has_no_time_for_are_queued_again_untried_and_converge_next(
    world, queues, reconcile_app, handler_output
):
    sqs, url, dead = queues
    good = [world.create_secret(name, B) for name in GOOD]
    queue_all(sqs, url, good)

    first = deliver_once(sqs, url, reconcile_app.handler, RunningOutContext(records=2))
    done_first = [arn for arn in good if world.status(arn) is not None]
    requeued = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    bodies = [json.loads(m["Body"]) for m in requeued]
    rest = drain(sqs, url, reconcile_app)

    assert len(first) == len(GOOD) and len(done_first) == 2, "two reconciled, two not started"
    assert [b["source"] for b in bodies] == [RETRY_SOURCE] * 2
    assert [b["detail"]["attempt"] for b in bodies] == [1, 1], "a deferral is not an attempt"
    assert rest, "the deferred ones came back"
    for arn in good:
        assert_shared_exactly(world, arn, {ROOT_B})
    assert counts(sqs, url) == (0, 0) and counts(sqs, dead) == (0, 0)
    assert "reconciliation not started: deferred" in handler_output.readouterr().out
