"""A secret shared by hand is adopted, then unshared: who can read it is the evaluator's verdict at each step, and
every hand-written statement secretshare could not express is still there, byte for byte, at the end.

The person runs `adopt` and `unshare` with their own credentials (the test world's own session: an administrator),
as the command line does.
"""

from __future__ import annotations

import json

from access import Access, allow, policy

from secretshare.gateway import Clients
from secretshare.reconciler.adopt import adopt_secret
from secretshare.reconciler.unshare import unshare_secret

HAND = "444444444444"  # shared by hand in both policies, for this secret alone: adopted
IP_BOUND = "555555555555"  # shared by hand with a condition secretshare does not write: left as it is
TEAM = "666666666666"  # may decrypt every secret on the team key: left as it is
EVERYTHING = policy(allow("*"))


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def reader(account: str) -> str:
    return f"arn:aws:iam::{account}:role/reader"


def shared_by_hand(world) -> tuple[str, str, list[dict]]:
    """A secret on a team key, shared by hand; its ARN, the key's, and the statements adoption must leave alone."""
    key = world.kms.create_key(Description="team key")["KeyMetadata"]["Arn"]
    arn = world.create_secret("app/hand", kms_key_id=key)
    grant = {"Effect": "Allow", "Resource": "*"}
    ip_bound = {"Sid": "IpBound", **grant, "Principal": {"AWS": root(IP_BOUND)}}
    ip_bound |= {"Action": "secretsmanager:GetSecretValue", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    world.put_resource_policy(
        arn,
        policy(
            {"Sid": "HandShare", **grant, "Principal": {"AWS": root(HAND)}, "Action": "secretsmanager:GetSecretValue"},
            ip_bound,
        ),
    )
    pinned = {"StringEquals": {"kms:EncryptionContext:SecretARN": arn}}
    team_wide = {"Sid": "TeamWide", **grant, "Principal": {"AWS": root(TEAM)}, "Action": "kms:Decrypt"}
    key_policy = world.key_policy(key)
    key_policy["Statement"] += [
        {"Sid": "HandKey", **grant, "Principal": {"AWS": root(HAND)}, "Action": "kms:Decrypt", "Condition": pinned},
        team_wide,
    ]
    world.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(key_policy))
    return arn, key, [ip_bound, team_wide]


def reads(iam, world, arn: str, account: str) -> bool:
    return Access(iam, world, arn).read(reader(account), EVERYTHING).allowed


def sids(document: dict | None) -> set[str]:
    return {s.get("Sid", "") for s in (document or {}).get("Statement", [])}


def test_adopt_then_unshare_round_trips_a_hand_shared_secret_without_losing_a_foreign_statement(world, iam):
    arn, key, left_alone = shared_by_hand(world)
    person = Clients(world.own_session)
    assert reads(iam, world, arn, HAND)

    dry = adopt_secret(arn, settings=world.settings, clients=person)
    assert dry.tags == {"share-with": HAND} and world.status(arn) is None  # nothing written yet
    adopted = adopt_secret(arn, settings=world.settings, clients=person, apply=True)

    assert adopted.tags == {"share-with": HAND}
    assert {(k.policy, k.sid) for k in adopted.adoption.kept} == {
        ("resource policy", "IpBound"),
        ("key policy", "TeamWide"),
    }
    assert reads(iam, world, arn, HAND)  # by secretshare's grants now
    assert not {"HandShare", "HandKey"} & (sids(world.resource_policy(arn)) | sids(world.key_policy(key)))
    assert world.status(arn) == "ok 1 consumer"

    unshare_secret(arn, settings=world.settings, clients=person)

    assert not reads(iam, world, arn, HAND)
    remaining = world.resource_policy(arn)["Statement"] + world.key_policy(key)["Statement"]
    assert [s for s in remaining if s.get("Sid") in ("IpBound", "TeamWide")] == left_alone


def test_a_grant_in_one_policy_only_is_not_adopted_since_it_lets_nobody_read(world, iam):
    arn = world.create_secret("app/half", kms_key_id=world.kms.create_key()["KeyMetadata"]["Arn"])
    half = {"Sid": "Half", "Effect": "Allow", "Principal": {"AWS": root(HAND)}, "Resource": "*"}
    world.put_resource_policy(arn, policy({**half, "Action": "secretsmanager:GetSecretValue"}))

    adopted = adopt_secret(arn, settings=world.settings, clients=Clients(world.own_session), apply=True)

    assert adopted.adoption.entries == () and adopted.result is None
    (kept,) = adopted.adoption.kept
    assert kept.sid == "Half" and "cannot read the secret now" in kept.why
    assert not reads(iam, world, arn, HAND) and world.status(arn) is None
