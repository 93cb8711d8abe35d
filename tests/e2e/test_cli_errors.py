"""Every failure a user can cause ends in one `Error: ...` line with a hint and a documented exit status.

Exit statuses: 1 a reconciliation or an AWS call failed, 2 usage or configuration, 3 AWS could not be used.
Faults are AWS's own error shapes at the boundary (support.faults), never a mocked boto3.
"""

import socket
import time

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
)
from commandline import shared_secret
from support.world import REGION, isolate_aws_environment

from secretshare_cli import cli
from secretshare_cli.cli import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, explain

COMMANDS = [["status"], ["sweep"], ["reconcile", "team/api-key"], ["reconcile", "team/api-key", "--dry-run"]]


def assert_one_error_line(outcome, exit_code, *fragments):
    assert outcome.exception is None, outcome.exception
    assert outcome.exit_code == exit_code, (outcome.stdout, outcome.stderr)
    assert len(outcome.error_lines) == 1, outcome.stderr
    (line,) = outcome.error_lines
    assert line.startswith("Error: "), line
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.fixture
def no_aws_setup(monkeypatch, tmp_path):
    """A machine with no AWS configuration at all: no credentials, no profile files, no region."""
    isolate_aws_environment(monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("ALLOWED_CONSUMERS", "222222222222")
    return tmp_path


# --- the AWS environment -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_no_credentials_is_one_line_naming_how_to_configure_them(no_aws_setup, run, command):
    outcome = run(*command, "--region", REGION)
    assert_one_error_line(outcome, EXIT_UNREACHABLE, "no usable AWS credentials", "hint: configure credentials")
    assert outcome.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_no_region_is_a_usage_error_saying_where_to_set_one(no_aws_setup, run, command):
    outcome = run(*command)
    assert_one_error_line(outcome, EXIT_USAGE, "Error: no AWS region; hint: pass --region", "AWS_REGION")


def test_an_unknown_profile_is_named_before_or_after_the_command(no_aws_setup, run):
    (no_aws_setup / "config").write_text("[profile prod-a]\nregion = eu-west-1\n")
    before = run("--profile", "prod-b", "status")
    after = run("reconcile", "app/db", "--profile", "prod-b")
    for outcome in (before, after):
        assert_one_error_line(outcome, EXIT_USAGE, "AWS profile 'prod-b' is not configured", "aws configure list")


def test_an_unknown_region_is_a_usage_error_with_the_closest_known_one(no_aws_setup, run):
    outcome = run("status", "--region", "eu-west-9")
    assert_one_error_line(outcome, EXIT_USAGE, "unknown AWS region 'eu-west-9'", "did you mean 'eu-west-")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_endpoint_that_does_not_answer_fails_at_once_in_one_line(no_aws_setup, run, monkeypatch, command):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    began = time.monotonic()
    outcome = run(*command, "--region", REGION)
    assert time.monotonic() - began < 10
    assert_one_error_line(
        outcome, EXIT_UNREACHABLE, f"nothing answers at http://127.0.0.1:{port} (AWS_ENDPOINT_URL)", "hint: start"
    )


def test_an_endpoint_that_accepts_connections_and_never_answers_fails_within_seconds(no_aws_setup, run, monkeypatch):
    with socket.socket() as silent:  # the kernel accepts connections on a listening socket; nothing ever reads them
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        began = time.monotonic()
        outcome = run("status", "--region", REGION)
        waited = time.monotonic() - began

    assert waited < 15
    assert_one_error_line(outcome, EXIT_UNREACHABLE, "AWS did not answer: Read timeout", "hint: check the network")


def test_aws_not_answering_is_one_line_not_a_traceback(cli_faults, run):
    cli_faults.unreachable("sts.GetCallerIdentity")
    outcome = run("status")
    assert_one_error_line(outcome, EXIT_UNREACHABLE, "AWS did not answer: Could not connect", "hint: check the network")


def test_refused_credentials_are_one_line_saying_they_may_have_expired(cli_faults, run):
    cli_faults.fail(
        "sts.GetCallerIdentity",
        "ExpiredToken",
        "The security token included in the request is expired",
        status=403,
    )
    outcome = run("sweep")
    assert_one_error_line(outcome, EXIT_UNREACHABLE, "AWS refused the credentials: ExpiredToken", "may have expired")


def test_a_denied_read_names_the_permission(cli_world, cli_faults, run):
    cli_faults.deny("secretsmanager.ListSecrets", "User: arn:aws:iam::123456789012:user/ana is not authorized")
    outcome = run("status")
    assert_one_error_line(
        outcome,
        EXIT_FAILED,
        "secretsmanager:ListSecrets was denied: AccessDeniedException",
        "hint: the credentials of account A need secretsmanager:ListSecrets",
    )


def test_with_v_the_traceback_comes_before_the_one_line(cli_world, cli_faults, run):
    cli_faults.deny("secretsmanager.ListSecrets", "not authorized")
    outcome = run("status", "-v")
    assert outcome.exit_code == EXIT_FAILED
    # -v's log lines first (the role running the command may not list stacks: said once), then the traceback.
    assert outcome.error_lines[0].startswith("INFO stacks not compared: An error occurred (AccessDenied)")
    assert outcome.error_lines[1] == "Traceback (most recent call last):"
    assert outcome.error_lines[-1].startswith("Error: secretsmanager:ListSecrets was denied")
    assert any("botocore.exceptions.ClientError" in line for line in outcome.error_lines)
    debug = run("--debug", "status")
    assert debug.error_lines[1] == "Traceback (most recent call last):"


def test_a_failed_call_in_a_reconciliation_names_the_call_and_the_fix(cli_world, cli_faults, run):
    cli_world.create_secret("team/api-key", "222222222222")
    cli_faults.deny("secretsmanager.GetResourcePolicy", "not authorized")
    outcome = run("reconcile", "team/api-key")
    assert_one_error_line(
        outcome, EXIT_FAILED, "secretsmanager:GetResourcePolicy failed: AccessDeniedException", "fix: make sure"
    )


def test_a_consumer_account_that_cannot_be_reached_prints_the_partial_result_then_fails(cli_world, cli_faults, run):
    cli_world.create_secret("team/api-key", "222222222222 333333333333")
    cli_faults.deny("sts.AssumeRole", "not authorized", when=lambda request: "::333333333333:" in request["RoleArn"])
    outcome = run("reconcile", "team/api-key")
    line = assert_one_error_line(outcome, EXIT_FAILED, "consumer account 333333333333", "hint: each failure names")
    assert "failed consumer account 333333333333" in outcome.stdout  # what was applied is shown too
    assert "status: error 1 unreachable: 333333333333 / ok 2 consumers" in outcome.stdout
    assert "cannot assume the publisher role" in line


def test_an_unexpected_failure_is_still_one_line_pointing_at_v(aws, run, monkeypatch):
    def broken(**_):
        raise RuntimeError("the sweep broke")

    monkeypatch.setattr(cli, "sweep_secrets", broken)
    outcome = run("status")
    assert_one_error_line(outcome, EXIT_FAILED, "unexpected RuntimeError: the sweep broke", "run it again with -v")


# --- settings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("CONSUMER_ROLE_NAME", "", "CONSUMER_ROLE_NAME is empty"),
        ("CONSUMER_ROLE_NAME", "secretshare publisher", "CONSUMER_ROLE_NAME='secretshare publisher' contains ' '"),
        ("CONSUMER_ROLE_NAME", "p" * 65, "is 65 characters long; IAM role names have at most 64"),
        ("CONSUMER_ROLE_NAME", "arn:aws:iam::222222222222:role/secretshare-publisher", "is an ARN or a path"),
        ("ALLOWED_CONSUMERS", "222222222222;333333333333", "'222222222222;333333333333' is neither"),
        ("SHARED_KEY_ARN", "alias/shared", "SHARED_KEY_ARN='alias/shared' is not a KMS key ARN"),
        ("PARAMETER_PREFIX", "/secretshare/", "PARAMETER_PREFIX='/secretshare/' is not a parameter path"),
    ],
)
def test_a_bad_setting_fails_before_anything_is_written(aws, run, monkeypatch, variable, value, fragment):
    arn = shared_secret(aws, "222222222222")
    monkeypatch.setenv(variable, value)
    for command in (["reconcile", arn], ["sweep"], ["status"]):
        outcome = run(*command)
        assert_one_error_line(outcome, EXIT_USAGE, fragment, "hint: `secretshare --help` lists the settings")
    assert aws.client("kms").list_aliases()["Aliases"] == [] or not [
        a for a in aws.client("kms").list_aliases()["Aliases"] if a["AliasName"].startswith("alias/secretshare/")
    ]
    assert "KmsKeyId" not in aws.client("secretsmanager").describe_secret(SecretId=arn)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_shared_key_that_does_not_exist_is_one_line_for_every_command(aws, run, monkeypatch, command):
    shared_secret(aws, "222222222222")
    missing = f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-0000-0000-000000000000"
    monkeypatch.setenv("SHARED_KEY_ARN", missing)
    outcome = run(*command)
    assert_one_error_line(outcome, EXIT_USAGE, f"SHARED_KEY_ARN={missing} names no key", "unset SHARED_KEY_ARN")


