"""`share-until` parsing and the status tag's values. Pure: no AWS."""

from datetime import UTC, datetime

import pytest

from secretshare.domain.consumers import InvalidShareEntry
from secretshare.domain.sharetag import RejectedEntry, parse_share_tag, parse_until
from secretshare.domain.status import STATUS_MAX_CHARS, Outcome, error_value, promises_expiry, status_value

B = "arn:aws:iam::222222222222:root"


def share(until: str):
    tags = [{"Key": "share-with", "Value": "222222222222"}, {"Key": "share-until", "Value": until}]
    return parse_share_tag(
        tags, tag_key="share-with", partition="aws", producer_account="111111111111", allowed_accounts=None
    )


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-12-31", datetime(2026, 12, 31, tzinfo=UTC)),
        ("2026-12-31T18:00Z", datetime(2026, 12, 31, 18, tzinfo=UTC)),
        ("2026-12-31T18:00:30", datetime(2026, 12, 31, 18, 0, 30, tzinfo=UTC)),
        ("2026-12-31T19:00:00+01:00", datetime(2026, 12, 31, 18, tzinfo=UTC)),
        (" 2026-12-31T18:00:00.5Z ", datetime(2026, 12, 31, 18, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_dates_and_date_times_are_read_as_utc_moments(value, moment):
    assert parse_until(value) == moment


@pytest.mark.parametrize(
    "value", ["31/12/2026", "2026-13-01", "2026-02-30", "tomorrow", "", "2026-12-31 18:00", "20261231"]
)
def test_anything_else_is_rejected_naming_the_value(value):
    with pytest.raises(InvalidShareEntry) as rejected:
        parse_until(value)
    assert repr(value) in str(rejected.value)
    assert rejected.value.code == "malformed-date"


def test_a_share_is_active_until_the_moment_and_expired_from_it():
    parsed = share("2026-12-31T18:00:00Z")
    assert parsed.consumers_at(datetime(2026, 12, 31, 17, 59, 59, tzinfo=UTC)) == (B,)
    assert parsed.consumers_at(datetime(2026, 12, 31, 18, tzinfo=UTC)) == ()


def test_a_malformed_until_is_a_rejected_entry_and_ends_the_share_at_once():
    parsed = share("soon")
    assert parsed.rejected == (RejectedEntry("share-until=soon", parsed.rejected[0].reason, "malformed-date"),)
    assert "'soon'" in parsed.rejected[0].reason
    assert parsed.consumers == (B,), "the entries are still read"
    assert parsed.consumers_at(datetime(2000, 1, 1, tzinfo=UTC)) == ()


def test_status_values():
    until = datetime(2026, 12, 31, tzinfo=UTC)
    rejected = (RejectedEntry("12345", "...", "not-an-account"),)
    assert status_value(Outcome(2)) == "ok 2 consumers"
    assert status_value(Outcome(1, until=until)) == "ok 1 consumer until 2026-12-31T00:00:00Z"
    assert status_value(Outcome(0, until=until, expired=True)) == "expired 2026-12-31T00:00:00Z"
    assert status_value(Outcome(1, rejected)) == "error 1 rejected: 12345 not-an-account / ok 1 consumer"
    assert (
        status_value(Outcome(2, unreachable=("444444444444",))) == "error 1 unreachable: 444444444444 / ok 2 consumers"
    )
    assert error_value("key-not-usable") == "error key-not-usable"


def test_a_status_value_is_always_a_valid_tag_value():
    rejected = tuple(RejectedEntry(f"bad,entry;{i}", "...", "not-an-account") for i in range(40))
    value = status_value(Outcome(1, rejected))
    assert len(value) == STATUS_MAX_CHARS and value.endswith("...")
    assert "," not in value and ";" not in value


def test_only_an_active_time_boxed_status_promises_a_schedule():
    assert promises_expiry("ok 1 consumer until 2026-12-31T00:00:00Z")
    assert not promises_expiry("expired 2026-12-31T00:00:00Z")
    assert not promises_expiry(None)


def test_an_entry_a_tag_value_cannot_hold_is_shown_by_its_code_points_not_hidden():
    rejected = (
        RejectedEntry("*", "...", "wildcard"),
        RejectedEntry("arn:aws:iam::222222222222:role/ápp", "...", "non-ascii"),
    )
    assert status_value(Outcome(1, rejected)) == (
        "error 2 rejected: U+002A wildcard arn:aws:iam::222222222222:role/U+00E1pp non-ascii / ok 1 consumer"
    )


def test_nobody_granted_because_of_a_problem_reads_nothing_granted_not_ok():
    rejected = (RejectedEntry("12345", "...", "not-an-account"),)
    assert status_value(Outcome(0, rejected)) == "error 1 rejected: 12345 not-an-account / nothing granted"
    assert status_value(Outcome(0, unreachable=("444444444444",))) == (
        "error 1 unreachable: 444444444444 / nothing granted"
    )
    assert status_value(Outcome(0)) == "ok 0 consumers"


def test_a_share_until_that_cannot_be_read_grants_nothing_and_does_not_read_expired():
    parsed = share("31/12/2026")
    outcome = Outcome(0, parsed.rejected, until=parsed.until, expired=parsed.expired(datetime(2000, 1, 1, tzinfo=UTC)))
    assert status_value(outcome) == "error 1 rejected: share-until=31/12/2026 malformed-date / nothing granted"
