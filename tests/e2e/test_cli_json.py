"""`--json` on reconcile, status and sweep: one stable document on stdout, its fields as docs/using.md documents them
("JSON documents"); `status --check` for CI."""

import json

import pytest
from commandline import shared_secret

from secretshare_cli.cli import EXIT_FAILED, JSON_VERSION

# The schema, as docs/using.md's "JSON documents" section documents it: field -> allowed types.
STRING_OR_NULL = (str, type(None))
SECRET_FIELDS = {
    "secret": str,
    "name": str,
    "consumers": list,
    "keys": list,
    "status": STRING_OR_NULL,
    "status_tag": STRING_OR_NULL,
    "drift": bool,
    "changes": list,
    "rejected": list,
    "unreachable": list,
    "notes": list,
    "error": STRING_OR_NULL,
    "share_until": STRING_OR_NULL,
    "pending_deletion": bool,
}
RESULT_FIELDS = {**SECRET_FIELDS, "applied": bool, "failures": list}
STATUS_SECRET_FIELDS = {**SECRET_FIELDS, "readers": list}
READER_FIELDS = {"principal": str, "account": STRING_OR_NULL, "reads": bool, "origin": str, "grants": list}
GRANT_FIELDS = {"policy": str, "sid": str, "principal": str, "narrowed_to": list, "origin": str}
KEY_FIELDS = {"region": str, "key_arn": STRING_OR_NULL, "new_key": STRING_OR_NULL, "new_key_alias": STRING_OR_NULL}
REJECTED_FIELDS = {"entry": str, "code": str, "reason": str}
UNREACHABLE_FIELDS = {"account": str, "reason": str}
RECONCILE_FIELDS = {"version": int, "dry_run": bool, **RESULT_FIELDS}
STATUS_FIELDS = {
    "version": int,
    "checked": int,
    "in_sync": int,
    "drifted": int,
    "errors": int,
    "error_status": int,
    "pending_deletion": int,
    "secrets": list,
    "by_account": list,
}
SWEEP_FIELDS = {
    "version": int,
    "checked": int,
    "to_reconcile": int,
    "queued": (int, type(None)),
    "reconciled": int,
    "failed": int,
    "secrets": list,
}


def assert_shape(document, fields):
    assert set(document) == set(fields), set(document) ^ set(fields)
    for name, kind in fields.items():
        assert isinstance(document[name], kind), (name, document[name])
        assert not (kind is int and isinstance(document[name], bool)), name


def assert_secret(secret, fields=SECRET_FIELDS):
    assert_shape(secret, fields)
    for key in secret["keys"]:
        assert_shape(key, KEY_FIELDS)
    for entry in secret["rejected"]:
        assert_shape(entry, REJECTED_FIELDS)
    for account in secret["unreachable"]:
        assert_shape(account, UNREACHABLE_FIELDS)
    for name in ("consumers", "changes", "notes", *(("failures",) if "failures" in fields else ())):
        assert all(isinstance(item, str) for item in secret[name]), name


def parsed(outcome):
    """The JSON document on stdout: the whole of stdout, nothing else."""
    return json.loads(outcome.stdout)