def test_a_disabled_or_foreign_shared_key_is_refused_up_front(aws, run, monkeypatch):
    kms = aws.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=key.split("/")[-1])
    monkeypatch.setenv("SHARED_KEY_ARN", key)
    assert_one_error_line(run("status"), EXIT_USAGE, f"SHARED_KEY_ARN={key} is Disabled: it cannot carry grants")
    foreign = f"arn:aws:kms:{REGION}:999999999999:key/00000000-0000-0000-0000-000000000000"
    monkeypatch.setenv("SHARED_KEY_ARN", foreign)
    assert_one_error_line(run("status"), EXIT_USAGE, "is a key of account 999999999999")


@pytest.mark.parametrize("command", [*COMMANDS, ["policy", "team/api-key"]])
def test_an_organization_allow_list_in_an_account_of_no_organization_is_one_usage_error_in_every_command(
    cli_world, cli_faults, run, monkeypatch, command
):
    arn = cli_world.create_secret("team/api-key", "222222222222")
    monkeypatch.setenv("ALLOWED_CONSUMERS", "organization")
    cli_faults.fail(
        "organizations.DescribeOrganization",
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
    )
    outcome = run(*command)
    assert_one_error_line(outcome, EXIT_USAGE, "cannot describe its organization", "consumer account ids")
    assert outcome.stdout == ""
    assert cli_world.status(arn) is None  # nothing written, not even the status tag
    assert cli_world.resource_policy(arn) is None


