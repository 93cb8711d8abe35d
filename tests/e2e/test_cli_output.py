"""What the command line prints: whole lines when piped, progress on a terminal's stderr, the sweep's summary table,
help that says everything once, and options accepted before or after the command."""

import json

import pytest
from commandline import shared_secret
from rich.console import Console

from secretshare_cli import cli
from secretshare_cli.cli import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE


def test_a_piped_dry_run_keeps_every_line_whole(aws, run):
    arn = shared_secret(aws, "222222222222")
    outcome = run("reconcile", "team/api-key", "--dry-run")
    # The key condition is longer than 80 columns: it stays on one line, as JSON, ready to copy.
    assert f'+          "kms:EncryptionContext:SecretARN": "{arn}",' in outcome.stdout.splitlines()
    assert "…" not in outcome.stdout


def test_piped_status_shows_whole_key_arns(aws, run):
    arn = shared_secret(aws, "222222222222")
    run("reconcile", arn)
    key_arn = aws.client("secretsmanager").describe_secret(SecretId=arn)["KmsKeyId"]
    outcome = run("status")
    assert key_arn in outcome.stdout
    assert "…" not in outcome.stdout


def test_piped_status_is_one_secret_a_line_with_its_reasons_on_it(aws, run):
    shared_secret(aws, "222222222222 12345", name="app/odd")
    shared_secret(aws, "222222222222", name="app/plain")
    run("reconcile", "app/plain")

    lines = run("status").stdout.splitlines()

    assert lines[0] == "secret\tconsumers\tcan read now\tkeys\tstatus\tstate"
    odd = [line for line in lines if line.startswith("app/odd\t")]
    assert len(odd) == 1
    assert "rejected: '12345' is not a 12-digit account id" in odd[0].split("\t")[5]
    plain = [line for line in lines if line.startswith("app/plain\t")]
    assert plain[0].split("\t")[1:2] == ["arn:aws:iam::222222222222:root"] and plain[0].endswith("\tin sync")
    assert not any(ch in run("status").stdout for ch in "┏━│└")
    assert lines[-1] == "2 secrets: 1 in sync, 1 out of sync, 1 with an error status"


def test_on_a_narrow_terminal_status_wraps_arns_instead_of_cutting_them(aws, run, monkeypatch):
    arn = shared_secret(aws, "222222222222")
    run("reconcile", arn)
    narrow = Console(highlight=False, emoji=False, width=100)
    monkeypatch.setattr(cli, "_consoles", lambda: (narrow, Console(stderr=True)))
    monkeypatch.setattr(cli, "stdout_is_terminal", lambda: True)
    outcome = run("status")
    assert "…" not in outcome.stdout
    key_id = aws.client("secretsmanager").describe_secret(SecretId=arn)["KmsKeyId"].split("/")[-1]
    assert key_id.split("-")[0] in outcome.stdout


def test_status_and_sweep_draw_progress_on_a_terminal_stderr_only(aws, run, monkeypatch):
    shared_secret(aws, "222222222222", name="app/one")
    shared_secret(aws, "222222222222", name="app/two")
    monkeypatch.setattr(cli, "stderr_is_terminal", lambda: True)
    status = run("status", "--json")
    sweep = run("sweep")
    assert "checking secrets" in status.stderr
    assert json.loads(status.stdout)["checked"] == 2  # stdout holds the document alone
    assert "checking secrets" in sweep.stderr and "reconciling" in sweep.stderr
    assert "checking secrets" not in sweep.stdout


def test_no_progress_when_stderr_is_not_a_terminal(aws, run):
    shared_secret(aws, "222222222222")
    assert run("status").stderr == ""


