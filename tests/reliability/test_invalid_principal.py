"""A role ARN that does not exist makes KMS and Secrets Manager refuse the whole policy
(MalformedPolicyDocumentException). secretshare singles it out with ValidateResourcePolicy, grants the rest
and reports the refused principal.

moto checks no principal and does not implement ValidateResourcePolicy, so AWS's answers are given at the
boundary: writes naming the missing role are refused as AWS refuses them, and ValidateResourcePolicy answers
as AWS does for a policy naming a missing role (an error, or a failed validation, both seen in practice).
"""

from __future__ import annotations

import json

import pytest
from checks import ROLE_C, ROOT_B, B, assert_shared_exactly

MISSING_ROLE = "arn:aws:iam::333333333333:role/deleted-last-week"
NAME = "app/db-password"


def refuse_policies_naming_the_missing_role(faults, *, operations):
    """KMS and Secrets Manager refuse a policy whose principal does not exist, with these messages."""
    messages = {
        "kms.CreateKey": "Policy contains a statement with one or more invalid principals.",
        "kms.PutKeyPolicy": "Policy contains a statement with one or more invalid principals.",
        "secretsmanager.PutResourcePolicy": "This resource policy contains an unsupported principal.",
    }
    for operation in operations:
        faults.fail(
            operation,
            "MalformedPolicyDocumentException",
            messages[operation],
            when=lambda parameters: MISSING_ROLE in (parameters.get("Policy") or parameters.get("ResourcePolicy", "")),
        )


def validation_raises(parameters):
    if MISSING_ROLE in parameters["ResourcePolicy"]:
        return 400, {
            "Error": {
                "Code": "MalformedPolicyDocumentException",
                "Message": "This resource policy contains an unsupported principal.",
            }
        }
    return 200, {"PolicyValidationPassed": True, "ValidationErrors": []}


def validation_fails(parameters):
    if MISSING_ROLE in parameters["ResourcePolicy"]:
        return 200, {
            "PolicyValidationPassed": False,
            "ValidationErrors": [{"CheckName": "PRINCIPAL", "ErrorMessage": f"Invalid principal: {MISSING_ROLE}"}],
        }
    return 200, {"PolicyValidationPassed": True, "ValidationErrors": []}


VALIDATIONS = [
    pytest.param(validation_raises, id="validation-raises"),
    pytest.param(validation_fails, id="validation-fails"),
]


def on_a_new_key(world):
    return world.create_secret(NAME, f"{B} {ROLE_C} {MISSING_ROLE}")


def on_an_existing_key(world):
    key = world.create_key()
    return world.create_secret(NAME, f"{B} {ROLE_C} {MISSING_ROLE}", kms_key_id=key["Arn"])


# Which writes refuse the missing role: the new key's policy, an existing key's policy, or (when a key policy
# was accepted) only the resource policy, which must then not leave the missing role in the key policy.
WRITES = [
    pytest.param(on_a_new_key, ["kms.CreateKey", "kms.PutKeyPolicy"], id="create-key"),
    pytest.param(on_an_existing_key, ["kms.PutKeyPolicy"], id="put-key-policy"),
    pytest.param(on_an_existing_key, ["secretsmanager.PutResourcePolicy"], id="put-resource-policy"),
]


@pytest.mark.parametrize("validation", VALIDATIONS)
@pytest.mark.parametrize(("make_secret", "refusing"), WRITES)
def test_the_refused_principal_is_reported_and_the_rest_are_granted(world, faults, make_secret, refusing, validation):
    arn = make_secret(world)
    refuse_policies_naming_the_missing_role(faults, operations=refusing)
    probe = faults.answer("secretsmanager.ValidateResourcePolicy", validation)

    result = world.reconcile(arn)

    (rejected,) = [entry for entry in result.rejected if entry.entry == MISSING_ROLE]
    assert MISSING_ROLE in rejected.reason
    assert "AWS rejected" in rejected.reason
    assert set(result.consumers) == {ROOT_B, ROLE_C}
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    assert MISSING_ROLE not in json.dumps(world.key_policy(world.kms_key_id(arn)))
    assert MISSING_ROLE not in json.dumps(world.resource_policy(arn))
    probed = [call for call in probe.calls if MISSING_ROLE in call["ResourcePolicy"]]
    assert probed and all(call["SecretId"] == arn for call in probed)
    # Each probe asks about one principal alone, so one bad principal cannot hide a good one.
    for call in probe.calls:
        document = json.loads(call["ResourcePolicy"])
        assert len({p for s in document["Statement"] for p in as_list(s["Principal"]["AWS"])}) == 1


def test_the_next_run_reports_the_refused_principal_again_and_changes_nothing(world, faults, calls):
    arn = on_an_existing_key(world)
    refuse_policies_naming_the_missing_role(faults, operations=["kms.PutKeyPolicy"])
    faults.answer("secretsmanager.ValidateResourcePolicy", validation_raises)
    world.reconcile(arn)
    granted = world.sharing(arn)

    again = world.reconcile(arn)

    assert [entry.entry for entry in again.rejected] == [MISSING_ROLE]
    assert world.sharing(arn) == granted


def as_list(value):
    return value if isinstance(value, list) else [value]
