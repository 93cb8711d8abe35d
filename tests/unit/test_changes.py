"""A plan is an ordered tuple of typed changes: each kind describes itself, has one apply step, and sits once in the
write order; nothing to do is an empty tuple."""

import inspect

from secretshare.reconciler import changes
from secretshare.reconciler.changes import (
    WRITE_ORDER,
    Change,
    CreateKey,
    DeleteParameter,
    MoveSecret,
    ProbePrincipal,
    PublishParameter,
    PutKeyPolicy,
    SetStatusTag,
    in_write_order,
    summarize,
)

ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db-AbCdEf"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1111"


def change_kinds() -> set[type[Change]]:
    return {kind for _, kind in inspect.getmembers(changes, inspect.isclass) if issubclass(kind, Change)} - {Change}


def test_every_kind_of_a_plan_has_its_place_in_the_write_order_once():
    assert len(WRITE_ORDER) == len(set(WRITE_ORDER))
    # A probe is the one change made outside a plan (by the loop, to single out a principal AWS refuses).
    assert change_kinds() - set(WRITE_ORDER) == {ProbePrincipal}


def test_every_kind_describes_itself_applies_itself_and_sums_itself_up():
    for kind in change_kinds():
        for method in ("describe", "apply", "summary"):
            assert getattr(kind, method) is not getattr(Change, method), f"{kind.__name__}.{method}"


def test_changes_are_put_in_write_order_keeping_the_order_within_a_kind():
    status = SetStatusTag(ARN, "eu-west-1", "share-with-status", "ok 1 consumer")
    publish_b, publish_c = PublishParameter("222222222222", "/p", None), PublishParameter("333333333333", "/p", None)
    move = MoveSecret("eu-west-1", ARN, KEY, None, "secret")
    policy = PutKeyPolicy(KEY, "eu-west-1", {}, {}, "{}")
    delete = DeleteParameter("444444444444", "/p")
    ordered = in_write_order([status, publish_b, move, policy, publish_c, delete])
    assert ordered == (delete, policy, move, publish_b, publish_c, status)
    assert summarize(ordered) == ("1 parameter deleted, 1 key policy, key move, 2 parameters published, status tag")


def test_a_new_key_is_described_as_one_change_with_its_alias():
    key = CreateKey("eu-west-1", "alias/secretshare/app/db", "d", {}, {}, "{}")
    assert key.describe() == "create KMS key alias/secretshare/app/db in eu-west-1"
    assert summarize([key]) == "1 new key"
