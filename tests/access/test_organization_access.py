"""Organization and OU consumers, and ALLOWED_CONSUMERS=organization in a member account, judged by iam-simulate on
the policies secretshare left in moto: AWS's own aws:PrincipalOrgID and aws:PrincipalOrgPaths do the gating."""

from __future__ import annotations

import dataclasses

import pytest
from access import Access, policy

from secretshare.domain.settings import AllowList

EVERYTHING = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
OUTSIDE = "999999999999"
OTHER_ORG = "o-zzzzzzzzzz"


def reader(account):
    return f"arn:aws:iam::{account}:role/reader"


@pytest.fixture
def org(world):
    tree = world.make_organization()
    world.settings = dataclasses.replace(world.settings, allowed_consumers=AllowList.parse("organization"))
    return tree


def test_an_organization_entry_lets_its_members_read_and_nobody_outside(world, iam, org):
    arn = world.create_secret("payments/db", org.id)
    world.reconcile(arn)
    access = Access(iam, world, arn)
    published = access.published_policy(org.in_team)

    member = access.read(reader(org.in_team), published, org.id, org.principal_paths(org.in_team))
    outside = access.read(reader(OUTSIDE), EVERYTHING, OTHER_ORG, [f"{OTHER_ORG}/r-zzzz/"])
    no_org = access.read(reader(OUTSIDE), EVERYTHING)

    assert member.allowed, member.explanation
    assert not outside.allowed, outside.explanation
    assert not no_org.allowed, no_org.explanation


def test_an_ou_entry_lets_a_nested_ou_read_and_not_a_sibling_ou_nor_the_root(world, iam, org):
    arn = world.create_secret("payments/db", org.path(org.apps))
    world.reconcile(arn)
    access = Access(iam, world, arn)
    published = access.published_policy(org.in_team)

    verdicts = {
        account: access.read(reader(account), published, org.id, org.principal_paths(account))
        for account in (org.in_team, org.in_sibling, org.at_root)
    }

    assert verdicts[org.in_team].allowed, verdicts[org.in_team].explanation
    assert not verdicts[org.in_sibling].allowed, verdicts[org.in_sibling].explanation
    assert not verdicts[org.at_root].allowed, verdicts[org.at_root].explanation


def test_once_the_entry_is_removed_nobody_reads(world, iam, org):
    arn = world.create_secret("payments/db", org.path(org.apps))
    world.reconcile(arn)
    published = Access(iam, world, arn).published_policy(org.in_team)
    world.untag(arn)
    world.reconcile(arn)

    after = Access(iam, world, arn).read(reader(org.in_team), published, org.id, org.principal_paths(org.in_team))

    assert not after.allowed, after.explanation


def test_in_a_member_account_an_account_outside_the_organization_is_granted_but_aws_refuses_it(world, iam, org, faults):
    faults.deny("organizations.ListAccounts", "only the management account or a delegated administrator")
    arn = world.create_secret("payments/db", f"{org.in_team} {OUTSIDE}")
    world.reconcile(arn)
    access = Access(iam, world, arn)

    member = access.read(
        reader(org.in_team), access.published_policy(org.in_team), org.id, org.principal_paths(org.in_team)
    )
    outside = access.read(reader(OUTSIDE), EVERYTHING, OTHER_ORG, [f"{OTHER_ORG}/r-zzzz/"])

    assert member.allowed, member.explanation
    assert not outside.allowed, outside.explanation
