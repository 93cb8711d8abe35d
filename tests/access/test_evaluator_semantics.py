"""The IAM evaluator harness itself, against documented AWS semantics (no secretshare code involved).

If one of these fails, the harness (or the pinned iam-simulate) no longer agrees with AWS, and no effective-access
test built on it can be trusted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import iam_evaluator
from iam_evaluator import (
    AccessResult,
    Evaluator,
    EvaluatorInputError,
    EvaluatorUnavailableError,
    OrgPolicies,
    Request,
    aws_managed_secretsmanager_key_policy,
    can_decrypt_directly,
    can_read_secret,
    can_write_secret_version,
    default_key_policy,
)

A = "111111111111"  # producer: owns the secret and the key
B = "222222222222"  # consumer
C = "333333333333"  # stranger
REGION = "eu-west-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{A}:secret:prod/db-AbCdEf"
OTHER_SECRET = f"arn:aws:secretsmanager:{REGION}:{A}:secret:prod/other-GhIjKl"
KEY = f"arn:aws:kms:{REGION}:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
APP_A = f"arn:aws:iam::{A}:role/app"
ADMIN_A = f"arn:aws:iam::{A}:role/admin"
APP_B = f"arn:aws:iam::{B}:role/app"
APP_C = f"arn:aws:iam::{C}:role/app"
VIA_SM = f"secretsmanager.{REGION}.amazonaws.com"
ORG = "o-a1b2c3d4e5"
MANAGED_KEY_POLICY = aws_managed_secretsmanager_key_policy(A, REGION)
DEFAULT_KEY_POLICY = default_key_policy(A)


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(
    action: str | list[str], resource: str | list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def grant(principal: Any, action: str | list[str], resource: str, condition: dict[str, Any] | None = None) -> dict:
    return {"Principal": principal, **allow(action, resource, condition)}


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


GET_SECRET_VALUE = policy(allow("secretsmanager:GetSecretValue", SECRET))
# B's side of a share: read the secret, and decrypt with the key only through Secrets Manager.
CONSUMER_POLICY = policy(
    allow("secretsmanager:GetSecretValue", SECRET),
    allow("kms:Decrypt", KEY, {"StringEquals": {"kms:ViaService": VIA_SM}}),
)
EVERYTHING = policy(allow("*", "*"))


def shared_with(grantee: str, *, secret_arn: str = SECRET) -> tuple[dict[str, Any], dict[str, Any]]:
    """A resource policy and a key policy granting `grantee` (an account root or a role) a read of `secret_arn`."""
    secret_policy = policy(grant({"AWS": grantee}, "secretsmanager:GetSecretValue", SECRET))
    key_policy = policy(
        *DEFAULT_KEY_POLICY["Statement"],
        grant(
            {"AWS": grantee},
            "kms:Decrypt",
            "*",
            {"StringEquals": {"kms:ViaService": VIA_SM, "kms:EncryptionContext:SecretARN": secret_arn}},
        ),
    )
    return secret_policy, key_policy


def assert_steps(result: AccessResult, *expected: str) -> None:
    """Each step's result, e.g. ("Allowed", "ImplicitlyDenied"), with the whole explanation on failure."""
    assert tuple(step.result for step in result.steps) == expected, result.explanation


def read(
    iam: Evaluator,
    caller: str,
    *,
    key_policy: dict[str, Any],
    identity: Sequence[dict[str, Any]] = (),
    secret_policy: dict[str, Any] | None = None,
    **options: Any,
) -> AccessResult:
    """can_read_secret: `caller` reads SECRET, which KEY encrypts."""
    return can_read_secret(
        iam,
        caller_arn=caller,
        identity_policies=identity,
        secret_arn=SECRET,
        secret_policy=secret_policy,
        kms_key_arn=KEY,
        key_policy=key_policy,
        **options,
    )


def decrypt(
    iam: Evaluator,
    caller: str,
    *,
    key_policy: dict[str, Any],
    identity: Sequence[dict[str, Any]] = (),
    secret_arn: str = SECRET,
) -> AccessResult:
    """can_decrypt_directly: `caller` calls kms:Decrypt on KEY with the encryption context of `secret_arn`."""
    return can_decrypt_directly(
        iam,
        caller_arn=caller,
        identity_policies=identity,
        secret_arn=secret_arn,
        kms_key_arn=KEY,
        key_policy=key_policy,
    )


