"""Organization and OU entries in `share-with`: the grammar, the allow-list, and the conditions that grant them."""

import pytest

from secretshare.domain.consumers import consumer, parse_entry, scope_of
from secretshare.domain.keypolicy import audience_of, audiences, key_grant_statement
from secretshare.domain.policy import granted_principals, resource_grant_statements
from secretshare.domain.settings import AllowList
from secretshare.domain.sharetag import parse_share_tag

ORG = "o-a1b2c3d4e5"
OU = f"{ORG}/r-ab12/ou-ab12-11111111"
NESTED = f"{OU}/ou-ab12-22222222"
SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db-AbCdEf"


def parsed(value, allowed_organizations=frozenset({ORG})):
    return parse_share_tag(
        [{"Key": "share-with", "Value": value}],
        tag_key="share-with",
        partition="aws",
        producer_account="111111111111",
        allowed_accounts=None,
        allowed_organizations=allowed_organizations,
    )


@pytest.mark.parametrize("entry", [ORG, OU, NESTED, f"{OU}/"])
def test_an_organization_or_ou_entry_is_a_consumer(entry):
    share = parsed(entry)
    assert share.consumers == (entry.rstrip("/"),) and share.rejected == ()


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ("o-short", "malformed-organization"),
        ("o-A1B2C3D4E5", "malformed-organization"),
        (f"{ORG}/ou-ab12-11111111", "malformed-organization"),
        (f"{ORG}/r-ab12", "malformed-organization"),
        ("o-zzzzzzzzzz", "other-organization"),
        ("o-zzzzzzzzzz/r-ab12/ou-ab12-11111111", "other-organization"),
    ],
)
def test_a_malformed_or_foreign_organization_entry_is_rejected_naming_it(entry, code):
    share = parsed(f"{entry} 222222222222")
    (rejected,) = share.rejected
    assert (rejected.entry, rejected.code) == (entry, code) and repr(entry) in rejected.reason
    assert share.consumers == ("arn:aws:iam::222222222222:root",)


def test_any_admits_every_organization_and_a_listed_one_is_admitted():
    assert parsed("o-zzzzzzzzzz", allowed_organizations=None).consumers == ("o-zzzzzzzzzz",)
    allow = AllowList.parse("o-zzzzzzzzzz 222222222222")
    assert (allow.accounts, allow.organizations) == (frozenset({"222222222222"}), frozenset({"o-zzzzzzzzzz"}))
    assert parsed("o-zzzzzzzzzz", allowed_organizations=allow.organizations).consumers == ("o-zzzzzzzzzz",)


def test_an_ou_is_granted_with_the_org_id_fixed_and_its_path_covering_nested_ous():
    assert consumer(ORG).conditions() == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    assert consumer(OU).conditions() == {
        "StringEquals": {"aws:PrincipalOrgID": ORG},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{OU}/*"},
    }
    assert parse_entry(f"{OU}/", "aws") == OU


def test_a_consumer_set_is_granted_in_one_statement_for_principals_and_one_per_scope_and_read_back():
    consumers = ["arn:aws:iam::222222222222:root", OU, ORG]
    split = audiences(consumers)
    assert split == [frozenset({"arn:aws:iam::222222222222:root"}), frozenset({ORG}), frozenset({OU})]
    statements = [key_grant_statement(audience, [SECRET], "eu-west-1", "aws") for audience in split]
    assert [audience_of(s) for s in statements] == split
    assert [scope_of(s) for s in statements] == [None, ORG, OU]
    resource = {"Statement": resource_grant_statements(consumers)}
    assert granted_principals(resource) == set(consumers)
    assert len({s["Sid"] for s in resource["Statement"]}) == 3


def test_principals_are_narrowed_to_the_organization_when_it_is_the_allow_list():
    statement = key_grant_statement({"arn:aws:iam::222222222222:root"}, [SECRET], "eu-west-1", "aws", org_id=ORG)
    assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == ORG
    assert (
        "aws:PrincipalOrgID"
        not in key_grant_statement({"arn:aws:iam::222222222222:root"}, [SECRET], "eu-west-1", "aws")["Condition"][
            "StringEquals"
        ]
    )
