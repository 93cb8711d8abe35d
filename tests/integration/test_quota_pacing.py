"""The calls bound by AWS's lowest request quotas wait for their turn (secretshare.gateway.quotas) instead of being
throttled: a burst of new shares makes keys at KMS's pace, and other KMS calls are never slowed by it."""

from __future__ import annotations

import pytest
from support.world import REGION

from secretshare.gateway import Clients, quotas
from secretshare.gateway.quotas import PACED, Pace


class FrozenClock:
    """Time that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_second_of_the_quota_goes_at_once_and_the_rest_at_its_rate():
    clock = FrozenClock()
    pace = Pace(5, clock)

    waits = [pace.turn() for _ in range(8)]

    assert waits == pytest.approx([0, 0, 0, 0, 0, 0.2, 0.4, 0.6])


def test_a_quiet_second_lets_a_second_of_the_quota_go_at_once_again():
    clock = FrozenClock()
    pace = Pace(5, clock)
    for _ in range(5):
        pace.turn()
    clock.now += 1.0

    assert [pace.turn() for _ in range(6)] == pytest.approx([0, 0, 0, 0, 0, 0.2])


def test_calls_that_keep_the_pace_never_wait():
    clock = FrozenClock()
    pace = Pace(15, clock)
    waits = []
    for _ in range(100):
        waits.append(pace.turn())
        clock.now += 1 / 15

    assert max(waits) == 0


def test_the_quotas_paced_are_aws_documented_ones():
    assert {quota.name: quota.per_second for quota in PACED} == {
        "KMS CreateKey": 5,
        "KMS CreateAlias and UpdateAlias": 5,
        "KMS PutKeyPolicy": 15,
        "Secrets Manager resource-policy calls": 50,
    }


def test_account_a_clients_wait_for_their_turn_on_paced_operations_only(world, strict_aws, monkeypatch, paced_waits):
    clock = FrozenClock()
    paces: dict = {}
    monkeypatch.setattr(
        quotas, "pace_of", lambda quota, region: paces.setdefault((quota.name, region), Pace(quota.per_second, clock))
    )
    kms = Clients(world.session).get("kms", REGION)

    tags = [{"TagKey": "managed-by", "TagValue": "secretshare"}, {"TagKey": "secretshare-grants", "TagValue": "name-x"}]
    existing = world.create_key()["Arn"]
    strict_aws.time_passes()  # KMS finds the key by now
    for _ in range(6):
        kms.create_key(Tags=tags)
        kms.describe_key(KeyId=existing)

    assert paced_waits == pytest.approx([0.2]), "the sixth CreateKey of a frozen second waits; DescribeKey never"
    assert set(paces) == {("KMS CreateKey", REGION)}
