"""A time-boxed share stops working at its `share-until` second, enforced by AWS on the policies themselves: no
reconciliation runs between the verdicts below. Judged by iam-simulate with `aws:CurrentTime` as AWS sets it.

The schedule and the sweep remove the grants afterwards (tests/integration/test_share_expiry.py); without the
condition, a consumer kept reading from the `share-until` moment until the schedule fired (up to two minutes, as
Scheduler fires within the minute) or, with the schedule lost, until the next sweep.
"""

from __future__ import annotations

import dataclasses

import pytest
from access import APP_OF_A, APP_POLICY, Access
from support.statements import ADMIN

B = "222222222222"
READER_B = f"arn:aws:iam::{B}:role/reader"
ENDS = "2030-06-01T18:00:00Z"
JUST_BEFORE = "2030-06-01T17:59:59Z"
LATER = "2030-06-01T19:00:00Z"


@pytest.fixture(params=[False, True], ids=["dedicated-key", "shared-key"])
def world(request, world):
    if request.param:
        arn = world.create_key({"Version": "2012-10-17", "Statement": [ADMIN]})["Arn"]
        world.settings = dataclasses.replace(world.settings, shared_key_arn=arn)
    return world


def test_the_consumer_reads_until_the_second_the_share_ends_and_not_from_it(world, iam):
    arn = world.create_secret("payments/db", B, tags={"share-until": ENDS})
    world.reconcile(arn)
    access = Access(iam, world, arn)
    identity = access.published_policy(B)

    before = access.read(READER_B, identity, at=JUST_BEFORE)
    at_the_end = access.read(READER_B, identity, at=ENDS)
    later = access.read(READER_B, identity, at=LATER)

    assert before.allowed, before.explanation
    assert not at_the_end.allowed, at_the_end.explanation
    assert not later.allowed, later.explanation


def test_account_a_keeps_reading_after_the_share_ends(world, iam):
    arn = world.create_secret("payments/db", B, tags={"share-until": ENDS})
    world.reconcile(arn)

    later = Access(iam, world, arn).read(APP_OF_A, APP_POLICY, at=LATER)

    assert later.allowed, later.explanation


def test_a_fraction_of_a_second_ends_the_share_at_the_whole_second_before(world, iam):
    """Never longer than the tag says: 18:00:00.700 ends the grant at 18:00:00."""
    arn = world.create_secret("payments/db", B, tags={"share-until": "2030-06-01T18:00:00.700Z"})
    world.reconcile(arn)
    access = Access(iam, world, arn)
    identity = access.published_policy(B)

    assert access.read(READER_B, identity, at=JUST_BEFORE).allowed
    assert not access.read(READER_B, identity, at=ENDS).allowed


def test_moving_share_until_later_extends_the_share_to_the_new_second(world, iam):
    arn = world.create_secret("payments/db", B, tags={"share-until": ENDS})
    world.reconcile(arn)
    world.tag(arn, "2030-06-01T20:00:00Z", key="share-until")
    world.reconcile(arn)
    access = Access(iam, world, arn)
    identity = access.published_policy(B)

    assert access.read(READER_B, identity, at=LATER).allowed
    assert not access.read(READER_B, identity, at="2030-06-01T20:00:00Z").allowed


def test_two_secrets_for_one_consumer_each_end_at_their_own_second(world, iam):
    early = world.create_secret("payments/early", B, tags={"share-until": ENDS})
    late = world.create_secret("payments/late", B, tags={"share-until": "2030-06-01T20:00:00Z"})
    forever = world.create_secret("payments/forever", B)
    for arn in (early, late, forever):
        world.reconcile(arn)

    def reads(arn: str) -> bool:
        access = Access(iam, world, arn)
        return access.read(READER_B, access.published_policy(B), at=LATER).allowed

    assert (reads(early), reads(late), reads(forever)) == (False, True, True)
