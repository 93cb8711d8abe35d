"""The share-tag grammar: what is granted, what is rejected and why."""

import pytest

from secretshare.domain.consumers import InvalidShareEntry, parse_entry
from secretshare.domain.sharetag import parse_share_tag, share_tag_entries

PRODUCER = "111111111111"


def parse(value: str, *, allowed=None, extra_tags=()):
    tags = [{"Key": "share-with", "Value": value}, *extra_tags]
    return parse_share_tag(
        tags, tag_key="share-with", partition="aws", producer_account=PRODUCER, allowed_accounts=allowed
    )


def test_account_id_is_granted_as_the_account_root():
    assert parse("222222222222").consumers == ("arn:aws:iam::222222222222:root",)


def test_role_and_user_arns_with_paths_are_granted_as_written():
    share = parse("arn:aws:iam::222222222222:role/team/app arn:aws:iam::333333333333:user/ci+bot@x")
    assert share.consumers == ("arn:aws:iam::222222222222:role/team/app", "arn:aws:iam::333333333333:user/ci+bot@x")
    assert share.consumer_accounts == ("222222222222", "333333333333")


def test_root_arn_is_the_same_as_the_account_id_and_duplicates_collapse():
    share = parse("222222222222 arn:aws:iam::222222222222:root 222222222222")
    assert share.consumers == ("arn:aws:iam::222222222222:root",)
    assert share.rejected == ()


def test_entries_are_split_on_any_whitespace_and_merged_across_share_with_slash_tags():
    share = parse(
        "222222222222\t\n333333333333",
        extra_tags=[{"Key": "share-with/more", "Value": "444444444444"}, {"Key": "share-without", "Value": "5" * 12}],
    )
    assert [p.split(":")[4] for p in share.consumers] == ["222222222222", "333333333333", "444444444444"]


def test_share_tag_entries_reads_only_the_share_keys_in_key_order():
    tags = [{"Key": "share-with/b", "Value": "2"}, {"Key": "share-with", "Value": "1"}, {"Key": "other", "Value": "x"}]
    assert share_tag_entries(tags, "share-with") == ["1", "2"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("12345", "'12345' is not a 12-digit account id or an IAM role/user ARN"),
        ("*", "'*' contains a wildcard"),
        ("arn:aws:iam::222222222222:role/*", "contains a wildcard"),
        ("ec2.amazonaws.com", "'ec2.amazonaws.com' is a service principal"),
        ("arn:aws:iam::222222222222:group/devs", "is an IAM group, which cannot be a principal"),
        ("arn:aws-cn:iam::222222222222:role/x", "is in partition 'aws-cn'; the secret is in 'aws'"),
        ("arn:aws:sts::222222222222:assumed-role/x/s", "is a session principal"),
        ("arn:aws:s3:::bucket", "is not a well-formed ARN"),
        ("arn:aws:iam::2222:role/x", "is not a well-formed ARN"),
        ("arn:aws:iam::222222222222:policy/p", "is not an IAM role or user ARN"),
        ("arn:aws:iam::222222222222:role/", "is not an IAM role or user ARN"),
        ("arn:aws:lambda:eu-west-1:222222222222:function:f", "is not an IAM ARN"),
        ("222222222222,333333333333", "is not a 12-digit account id"),
    ],
)
def test_malformed_entries_are_rejected_with_a_reason_naming_them(entry, reason):
    share = parse(f"{entry} 999999999999")
    assert share.consumers == ("arn:aws:iam::999999999999:root",), "a bad entry must not block the valid ones"
    assert [r.entry for r in share.rejected] == [entry]
    assert reason in share.rejected[0].reason
    assert repr(entry) in share.rejected[0].reason or entry in share.rejected[0].reason


def test_the_producer_account_itself_is_rejected():
    share = parse(f"{PRODUCER} arn:aws:iam::{PRODUCER}:role/self")
    assert share.consumers == ()
    assert all(f"producer account {PRODUCER}" in r.reason for r in share.rejected)
    assert len(share.rejected) == 2


def test_accounts_outside_the_allow_list_are_rejected_naming_the_allow_list():
    share = parse("222222222222 arn:aws:iam::333333333333:role/app", allowed=frozenset({"222222222222"}))
    assert share.consumers == ("arn:aws:iam::222222222222:root",)
    assert share.rejected[0].reason == (
        "'arn:aws:iam::333333333333:role/app': account 333333333333 is not allowed by ALLOWED_CONSUMERS"
    )


def test_no_tag_means_no_consumers_and_no_rejections():
    share = parse_share_tag([], tag_key="share-with", partition="aws", producer_account=PRODUCER, allowed_accounts=None)
    assert (share.consumers, share.rejected) == ((), ())


def test_an_entry_uses_the_secrets_partition_for_account_ids():
    assert parse_entry("222222222222", "aws-us-gov") == "arn:aws-us-gov:iam::222222222222:root"
    with pytest.raises(InvalidShareEntry, match="partition 'aws'"):
        parse_entry("arn:aws:iam::222222222222:role/x", "aws-us-gov")


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        ("222222222222,333333333333", "; entries are separated by spaces, not commas or semicolons"),
        ("222222222222;333333333333", "; entries are separated by spaces, not commas or semicolons"),
        ("arn:aws:iam::222222222222:root,333333333333", "; entries are separated by spaces, not commas or semicolons"),
        ("2222-2222-2222", "; write the account id without dashes (222222222222)"),
        ("12345", "'12345' is not a 12-digit account id or an IAM role/user ARN (it has 5 digits)"),
    ],
)
def test_a_rejected_entry_says_what_was_most_likely_meant(entry, hint):
    (rejected,) = parse(entry).rejected
    assert rejected.reason.endswith(hint)