# --- the AWS managed key aws/secretsmanager ---------------------------------------------------------------------------


def test_managed_key_lets_an_app_role_read_with_get_secret_value_alone(iam: Evaluator):
    result = read(iam, APP_A, identity=[GET_SECRET_VALUE], key_policy=MANAGED_KEY_POLICY)
    assert_steps(result, "Allowed", "Allowed")
    assert result.allowed, result.explanation


def test_managed_key_lets_the_app_role_write_a_version_through_secrets_manager(iam: Evaluator):
    result = can_write_secret_version(
        iam,
        caller_arn=APP_A,
        identity_policies=[policy(allow("secretsmanager:PutSecretValue", SECRET))],
        secret_arn=SECRET,
        kms_key_arn=KEY,
        key_policy=MANAGED_KEY_POLICY,
    )
    assert_steps(result, "Allowed", "Allowed")  # kms:GenerateDataKey*, kms:ViaService StringLike secretsmanager.*
    assert result.steps[1].request.action == "kms:GenerateDataKey"


def test_managed_key_does_not_let_the_app_role_decrypt_directly(iam: Evaluator):
    assert_steps(decrypt(iam, APP_A, identity=[GET_SECRET_VALUE], key_policy=MANAGED_KEY_POLICY), "ImplicitlyDenied")


def test_managed_key_refuses_another_account_even_with_permissive_policies(iam: Evaluator):
    secret_policy, _ = shared_with(root(B))
    result = read(iam, APP_B, identity=[EVERYTHING], secret_policy=secret_policy, key_policy=MANAGED_KEY_POLICY)
    assert_steps(result, "Allowed", "ImplicitlyDenied")  # the secret is shared, the key never is (kms:CallerAccount)
    assert not result.allowed


# --- a key whose policy delegates to the account's IAM (root: kms:*) --------------------------------------------------


def test_default_key_policy_needs_kms_decrypt_in_the_identity_policy(iam: Evaluator):
    result = read(iam, APP_A, identity=[GET_SECRET_VALUE], key_policy=DEFAULT_KEY_POLICY)
    assert_steps(result, "Allowed", "ImplicitlyDenied")
    assert [step.request.action for step in result.denied_steps] == ["kms:Decrypt"]


def test_default_key_policy_with_kms_decrypt_in_the_identity_policy_reads(iam: Evaluator):
    identity = policy(allow("secretsmanager:GetSecretValue", SECRET), allow("kms:Decrypt", KEY))
    assert_steps(read(iam, APP_A, identity=[identity], key_policy=DEFAULT_KEY_POLICY), "Allowed", "Allowed")


def test_key_policy_without_the_account_statement_ignores_identity_policies(iam: Evaluator):
    """No `root` statement: KMS does not consult IAM at all, so even kms:* in IAM does nothing."""
    identity = policy(allow("secretsmanager:GetSecretValue", SECRET), allow("kms:*", "*"))
    key_policy = policy(grant({"AWS": ADMIN_A}, "kms:*", "*"))
    assert_steps(read(iam, APP_A, identity=[identity], key_policy=key_policy), "Allowed", "ImplicitlyDenied")


def test_key_policy_naming_the_role_needs_no_identity_policy_for_kms(iam: Evaluator):
    key_policy = policy(*DEFAULT_KEY_POLICY["Statement"], grant({"AWS": APP_A}, "kms:Decrypt", "*"))
    assert_steps(read(iam, APP_A, identity=[GET_SECRET_VALUE], key_policy=key_policy), "Allowed", "Allowed")


def test_resource_policies_naming_the_role_need_no_identity_policy_in_the_same_account(iam: Evaluator):
    secret_policy, key_policy = shared_with(APP_A)
    assert_steps(read(iam, APP_A, secret_policy=secret_policy, key_policy=key_policy), "Allowed", "Allowed")


def test_resource_policies_naming_only_the_account_root_are_not_enough_alone(iam: Evaluator):
    secret_policy, key_policy = shared_with(root(A))
    result = read(iam, APP_A, secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "ImplicitlyDenied", "ImplicitlyDenied")


# --- cross-account ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grantee", [root(B), APP_B], ids=["account-root", "role"])
def test_cross_account_read_with_resource_policy_key_policy_and_identity_policy(iam: Evaluator, grantee: str):
    secret_policy, key_policy = shared_with(grantee)
    result = read(iam, APP_B, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "Allowed", "Allowed")


