"""The command line as a user runs it: `secretshare demo`, `reconcile --dry-run`, `reconcile`, `status`, `sweep`."""

import json
import os
import subprocess
import sys
from pathlib import Path

from commandline import shared_secret

TESTS = Path(__file__).resolve().parents[1]
LAYERS = TESTS.parent / "layers"


def test_demo_runs_the_whole_story_and_exits_zero():
    # As `make demo` runs it: the installed packages only (the evaluator judges account A's app role), no test code.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "-m", "secretshare_cli.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "demo passed" in completed.stdout
    assert "✘" not in completed.stdout
    assert "'12345' is not a 12-digit account id" in completed.stdout
    judged = [line for line in completed.stdout.splitlines() if "✔ app role of A" in line]
    assert len(judged) == 3, completed.stdout  # before the share, after the key move, after the share ends
    assert "starting the embedded moto server" in completed.stdout
    assert completed.stderr == ""


def test_dry_run_prints_the_plan_as_a_diff_and_changes_nothing(aws, run):
    arn = shared_secret(aws)
    outcome = run("reconcile", "team/api-key", "--dry-run")
    assert outcome.exit_code == 0, outcome.stderr
    assert "would apply (dry run)" in outcome.stdout
    assert "create a pool KMS key in eu-west-1" in outcome.stdout
    assert '+      "Sid": "SecretShareConsumers",' in outcome.stdout
    assert "rejected '12345': '12345' is not a 12-digit account id" in outcome.stdout
    assert "KmsKeyId" not in aws.client("secretsmanager").describe_secret(SecretId=arn)
    aliases = [a["AliasName"] for a in aws.client("kms").list_aliases()["Aliases"]]
    assert not [a for a in aliases if a.startswith("alias/secretshare/")]


def test_reconcile_applies_then_status_reports_in_sync(aws, run):
    arn = shared_secret(aws, "222222222222")
    applied = run("reconcile", arn)
    assert applied.exit_code == 0, applied.stderr
    policy = json.loads(aws.client("secretsmanager").get_resource_policy(SecretId=arn)["ResourcePolicy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": ["arn:aws:iam::222222222222:root"]}
    status = run("status")
    assert status.exit_code == 0, status.stderr
    assert "team/api-key" in status.stdout and "in sync" in status.stdout
    assert "1 secret: 1 in sync, 0 out of sync" in status.stdout


def test_status_shows_the_status_tag_and_where_it_is_behind(aws, run):
    arn = shared_secret(aws, "222222222222 12345")
    before = run("status")
    run("reconcile", arn)
    after = run("status")

    assert "error 1 rejected: 12345 not-an-account / ok 1 consumer" in before.stdout
    assert "(tag now: none)" in before.stdout
    tags = aws.client("secretsmanager").describe_secret(SecretId=arn)["Tags"]
    assert {"Key": "share-with-status", "Value": "error 1 rejected: 12345 not-an-account / ok 1 consumer"} in tags
    assert "error 1 rejected: 12345 not-an-account / ok 1 consumer" in after.stdout
    assert "tag now" not in after.stdout


def test_sweep_reconciles_only_the_secrets_out_of_sync(aws, run):
    arn = shared_secret(aws, "222222222222")
    first = run("sweep")
    assert first.exit_code == 0, first.stderr
    assert "checked 1 secret: 1 to reconcile" in first.stdout
    assert "SecretShareConsumers" in aws.client("secretsmanager").get_resource_policy(SecretId=arn)["ResourcePolicy"]
    second = run("sweep")
    assert "checked 1 secret: 0 to reconcile" in second.stdout


def test_policy_prints_what_is_published_and_fails_before_the_first_reconciliation(aws, run):
    arn = shared_secret(aws, "222222222222")
    before = run("policy", "team/api-key")
    run("reconcile", arn)
    printed = run("policy", "team/api-key")

    assert before.exit_code == 1
    assert before.error_lines == [
        f"Error: secret {arn} is not yet on the key it will be shared with; hint: reconcile it: secretshare "
        "reconcile team/api-key"
    ]
    assert printed.exit_code == 0, printed.stderr
    read, decrypt = json.loads(printed.stdout)["Statement"]
    assert read["Resource"] == arn
    assert decrypt["Resource"] == aws.client("secretsmanager").describe_secret(SecretId=arn)["KmsKeyId"]


def test_policy_json_names_the_secret_its_keys_and_the_policy(aws, run):
    arn = shared_secret(aws, "222222222222")
    run("reconcile", arn)
    document = json.loads(run("policy", "team/api-key", "--json").stdout)
    key_arn = aws.client("secretsmanager").describe_secret(SecretId=arn)["KmsKeyId"]
    snippets = document.pop("snippets")  # their shape: tests/e2e/test_cli_snippets.py
    assert document == {
        "version": 1,
        "secret": arn,
        "name": "team/api-key",
        "keys": [{"region": "eu-west-1", "key_arn": key_arn}],
        "policy": json.loads(run("policy", "team/api-key").stdout),
    }
    assert set(snippets) == {"external-secrets", "csi", "terraform"}


def test_policy_of_a_secret_that_does_not_exist_is_a_usage_error_not_a_hint_to_reconcile(aws, run):
    outcome = run("policy", "team/nonexistent")
    assert outcome.exit_code == 2
    assert outcome.error_lines[0].startswith("Error: no secret 'team/nonexistent' in account 123456789012")
    assert "reconcile" not in outcome.stderr


def test_policy_of_a_secret_shared_with_nobody_says_why_and_how_to_share_it(aws, run):
    shared_secret(aws, "12345", name="app/odd")
    outcome = run("policy", "app/odd")
    assert outcome.exit_code == 1
    (line,) = outcome.error_lines
    assert "is shared with nobody: every entry of its tag was rejected: '12345'" in line
    assert line.endswith(
        "hint: tag it: aws secretsmanager tag-resource --secret-id app/odd --tags Key=share-with,Value=<account ids>"
    )
