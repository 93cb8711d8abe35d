"""The messages a user reads through the command line name the slip and keep the status tag readable."""

from secretshare_cli.cli import EXIT_OK


def tagged(aws, **tags):
    return aws.client("secretsmanager").create_secret(
        Name="team/api-key", SecretString="v", Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
    )["ARN"]


def test_commas_between_entries_get_a_hint_and_a_wildcard_stays_visible_in_the_status(aws, run):
    tagged(aws, **{"share-with": "222222222222,333333333333 * 333333333333"})
    outcome = run("reconcile", "team/api-key", "--dry-run")
    assert outcome.exit_code == EXIT_OK, outcome.stderr
    assert (
        "rejected '222222222222,333333333333': '222222222222,333333333333' is not a 12-digit account id or an IAM "
        "role/user ARN; entries are separated by spaces, not commas or semicolons"
    ) in outcome.stdout
    assert (
        "status: error 2 rejected: 222222222222U+002C333333333333 not-an-account U+002A wildcard / ok 1 consumer"
    ) in outcome.stdout


def test_nobody_granted_reads_nothing_granted_not_ok_0_consumers(aws, run):
    tagged(aws, **{"share-with": "12345"})
    outcome = run("reconcile", "team/api-key", "--dry-run")
    assert "status: error 1 rejected: 12345 not-an-account / nothing granted" in outcome.stdout
    assert "ok 0 consumers" not in outcome.stdout


def test_a_share_until_that_cannot_be_read_does_not_read_expired(aws, run):
    tagged(aws, **{"share-with": "222222222222", "share-until": "31/12/2026"})
    outcome = run("reconcile", "team/api-key", "--dry-run")
    assert "status: error 1 rejected: share-until=31/12/2026 malformed-date / nothing granted" in outcome.stdout
    assert "rejected 'share-until=31/12/2026': share-until: '31/12/2026' is not an ISO 8601 date" in outcome.stdout