def test_reconcile_dry_run_json_names_the_secret_consumers_keys_status_drift_rejections_and_changes(aws, run):
    arn = shared_secret(aws, "222222222222 12345")
    outcome = run("reconcile", "team/api-key", "--dry-run", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    document = parsed(outcome)
    assert_secret(document, RECONCILE_FIELDS)
    assert document["version"] == JSON_VERSION
    assert (document["dry_run"], document["applied"], document["drift"]) == (True, False, True)
    assert (document["secret"], document["name"]) == (arn, "team/api-key")
    assert document["consumers"] == ["arn:aws:iam::222222222222:root"]
    assert document["keys"] == [{"region": "eu-west-1", "key_arn": None, "new_key": "pool", "new_key_alias": None}]
    assert document["status"] == "error 1 rejected: 12345 not-an-account / ok 1 consumer"
    assert document["status_tag"] is None
    assert document["rejected"] == [
        {
            "entry": "12345",
            "code": "not-an-account",
            "reason": "'12345' is not a 12-digit account id or an IAM role/user ARN (it has 5 digits)",
        }
    ]
    assert document["changes"][0] == "create a pool KMS key in eu-west-1"
    assert document["error"] is None


def test_reconcile_json_after_applying_reports_the_key_and_then_no_drift(aws, run):
    shared_secret(aws, "222222222222")
    first = parsed(run("reconcile", "team/api-key", "--json"))
    second = parsed(run("reconcile", "team/api-key", "--json"))
    assert first["applied"] and first["drift"]
    key_arn = first["keys"][0]["key_arn"]
    assert key_arn.startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert_secret(second, RECONCILE_FIELDS)
    assert (second["drift"], second["changes"], second["status_tag"]) == (False, [], "ok 1 consumer")
    assert second["keys"] == [{"region": "eu-west-1", "key_arn": key_arn, "new_key": None, "new_key_alias": None}]


def test_a_failed_reconciliation_still_prints_its_document_then_one_error_line(cli_world, cli_faults, run):
    cli_world.create_secret("team/api-key", "222222222222 333333333333")
    cli_faults.deny("sts.AssumeRole", "not authorized", when=lambda request: "::333333333333:" in request["RoleArn"])
    outcome = run("reconcile", "team/api-key", "--json")
    assert outcome.exit_code == EXIT_FAILED, outcome.stderr
    document = parsed(outcome)
    assert_secret(document, RECONCILE_FIELDS)
    assert document["applied"] is True
    assert document["failures"][0].startswith("consumer account 333333333333: cannot assume the publisher role")
    assert document["error"].startswith("reconciling arn:aws:secretsmanager:")
    assert document["status"] == "error 1 unreachable: 333333333333 / ok 2 consumers"
    assert outcome.error_lines[-1].startswith("Error: reconciling")


def test_status_json_lists_every_secret_with_counts(aws, run):
    shared_secret(aws, "222222222222", name="app/one")
    synced = shared_secret(aws, "222222222222", name="app/two")
    run("reconcile", synced)
    outcome = run("status", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    document = parsed(outcome)
    assert_shape(document, STATUS_FIELDS)
    for secret in document["secrets"]:
        assert_secret(secret, STATUS_SECRET_FIELDS)
        for reader in secret["readers"]:
            assert_shape(reader, READER_FIELDS)
            for grant in reader["grants"]:
                assert_shape(grant, GRANT_FIELDS)
    assert {k: document[k] for k in ("checked", "in_sync", "drifted", "errors", "error_status")} == {
        "checked": 2,
        "in_sync": 1,
        "drifted": 1,
        "errors": 0,
        "error_status": 0,
    }
    by_name = {secret["name"]: secret for secret in document["secrets"]}
    assert by_name["app/two"]["drift"] is False and by_name["app/two"]["status"] == "ok 1 consumer"
    assert by_name["app/one"]["drift"] is True and by_name["app/one"]["changes"]


def test_a_secret_that_could_not_be_checked_is_an_error_row_not_a_failure_of_status(cli_world, cli_faults, run):
    cli_world.create_secret("team/api-key", "222222222222")
    cli_faults.deny("secretsmanager.GetResourcePolicy", "not authorized")
    outcome = run("status", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    document = parsed(outcome)
    (secret,) = document["secrets"]
    assert_secret(secret, STATUS_SECRET_FIELDS)
    assert document["errors"] == 1 and secret["drift"] is True
    assert "AccessDeniedException" in secret["error"]
    table = run("status")
    assert "could not be checked" in table.stdout and "AccessDeniedException" in table.stdout


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_status_check_exits_zero_only_when_everything_is_in_sync_and_ok(aws, run, as_json):
    arn = shared_secret(aws, "222222222222")
    drifted = run("status", "--check", *as_json)
    run("reconcile", arn)
    in_sync = run("status", "--check", *as_json)
    aws.client("secretsmanager").tag_resource(SecretId=arn, Tags=[{"Key": "share-with", "Value": "222222222222 *"}])
    run("reconcile", arn)
    error_status = run("status", "--check", *as_json)

    assert drifted.exit_code == EXIT_FAILED
    assert drifted.error_lines == [
        "Error: status --check: 1 secret: 0 in sync, 1 out of sync; hint: `secretshare sweep` reconciles what is out "
        "of sync; an error status names the entry or account to fix"
    ]
    assert in_sync.exit_code == 0, in_sync.stderr
    assert in_sync.stderr == ""
    assert error_status.exit_code == EXIT_FAILED
    assert "1 in sync, 0 out of sync, 1 with an error status" in error_status.error_lines[0]
    if as_json:
        assert parsed(error_status)["error_status"] == 1
        assert parsed(error_status)["secrets"][0]["status"] == "error 1 rejected: U+002A wildcard / ok 1 consumer"


def test_status_check_counts_a_secret_scheduled_for_deletion_apart_and_passes(aws, run):
    kept = shared_secret(aws, "222222222222", name="app/kept")
    deleted = shared_secret(aws, "222222222222 *", name="app/deleted")  # an error status, then deleted
    run("reconcile", kept)
    run("reconcile", deleted)
    aws.client("secretsmanager").delete_secret(SecretId=deleted, RecoveryWindowInDays=7)
    run("reconcile", deleted)  # its key grants and parameter revoked

    outcome = run("status", "--check")
    document = parsed(run("status", "--check", "--json"))

    assert outcome.exit_code == 0, outcome.stderr
    assert "2 secrets: 1 in sync, 0 out of sync, 1 scheduled for deletion" in outcome.stdout
    assert {k: document[k] for k in ("checked", "in_sync", "error_status", "pending_deletion")} == {
        "checked": 2,
        "in_sync": 1,
        "error_status": 0,
        "pending_deletion": 1,
    }
    by_name = {secret["name"]: secret for secret in document["secrets"]}
    assert by_name["app/deleted"]["pending_deletion"] is True
    assert by_name["app/kept"]["pending_deletion"] is False


def test_status_json_says_when_a_time_boxed_share_ends(aws, run):
    arn = shared_secret(aws, "222222222222", name="app/until")
    aws.client("secretsmanager").tag_resource(SecretId=arn, Tags=[{"Key": "share-until", "Value": "2099-01-31"}])
    (secret,) = parsed(run("status", "--json"))["secrets"]
    assert secret["share_until"] == "2099-01-31T00:00:00Z"


def test_status_check_fails_on_a_secret_that_could_not_be_checked(cli_world, cli_faults, run):
    cli_world.create_secret("team/api-key", "222222222222")
    cli_faults.deny("secretsmanager.GetResourcePolicy", "not authorized")
    outcome = run("status", "--check")
    assert outcome.exit_code == EXIT_FAILED
    assert "1 could not be checked" in outcome.error_lines[0]


def test_sweep_json_reports_what_it_reconciled(aws, run):
    shared_secret(aws, "222222222222", name="app/one")
    shared_secret(aws, "333333333333", name="app/two")
    outcome = run("sweep", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    document = parsed(outcome)
    assert_shape(document, SWEEP_FIELDS)
    assert (document["checked"], document["to_reconcile"], document["reconciled"], document["failed"]) == (2, 2, 2, 0)
    assert document["queued"] is None
    for secret in document["secrets"]:
        assert_secret(secret, RESULT_FIELDS)
        assert secret["applied"] and secret["drift"] and secret["status"] == "ok 1 consumer"
    again = parsed(run("sweep", "--json"))
    assert (again["to_reconcile"], again["secrets"]) == (0, [])


def test_sweep_json_with_a_queue_reports_what_it_queued(aws, run):
    shared_secret(aws, "222222222222")
    queue = aws.client("sqs").create_queue(
        QueueName="reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    document = parsed(run("sweep", "--queue-url", queue, "--json"))
    assert (document["queued"], document["reconciled"], document["to_reconcile"]) == (1, 0, 1)
    (secret,) = document["secrets"]
    assert_secret(secret, RESULT_FIELDS)
    assert secret["applied"] is False and secret["drift"] is True
    messages = aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1


def test_a_sweep_whose_reconciliation_fails_exits_1_and_says_which(cli_world, cli_faults, run):
    cli_world.create_secret("app/one", "222222222222")
    cli_world.create_secret("app/two", "333333333333")
    cli_faults.deny("sts.AssumeRole", "not authorized", when=lambda request: "::333333333333:" in request["RoleArn"])
    outcome = run("sweep", "--json")
    assert outcome.exit_code == EXIT_FAILED
    document = parsed(outcome)
    assert (document["reconciled"], document["failed"]) == (2, 1)
    failed = [secret for secret in document["secrets"] if secret["error"]]
    assert [secret["name"] for secret in failed] == ["app/two"]
    assert outcome.error_lines == [
        "Error: 1 of 2 reconciliations failed; hint: the table names each failure; `secretshare reconcile <secret> -v` "
        "shows one in full"
    ]


def hand_shared(aws, run, account: str = "444444444444") -> str:
    """A secret shared by tag with B, then by hand with `account` in both its policies."""
    arn = shared_secret(aws, "222222222222", name="app/db")
    run("reconcile", arn)
    secrets, kms = aws.client("secretsmanager"), aws.client("kms")
    grant = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Resource": "*"}
    resource_policy = json.loads(secrets.get_resource_policy(SecretId=arn)["ResourcePolicy"])
    resource_policy["Statement"].append({"Sid": "HandShare", **grant, "Action": "secretsmanager:GetSecretValue"})
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(resource_policy))
    key_id = secrets.describe_secret(SecretId=arn)["KmsKeyId"]
    key_policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    key_policy["Statement"].append({"Sid": "HandKey", **grant, "Action": "kms:Decrypt"})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy))
    return arn


def test_status_json_names_every_reader_with_the_origin_of_each_grant_and_the_reverse_view(aws, run):
    arn = hand_shared(aws, run)

    document = parsed(run("status", "--json"))

    (secret,) = document["secrets"]
    readers = {reader["principal"]: reader for reader in secret["readers"]}
    assert {p: (r["account"], r["reads"], r["origin"]) for p, r in readers.items()} == {
        "arn:aws:iam::222222222222:root": ("222222222222", True, "secretshare"),
        "arn:aws:iam::444444444444:root": ("444444444444", True, "foreign"),
    }
    hand = readers["arn:aws:iam::444444444444:root"]["grants"]
    assert {(g["policy"], g["sid"], g["origin"]) for g in hand} == {
        ("resource policy", "HandShare", "foreign"),
        ("key policy", "HandKey", "foreign"),
    }
    assert document["by_account"] == [
        {
            "account": "222222222222",
            "principal": "arn:aws:iam::222222222222:root",
            "secrets": [{"secret": arn, "reads": True, "origin": "secretshare"}],
        },
        {
            "account": "444444444444",
            "principal": "arn:aws:iam::444444444444:root",
            "secrets": [{"secret": arn, "reads": True, "origin": "foreign"}],
        },
    ]


def test_the_status_table_marks_a_foreign_grant_and_the_reverse_view_lists_it(aws, run):
    hand_shared(aws, run)

    table = run("status").stdout.splitlines()
    by_account = run("status", "--by-account").stdout.splitlines()

    (row,) = [line for line in table if line.startswith("app/db\t")]
    assert row.split("\t")[2] == (
        "arn:aws:iam::222222222222:root; arn:aws:iam::444444444444:root (foreign: resource policy HandShare, key "
        "policy HandKey)"
    )
    assert by_account[:3] == [
        "account\tprincipal\tcan read",
        "222222222222\tarn:aws:iam::222222222222:root\tapp/db",
        "444444444444\tarn:aws:iam::444444444444:root\tapp/db (foreign)",
    ]