def test_a_queue_url_that_is_not_a_fifo_queue_is_a_usage_error(aws, run):
    outcome = run("sweep", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/reconcile")
    assert_one_error_line(outcome, EXIT_USAGE, "--queue-url='https://sqs", "is not a FIFO queue")


# --- the secret named ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_a_secret_that_never_existed_is_a_typo_not_a_clean_up(aws, run, dry_run):
    outcome = run("reconcile", "does/not/exist", *dry_run)
    assert_one_error_line(
        outcome,
        EXIT_USAGE,
        "no secret 'does/not/exist' in account 123456789012, region eu-west-1, and secretshare holds nothing",
        "hint: check the name",
    )
    assert outcome.stdout == ""
    assert "in sync" not in outcome.stdout


def test_a_full_arn_of_a_secret_that_never_existed_is_a_typo_too(aws, run):
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:does/not/exist-AbCdEf"
    assert_one_error_line(run("reconcile", arn), EXIT_USAGE, f"no secret '{arn}'")


def test_cleaning_up_after_a_secret_that_was_deleted_still_works(aws, run):
    arn = shared_secret(aws, "222222222222")
    assert run("reconcile", arn).exit_code == 0
    aws.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    outcome = run("reconcile", arn)
    assert outcome.exit_code == 0, outcome.stderr
    assert "secret no longer exists: revoking every grant" in outcome.stdout
    assert "revoke arn:aws:iam::222222222222:root" in outcome.stdout
    assert outcome.stderr == ""


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        ("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "is a KMS key's ARN, not a"),
        ("arn:aws:secretsmanager:eu-west-1", "is not a well-formed ARN"),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:key/x", "names no secret (its resource is not secret:<name>)"),
        ("arn:aws:secretsmanager::123456789012:secret:app/db", "names no region"),
        ("arn:aws:secretsmanager:eu-west-1:1234:secret:app/db", "has '1234' where a 12-digit account id belongs"),
        ("arn:aws:s3:::bucket", "is an ARN of 's3', not a secret's"),
        ("app db", "'app db' contains ' ': secret names are 1 to 512 letters, digits and / _ + = . @ -"),
        ("x" * 513, "is 513 characters long"),
    ],
)
def test_an_identifier_that_cannot_name_a_secret_is_refused_before_any_call(no_aws_setup, run, secret, fragment):
    # No credentials at all: the identifier is checked before AWS is asked anything.
    outcome = run("reconcile", secret, "--region", REGION)
    assert_one_error_line(outcome, EXIT_USAGE, fragment, "hint: name a secret's name or ARN")


# --- usage ---------------------------------------------------------------------------------------------------


def test_a_usage_mistake_exits_2(run):
    assert run("reconcile").exit_code == EXIT_USAGE
    assert run("status", "--no-such-option").exit_code == EXIT_USAGE
    assert run("no-such-command").exit_code == EXIT_USAGE


# --- each botocore failure, as the command line words it -----------------------------------------------------


@pytest.mark.parametrize(
    ("error", "exit_code", "fragment"),
    [
        (ProfileNotFound(profile="prod"), EXIT_USAGE, "AWS profile 'prod' is not configured"),
        (NoRegionError(), EXIT_USAGE, "no AWS region"),
        (NoCredentialsError(), EXIT_UNREACHABLE, "no usable AWS credentials"),
        (SSOTokenLoadError(error_msg="the SSO session has expired"), EXIT_UNREACHABLE, "AWS could not be used"),
        (EndpointConnectionError(endpoint_url="https://sts.eu-west-1.amazonaws.com"), EXIT_UNREACHABLE, "did not"),
        (ConnectTimeoutError(endpoint_url="https://sts.eu-west-1.amazonaws.com"), EXIT_UNREACHABLE, "did not answer"),
        (ReadTimeoutError(endpoint_url="https://sts.eu-west-1.amazonaws.com"), EXIT_UNREACHABLE, "did not answer"),
    ],
)
def test_botocore_failures_outside_a_reconciliation_become_one_line(error, exit_code, fragment):
    explained = explain(error)
    assert explained.exit_code == exit_code
    assert fragment in explained.format_message()
    assert "\n" not in explained.format_message()
    assert "hint: " in explained.format_message()
