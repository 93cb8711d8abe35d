"""No secret is made public: every resource policy is written with BlockPublicPolicy, and a policy that holds
statements secretshare did not write is checked with IAM Access Analyzer first (skipped, with a log line, where
Access Analyzer cannot be reached; moto does not implement it)."""

from __future__ import annotations

import logging

import pytest
from checks import ROLE_C, ROOT_B, B, assert_shared_exactly
from support.statements import BACKUPS

from secretshare.domain.errors import PublicPolicyRefused

NAME = "app/db-password"
EVERYONE = {
    "Sid": "ReadByAnyone",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
}


def test_every_resource_policy_write_blocks_public_policies(world, calls):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.reconcile(arn)
    world.tag(arn, ROLE_C)
    world.put_resource_policy(arn, {"Version": "2012-10-17", "Statement": [BACKUPS]})
    world.reconcile(arn)

    writes = calls.named("PutResourcePolicy")
    assert len(writes) == 2
    assert all(call.arguments["BlockPublicPolicy"] is True for call in writes)


def test_a_policy_access_analyzer_finds_public_is_not_written(world, faults):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.put_resource_policy(arn, {"Version": "2012-10-17", "Statement": [EVERYONE]})
    check = faults.answer(
        "accessanalyzer.CheckNoPublicAccess",
        lambda parameters: (200, {"result": "FAIL", "message": "The resource policy grants public access."}),
    )

    with pytest.raises(PublicPolicyRefused, match=arn):
        world.reconcile(arn)

    (asked,) = check.calls
    assert asked["resourceType"] == "AWS::SecretsManager::Secret"
    assert '"Principal": "*"' in asked["policyDocument"] or '"Principal":"*"' in asked["policyDocument"]
    assert world.resource_policy(arn) == {"Version": "2012-10-17", "Statement": [EVERYONE]}
    assert world.sharing(arn).resource_grantees == set()


def test_a_policy_of_only_our_statements_is_not_sent_to_access_analyzer(world, faults):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    check = faults.answer("accessanalyzer.CheckNoPublicAccess", lambda parameters: (200, {"result": "PASS"}))

    world.reconcile(arn)

    assert check.calls == []
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})


@pytest.mark.parametrize("unreachable", ["not-implemented", "no-endpoint"])
def test_where_access_analyzer_is_unreachable_the_check_is_skipped_with_a_log_line(world, faults, caplog, unreachable):
    arn = world.create_secret(NAME, f"{B} {ROLE_C}")
    world.put_resource_policy(arn, {"Version": "2012-10-17", "Statement": [BACKUPS]})
    if unreachable == "no-endpoint":
        faults.unreachable("accessanalyzer.CheckNoPublicAccess")
    caplog.set_level(logging.WARNING, logger="secretshare")

    world.reconcile(arn)

    (line,) = [r.getMessage() for r in caplog.records if "public-access check skipped" in r.getMessage()]
    assert arn in line
    assert_shared_exactly(world, arn, {ROOT_B, ROLE_C})
    assert BACKUPS in world.resource_policy(arn)["Statement"]
