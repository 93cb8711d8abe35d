"""Confused deputy: the consumer account's publisher role can be assumed by the producer's reconcile role and by
nothing else: not another role or user of the producer account, not a role of the same name elsewhere, not a
service, not anyone. tests/sam checks the trust policy's exact shape; this evaluates it against callers, and checks
that the stack parameters it is built from cannot be widened with wildcards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from support.sam import CONSUMER_TEMPLATE, as_list, load_template, resolve, resources_of_type

PRODUCER = "111111111111"
RECONCILE_ROLE = f"arn:aws:iam::{PRODUCER}:role/secretshare-reconcile-eu-west-1"
PARAMETERS = {"ProducerAccountId": PRODUCER, "ProducerRoleArn": RECONCILE_ROLE, "RoleName": "secretshare-publisher"}
# The condition operators and keys this evaluator understands; anything else fails the test, to be looked at.
EXACT_OPERATORS = {"ArnEquals", "StringEquals"}
KNOWN_KEYS = {"aws:PrincipalArn", "aws:PrincipalAccount"}


def trust_statements():
    (role,) = resources_of_type(load_template(CONSUMER_TEMPLATE), "AWS::IAM::Role").values()
    document = resolve(role["Properties"]["AssumeRolePolicyDocument"], PARAMETERS)
    return as_list(document["Statement"])


@dataclass(frozen=True)
class Caller:
    """Who calls sts:AssumeRole: an IAM identity (its ARN and account), a service, or anyone."""

    arn: str  # aws:PrincipalArn
    account: str = ""  # aws:PrincipalAccount
    service: str = ""

    def named_by(self, principal: str | dict) -> bool:
        if principal == "*":
            return True
        if self.service:
            return self.service in as_list(principal.get("Service", []))
        names = {"*", self.arn, f"arn:aws:iam::{self.account}:root"}
        return bool(names & set(as_list(principal.get("AWS", []))))


def may_assume(caller: Caller) -> bool:
    """Whether the trust policy lets `caller` call sts:AssumeRole on the role."""
    allowed = False
    for statement in trust_statements():
        if matches(statement, caller):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def matches(statement: dict, caller: Caller) -> bool:
    assert "NotPrincipal" not in statement and "NotAction" not in statement
    if not {"sts:AssumeRole", "sts:*", "*"} & set(as_list(statement["Action"])):
        return False
    if not caller.named_by(statement["Principal"]):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        assert operator in EXACT_OPERATORS, f"unexpected condition operator {operator}"
        for key, wanted in conditions.items():
            assert key in KNOWN_KEYS, f"unexpected condition key {key}"
            value = caller.arn if key == "aws:PrincipalArn" else caller.account
            if value not in as_list(wanted):
                return False
    return True


OTHER_ACCOUNT = "999999999999"
CALLERS = [
    pytest.param(Caller(RECONCILE_ROLE, PRODUCER), True, id="the-reconcile-role"),
    pytest.param(Caller(f"arn:aws:iam::{PRODUCER}:role/Admin", PRODUCER), False, id="admin-role-in-A"),
    pytest.param(Caller(f"arn:aws:iam::{PRODUCER}:user/alice", PRODUCER), False, id="user-in-A"),
    pytest.param(Caller(f"arn:aws:iam::{PRODUCER}:root", PRODUCER), False, id="root-of-A"),
    pytest.param(
        Caller(RECONCILE_ROLE.replace(PRODUCER, OTHER_ACCOUNT), OTHER_ACCOUNT), False, id="same-role-in-another-account"
    ),
    pytest.param(Caller("lambda.amazonaws.com", service="lambda.amazonaws.com"), False, id="a-service"),
    pytest.param(Caller("anonymous"), False, id="anyone"),
]


@pytest.mark.parametrize(("caller", "trusted"), CALLERS)
def test_only_the_producers_reconcile_role_may_assume_the_publisher_role(caller, trusted):
    assert may_assume(caller) is trusted


def test_no_statement_trusts_an_account_or_anyone_without_naming_the_role():
    for statement in trust_statements():
        assert statement["Effect"] == "Allow"
        assert as_list(statement["Action"]) == ["sts:AssumeRole"], "no session tagging, source identity or sts:*"
        assert "*" not in str(statement["Principal"])
        assert set(statement["Principal"]) == {"AWS"}, "no service or federated principal"
        assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == RECONCILE_ROLE


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (RECONCILE_ROLE, True),
        ("arn:aws-cn:iam::111111111111:role/path/secretshare-reconcile", True),
        ("arn:aws:iam::111111111111:role/*", False),
        ("arn:aws:iam::111111111111:role/secretshare-*", False),
        ("arn:aws:iam::*:role/secretshare-reconcile-eu-west-1", False),
        ("arn:aws:iam::111111111111:root", False),
        ("arn:aws:iam::111111111111:user/alice", False),
        ("*", False),
    ],
)
def test_the_producer_role_parameter_accepts_one_exact_role_arn(value, accepted):
    pattern = load_template(CONSUMER_TEMPLATE)["Parameters"]["ProducerRoleArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


@pytest.mark.parametrize(("value", "accepted"), [(PRODUCER, True), ("*", False), ("11111111111?", False)])
def test_the_producer_account_parameter_accepts_one_account_id(value, accepted):
    pattern = load_template(CONSUMER_TEMPLATE)["Parameters"]["ProducerAccountId"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted
