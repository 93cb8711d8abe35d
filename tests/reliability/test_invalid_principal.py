"""A principal that does not exist makes KMS refuse the whole key policy (MalformedPolicyDocumentException,
docs/aws-facts.md §6): the strict layer answers as KMS does. secretshare names roles and users in a condition, which
KMS does not check, so only an account can still be refused (an id that was never an account); it is singled out by
asking KMS about each new account alone, reported, and the rest granted.
"""

from __future__ import annotations

import json

import pytest
from checks import ROLE_C, ROOT_B, B, assert_shared_exactly

from secretshare.domain.errors import PolicyRejected

MISSING_ROLE = "arn:aws:iam::333333333333:role/created-next-week"
MISSING_ACCOUNT = "999999999990"
ROOT_MISSING = f"arn:aws:iam::{MISSING_ACCOUNT}:root"
NAME = "app/db-password"


def on_a_new_key(world, entries):
    return world.create_secret(NAME, entries)


def on_an_existing_key(world, entries):
    return world.create_secret(NAME, entries, kms_key_id=world.create_key()["Arn"])


@pytest.mark.parametrize("make_secret", [on_a_new_key, on_an_existing_key])
def test_an_account_kms_refuses_is_reported_and_the_rest_are_granted(world, strict_aws, calls, make_secret):
    strict_aws.iam.never_existed(ROOT_MISSING)
    arn = make_secret(world, f"{B} {ROLE_C} {MISSING_ACCOUNT}")

    result = world.reconcile(arn)

    (rejected,) = [e for e in result.rejected if e.entry == MISSING_ACCOUNT]
    assert rejected.code == "refused-by-aws"
    assert ROOT_MISSING in rejected.reason and "invalid principals" in rejected.reason
    assert set(result.consumers) == {ROOT_B, ROLE_C}
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    assert MISSING_ACCOUNT not in json.dumps(world.key_policy(world.kms_key_id(arn)))
    assert MISSING_ACCOUNT not in json.dumps(world.resource_policy(arn))
    assert world.status(arn) == f"error 1 rejected: {MISSING_ACCOUNT} refused-by-aws / ok 2 consumers"
    # Each probe names one account alone, so one bad account cannot hide a good one; no probe is left behind.
    probes = [json.loads(c.arguments["Policy"]) for c in calls.named("PutKeyPolicy")]
    probed = [p for p in probes if any(s.get("Sid") == "SecretShareProbe" for s in p["Statement"])]
    assert probed and all(len([s for s in p["Statement"] if s.get("Sid") == "SecretShareProbe"]) == 1 for p in probed)
    assert "SecretShareProbe" not in json.dumps(world.key_policy(world.kms_key_id(arn)))


@pytest.mark.parametrize("make_secret", [on_a_new_key, on_an_existing_key])
def test_a_role_that_does_not_exist_yet_is_granted_by_name_and_nothing_is_refused(
    world, strict_aws, calls, make_secret
):
    strict_aws.iam.never_existed(MISSING_ROLE)
    arn = make_secret(world, f"{B} {MISSING_ROLE}")

    result = world.reconcile(arn)

    assert result.rejected == ()
    assert_shared_exactly(world, arn, {ROOT_B, MISSING_ROLE})
    assert not [c for c in calls.named("PutKeyPolicy") if "SecretShareProbe" in c.arguments["Policy"]], "no probe"
    assert world.status(arn) == "ok 2 consumers"


def test_the_next_run_asks_again_reports_the_refused_account_and_changes_nothing(world, strict_aws, calls):
    strict_aws.iam.never_existed(ROOT_MISSING)
    arn = on_an_existing_key(world, f"{B} {ROLE_C} {MISSING_ACCOUNT}")
    world.reconcile(arn)
    granted = world.sharing(arn)
    calls.clear()

    again = world.reconcile(arn)

    assert [entry.entry for entry in again.rejected] == [MISSING_ACCOUNT]
    assert world.sharing(arn) == granted
    # It asks AWS again (the account may exist by now): only writes naming the missing account, which AWS refuses.
    writes = calls.writes()
    assert writes and all(MISSING_ACCOUNT in json.dumps(call.arguments) for call in writes), writes


def test_a_refusal_no_probe_explains_fails_loudly_and_the_resource_policy_grants_nobody(world, faults):
    """Secrets Manager refusing a principal that KMS accepts cannot be pinned on one consumer: nothing guessed."""
    arn = on_an_existing_key(world, f"{B} {ROLE_C}")
    faults.fail(
        "secretsmanager.PutResourcePolicy",
        "MalformedPolicyDocumentException",
        "This resource policy contains an unsupported principal.",
    )

    with pytest.raises(PolicyRejected, match="unsupported principal"):
        world.reconcile(arn)

    assert world.resource_policy(arn) is None
    assert world.status(arn) == "error policy-rejected"