def test_sweep_prints_a_table_of_what_it_changed_and_diffs_only_with_v(aws, run):
    shared_secret(aws, "222222222222", name="app/one")
    shared_secret(aws, "222222222222 333333333333", name="app/two")
    outcome = run("sweep")
    assert outcome.exit_code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == "checked 2 secrets: 2 to reconcile"
    header = next(line for line in lines if "secret" in line and "granted" in line)
    for column in ("revoked", "writes", "status", "result"):
        assert column in header
    row = next(line for line in lines if "app/two" in line)
    assert "arn:aws:iam::222222222222:root" in row and "ok 2 consumers" in row and "done" in row
    # The writes of a new share, kind by kind in the order they are made: app/one opened the pool key app/two joins.
    assert "1 key policy, key move, resource policy, 2 parameters published, status tag" in row
    first = next(line for line in lines if "app/one" in line)
    assert "1 new key, 1 key policy, key move, resource policy, 1 parameter published, status tag" in first
    assert lines[-1] == "reconciled 2 secrets: 2 done, 0 failed"
    assert "+++" not in outcome.stdout

    run("reconcile", "app/two")
    shared_secret(aws, "222222222222", name="app/three")
    verbose = run("sweep", "-v")
    assert "+++ key policy arn:aws:kms:eu-west-1:123456789012:key/" in verbose.stdout  # the pool key app/three joins
    assert "INFO " in verbose.stderr  # each change logged as it is made


def test_sweep_with_nothing_to_do_prints_no_table(aws, run):
    outcome = run("sweep")
    assert outcome.stdout.splitlines() == ["checked 0 secrets: 0 to reconcile"]


def test_sweep_queues_instead_of_reconciling_with_a_queue_url(aws, run):
    shared_secret(aws, "222222222222")
    queue = aws.client("sqs").create_queue(
        QueueName="reconcile.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    outcome = run("sweep", "--queue-url", queue)
    assert outcome.stdout.splitlines() == ["checked 1 secret: 1 to reconcile", f"queued 1 reconciliation on {queue}"]


# --- options and help ----------------------------------------------------------------------------------------


def test_global_options_are_accepted_after_the_command_too(aws, run, monkeypatch):
    shared_secret(aws, "222222222222")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    after = run("reconcile", "team/api-key", "--dry-run", "--region", "eu-west-1")
    before = run("--region", "eu-west-1", "reconcile", "team/api-key", "--dry-run")
    assert after.exit_code == before.exit_code == 0, after.stderr
    assert after.stdout == before.stdout
    assert run("status", "-v", "--region", "eu-west-1").exit_code == 0
    assert run("status").exit_code == EXIT_USAGE  # no region anywhere


@pytest.mark.parametrize("command", [[], ["reconcile"], ["status"], ["sweep"], ["demo"]])
def test_h_and_help_show_the_same_help(run, command):
    short, long = run(*command, "-h"), run(*command, "--help")
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout
    assert "Example:" in short.stdout and "Exit status:" in short.stdout


@pytest.mark.parametrize("command", [[], ["reconcile"], ["status"], ["sweep"], ["policy"]])
def test_help_names_the_environment_its_defaults_and_the_exit_statuses(run, command):
    text = run(*command, "--help").stdout
    variables = (
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "SHARE_TAG_KEY",
        "CONSUMER_ROLE_NAME",
        "SECRETSHARE_STACK",
    )
    for variable in variables:
        assert variable in text
    assert "ALLOWED_CONSUMERS        'organization', 'any', or account ids [organization]" in text
    # As the README says: it works in any account of the organization; listing the accounts is the extra.
    assert "'organization' works in any account of A's AWS Organization" in " ".join(text.split())
    assert "(the management account or a delegated administrator)" in " ".join(text.split())
    assert "[secretshare-publisher]" in text and "[share-with]" in text
    for status in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE):
        assert f"\n    {status}  " in text
    assert "Example:\n    secretshare " in text


def test_the_command_list_is_not_cut_short(run):
    text = run("--help").stdout
    commands = text.split("Commands:")[1].split("Example:")[0]
    assert "..." not in commands
    for name in ("demo", "reconcile", "status", "sweep"):
        assert f"\n  {name} " in commands
    assert "go before or after the command" in text


def test_the_help_says_how_to_gate_ci_on_status(run):
    text = run("status", "--help").stdout
    assert "--check" in text and "--json" in text
    assert "secretshare status --check --json" in text
