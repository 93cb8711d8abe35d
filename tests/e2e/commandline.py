"""The command line as a user runs it: `secretshare <args>` through click's runner, stdout and stderr apart."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from click.testing import CliRunner

from secretshare_cli import cli

ALLOWED = "222222222222 333333333333"


@dataclass(frozen=True)
class Outcome:
    """What a user sees: the exit status, stdout and stderr (and an exception the command did not handle)."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def error_lines(self) -> list[str]:
        """stderr's lines: the `Error: ...` line (with -v, a traceback before it)."""
        return self.stderr.strip().splitlines()


def run_cli(*args: str) -> Outcome:
    """`secretshare <args>`. click 8.1 keeps stderr apart only with mix_stderr=False; 8.2 has no such option and
    always keeps it apart."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(cli.main, list(args))
    unexpected = None if isinstance(result.exception, SystemExit) else result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr, unexpected)


def shared_secret(session: boto3.Session, value: str = "222222222222 12345", name: str = "team/api-key") -> str:
    """A secret in A tagged `share-with = value`; its ARN."""
    return session.client("secretsmanager").create_secret(
        Name=name, SecretString="v", Tags=[{"Key": "share-with", "Value": value}]
    )["ARN"]
