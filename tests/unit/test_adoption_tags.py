"""The share tags adoption writes: the secret's own entries first, then the adopted ones, over as many tags as AWS's
256-character tag values need (`share-with`, then `share-with/adopted-2`, ...)."""

from secretshare.domain.settings import Settings
from secretshare.domain.sharetag import share_tag_entries
from secretshare.reconciler.adopt import TAG_VALUE_MAX, _share_tags

ROLES = tuple(f"arn:aws:iam::{200000000000 + i}:role/team-reader-{i:02d}" for i in range(12))


def test_many_adopted_entries_are_split_over_tags_that_each_fit_and_read_back_as_all_of_them():
    description = {"Tags": [{"Key": "share-with", "Value": "222222222222"}]}

    tags = _share_tags(description, Settings(), ROLES)

    assert list(tags)[:2] == ["share-with", "share-with/adopted-2"]
    assert all(len(value) <= TAG_VALUE_MAX for value in tags.values())
    assert tags["share-with"].startswith("222222222222 ")
    entries = share_tag_entries([{"Key": k, "Value": v} for k, v in tags.items()], "share-with")
    assert sorted(entries) == sorted(["222222222222", *ROLES])


def test_no_adopted_entries_write_no_tag():
    assert _share_tags({"Tags": []}, Settings(), ()) == {}
