"""`share-until`: a time-boxed share ends at its moment: AWS enforces it to the second through a condition in the
grants (who can read then: tests/access/test_time_boxed_access.py), and the schedule and the sweep remove the grants.

The clock is frozen by passing `now` to the library, the way the Lambda passes the real clock.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from secretshare.domain.events import secret_id_from_event
from secretshare.domain.names import expiry_schedule_name
from secretshare.reconciler.sweep import sweep

B = "222222222222"
C = "333333333333"
ROLE_C = f"arn:aws:iam::{C}:role/app"
NAME = "app/db-password"
PARAMETER = f"/secretshare/123456789012/eu-west-1/{NAME}"
GROUP = "secretshare-expiry"
UNTIL = "2026-12-31T18:00:00Z"
BEFORE = datetime(2026, 12, 1, tzinfo=UTC)
AFTER = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)  # the very moment it ends


@pytest.fixture
def scheduled(world):
    """The world with the template's expiry settings: a schedule group, Scheduler's role, the reconcile queue."""
    world.own_session.client("scheduler").create_schedule_group(Name=GROUP)
    world.settings = replace(
        world.settings,
        expiry_schedule_group=GROUP,
        expiry_schedule_role_arn="arn:aws:iam::123456789012:role/secretshare-expiry",
        queue_arn="arn:aws:sqs:eu-west-1:123456789012:secretshare-reconcile.fifo",
    )
    return world


def schedule(world, secret_arn):
    scheduler = world.own_session.client("scheduler")
    found = scheduler.list_schedules(GroupName=GROUP)["Schedules"]
    if not found:
        return None
    assert [s["Name"] for s in found] == [expiry_schedule_name(secret_arn)]
    return scheduler.get_schedule(Name=found[0]["Name"], GroupName=GROUP)


def test_a_share_until_a_future_moment_grants_and_schedules_its_end_exactly(scheduled):
    arn = scheduled.create_secret(NAME, f"{B} {ROLE_C}", tags={"share-until": UNTIL})

    scheduled.reconcile(arn, now=BEFORE)

    assert scheduled.sharing(arn).parameter_accounts == {B, C}
    assert scheduled.status(arn) == f"ok 2 consumers until {UNTIL}"
    found = schedule(scheduled, arn)
    assert found["ScheduleExpression"] == "at(2026-12-31T18:00:00)"
    assert found["ScheduleExpressionTimezone"] == "UTC"
    assert found["ActionAfterCompletion"] == "DELETE"
    assert found["Target"]["Arn"] == scheduled.settings.queue_arn
    assert found["Target"]["SqsParameters"] == {"MessageGroupId": "secretshare"}
    assert secret_id_from_event(json.loads(found["Target"]["Input"])) == arn


def test_every_grant_of_a_time_boxed_share_carries_its_end(scheduled):
    arn = scheduled.create_secret(NAME, f"{B} {ROLE_C}", tags={"share-until": "2026-12-31T19:00:00.250+01:00"})

    scheduled.reconcile(arn, now=BEFORE)

    ends = {"aws:CurrentTime": UNTIL}  # 18:00:00.250 UTC, to the whole second before
    resource_grants = scheduled.resource_policy(arn)["Statement"]
    key_grants = scheduled.key_grants_for(scheduled.key_policy(scheduled.kms_key_id(arn)), arn)
    # The account's grant and the role's (by name), in each policy.
    assert [grant["Condition"]["DateLessThan"] for grant in resource_grants] == [ends, ends]
    assert [grant["Condition"]["DateLessThan"] for grant in key_grants] == [ends, ends]


def test_at_the_moment_it_ends_every_grant_is_revoked_and_the_entries_stay(scheduled):
    arn = scheduled.create_secret(NAME, f"{B} {ROLE_C}", tags={"share-until": UNTIL})
    scheduled.reconcile(arn, now=BEFORE)
    key_id = scheduled.kms_key_id(arn)

    result = scheduled.reconcile(arn, now=AFTER)  # what the schedule's message makes happen

    assert result.consumers == ()
    assert scheduled.key_grants_for(scheduled.key_policy(key_id), arn) == []
    assert scheduled.resource_policy(arn) is None
    assert scheduled.parameter(B, PARAMETER) is None and scheduled.parameter(C, PARAMETER) is None
    assert scheduled.status(arn) == f"expired {UNTIL}"
    tags = {t["Key"]: t["Value"] for t in scheduled.secretsmanager.describe_secret(SecretId=arn)["Tags"]}
    assert tags["share-with"] == f"{B} {ROLE_C}" and tags["share-until"] == UNTIL
    assert schedule(scheduled, arn) is None
    assert any("expired" in note for note in result.plan.notes)


def test_a_share_until_a_past_date_grants_nothing(scheduled, calls):
    arn = scheduled.create_secret(NAME, B, tags={"share-until": "2026-11-01"})

    scheduled.reconcile(arn, now=BEFORE)

    assert scheduled.sharing(arn).parameter_accounts == set()
    assert scheduled.kms_key_id(arn) is None, "nothing to share: the secret stays where it was"
    assert scheduled.status(arn) == "expired 2026-11-01T00:00:00Z"
    assert schedule(scheduled, arn) is None
    assert {call.operation for call in calls.writes()} == {"TagResource"}


def test_a_malformed_date_is_rejected_and_grants_nothing(scheduled):
    arn = scheduled.create_secret(NAME, B, tags={"share-until": "31/12/2026"})

    result = scheduled.reconcile(arn, now=BEFORE)

    (rejected,) = result.rejected
    assert rejected.entry == "share-until=31/12/2026" and "31/12/2026" in rejected.reason
    assert "ISO 8601" in rejected.reason
    assert result.consumers == ()
    assert scheduled.sharing(arn).parameter_accounts == set()
    assert scheduled.status(arn) == "error 1 rejected: share-until=31/12/2026 malformed-date / nothing granted"


def test_fixing_or_removing_the_date_moves_or_removes_the_schedule(scheduled):
    arn = scheduled.create_secret(NAME, B, tags={"share-until": UNTIL})
    scheduled.reconcile(arn, now=BEFORE)

    scheduled.tag(arn, "2027-01-15T09:30:00+01:00", key="share-until")
    scheduled.reconcile(arn, now=BEFORE)
    moved = schedule(scheduled, arn)
    scheduled.untag(arn, key="share-until")
    scheduled.reconcile(arn, now=BEFORE)

    assert moved["ScheduleExpression"] == "at(2027-01-15T08:30:00)"
    assert schedule(scheduled, arn) is None
    assert scheduled.status(arn) == "ok 1 consumer"
    assert scheduled.sharing(arn).parameter_accounts == {B}


def test_a_time_boxed_share_in_sync_reads_its_schedule_and_writes_nothing(scheduled, calls):
    arn = scheduled.create_secret(NAME, B, tags={"share-until": UNTIL})
    scheduled.reconcile(arn, now=BEFORE)
    calls.clear()

    result = scheduled.reconcile(arn, now=BEFORE)

    assert result.plan.is_noop, result.changes
    assert calls.writes() == []
    assert [c.operation for c in calls.calls if c.service == "scheduler"] == ["GetSchedule"]


def test_a_deleted_schedule_is_made_again(scheduled):
    arn = scheduled.create_secret(NAME, B, tags={"share-until": UNTIL})
    scheduled.reconcile(arn, now=BEFORE)
    scheduled.own_session.client("scheduler").delete_schedule(Name=expiry_schedule_name(arn), GroupName=GROUP)

    scheduled.reconcile(arn, now=BEFORE)

    assert schedule(scheduled, arn)["ScheduleExpression"] == "at(2026-12-31T18:00:00)"


def test_the_sweep_finds_a_share_that_expired_even_without_its_schedule(scheduled):
    arn = scheduled.create_secret(NAME, B, tags={"share-until": UNTIL})
    scheduled.reconcile(arn, now=BEFORE)

    before = sweep(settings=scheduled.settings, session=scheduled.session, now=BEFORE)
    after = sweep(settings=scheduled.settings, session=scheduled.session, now=AFTER)

    assert arn not in before.to_reconcile
    assert arn in after.to_reconcile


def test_without_scheduler_settings_expiry_still_revokes(world, calls):
    arn = world.create_secret(NAME, B, tags={"share-until": UNTIL})
    world.reconcile(arn, now=BEFORE)
    assert world.sharing(arn).parameter_accounts == {B}

    world.reconcile(arn, now=AFTER)

    assert world.sharing(arn).parameter_accounts == set()
    assert [c for c in calls.calls if c.service == "scheduler"] == []


def test_a_share_until_with_fractional_seconds_schedules_the_next_whole_minute_and_stays_in_sync(scheduled, calls):
    """Scheduler fires within the minute it is set to (60-second precision, docs/aws-facts.md §9): set to the next
    whole minute, it never fires before the share ends, and it reads back exactly."""
    arn = scheduled.create_secret(NAME, B, tags={"share-until": "2026-12-31T17:59:30.250+00:00"})
    scheduled.reconcile(arn, now=BEFORE)
    assert schedule(scheduled, arn)["ScheduleExpression"] == "at(2026-12-31T18:00:00)"
    calls.clear()

    again = scheduled.reconcile(arn, now=BEFORE)
    report = sweep(settings=scheduled.settings, session=scheduled.session, now=BEFORE)

    assert again.plan.is_noop, again.changes
    assert [c for c in calls.calls if c.service == "scheduler" and not c.is_read] == []
    assert report.to_reconcile == ()
    assert scheduled.status(arn) == "ok 1 consumer until 2026-12-31T17:59:30Z"


def test_two_expiries_of_one_secret_within_five_minutes_both_reach_the_queue(scheduled):
    """The queue drops a message whose body it saw in the last five minutes (content-based deduplication): each
    schedule's message names when it fires and when it was asked for, so a second expiry is never dropped."""
    sqs = scheduled.sqs
    queue = sqs.create_queue(
        QueueName="reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    arn = scheduled.create_secret(NAME, B, tags={"share-until": UNTIL})
    scheduled.reconcile(arn, now=BEFORE)
    first = schedule(scheduled, arn)["Target"]["Input"]
    scheduled.reconcile(arn, now=AFTER)  # the first expiry
    scheduled.tag(arn, "2026-12-31T18:03:00Z", key="share-until")  # extended by three minutes, shared again
    scheduled.reconcile(arn, now=AFTER)
    second = schedule(scheduled, arn)["Target"]["Input"]

    for body in (first, second):  # what Scheduler sends, as it sends it (MessageGroupId, body as given)
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId="secretshare")
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]

    assert first != second
    assert [json.loads(m["Body"])["detail"]["fires"] for m in received] == [UNTIL, "2026-12-31T18:03:00Z"]
