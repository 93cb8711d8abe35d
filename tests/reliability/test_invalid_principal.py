"""A principal that does not exist makes KMS and Secrets Manager refuse the whole policy
(MalformedPolicyDocumentException). secretshare singles it out by asking KMS, which is documented to check that
every principal of a key policy exists (docs/aws-facts.md §6), about each consumer alone; it grants the rest and
reports the refused one.

moto checks no principal, so AWS's answers are given at the boundary: any key policy or resource policy naming the
missing principal is refused as AWS refuses it, whatever statement names it (a grant or a probe).
"""

from __future__ import annotations

import json

import pytest
from checks import ROLE_C, ROOT_B, B, assert_shared_exactly

from secretshare.domain.errors import PolicyRejected

MISSING_ROLE = "arn:aws:iam::333333333333:role/deleted-last-week"
MISSING_ACCOUNT = "999999999990"
NAME = "app/db-password"
# What KMS and Secrets Manager answer (docs/aws-facts.md §6).
MESSAGES = {
    "kms.CreateKey": "Policy contains a statement with one or more invalid principals.",
    "kms.PutKeyPolicy": "Policy contains a statement with one or more invalid principals.",
    "secretsmanager.PutResourcePolicy": "This resource policy contains an unsupported principal.",
}


def refuse_policies_naming(faults, missing, *, operations=tuple(MESSAGES)):
    for operation in operations:
        faults.fail(
            operation,
            "MalformedPolicyDocumentException",
            MESSAGES[operation],
            when=lambda parameters: missing in (parameters.get("Policy") or parameters.get("ResourcePolicy", "")),
        )


def on_a_new_key(world, entries):
    return world.create_secret(NAME, entries)


def on_an_existing_key(world, entries):
    return world.create_secret(NAME, entries, kms_key_id=world.create_key()["Arn"])


@pytest.mark.parametrize("make_secret", [on_a_new_key, on_an_existing_key])
@pytest.mark.parametrize(
    ("missing", "entry"),
    [(MISSING_ROLE, MISSING_ROLE), (f"arn:aws:iam::{MISSING_ACCOUNT}:root", MISSING_ACCOUNT)],
    ids=["deleted-role", "missing-account"],
)
def test_the_refused_principal_is_reported_and_the_rest_are_granted(world, faults, calls, make_secret, missing, entry):
    arn = make_secret(world, f"{B} {ROLE_C} {entry}")
    refuse_policies_naming(faults, missing)

    result = world.reconcile(arn)

    (rejected,) = [e for e in result.rejected if e.entry == entry]
    assert rejected.code == "refused-by-aws"
    assert missing in rejected.reason and "invalid principals" in rejected.reason
    assert set(result.consumers) == {ROOT_B, ROLE_C}
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    assert missing not in json.dumps(world.key_policy(world.kms_key_id(arn)))
    assert missing not in json.dumps(world.resource_policy(arn))
    assert world.status(arn) == f"error 1 rejected: {entry} refused-by-aws / ok 2 consumers"
    # Each probe names one principal alone, so one bad principal cannot hide a good one; no probe is left behind.
    probes = [json.loads(c.arguments["Policy"]) for c in calls.named("PutKeyPolicy")]
    probed = [p for p in probes if any(s.get("Sid") == "SecretShareProbe" for s in p["Statement"])]
    assert probed and all(len([s for s in p["Statement"] if s.get("Sid") == "SecretShareProbe"]) == 1 for p in probed)
    assert "SecretShareProbe" not in json.dumps(world.key_policy(world.kms_key_id(arn)))


def test_the_next_run_asks_again_reports_the_refused_principal_and_changes_nothing(world, faults, calls):
    arn = on_an_existing_key(world, f"{B} {ROLE_C} {MISSING_ROLE}")
    refuse_policies_naming(faults, MISSING_ROLE)
    world.reconcile(arn)
    granted = world.sharing(arn)
    calls.clear()

    again = world.reconcile(arn)

    assert [entry.entry for entry in again.rejected] == [MISSING_ROLE]
    assert world.sharing(arn) == granted
    # It asks AWS again (the role may exist by now): only writes naming the missing role, which AWS refuses.
    writes = calls.writes()
    assert writes and all(MISSING_ROLE in json.dumps(call.arguments) for call in writes), writes


def test_a_refusal_no_probe_explains_fails_loudly_and_the_resource_policy_grants_nobody(world, faults):
    """Secrets Manager refusing a principal that KMS accepts cannot be pinned on one consumer: nothing guessed."""
    arn = on_an_existing_key(world, f"{B} {ROLE_C}")
    refuse_policies_naming(faults, ROLE_C, operations=["secretsmanager.PutResourcePolicy"])

    with pytest.raises(PolicyRejected, match="unsupported principal"):
        world.reconcile(arn)

    assert world.resource_policy(arn) is None
    assert world.status(arn) == "error policy-rejected"
