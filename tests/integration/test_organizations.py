"""Organizations done right: ALLOWED_CONSUMERS=organization in any account, today's ListAccounts, and organization
and OU entries in `share-with`.

moto plays A's organization (A is its management account, so ListAccounts answers). What AWS does that moto does
not is given at the botocore boundary in AWS's shapes: ListAccounts without the retired `Status` field, AccessDenied
for a member account, and an answer that cannot be a real organization's (docs/aws-facts.md §5).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from support.world import PRODUCER

from secretshare.domain.errors import AllowListUnavailable
from secretshare.domain.settings import AllowList

NAME = "app/db"


@pytest.fixture
def org(world):
    tree = world.make_organization()
    world.settings = dataclasses.replace(world.settings, allowed_consumers=AllowList.parse("organization"))
    return tree


def list_accounts_as_aws_does_today(world, *, drop=(), state_of=None):
    """ListAccounts as AWS answers since Status was retired (2026-09-09): `State` only."""

    def today(parsed, **_):
        parsed["Accounts"] = [a for a in parsed.get("Accounts", []) if a["Id"] not in drop]
        for account in parsed["Accounts"]:
            account.pop("Status", None)
            account["State"] = (state_of or {}).get(account["Id"], account.get("State", "ACTIVE"))

    world.session.events.register("after-call.organizations.ListAccounts", today)


def as_a_member_account(faults):
    faults.deny(
        "organizations.ListAccounts",
        "You don't have permissions to access this resource. (only the management account or a delegated admin)",
    )


def grant_of(world, arn):
    (grant,) = world.key_grants_for(world.key_policy(world.kms_key_id(arn)), arn)
    return grant


# --- ALLOWED_CONSUMERS=organization --------------------------------------------------------------------------------


def test_listed_members_are_checked_up_front_and_the_grant_is_narrowed_to_the_organization(world, org):
    list_accounts_as_aws_does_today(world, state_of={org.in_sibling: "SUSPENDED"})
    arn = world.create_secret(NAME, f"{org.in_team} {org.in_sibling} 999999999999")

    result = world.reconcile(arn)

    assert {e.entry: e.code for e in result.rejected} == {org.in_sibling: "not-allowed", "999999999999": "not-allowed"}
    assert result.consumers == (f"arn:aws:iam::{org.in_team}:root",)
    assert grant_of(world, arn)["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == org.id
    (statement,) = world.ours(world.resource_policy(arn))
    assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == org.id
    assert world.status(arn).endswith("/ ok 1 consumer / org members checked")


def test_in_a_member_account_aws_enforces_membership_and_nothing_is_rejected_for_it(world, org, faults):
    as_a_member_account(faults)
    arn = world.create_secret(NAME, f"{org.in_team} 999999999999")

    result = world.reconcile(arn)

    assert result.rejected == ()
    assert set(result.consumers) == {f"arn:aws:iam::{org.in_team}:root", "arn:aws:iam::999999999999:root"}
    assert grant_of(world, arn)["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == org.id
    assert world.status(arn) == "ok 2 consumers / org membership enforced by AWS"


@pytest.mark.parametrize("drop", ["everyone", "account A"])
def test_an_answer_that_cannot_be_an_organization_counts_as_unlisted_and_rejects_nobody(world, org, drop):
    members = [org.in_team, org.in_sibling, org.at_root, PRODUCER]
    list_accounts_as_aws_does_today(world, drop=members if drop == "everyone" else [PRODUCER])
    arn = world.create_secret(NAME, f"{org.in_team} {org.in_sibling}")

    result = world.reconcile(arn)

    assert result.rejected == () and len(result.consumers) == 2
    assert world.status(arn) == "ok 2 consumers / org membership enforced by AWS"


def test_an_account_in_no_organization_changes_nothing_and_says_why(world, calls):
    world.settings = dataclasses.replace(world.settings, allowed_consumers=AllowList.parse("organization"))
    arn = world.create_secret(NAME, "222222222222")

    with pytest.raises(AllowListUnavailable, match="cannot describe its organization"):
        world.reconcile(arn)

    assert [c.operation for c in calls.writes()] == ["TagResource"]  # the status tag, and nothing else
    assert world.status(arn) == "error allow-list-unavailable"


# --- organization and OU entries -------------------------------------------------------------------------------------


def test_an_organization_entry_is_granted_by_org_id_and_published_to_every_active_member(world, org):
    list_accounts_as_aws_does_today(world, state_of={org.at_root: "SUSPENDED"})
    arn = world.create_secret(NAME, org.id)

    world.reconcile(arn)

    grant = grant_of(world, arn)
    assert grant["Principal"] == {"AWS": "*"}
    assert grant["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
            "kms:EncryptionContext:SecretARN": arn,
            "aws:PrincipalOrgID": org.id,
        }
    }
    (statement,) = world.ours(world.resource_policy(arn))
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": org.id}}
    published = world.sharing(arn, (org.in_team, org.in_sibling, org.at_root)).parameter_accounts
    assert published == {org.in_team, org.in_sibling}
    assert world.status(arn) == "ok 1 consumer / org members checked"


def test_an_ou_entry_covers_nested_ous_and_not_a_sibling_and_its_removal_revokes_everything(world, org):
    arn = world.create_secret(NAME, org.path(org.apps))
    world.reconcile(arn)

    grant = grant_of(world, arn)
    assert grant["Condition"]["ForAnyValue:StringLike"] == {"aws:PrincipalOrgPaths": f"{org.path(org.apps)}/*"}
    assert grant["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == org.id
    accounts = (org.in_team, org.in_sibling, org.at_root)
    assert world.sharing(arn, accounts).parameter_accounts == {org.in_team}

    world.untag(arn)
    world.reconcile(arn)

    assert world.key_grants_for(world.key_policy(world.kms_key_id(arn)), arn) == []
    assert world.resource_policy(arn) is None
    assert world.sharing(arn, accounts).parameter_accounts == set()


def test_an_ou_entry_whose_path_is_not_the_ous_is_granted_as_written_but_published_nowhere(world, org):
    wrong = org.path(org.sibling, org.team)  # team is under apps, not data
    arn = world.create_secret(NAME, wrong)

    result = world.reconcile(arn)

    assert grant_of(world, arn)["Condition"]["ForAnyValue:StringLike"] == {"aws:PrincipalOrgPaths": f"{wrong}/*"}
    assert world.sharing(arn, (org.in_team,)).parameter_accounts == set()
    assert any("cannot be listed" in note for note in result.plan.notes)


def test_in_a_member_account_an_organization_entry_is_granted_and_its_policy_is_not_published(world, org, faults):
    as_a_member_account(faults)
    arn = world.create_secret(NAME, org.id)

    result = world.reconcile(arn)

    assert grant_of(world, arn)["Principal"] == {"AWS": "*"}
    assert world.sharing(arn, (org.in_team, org.in_sibling)).parameter_accounts == set()
    (note,) = [n for n in result.plan.notes if org.id in n]
    assert "secretshare policy" in note


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ("o-short", "malformed-organization"),
        ("o-a1b2c3d4e5/ou-ab12-11111111", "malformed-organization"),
        ("o-zzzzzzzzzz", "other-organization"),
        ("o-zzzzzzzzzz/r-ab12/ou-ab12-11111111", "other-organization"),
    ],
)
def test_malformed_and_foreign_organization_entries_are_rejected_with_their_reason(world, org, entry, code):
    arn = world.create_secret(NAME, f"{entry} {org.in_team}")

    result = world.reconcile(arn)

    ((rejected, reason),) = [(e.code, e.reason) for e in result.rejected]
    assert rejected == code and repr(entry) in reason
    assert result.consumers == (f"arn:aws:iam::{org.in_team}:root",)


def test_another_organization_the_allow_list_names_is_granted(world):
    world.settings = dataclasses.replace(world.settings, allowed_consumers=AllowList.parse("o-zzzzzzzzzz 222222222222"))
    arn = world.create_secret(NAME, "o-zzzzzzzzzz 222222222222 333333333333")

    result = world.reconcile(arn)

    assert [e.entry for e in result.rejected] == ["333333333333"]
    assert set(result.consumers) == {"o-zzzzzzzzzz", "arn:aws:iam::222222222222:root"}
    grants = world.key_grants_for(world.key_policy(world.kms_key_id(arn)), arn)
    assert sorted(json.dumps(g["Principal"]) for g in grants) == [
        '{"AWS": "*"}',
        '{"AWS": ["arn:aws:iam::222222222222:root"]}',
    ]
