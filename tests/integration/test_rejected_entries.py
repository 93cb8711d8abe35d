"""Tag entries that cannot be granted are reported with a reason; they never block the valid entries."""

import logging

import pytest

from secretshare.domain.settings import AllowList, Settings

B = "222222222222"
C = "333333333333"
ROOT_B = f"arn:aws:iam::{B}:root"
ROOT_C = f"arn:aws:iam::{C}:root"
ROLE_C = f"arn:aws:iam::{C}:role/app"

INVALID_ENTRIES = [
    "12345",
    "*",
    f"arn:aws:iam::{B}:group/devs",
    "ec2.amazonaws.com",
    f"arn:aws-cn:iam::{B}:role/x",
    "123456789012",  # the producer account itself
]


def assert_shared_with_b_and_c_only(world, arn):
    sharing = world.sharing(arn)
    assert sharing.key_grantees == {ROOT_B, ROLE_C}
    assert sharing.resource_grantees == {ROOT_B, ROLE_C}
    assert sharing.parameter_accounts == {B, C}


@pytest.mark.parametrize("entry", INVALID_ENTRIES)
def test_an_invalid_entry_is_rejected_with_a_reason_naming_it_and_valid_entries_still_converge(world, entry):
    arn = world.create_secret("app/db-password", f"{B} {entry} {ROLE_C}")

    result = world.reconcile(arn)

    assert [rejected.entry for rejected in result.rejected] == [entry]
    assert entry in result.rejected[0].reason
    assert set(result.consumers) == {ROOT_B, ROLE_C}
    assert_shared_with_b_and_c_only(world, arn)


def test_every_rejected_entry_is_logged_with_its_reason_while_the_valid_ones_converge(world, caplog):
    arn = world.create_secret("app/db-password", " ".join([B, *INVALID_ENTRIES, ROLE_C]))

    with caplog.at_level(logging.WARNING, logger="secretshare"):
        result = world.reconcile(arn)

    assert {rejected.entry for rejected in result.rejected} == set(INVALID_ENTRIES)
    for rejected in result.rejected:
        assert rejected.entry in rejected.reason
        assert any(rejected.entry in r.getMessage() and rejected.reason in r.getMessage() for r in caplog.records)
    assert_shared_with_b_and_c_only(world, arn)


def test_accounts_outside_an_explicit_allow_list_are_rejected_naming_allowed_consumers(world):
    world.settings = Settings(allowed_consumers=AllowList.parse(B))
    arn = world.create_secret("app/db-password", f"{B} {C} {ROLE_C}")

    result = world.reconcile(arn)

    assert {rejected.entry for rejected in result.rejected} == {C, ROLE_C}
    for rejected in result.rejected:
        assert rejected.entry in rejected.reason
        assert "ALLOWED_CONSUMERS" in rejected.reason
    sharing = world.sharing(arn)
    assert sharing.key_grantees == {ROOT_B}
    assert sharing.resource_grantees == {ROOT_B}
    assert sharing.parameter_accounts == {B}


def test_organization_allow_list_rejects_accounts_outside_the_organization(world):
    world.organizations.create_organization(FeatureSet="ALL")
    member = world.organizations.create_account(AccountName="consumer", Email="consumer@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    world.settings = Settings(allowed_consumers=AllowList.parse("organization"))
    arn = world.create_secret("app/db-password", f"{member} {B}")

    result = world.reconcile(arn)

    [rejected] = result.rejected
    assert rejected.entry == B
    assert B in rejected.reason and "ALLOWED_CONSUMERS" in rejected.reason
    sharing = world.sharing(arn, accounts=(member, B))
    assert sharing.key_grantees == {f"arn:aws:iam::{member}:root"}
    assert sharing.resource_grantees == {f"arn:aws:iam::{member}:root"}
    assert sharing.parameter_accounts == {member}


def test_share_with_extra_tags_are_merged_with_share_with(world):
    arn = world.create_secret("app/db-password", B, tags={"share-with/extra": ROLE_C, "share-with/more": C})

    result = world.reconcile(arn)

    assert set(result.consumers) == {ROOT_B, ROLE_C, ROOT_C}
    sharing = world.sharing(arn)
    assert sharing.key_grantees == {ROOT_B, ROLE_C, ROOT_C}
    assert sharing.resource_grantees == {ROOT_B, ROLE_C, ROOT_C}
    assert sharing.parameter_accounts == {B, C}


def test_an_extra_tag_alone_shares_the_secret(world):
    arn = world.create_secret("app/db-password", tags={"share-with/extra": ROLE_C})

    world.reconcile(arn)

    assert world.sharing(arn).key_grantees == {ROLE_C}
    assert world.sharing(arn).parameter_accounts == {C}


def test_tag_keys_that_merely_start_with_share_with_share_nothing(world):
    arn = world.create_secret("app/db-password", tags={"share-without": B, "share-with-old": ROLE_C})

    result = world.reconcile(arn)

    assert result.consumers == ()
    assert world.kms_key_id(arn) is None
    assert world.aliases() == {}
    assert world.resource_policy(arn) is None
    assert world.parameters_for(B, arn) == []
    assert world.parameters_for(C, arn) == []
