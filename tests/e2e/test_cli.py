"""The command line as a user runs it: `secretshare demo`, `reconcile --dry-run`, `reconcile`, `status`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from secretshare import cli
from secretshare.cli import main

TESTS = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("ALLOWED_CONSUMERS", "222222222222")
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def shared_secret(session, value="222222222222 12345"):
    return session.client("secretsmanager").create_secret(
        Name="team/api-key", SecretString="v", Tags=[{"Key": "share-with", "Value": value}]
    )["ARN"]


def test_demo_runs_the_whole_story_and_exits_zero():
    # As `make demo` runs it: the tests' IAM evaluator on the path, to judge account A's app role.
    environment = {**os.environ, "PYTHONPATH": str(TESTS)}
    completed = subprocess.run(
        [sys.executable, "-m", "secretshare.cli", "demo"],
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


def test_dry_run_prints_the_plan_as_a_diff_and_changes_nothing(aws):
    arn = shared_secret(aws)
    outcome = CliRunner().invoke(main, ["reconcile", "team/api-key", "--dry-run"])
    assert outcome.exit_code == 0, outcome.output
    assert "would apply (dry run)" in outcome.output
    assert "create KMS key alias/secretshare/team/api-key" in outcome.output
    assert '+      "Sid": "SecretShareConsumers",' in outcome.output
    assert "rejected '12345': '12345' is not a 12-digit account id" in outcome.output
    assert "KmsKeyId" not in aws.client("secretsmanager").describe_secret(SecretId=arn)
    aliases = [a["AliasName"] for a in aws.client("kms").list_aliases()["Aliases"]]
    assert not [a for a in aliases if a.startswith("alias/secretshare/")]


def test_reconcile_applies_then_status_reports_in_sync(aws):
    arn = shared_secret(aws, "222222222222")
    applied = CliRunner().invoke(main, ["reconcile", arn])
    assert applied.exit_code == 0, applied.output
    policy = json.loads(aws.client("secretsmanager").get_resource_policy(SecretId=arn)["ResourcePolicy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": ["arn:aws:iam::222222222222:root"]}
    status = CliRunner().invoke(main, ["status"])
    assert status.exit_code == 0, status.output
    assert "team/api-key" in status.output and "in sync" in status.output


def test_status_shows_the_status_tag_and_where_it_is_behind(aws, monkeypatch):
    monkeypatch.setattr(cli.console, "width", 300)  # one line per cell, as on a wide terminal
    arn = shared_secret(aws, "222222222222 12345")
    before = CliRunner().invoke(main, ["status"])
    CliRunner().invoke(main, ["reconcile", arn])
    after = CliRunner().invoke(main, ["status"])

    assert "error 1 rejected: 12345 not-an-account / ok 1 consumer" in before.output
    assert "(tag now: none)" in before.output
    tags = aws.client("secretsmanager").describe_secret(SecretId=arn)["Tags"]
    assert {"Key": "share-with-status", "Value": "error 1 rejected: 12345 not-an-account / ok 1 consumer"} in tags
    assert "error 1 rejected: 12345 not-an-account / ok 1 consumer" in after.output
    assert "tag now" not in after.output


def test_a_bad_setting_is_a_clear_error_not_a_traceback(aws, monkeypatch):
    monkeypatch.setenv("ALLOWED_CONSUMERS", "everyone")
    outcome = CliRunner().invoke(main, ["reconcile", "x"])
    assert outcome.exit_code == 1
    assert "ALLOWED_CONSUMERS='everyone'" in outcome.output


def test_sweep_reconciles_only_the_secrets_out_of_sync(aws):
    arn = shared_secret(aws, "222222222222")
    first = CliRunner().invoke(main, ["sweep"])
    assert first.exit_code == 0, first.output
    assert "checked 1 secrets: 1 to reconcile" in first.output
    assert "SecretShareConsumers" in aws.client("secretsmanager").get_resource_policy(SecretId=arn)["ResourcePolicy"]
    second = CliRunner().invoke(main, ["sweep"])
    assert "checked 1 secrets: 0 to reconcile" in second.output
