"""A secret named by name, full ARN or partial ARN; secret names with characters aliases and SSM refuse."""

import re

import pytest

from secretshare.domain.names import decode_name

# What these count and name is the dedicated key of each secret (the pool has its own: test_key_pool.py).
pytestmark = pytest.mark.usefixtures("dedicated_keys")

B = "222222222222"
ROOT_B = f"arn:aws:iam::{B}:root"
PARAMETER_PREFIX = "/secretshare/123456789012/eu-west-1/"
# KMS: alias names allow a-zA-Z0-9/_- and at most 256 characters; "alias/aws/" is reserved.
ALIAS_NAME = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
# SSM: letters, digits, "_.-" and "/" between non-empty hierarchy levels, at most 15 levels deep.
PARAMETER_NAME = re.compile(r"(/[A-Za-z0-9_.-]+){1,15}")


def identifiers(arn, name):
    return {"name": name, "full-arn": arn, "partial-arn": arn[: -len("-AbCdEf")]}


@pytest.mark.parametrize("form", ["name", "full-arn", "partial-arn"])
def test_secret_named_by_name_full_arn_or_partial_arn_converges_to_the_same_sharing(world, form):
    arn = world.create_secret("app/db-password", B)
    ids = identifiers(arn, "app/db-password")
    assert world.secretsmanager.describe_secret(SecretId=ids["partial-arn"])["ARN"] == arn

    result = world.reconcile(ids[form])

    assert result.secret_arn == arn
    assert list(world.aliases()) == ["alias/secretshare/app/db-password"]
    sharing = world.sharing(arn)
    assert sharing.key_id == world.key_arn("alias/secretshare/app/db-password")
    assert sharing.key_grantees == {ROOT_B}
    assert sharing.resource_grantees == {ROOT_B}
    assert world.parameters_for(B, arn) == [PARAMETER_PREFIX + "app/db-password"]
    for other in ids.values():
        assert world.reconcile(other).changes == [], f"reconciling by {other} after {form} should change nothing"


SPECIAL_NAMES = ["app/db+prod", "team=ops/key", "svc@example.com", "cfg.v1_2", "a+b", "a_2Bb", "x/y.z_w+v=u@t"]


def test_names_with_special_characters_get_valid_distinct_alias_and_parameter_names(world):
    arns = {name: world.create_secret(name, B) for name in SPECIAL_NAMES}

    for arn in arns.values():
        world.reconcile(arn)

    aliases = world.aliases()
    parameters = world.parameters(B)
    alias_of, parameter_of = {}, {}
    for name, arn in arns.items():
        key_id = world.kms_key_id(arn)
        [alias_of[name]] = [alias for alias, target in aliases.items() if key_id.endswith(f":key/{target}")]
        [parameter_of[name]] = world.parameters_for(B, arn)
    assert len(set(alias_of.values())) == len(SPECIAL_NAMES), alias_of
    assert len(set(parameter_of.values())) == len(SPECIAL_NAMES), parameter_of
    assert len(parameters) == len(SPECIAL_NAMES)
    for name in SPECIAL_NAMES:
        assert ALIAS_NAME.fullmatch(alias_of[name]), alias_of[name]
        assert alias_of[name].startswith("alias/secretshare/")
        assert PARAMETER_NAME.fullmatch(parameter_of[name]), parameter_of[name]
        assert parameter_of[name].startswith(PARAMETER_PREFIX)
        # The encoding is reversible: the parameter name says which secret it is for.
        assert decode_name(parameter_of[name].removeprefix(PARAMETER_PREFIX)) == name


def test_secrets_a_plus_b_and_a_2Bb_do_not_collide(world):
    plus = world.create_secret("a+b", B)
    lookalike = world.create_secret("a_2Bb", B)

    world.reconcile(plus)
    world.reconcile(lookalike)

    assert world.kms_key_id(plus) != world.kms_key_id(lookalike)
    assert len(world.aliases()) == 2
    for arn in (plus, lookalike):
        assert world.sharing(arn).key_grantees == {ROOT_B}
        assert len(world.parameters_for(B, arn)) == 1
    assert world.parameters_for(B, plus) != world.parameters_for(B, lookalike)
    assert len(world.parameters(B)) == 2


def test_secret_name_with_a_leading_slash_gets_a_parameter_name_without_an_empty_level(world):
    # Secret names like "/prod/db" mirror SSM paths and are common; "//" is not a valid SSM parameter name
    # (moto does not check parameter names on PutParameter, so the test checks the name itself).
    arn = world.create_secret("/prod/db", B)

    world.reconcile(arn)

    [parameter] = world.parameters_for(B, arn)
    assert PARAMETER_NAME.fullmatch(parameter), parameter
    [alias] = world.aliases()
    assert ALIAS_NAME.fullmatch(alias), alias