@pytest.mark.parametrize("grantee", [root(B), APP_B], ids=["account-root", "role"])
def test_cross_account_read_fails_without_the_consumers_identity_policy(iam: Evaluator, grantee: str):
    secret_policy, key_policy = shared_with(grantee)
    result = read(iam, APP_B, secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "ImplicitlyDenied", "ImplicitlyDenied")


def test_cross_account_read_fails_when_the_key_policy_names_another_secret(iam: Evaluator):
    secret_policy, key_policy = shared_with(root(B), secret_arn=OTHER_SECRET)
    result = read(iam, APP_B, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "Allowed", "ImplicitlyDenied")
    assert "no match on condition StringEquals kms:EncryptionContext:SecretARN" in result.steps[1].explanation


def test_cross_account_read_fails_when_the_resource_policy_does_not_name_the_consumer(iam: Evaluator):
    secret_policy, _ = shared_with(root(C))
    _, key_policy = shared_with(root(B))
    result = read(iam, APP_B, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "ImplicitlyDenied", "Allowed")


def test_cross_account_read_fails_for_a_third_account(iam: Evaluator):
    secret_policy, key_policy = shared_with(root(B))
    result = read(iam, APP_C, identity=[EVERYTHING], secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "ImplicitlyDenied", "ImplicitlyDenied")


def test_cross_account_consumer_cannot_decrypt_directly(iam: Evaluator):
    _, key_policy = shared_with(root(B))
    assert_steps(decrypt(iam, APP_B, identity=[EVERYTHING], key_policy=key_policy), "ImplicitlyDenied")


def test_a_role_session_matches_a_grant_to_its_role(iam: Evaluator):
    secret_policy, key_policy = shared_with(APP_B)
    session = f"arn:aws:sts::{B}:assumed-role/app/session-1"
    result = read(iam, session, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "Allowed", "Allowed")
    assert result.steps[1].request.context["aws:PrincipalArn"] == APP_B


# --- organization conditions ------------------------------------------------------------------------------------------


