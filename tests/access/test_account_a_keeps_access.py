"""Sharing never breaks account A: its own readers and rotation keep working, nobody gains direct key use, and the
consumers read exactly their own secret. Judged by iam-simulate on the policies secretshare left in moto.

moto never enforces KMS or IAM: without these verdicts every test would pass while, on AWS, moving a secret off the
AWS managed key cut off every reader in A (a key whose policy holds only `root: kms:*` lets nobody use it).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from access import ADMIN_OF_A, ADMIN_POLICY, APP_OF_A, APP_POLICY, ROTATION_OF_A, ROTATION_POLICY, Access, policy
from support.statements import ADMIN
from support.world import ACCOUNT_USE_SIDS

B = "222222222222"
C = "333333333333"
READER_B = f"arn:aws:iam::{B}:role/reader"
READER_C = f"arn:aws:iam::{C}:role/reader"
EVERYTHING = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})


@pytest.fixture
def shared_key(world):
    """SHARED_KEY_ARN: a key someone chose, with its own statements (the admin one)."""
    arn = world.create_key({"Version": "2012-10-17", "Statement": [ADMIN]})["Arn"]
    world.settings = dataclasses.replace(world.settings, shared_key_arn=arn)
    return arn


# The key a secret moves to: a key of the pool (the default), a key of its own, or the key SHARED_KEY_ARN names.
KEY_MODES = ["pool-key", "dedicated-key", "shared-key"]


def choose_key_mode(request, key_mode: str) -> None:
    fixture = {"dedicated-key": "dedicated_keys", "shared-key": "shared_key"}.get(key_mode)
    if fixture:
        request.getfixturevalue(fixture)


@pytest.mark.parametrize("key_mode", KEY_MODES)
def test_an_app_role_of_a_reads_before_the_share_after_it_and_after_it_ends(world, iam, request, key_mode):
    choose_key_mode(request, key_mode)
    arn = world.create_secret("payments/db", B)
    access = Access(iam, world, arn)
    before = access.read(APP_OF_A, APP_POLICY)
    assert before.allowed, before.explanation

    world.reconcile(arn)
    assert world.kms_key_id(arn), "the secret moved to a customer-managed key"
    after = access.read(APP_OF_A, APP_POLICY)
    assert after.allowed, after.explanation

    world.untag(arn)
    world.reconcile(arn)
    ended = access.read(APP_OF_A, APP_POLICY)
    assert ended.allowed, ended.explanation


@pytest.mark.parametrize("key_mode", KEY_MODES)
def test_a_rotation_role_of_a_writes_a_new_version_through_secrets_manager(world, iam, request, key_mode):
    choose_key_mode(request, key_mode)
    arn = world.create_secret("payments/db", B)
    world.reconcile(arn)

    written = Access(iam, world, arn).write(ROTATION_OF_A, ROTATION_POLICY)

    assert written.allowed, written.explanation


@pytest.mark.parametrize("key_mode", KEY_MODES)
def test_consumer_b_reads_with_the_published_policy_and_account_c_does_not(world, iam, request, key_mode):
    choose_key_mode(request, key_mode)
    arn = world.create_secret("payments/db", B)
    world.reconcile(arn)
    access = Access(iam, world, arn)

    b = access.read(READER_B, access.published_policy(B))
    c = access.read(READER_C, EVERYTHING)

    assert b.allowed, b.explanation
    assert not c.allowed, c.explanation


@pytest.mark.parametrize("key_mode", KEY_MODES)
def test_nobody_decrypts_with_the_key_outside_secrets_manager(world, iam, request, key_mode):
    choose_key_mode(request, key_mode)
    arn = world.create_secret("payments/db", B)
    world.reconcile(arn)
    access = Access(iam, world, arn)

    callers = {
        "app of A": (APP_OF_A, APP_POLICY),
        "consumer B with the published policy": (READER_B, access.published_policy(B)),
        "consumer B allowed everything in IAM": (READER_B, EVERYTHING),
    }
    if key_mode != "shared-key":
        # On a key secretshare made (for the secret or for its pool), not even an admin of A allowed kms:* in IAM
        # (which the managed key never let decrypt directly). A key someone chose is theirs: its admins keep what its
        # own statements give them.
        callers["admin of A allowed everything in IAM"] = (ADMIN_OF_A, ADMIN_POLICY)
    for who, (caller, identity) in callers.items():
        direct = access.decrypt_directly(caller, identity)
        assert not direct.allowed, f"{who}: {direct.explanation}"


def test_a_consumer_reads_only_its_own_secret_on_a_shared_key(world, iam, shared_key):
    mine = world.create_secret("payments/db", B)
    theirs = world.create_secret("billing/db", C)
    world.reconcile(mine)
    world.reconcile(theirs)
    published = Access(iam, world, mine).published_policy(B)

    other = Access(iam, world, theirs).read(READER_B, policy(*published["Statement"], *EVERYTHING["Statement"]))

    assert not other.allowed, other.explanation


def test_the_shared_key_gives_a_nothing_for_secrets_secretshare_did_not_move(world, iam, shared_key):
    """A key someone chose is theirs: a secret they put on it themselves gains no access in A from a share."""
    placed = world.create_secret("team/own", kms_key_id=shared_key)
    moved = world.create_secret("payments/db", B)
    world.reconcile(moved)
    world.tag(placed, B)
    world.reconcile(placed)

    own = Access(iam, world, placed).read(APP_OF_A, APP_POLICY)

    assert not own.allowed, own.explanation
    statement = world.account_use(world.key_policy(shared_key))["SecretShareAccountUse"]
    assert statement["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == moved


def test_a_key_an_earlier_version_made_gets_a_s_access_at_its_next_reconciliation(world, iam):
    arn = world.create_secret("payments/db", B)
    world.reconcile(arn)
    key_arn = world.key_arn(world.kms_key_id(arn))
    # What an earlier version left: the admin statement and the grant, nothing for A's own readers.
    earlier = [s for s in world.statements(world.key_policy(key_arn)) if s.get("Sid") not in ACCOUNT_USE_SIDS]
    world.kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(policy(*earlier)))
    access = Access(iam, world, arn)
    assert not access.read(APP_OF_A, APP_POLICY).allowed, "the harm done on AWS before this version"

    world.reconcile(arn)

    healed = access.read(APP_OF_A, APP_POLICY)
    assert healed.allowed, healed.explanation
