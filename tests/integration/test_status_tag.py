"""The `share-with-status` tag tells the person who tagged the secret how it went, on the secret itself."""

import re

import pytest
from test_unreachable_consumer import publisher_role_gone, role_back

from secretshare import ReconcileFailed
from secretshare.domain.errors import KeyNotUsable

B = "222222222222"
C = "333333333333"
ROLE_C = f"arn:aws:iam::{C}:role/app"
# AWS's tag-value rule: at most 256 characters, letters, digits, spaces and _ . : / = + - @.
TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]{0,256}", re.ASCII)


def test_a_share_reports_how_many_consumers_it_grants(world):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")

    world.reconcile(arn)

    assert world.status(arn) == "ok 2 consumers"


def test_a_rejected_entry_is_named_with_its_reason_and_the_valid_ones_still_count(world):
    arn = world.create_secret("app/db-password", f"{B} 12345")

    world.reconcile(arn)

    assert world.status(arn) == "error 1 rejected: 12345 not-an-account / ok 1 consumer"
    assert world.sharing(arn).parameter_accounts == {B}


def test_the_status_is_written_only_when_it_changes(world, calls):
    arn = world.create_secret("app/db-password", B)
    world.reconcile(arn)
    calls.clear()

    world.reconcile(arn)
    world.tag(arn, f"{B} {ROLE_C}")
    world.reconcile(arn)

    tag_writes = [call.arguments["Tags"] for call in calls.named("TagResource")]
    assert tag_writes == [[{"Key": "share-with-status", "Value": "ok 2 consumers"}]]


def test_removing_the_share_tag_removes_the_status_tag_with_the_grants(world):
    arn = world.create_secret("app/db-password", B, tags={"team": "payments"})
    world.reconcile(arn)

    world.untag(arn)
    world.reconcile(arn)

    assert world.status(arn) is None
    tags = world.secretsmanager.describe_secret(SecretId=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "payments"}]


def test_an_unreachable_consumer_account_is_named_in_the_status(world, faults):
    arn = world.create_secret("app/db-password", f"{B} {ROLE_C}")
    publisher_role_gone(faults, B)

    with pytest.raises(ReconcileFailed):
        world.reconcile(arn)

    assert world.status(arn) == f"error 1 unreachable: {B} / ok 2 consumers"


def test_a_reconciliation_that_fails_as_a_whole_says_why_in_the_status(world):
    foreign_key = "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    arn = world.create_secret("app/db-password", B)
    world.secretsmanager.update_secret(SecretId=arn, KmsKeyId=foreign_key)

    with pytest.raises(KeyNotUsable):
        world.reconcile(arn)

    assert world.status(arn) == "error key-not-usable"


def test_a_long_list_of_rejections_fits_in_one_tag_value(world):
    entries = " ".join(f"1234567{i:02d}" for i in range(25))  # 25 nine-digit "accounts", 250 characters
    arn = world.create_secret("app/db-password", f"{B} {entries}")

    world.reconcile(arn)

    status = world.status(arn)
    assert status.startswith("error 25 rejected: 123456700 not-an-account 123456701 not-an-account")
    assert status.endswith("...") and len(status) == 256
    assert TAG_VALUE.fullmatch(status)


def test_a_dry_run_shows_the_status_it_would_write_and_writes_nothing(world, calls):
    arn = world.create_secret("app/db-password", f"{B} 12345")

    result = world.reconcile(arn, dry_run=True)

    assert result.plan.status_after == "error 1 rejected: 12345 not-an-account / ok 1 consumer"
    assert "set status tag to 'error 1 rejected: 12345 not-an-account / ok 1 consumer'" in result.changes
    assert calls.writes() == []
    assert world.status(arn) is None


def test_a_revocation_still_pending_in_an_unreachable_account_keeps_a_status_until_it_is_done(world, faults):
    arn = world.create_secret("app/db-password", B)
    world.reconcile(arn)
    world.untag(arn)
    hook = publisher_role_gone(faults, B)

    with pytest.raises(ReconcileFailed):
        world.reconcile(arn)
    pending = world.status(arn)
    role_back(faults, hook)
    world.reconcile(arn)

    assert pending == f"error 1 unreachable: {B} / nothing granted"
    assert world.status(arn) is None
    assert world.sharing(arn).parameter_accounts == set()
