"""`status` answers who can read a secret from another account: every grant in its resource and key policies, ours
and others', judged per principal. Each judgement is held against the evaluator's verdict (iam-simulate) for a
principal that holds every permission in its own account, so only A's policies decide.
"""

from __future__ import annotations

import json

from access import Access, allow, policy

from secretshare.reconciler.sweep import sweep

B = "222222222222"
C = "333333333333"
HAND = "444444444444"  # shared by hand in both policies
HALF = "555555555555"  # shared by hand in the resource policy only: it cannot read
APP_C = f"arn:aws:iam::{C}:role/app"
EVERYTHING = policy(allow("*"))


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def hand_grant(sid: str, principal: str, action: str, resource: str) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": resource}


def shared_by_tag_and_by_hand(world) -> str:
    arn = world.create_secret("app/db", f"{B} {APP_C}")
    world.reconcile(arn)
    resource_policy = world.resource_policy(arn)
    resource_policy["Statement"] += [
        hand_grant("HandShare", root(HAND), "secretsmanager:GetSecretValue", "*"),
        hand_grant("HalfShare", root(HALF), "secretsmanager:*", "*"),
    ]
    world.put_resource_policy(arn, resource_policy)
    key_id = world.kms_key_id(arn)
    key_policy = world.key_policy(key_id)
    key_policy["Statement"].append(hand_grant("HandKey", root(HAND), "kms:Decrypt", "*"))
    world.kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy))
    return arn


def test_every_reader_of_another_account_is_judged_as_the_evaluator_judges_it(world, iam):
    arn = shared_by_tag_and_by_hand(world)

    (check,) = sweep(settings=world.settings, session=world.session, with_grants=True).checks

    judged = {reader.principal: (reader.reads, reader.origin) for reader in check.readers}
    assert judged == {
        root(B): (True, "secretshare"),
        APP_C: (True, "secretshare"),
        root(HAND): (True, "foreign"),
        root(HALF): (False, "foreign"),
    }
    access = Access(iam, world, arn)
    callers = {root(B): f"arn:aws:iam::{B}:role/any", APP_C: APP_C}
    callers |= {root(HAND): f"arn:aws:iam::{HAND}:role/any", root(HALF): f"arn:aws:iam::{HALF}:role/any"}
    verdicts = {principal: access.read(caller, EVERYTHING).allowed for principal, caller in callers.items()}
    assert verdicts == {principal: reads for principal, (reads, _) in judged.items()}


def test_each_grant_names_its_policy_and_statement(world):
    shared_by_tag_and_by_hand(world)

    (check,) = sweep(settings=world.settings, session=world.session, with_grants=True).checks

    foreign = {(g.principal, g.policy, g.sid) for g in check.grants if not g.ours}
    assert foreign == {
        (root(HAND), "resource policy", "HandShare"),
        (root(HAND), "key policy", "HandKey"),
        (root(HALF), "resource policy", "HalfShare"),
    }
    (app,) = [reader for reader in check.readers if reader.principal == APP_C]
    assert {(g.principal, g.narrowed_to) for g in app.grants} == {(root(C), (APP_C,))}


def test_a_secret_on_the_aws_managed_key_is_read_by_nobody_whatever_its_resource_policy_says(world, iam):
    arn = world.create_secret("app/plain")
    world.put_resource_policy(arn, policy(hand_grant("HandShare", root(HAND), "secretsmanager:GetSecretValue", "*")))
    world.tag(arn, "12345")  # a candidate for the check, with nothing granted by us

    (check,) = sweep(settings=world.settings, session=world.session, with_grants=True).checks

    assert [(r.principal, r.reads, r.origin) for r in check.readers] == [(root(HAND), False, "foreign")]
    assert not Access(iam, world, arn).read(f"arn:aws:iam::{HAND}:role/any", EVERYTHING).allowed