def org_shared(condition: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Principal "*" in the resource policy and the key policy, narrowed by an organization condition."""
    key_condition = {**condition, "StringEquals": {**condition.get("StringEquals", {}), "kms:ViaService": VIA_SM}}
    secret_policy = policy(grant("*", "secretsmanager:GetSecretValue", SECRET, condition))
    key_policy = policy(*DEFAULT_KEY_POLICY["Statement"], grant("*", "kms:Decrypt", "*", key_condition))
    return secret_policy, key_policy


@pytest.mark.parametrize(
    ("org_id", "allowed"), [(ORG, True), ("o-zzzzzzzzzz", False), (None, False)], ids=["same-org", "other-org", "none"]
)
def test_principal_org_id(iam: Evaluator, org_id: str | None, allowed: bool):
    secret_policy, key_policy = org_shared({"StringEquals": {"aws:PrincipalOrgID": ORG}})
    result = read(
        iam, APP_B, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy, org_id=org_id
    )
    if allowed:
        assert_steps(result, "Allowed", "Allowed")
    else:
        assert_steps(result, "ImplicitlyDenied", "ImplicitlyDenied")


@pytest.mark.parametrize(
    ("org_paths", "allowed"),
    [
        ([f"{ORG}/r-ab12/ou-ab12-prod/ou-ab12-team/"], True),  # nested below the granted OU
        ([f"{ORG}/r-ab12/ou-ab12-prod/"], True),  # the granted OU itself
        ([f"{ORG}/r-ab12/ou-ab12-dev/"], False),  # a sibling OU
        ([f"{ORG}/r-ab12/ou-ab12-dev/", f"{ORG}/r-ab12/ou-ab12-prod/ou-ab12-x/"], True),  # one of several
        ([], False),
    ],
    ids=["nested", "itself", "sibling", "one-of-several", "empty"],
)
def test_principal_org_paths(iam: Evaluator, org_paths: list[str], allowed: bool):
    secret_policy, key_policy = org_shared(
        {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/r-ab12/ou-ab12-prod/*"}}
    )
    result = read(
        iam,
        APP_B,
        identity=[CONSUMER_POLICY],
        secret_policy=secret_policy,
        key_policy=key_policy,
        org_id=ORG,
        org_paths=org_paths,
    )
    assert result.allowed is allowed, result.explanation


# --- explicit Deny ----------------------------------------------------------------------------------------------------

DENY_DIRECT_DECRYPT = {
    "Sid": "DenyDecryptOutsideSecretsManager",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"StringNotLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
}
ADMIN_POLICY = policy(allow(["kms:*", "secretsmanager:*"], "*"))


def test_explicit_deny_in_the_key_policy_blocks_direct_decrypt_even_for_an_admin(iam: Evaluator):
    key_policy = policy(*DEFAULT_KEY_POLICY["Statement"], DENY_DIRECT_DECRYPT)
    direct = decrypt(iam, ADMIN_A, identity=[ADMIN_POLICY], key_policy=key_policy)
    assert_steps(direct, "ExplicitlyDenied")
    assert "explicit Deny in key policy #2 Sid 'DenyDecryptOutsideSecretsManager'" in direct.explanation
    assert_steps(read(iam, ADMIN_A, identity=[ADMIN_POLICY], key_policy=key_policy), "Allowed", "Allowed")


def test_without_the_deny_the_admin_decrypts_directly(iam: Evaluator):
    assert_steps(decrypt(iam, ADMIN_A, identity=[ADMIN_POLICY], key_policy=DEFAULT_KEY_POLICY), "Allowed")


def test_explicit_deny_in_the_resource_policy_beats_an_allow(iam: Evaluator):
    secret_policy, key_policy = shared_with(root(B))
    secret_policy["Statement"].append(
        {"Effect": "Deny", "Principal": {"AWS": APP_B}, "Action": "secretsmanager:*", "Resource": "*"}
    )
    result = read(iam, APP_B, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy)
    assert_steps(result, "ExplicitlyDenied", "Allowed")


def test_an_encryption_context_condition_can_deny_too(iam: Evaluator):
    only_other_secret = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"kms:EncryptionContext:SecretARN": OTHER_SECRET}},
    }
    key_policy = policy(*DEFAULT_KEY_POLICY["Statement"], only_other_secret)
    assert_steps(decrypt(iam, ADMIN_A, identity=[ADMIN_POLICY], key_policy=key_policy), "ExplicitlyDenied")
    other = decrypt(iam, ADMIN_A, identity=[ADMIN_POLICY], key_policy=key_policy, secret_arn=OTHER_SECRET)
    assert_steps(other, "Allowed")


# --- SCPs and RCPs ----------------------------------------------------------------------------------------------------


def test_an_scp_deny_blocks_a_read_the_policies_allow(iam: Evaluator):
    deny_reads = policy({"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    scps = [OrgPolicies("r-ab12", [EVERYTHING]), OrgPolicies(B, [EVERYTHING, deny_reads])]
    secret_policy, key_policy = shared_with(root(B))
    result = read(iam, APP_B, identity=[CONSUMER_POLICY], secret_policy=secret_policy, key_policy=key_policy, scps=scps)
    assert_steps(result, "ExplicitlyDenied", "Allowed")
    assert "blocked by: SCPs" in result.steps[0].explanation


@pytest.mark.parametrize(("org_id", "allowed"), [(ORG, True), (None, False)], ids=["inside-org", "outside-org"])
def test_an_rcp_data_perimeter(iam: Evaluator, org_id: str | None, allowed: bool):
    perimeter = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["secretsmanager:*", "kms:*"],
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
        }
    )
    secret_policy, key_policy = shared_with(root(B))
    result = read(
        iam,
        APP_B,
        identity=[CONSUMER_POLICY],
        secret_policy=secret_policy,
        key_policy=key_policy,
        org_id=org_id,
        rcps=[OrgPolicies("r-ab12", [perimeter])],
    )
    if allowed:
        assert_steps(result, "Allowed", "Allowed")
    else:
        assert_steps(result, "ExplicitlyDenied", "ExplicitlyDenied")


def test_an_scp_can_tell_a_read_through_secrets_manager_from_a_direct_decrypt(iam: Evaluator):
    """The helpers model Secrets Manager's KMS call as a forward access session: aws:ViaAWSService is true."""
    only_through_services = policy(
        {
            "Effect": "Deny",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"Bool": {"aws:ViaAWSService": "false"}},
        }
    )
    scps = [OrgPolicies("r-ab12", [EVERYTHING, only_through_services])]
    identity = policy(allow("secretsmanager:GetSecretValue", SECRET), allow("kms:Decrypt", KEY))
    result = read(iam, APP_A, identity=[identity], key_policy=DEFAULT_KEY_POLICY, scps=scps)
    assert_steps(result, "Allowed", "Allowed")
    direct = can_decrypt_directly(
        iam,
        caller_arn=APP_A,
        identity_policies=[identity],
        secret_arn=SECRET,
        kms_key_arn=KEY,
        key_policy=DEFAULT_KEY_POLICY,
        scps=scps,
    )
    assert_steps(direct, "ExplicitlyDenied")


# --- the harness itself -----------------------------------------------------------------------------------------------


def test_encryption_context_keys_need_the_authorize_workaround(iam: Evaluator):
    """iam-simulate 0.1.173's runSimulation drops kms:EncryptionContext:* keys; simulate.mjs restores them.

    If this fails because nothing was restored, iam-simulate fixed the bug: delete the workaround in simulate.mjs
    and its note in evaluator/iam_evaluator/__init__.py.
    """
    (decision,) = decrypt(iam, ADMIN_A, identity=[ADMIN_POLICY], key_policy=DEFAULT_KEY_POLICY).steps
    assert decision.engine == "authorize"
    assert set(decision.restored_context_keys) == {
        "kms:EncryptionContext:SecretARN",
        "kms:EncryptionContext:SecretVersionId",
    }
    plain = iam.decide(
        Request(
            principal=ADMIN_A,
            action="secretsmanager:GetSecretValue",
            resource=SECRET,
            resource_account=A,
            identity_policies=[ADMIN_POLICY],
            context={"aws:PrincipalArn": ADMIN_A, "aws:PrincipalAccount": A},
        )
    )
    assert plain.engine == "runSimulation"
    assert plain.allowed, plain.explanation


def test_a_malformed_policy_is_an_error_not_a_denial(iam: Evaluator):
    broken = {"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "kms:Decrypt", "Resource": "*"}]}
    with pytest.raises(EvaluatorInputError, match="Effect"):
        decrypt(iam, APP_A, identity=[broken], key_policy=DEFAULT_KEY_POLICY)


def test_an_unknown_action_is_an_error(iam: Evaluator):
    request = Request(principal=APP_A, action="secretsmanager:GetSecretValues", resource=SECRET, resource_account=A)
    with pytest.raises(EvaluatorInputError, match=r"invalid\.action"):
        iam.decide(request)


def test_a_resource_of_the_wrong_type_is_an_error(iam: Evaluator):
    with pytest.raises(EvaluatorInputError, match=r"no\.resource\.types"):
        iam.decide(Request(principal=APP_A, action="kms:Decrypt", resource=SECRET, resource_account=A))


def test_a_context_key_that_does_not_apply_is_an_error(iam: Evaluator):
    request = Request(
        principal=APP_A,
        action="secretsmanager:GetSecretValue",
        resource=SECRET,
        resource_account=A,
        identity_policies=[GET_SECRET_VALUE],
        context={"kms:ViaServce": VIA_SM},
    )
    with pytest.raises(EvaluatorInputError, match="kms:ViaServce"):
        iam.decide(request)
    lenient = iam.decide(dataclasses.replace(request, strict_context=False))
    assert lenient.allowed, lenient.explanation
    assert lenient.ignored_context_keys == ("kms:ViaServce",)


def test_results_refuse_to_be_used_as_booleans(iam: Evaluator):
    result = read(iam, APP_A, identity=[GET_SECRET_VALUE], key_policy=DEFAULT_KEY_POLICY)
    with pytest.raises(TypeError, match="allowed"):
        bool(result)
    with pytest.raises(TypeError, match="allowed"):
        bool(result.steps[0])


def test_the_explanation_names_the_deciding_statements(iam: Evaluator):
    text = read(iam, APP_A, identity=[GET_SECRET_VALUE], key_policy=DEFAULT_KEY_POLICY).explanation
    assert "read the secret through Secrets Manager: DENIED" in text
    assert f"step 2: kms:Decrypt by {APP_A} on {KEY}" in text
    assert "denied by: no applicable Allow in identity policies" in text
    assert "Sid 'Enable IAM User Permissions' (Allow): matches, principal AccountLevelMatch" in text


def test_missing_node_modules_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(iam_evaluator, "INSTALLED_PACKAGE", tmp_path / "missing" / "package.json")
    with pytest.raises(EvaluatorUnavailableError, match=r"run `make test` \(it runs npm ci\)"):
        Evaluator()


def test_the_pinned_version_is_running(iam: Evaluator):
    assert iam.version == "0.1.173"
