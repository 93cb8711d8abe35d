"""The `secretshare` command line: reconcile, status, sweep and demo.

It uses the standard AWS environment (profiles, AWS_REGION, AWS_ENDPOINT_URL) through boto3. Every failure a user
can cause ends in one `Error: ...` line with a hint and a documented exit status (`-v` adds the traceback); `--json`
prints a stable document on stdout (schema in docs/using.md, "JSON documents"). Output that is not a terminal is never
cut or wrapped; progress goes to stderr, on a terminal only. This module is the only one that imports the
presentation libraries; they are not shipped to Lambda.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import click
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from secretshare.domain.arns import is_account_id, parse_arn, secret_name_from_arn
from secretshare.domain.errors import (
    AllowListUnavailable,
    AwsCallFailed,
    ConfigurationError,
    KeyNotUsable,
    ReconcileFailed,
    SecretShareError,
)
from secretshare.domain.grants import Reader
from secretshare.domain.policy import render
from secretshare.domain.settings import (
    ALLOW_ORGANIZATION,
    KEY_MODE_DEDICATED,
    KEY_MODE_POOL,
    Settings,
    check_queue_url,
    granting_differences,
)
from secretshare.domain.sharetag import format_time
from secretshare.domain.snippets import FORMATS, consumer_snippet
from secretshare.gateway import Aws, Clients, error_code, failed_action
from secretshare.reconciler.adopt import Adopted, adopt_secret
from secretshare.reconciler.changes import CreateKey, PutKeyPolicy, ResourcePolicyChange, summarize
from secretshare.reconciler.plan import Plan
from secretshare.reconciler.read import check_shared_key
from secretshare.reconciler.reconcile import ReconcileResult, reconcile_secret
from secretshare.reconciler.sweep import SecretCheck, SweepReport, enqueue_reconciliations, secrets_to_reconcile
from secretshare.reconciler.sweep import sweep as sweep_secrets
from secretshare.reconciler.unshare import Unshared, unshare_secret

# `--stack none`: the environment's settings, not compared with any deployed stack.
NO_STACK = "none"
# Exit statuses: a small stable set, documented in --help and docs/using.md.
EXIT_OK = 0
EXIT_FAILED = 1  # a reconciliation or an AWS call failed; `status --check` found drift or an error
EXIT_USAGE = 2  # usage or configuration: an option, a setting, the profile, the region, the secret named
EXIT_UNREACHABLE = 3  # AWS could not be used: no credentials, credentials refused, no answer
# The `--json` documents' schema version: a field is only ever added within one version.
JSON_VERSION = 1

# Output that is not a terminal (a pipe, a file, CI) is as wide as its longest line: nothing is cut or wrapped.
_UNLIMITED_WIDTH = 10_000
# Secrets Manager names: 1 to 512 of letters, digits and /_+=.@- (a partial ARN ends in such a name too).
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
# Connecting to an endpoint (AWS_ENDPOINT_URL, or AWS) gives up after this many seconds instead of botocore's 60.
_CONNECT_TIMEOUT = 5
_GONE_NOTE = "secret no longer exists"
# AWS error codes that mean the credentials themselves were refused (not a missing permission).
_CREDENTIALS_REFUSED = {
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}
_CREDENTIALS_HINT = (
    "configure credentials for account A: `aws configure`, `aws sso login --profile <profile>`, "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


class CliError(click.ClickException):
    """A failure the user can act on: printed as one `Error: <message>; hint: <hint>` line, with its exit status."""

    def __init__(self, message: str, *, hint: str = "", exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.hint = hint
        self.exit_code = exit_code

    def format_message(self) -> str:
        """The message and its hint, on one line."""
        return f"{self.message}; hint: {self.hint}" if self.hint else self.message


def explain(err: Exception) -> CliError:
    """The one-line error (with a hint and an exit status) for any failure of a command."""
    if isinstance(err, CliError):
        return err
    if isinstance(err, AwsCallFailed):
        cause = err.__cause__
        if isinstance(cause, BotoCoreError) and not isinstance(cause, BotoConnectionError | HTTPClientError):
            return explain(cause)  # no credentials, say, is not "AWS did not answer"
        return CliError(str(err), exit_code=EXIT_UNREACHABLE if err.code == "aws-unreachable" else EXIT_FAILED)
    if isinstance(err, ConfigurationError):
        return CliError(
            str(err), hint="`secretshare --help` lists the settings and their defaults", exit_code=EXIT_USAGE
        )
    if isinstance(err, AllowListUnavailable):
        return CliError(
            str(err),
            hint=f"{ALLOW_ORGANIZATION!r} (the default) needs account A in an AWS Organization; elsewhere set "
            "ALLOWED_CONSUMERS to the consumer account ids (or 'any')",
            exit_code=EXIT_USAGE,
        )
    if isinstance(err, ReconcileFailed):
        return CliError(
            str(err),
            hint="each failure names the account and role; the other steps were applied, and running it again "
            "once fixed completes it",
        )
    if isinstance(err, SecretShareError):
        return CliError(str(err))
    if isinstance(err, ProfileNotFound):
        return CliError(
            f"AWS profile {err.kwargs.get('profile')!r} is not configured",
            hint="`aws configure list-profiles` lists the profiles; pass --profile or set AWS_PROFILE",
            exit_code=EXIT_USAGE,
        )
    if isinstance(err, NoRegionError):
        return _no_region()
    if isinstance(err, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return CliError(f"no usable AWS credentials: {err}", hint=_CREDENTIALS_HINT, exit_code=EXIT_UNREACHABLE)
    if isinstance(err, BotoConnectionError | HTTPClientError):
        return CliError(
            f"AWS did not answer: {err}",
            hint="check the network, --region and AWS_ENDPOINT_URL (an emulator that is not running)",
            exit_code=EXIT_UNREACHABLE,
        )
    if isinstance(err, BotoCoreError):
        # Credential providers (SSO, processes, containers) raise their own BotoCoreErrors.
        return CliError(f"AWS could not be used: {err}", hint=_CREDENTIALS_HINT, exit_code=EXIT_UNREACHABLE)
    if isinstance(err, ClientError):
        return _explain_client_error(err)
    return CliError(
        f"unexpected {type(err).__name__}: {err}", hint="run it again with -v for the traceback, and report it"
    )


def _explain_client_error(err: ClientError) -> CliError:
    code = error_code(err)
    reason = err.response.get("Error", {}).get("Message", str(err))
    call = failed_action(err) or err.operation_name
    if code in _CREDENTIALS_REFUSED:
        return CliError(
            f"AWS refused the credentials: {code}: {reason}",
            hint="they may have expired: " + _CREDENTIALS_HINT,
            exit_code=EXIT_UNREACHABLE,
        )
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "AuthorizationError"):
        return CliError(
            f"{call} was denied: {code}: {reason}",
            hint=f"the credentials of account A need {call} (an SCP or a permissions boundary may deny it)",
        )
    return CliError(f"{call} failed: {code}: {reason}")


def _no_region() -> CliError:
    return CliError(
        "no AWS region",
        hint="pass --region (before or after the command), set AWS_REGION, or set a region in the profile",
        exit_code=EXIT_USAGE,
    )


class _Commands(click.Group):
    """The group that turns every failure into one line (the traceback only with -v) and leaves logging as it was."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a failure becomes a CliError, shown by click as `Error: ...` with its exit status."""
        logger = logging.getLogger("secretshare")
        level, handlers = logger.level, list(logger.handlers)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort) as err:
            if isinstance(err, CliError):
                _traceback_if_verbose(ctx, err)
            raise
        except Exception as err:
            _traceback_if_verbose(ctx, err)
            raise explain(err) from err
        finally:
            logger.setLevel(level)
            logger.handlers[:] = handlers


def _traceback_if_verbose(ctx: click.Context, err: BaseException) -> None:
    """With -v, the traceback of what failed (a CliError of the command's own checks has none worth showing)."""
    failure = err.__cause__ if isinstance(err, CliError) else err
    if failure is not None and (ctx.obj or {}).get("verbose"):
        traceback.print_exception(type(failure), failure, failure.__traceback__, file=sys.stderr)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a global option, given before the command or after it (the later one wins)."""
    options = ctx.ensure_object(dict)
    if value not in (None, False) or param.name not in options:
        options[param.name] = value
    return value


def _global_options(*, top: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--profile, --region and -v, on the group (reading the environment) and again on every command."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        env = {"show_envvar": True} if top else {}
        options = [
            click.option(
                "--profile",
                envvar="AWS_PROFILE" if top else None,
                expose_value=False,
                callback=_remember,
                help="AWS profile of the producer account A.",
                **env,
            ),
            click.option(
                "--region",
                envvar="AWS_REGION" if top else None,
                expose_value=False,
                callback=_remember,
                help="Region of the secrets (default: the profile's).",
                **env,
            ),
            click.option(
                "--stack",
                envvar="SECRETSHARE_STACK" if top else None,
                expose_value=False,
                callback=_remember,
                help="Act with the settings of this deployed secretshare stack (its parameters and outputs). "
                f"Without it, the environment's settings must match any secretshare stack of the region; "
                f"{NO_STACK!r}: the environment's, unchecked.",
                **env,
            ),
            click.option(
                "-v",
                "--verbose",
                "--debug",
                "verbose",
                is_flag=True,
                expose_value=False,
                callback=_remember,
                help="Log each AWS change as it is made, print every plan with its diffs, and show the traceback "
                "of a failure.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


_DEFAULTS = Settings()
ENVIRONMENT_HELP = f"""\b
Environment (default in brackets):
  AWS_PROFILE, AWS_REGION  as --profile and --region
  AWS_ENDPOINT_URL         an emulator (moto, LocalStack) instead of AWS
  SECRETSHARE_STACK        as --stack: the settings below come from that stack
  SHARE_TAG_KEY            the tag read, and <key>/... [{_DEFAULTS.share_tag_key}]
  SHARE_UNTIL_TAG_KEY      when a share ends [{_DEFAULTS.share_until_tag_key}]
  CONSUMER_ROLE_NAME       publisher role in each consumer account [{_DEFAULTS.consumer_role_name}]
  PARAMETER_PREFIX         path of the consumer parameters [{_DEFAULTS.parameter_prefix}]
  ALLOWED_CONSUMERS        'organization', 'any', or account ids [{_DEFAULTS.allowed_consumers}]:
                           'organization' works in any account of A's AWS Organization
                           (AWS enforces membership); where A may also list its accounts
                           (the management account or a delegated administrator), an
                           entry outside it is rejected up front. Outside an organization
                           list the account ids
  SHARED_KEY_ARN           one key for all secrets [empty: a dedicated key per secret]
  QUEUE_URL                the reconcile FIFO queue, for sweep --queue-url [empty]"""
EXIT_HELP = f"""\b
Exit status:
  {EXIT_OK}  done
  {EXIT_FAILED}  a reconciliation or an AWS call failed; status --check: drift or an error
  {EXIT_USAGE}  usage or configuration: an option, a setting, the profile, the region,
     a secret that does not exist
  {EXIT_UNREACHABLE}  AWS could not be used: no credentials, credentials refused, no answer"""


def _epilog(example: str) -> str:
    return f"\b\nExample:\n  {example}\n\n{ENVIRONMENT_HELP}\n\n{EXIT_HELP}"


@click.group(
    name="secretshare",
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_epilog("secretshare reconcile payments/db-password --dry-run --region eu-west-1"),
)
@_global_options(top=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Share Secrets Manager secrets across AWS accounts with a `share-with` tag.

    Tag a secret in account A `share-with = 222222222222 arn:aws:iam::333333333333:role/app`: secretshare grants
    exactly those consumers (key policy, resource policy, a parameter in each consumer account) and revokes what the
    tag no longer names. The commands act as account A, with your AWS credentials.

    --profile, --region and -v go before or after the command.
    """
    ctx.ensure_object(dict)


@dataclass
class _Run:
    """One command's settings, AWS session and clients, output consoles and options."""

    settings: Settings
    session: boto3.Session
    clients: Clients
    account: str
    verbose: bool
    out: Console
    err: Console
    as_json: bool = False

    @property
    def region(self) -> str:
        """The region the command works in."""
        return self.session.region_name or ""


def stderr_is_terminal() -> bool:
    """True when progress may be drawn on stderr."""
    return sys.stderr.isatty()


def stdout_is_terminal() -> bool:
    """True when tables may be drawn on stdout; piped, they are plain lines."""
    return sys.stdout.isatty()


def _consoles() -> tuple[Console, Console]:
    # emoji=False: ARNs contain ":secret:", which rich would otherwise turn into an emoji.
    out = Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else _UNLIMITED_WIDTH)
    terminal = stderr_is_terminal()
    err = Console(stderr=True, highlight=False, emoji=False, force_terminal=terminal or None)
    return out, err


def _start(ctx: click.Context, *, as_json: bool = False) -> _Run:
    """Settings, session and a first call to AWS, each checked before anything else runs."""
    options = ctx.ensure_object(dict)
    verbose = bool(options.get("verbose"))
    _configure_logging(verbose)
    stack = options.get("stack") or ""
    environment = Settings() if stack and stack != NO_STACK else Settings.from_env()
    out, err = _consoles()
    session = make_session(options.get("profile"), options.get("region"))
    _check_region(session)
    _check_endpoint()
    clients = Clients(session)
    aws = Aws(environment, clients)
    with _spinner(err, "connecting to AWS"):
        caller = parse_arn(aws.sts.caller_arn(session.region_name, first_call=True))
    account = caller.account if caller else ""
    if stack == NO_STACK:
        settings = environment
    elif stack:
        settings = _settings_of_stack(aws, stack, account)
    else:
        settings = _checked_against_stacks(aws, environment)
    run = _Run(settings, session, clients, account, verbose, out, err, as_json)
    _check_shared_key(run)
    _check_allow_list(run)
    return run


def _configure_logging(verbose: bool) -> None:
    """Library log lines on stderr with -v; otherwise none (the command reports every outcome itself)."""
    logger = logging.getLogger("secretshare")
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.CRITICAL + 1)


def make_session(profile: str | None, region: str | None) -> boto3.Session:
    """The boto3 session of account A for --profile and --region (the standard AWS environment otherwise)."""
    core = botocore.session.get_session()
    # An endpoint that does not answer fails in seconds (botocore waits 60 s for each connection attempt).
    core.set_default_client_config(Config(connect_timeout=_CONNECT_TIMEOUT))
    return boto3.Session(botocore_session=core, profile_name=profile, region_name=region)


def _check_region(session: boto3.Session) -> None:
    region = session.region_name
    if not region:
        raise _no_region()
    if os.environ.get("AWS_ENDPOINT_URL"):
        return  # an emulator answers in any region
    known = {
        name
        for partition in session.get_available_partitions()
        for name in session.get_available_regions("secretsmanager", partition_name=partition)
    }
    if region not in known:
        close = difflib.get_close_matches(region, sorted(known), n=1)
        raise CliError(
            f"unknown AWS region {region!r} (from --region, AWS_REGION or the profile)",
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + "a region newer than this botocore needs a newer boto3",
            exit_code=EXIT_USAGE,
        )


def _check_endpoint() -> None:
    """Fail at once when AWS_ENDPOINT_URL names something that does not answer (botocore retries for half a
    minute). Behind a proxy the connection is the proxy's to make: not checked."""
    url = os.environ.get("AWS_ENDPOINT_URL", "")
    proxies = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
    if not url or any(os.environ.get(name) for name in proxies):
        return
    parts = urlsplit(url)
    if not parts.hostname:
        raise CliError(
            f"AWS_ENDPOINT_URL={url!r} is not a URL", hint="like http://localhost:4566", exit_code=EXIT_USAGE
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=_CONNECT_TIMEOUT).close()
    except OSError as err:
        raise CliError(
            f"nothing answers at {url} (AWS_ENDPOINT_URL): {err.strerror or err}",
            hint="start the emulator, or unset AWS_ENDPOINT_URL to use AWS",
            exit_code=EXIT_UNREACHABLE,
        ) from err


def _check_shared_key(run: _Run) -> None:
    """SHARED_KEY_ARN names a key of account A that can carry grants, or nothing is done (the library's check)."""
    try:
        check_shared_key(Aws(run.settings, run.clients), run.account)
    except KeyNotUsable as err:
        raise CliError(
            str(err),
            hint="create the key, name another one, or unset SHARED_KEY_ARN for a dedicated key per secret",
            exit_code=EXIT_USAGE,
        ) from err


def _settings_of_stack(aws: Aws, name: str, account: str) -> Settings:
    """The settings the functions of stack `name` run with (template.yaml passes them from its parameters and
    outputs); the environment's are not read."""
    found = aws.stacks.stack(name)
    if found is None:
        raise CliError(
            f"no secretshare stack {name!r} in account {account}, region {aws.region}",
            hint="name the stack `sam deploy` created (`aws cloudformation describe-stacks`), in its region",
            exit_code=EXIT_USAGE,
        )
    return Settings.from_env(found.environment)


def _checked_against_stacks(aws: Aws, settings: Settings) -> Settings:
    """`settings` when no secretshare stack of the region runs with other values of the settings that decide what
    is granted: a run with other values would undo what the stack's functions do (revoke what they granted)."""
    try:
        stacks = list(aws.stacks.secretshare_stacks())
    except ClientError as err:
        if error_code(err) not in ("AccessDenied", "AccessDeniedException"):
            raise
        logging.getLogger("secretshare").info("stacks not compared: %s", err)
        return settings  # the caller may not list stacks: nothing to compare with
    differing = [(stack, granting_differences(settings, Settings.from_env(stack.environment))) for stack in stacks]
    if not differing or any(not differences for _, differences in differing):
        return settings
    stack, differences = differing[0]
    named = "; ".join(
        f"{name.upper()} is {ours!r} here, {theirs!r} in the stack" for name, (ours, theirs) in differences.items()
    )
    raise CliError(
        f"these settings differ from those of the deployed stack {stack.name!r}: {named}",
        hint=f"--stack {stack.name} (or SECRETSHARE_STACK) acts with the stack's settings; --stack {NO_STACK} with "
        "these, unchecked",
        exit_code=EXIT_USAGE,
    )


def _check_allow_list(run: _Run) -> None:
    """ALLOWED_CONSUMERS=organization needs A's organization: every command says so up front, with one exit status,
    rather than each secret failing on its own (AllowListUnavailable, a usage error)."""
    if run.settings.allowed_consumers.mode == ALLOW_ORGANIZATION:
        Aws(run.settings, run.clients).organizations.organization(run.account)


def check_secret_id(secret: str) -> None:
    """A secret's name, full ARN or partial ARN, or a CliError saying what `secret` is instead (a key's ARN, a
    malformed ARN, a name with characters Secrets Manager does not allow): never taken for a deleted secret."""
    shape = "a secret's name or ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
    if secret.startswith("arn:"):
        arn = parse_arn(secret)
        if arn is None:
            raise CliError(f"{secret!r} is not a well-formed ARN", hint=f"name {shape}", exit_code=EXIT_USAGE)
        if arn.service != "secretsmanager":
            what = "a KMS key's ARN" if arn.service == "kms" else f"an ARN of {arn.service!r}"
            raise CliError(f"{secret!r} is {what}, not a secret's", hint=f"name {shape}", exit_code=EXIT_USAGE)
        problem = (
            "names no secret (its resource is not secret:<name>)"
            if not arn.resource.startswith("secret:") or arn.resource == "secret:"
            else "names no region"
            if not arn.region
            else f"has {arn.account!r} where a 12-digit account id belongs"
            if not is_account_id(arn.account)
            else None
        )
        if problem:
            raise CliError(f"{secret!r} {problem}", hint=f"name {shape}", exit_code=EXIT_USAGE)
        name = arn.resource.removeprefix("secret:")
    else:
        name = secret
    if not _SECRET_NAME.fullmatch(name):
        odd = next((c for c in name if not _SECRET_NAME.fullmatch(c)), None)
        problem = f"contains {odd!r}" if odd else f"is {len(name)} characters long"
        raise CliError(
            f"{secret!r} {problem}: secret names are 1 to 512 letters, digits and / _ + = . @ -",
            hint=f"name {shape}",
            exit_code=EXIT_USAGE,
        )


def _named_nothing(plan: Plan) -> bool:
    """True when the secret does not exist and secretshare holds nothing for it: as far as it can tell, it never
    existed (a typo, another region or account), which is not a clean-up."""
    gone = any(note.startswith(_GONE_NOTE) for note in plan.notes)
    return gone and plan.is_noop and not plan.previous_consumers


# --- reconcile ------------------------------------------------------------------------------------------------


@main.command(
    short_help="Bring one secret in line with its share tags.",
    epilog=_epilog("secretshare reconcile payments/db-password --dry-run"),
)
@click.argument("secret")
@click.option("--dry-run", is_flag=True, help="Print the plan, policy changes as diffs; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document (schema: docs/using.md).")
@_global_options(top=False)
@click.pass_context
def reconcile(ctx: click.Context, secret: str, dry_run: bool, as_json: bool) -> None:
    """Bring SECRET in line with its share tags: grant what they name, revoke what they no longer name.

    SECRET is a name, a full ARN or a partial ARN (a replica's ARN reconciles its primary). With --dry-run nothing
    is written. A secret that does not exist is cleaned up after (its grants revoked); one that does not exist and
    for which secretshare holds nothing is an error: a typo, or another region or account.
    """
    check_secret_id(secret)
    run = _start(ctx, as_json=as_json)
    try:
        result = reconcile_secret(secret, dry_run=dry_run, settings=run.settings, clients=run.clients)
    except ReconcileFailed as err:
        partial = err.result
        if isinstance(partial, ReconcileResult):
            _show_result(run, partial, dry_run=dry_run, error=str(err))
        raise
    _check_named_something(run, secret, result.plan)
    _show_result(run, result, dry_run=dry_run)


def _check_named_something(run: _Run, secret: str, plan: Plan) -> None:
    """A usage error when `secret` names no secret, and secretshare holds nothing for one of that name."""
    if _named_nothing(plan):
        raise _no_secret(run, secret, plan.secret_arn, ", and secretshare holds nothing for one of that name")


def _no_secret(run: _Run, secret: str, looked_up: str, also: str = "") -> CliError:
    """The usage error for a SECRET that names no secret where it was looked for (`looked_up`: its ARN, or name)."""
    arn = parse_arn(looked_up)
    return CliError(
        f"no secret {secret!r} in account {run.account}, region {arn.region if arn else run.region}{also}",
        hint="check the name (`aws secretsmanager list-secrets`), --region and --profile",
        exit_code=EXIT_USAGE,
    )


@main.command(
    short_help="Print the IAM policy a consumer attaches to read one secret, or a snippet for its tooling.",
    epilog=_epilog("secretshare policy payments/db-password --format external-secrets > db-password.yaml"),
)
@click.argument("secret")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document: the secret, its keys, the policy and snippets."
)
@click.option(
    "--format",
    "kind",
    type=click.Choice(FORMATS),
    default="iam",
    show_default=True,
    help="The IAM policy, or what a consumer's tooling reads the secret with: an External Secrets SecretStore and "
    "ExternalSecret, a Secrets Store CSI SecretProviderClass, or Terraform.",
)
@_global_options(top=False)
@click.pass_context
def policy(ctx: click.Context, secret: str, as_json: bool, kind: str) -> None:
    """Print the consumer IAM policy of SECRET, as secretshare publishes it: read the exact secret ARNs, decrypt
    with their exact keys through Secrets Manager only.

    Accounts of an organization or OU consumer get no parameter where account A cannot list them (a member
    account); they attach this instead. Reads only. Fails when the secret is shared with nobody, or is not on its
    key yet (reconcile it first).
    """
    check_secret_id(secret)
    run = _start(ctx, as_json=as_json)
    plan = reconcile_secret(secret, dry_run=True, settings=run.settings, clients=run.clients).plan
    _check_named_something(run, secret, plan)
    key_arns = {copy.region: copy.key_arn for copy in plan.copies}
    if not plan.consumers:
        raise CliError(
            f"secret {plan.secret_arn} is shared with nobody: {_why_nobody(run, plan)}", hint=_share_hint(run, secret)
        )
    if None in key_arns.values():
        raise CliError(
            f"secret {plan.secret_arn} is not yet on the key it will be shared with",
            hint=f"reconcile it: secretshare reconcile {secret}",
        )
    keys = {region: arn for region, arn in key_arns.items() if arn}
    document = plan.consumer_document(keys)
    if as_json:
        _print_json(
            {
                "version": JSON_VERSION,
                "secret": plan.secret_arn,
                "name": plan.secret_name,
                "keys": [{"region": region, "key_arn": arn} for region, arn in keys.items()],
                "policy": json.loads(document),
                "snippets": {
                    name: consumer_snippet(name, plan.secret_arn, plan.secret_name, document)
                    for name in FORMATS
                    if name != "iam"
                },
            }
        )
    else:
        click.echo(consumer_snippet(kind, plan.secret_arn, plan.secret_name, document), nl=kind == "iam")


def _why_nobody(run: _Run, plan: Plan) -> str:
    if plan.pending_deletion:
        return "it is scheduled for deletion, and nobody can read it"
    if plan.rejected:
        return "every entry of its tag was rejected: " + "; ".join(entry.reason for entry in plan.rejected)
    return plan.notes[0] if plan.notes else f"its {run.settings.share_tag_key} tag names no consumer"


def _share_hint(run: _Run, secret: str) -> str:
    tag = run.settings.share_tag_key
    return f"tag it: aws secretsmanager tag-resource --secret-id {secret} --tags Key={tag},Value=<account ids>"


def _show_result(run: _Run, result: ReconcileResult, *, dry_run: bool, error: str | None = None) -> None:
    if run.as_json:
        _print_json({"version": JSON_VERSION, "dry_run": dry_run, **result_report(result, error=error)})
    else:
        print_result(run.out, result)


def print_result(console: Console, result: ReconcileResult) -> None:
    """The plan as readable lines and policy diffs, then consumers, keys, status and rejected entries."""
    plan = result.plan
    verb = "applied" if result.applied else "would apply (dry run)"
    _line(console, f"[bold]{escape(plan.secret_name)}[/bold]  {escape(plan.secret_arn)}")
    for note in plan.notes:
        _line(console, f"  [yellow]note:[/yellow] {escape(note)}")
    if plan.is_noop:
        _line(console, "  [green]in sync: nothing to change[/green]")
    else:
        _line(console, f"  {verb}:")
        for change in plan.describe():
            _line(console, f"   • {escape(change)}")
        print_policy_diffs(console, plan)
    _line(console, f"  consumers: {escape(', '.join(plan.consumers) or 'none')}")
    _line(console, f"  key: {escape(result.key_arn or _key_of(plan.copies[0]))}")
    for copy in plan.copies[1:]:
        _line(console, f"  replica in {copy.region}: key {escape(_key_of(copy))}")
    status_after = result_status(result)
    if status_after:
        _line(console, f"  status: {escape(status_after)}")
    for entry in plan.rejected:
        _line(console, f"  [red]rejected[/red] {escape(repr(entry.entry))}: {escape(entry.reason)}")
    for failure in result.failures.values():
        _line(console, f"  [red]failed[/red] {escape(failure)}")


def result_status(result: ReconcileResult) -> str | None:
    """The status tag's value once the reconciliation ran: the plan's, with the consumer accounts that failed."""
    failed = set(result.failures)
    return result.plan.status_with(failed | set(result.plan.unreachable)) if failed else result.plan.status_after


def print_policy_diffs(console: Console, plan: Plan) -> None:
    """Unified diffs of every policy document the plan rewrites, whole lines however long."""
    documents = [
        (f"key policy {c.key_arn or f'of the new key in {c.region}'}", c.before, c.after) for c in plan.of(PutKeyPolicy)
    ]
    documents += [("resource policy", c.before, c.after) for c in plan.of(ResourcePolicyChange)]
    for title, before, after in documents:
        diff = difflib.unified_diff(
            render(before).splitlines() if before else [],
            render(after).splitlines() if after else [],
            fromfile=f"{title} (now)",
            tofile=f"{title} (planned)",
            lineterm="",
        )
        for line in diff:
            console.print(Text(line, style=_diff_style(line)), soft_wrap=True)


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    return "green" if line.startswith("+") else "red" if line.startswith("-") else ""


def _key_of(copy: Any) -> str:
    if copy.key_arn:
        return copy.key_arn
    return f"new key {copy.new_key.alias}" if copy.new_key else "AWS managed key"


def _line(console: Console, markup: str) -> None:
    console.print(markup, soft_wrap=True)


# --- status ---------------------------------------------------------------------------------------------------


@main.command(
    short_help="Every shared secret: consumers, keys, status, drift.",
    epilog=_epilog("secretshare status --check --json > status.json"),
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema: docs/using.md).")
@click.option(
    "--check",
    is_flag=True,
    help=f"Exit {EXIT_FAILED} when a secret is out of sync, could not be checked, or has an error status (for CI).",
)
@click.option(
    "--by-account",
    is_flag=True,
    help="One row per consumer account and principal: which secrets it can read, and whose grant lets it.",
)
@_global_options(top=False)
@click.pass_context
def status(ctx: click.Context, as_json: bool, check: bool, by_account: bool) -> None:
    """A table of every shared secret (tagged, or still granted by a key of ours): consumers, who can read it now
    from another account (every grant in its resource and key policies, ours and others', judged per principal), keys,
    the status its status tag shows, and whether it is in sync or what a reconciliation would change.

    Read-only: it is the sweep's check, every secret read in parallel. An error status means rejected entries, a
    consumer account that cannot be reached, or a reconciliation that failed.
    """
    run = _start(ctx, as_json=as_json)
    report = _checked(run, with_grants=True)
    counts = _status_counts(report)
    if as_json:
        secrets = [status_report(c) for c in report.checks]
        _print_json({"version": JSON_VERSION, **counts, "secrets": secrets, "by_account": by_account_report(report)})
    elif by_account:
        _print_by_account(run, report)
    else:
        _print_status_table(run, report)
    if not as_json:
        _line(run.out, _status_summary(counts))
    problems = counts["drifted"] + counts["errors"] + counts["error_status"]
    if check and problems:
        raise CliError(
            f"status --check: {_status_summary(counts)}",
            hint="`secretshare sweep` reconciles what is out of sync; an error status names the entry or account "
            "to fix",
            exit_code=EXIT_FAILED,
        )


def _checked(run: _Run, *, with_grants: bool = False) -> SweepReport:
    """The sweep's read-only check of every candidate, with a progress bar on a terminal."""
    with _progress(run.err, "checking secrets", total=None) as advance:
        return sweep_secrets(
            settings=run.settings,
            clients=run.clients,
            on_chunk=lambda done: advance(len(done)),
            with_grants=with_grants,
        )


def _status_counts(report: SweepReport) -> dict[str, int]:
    """How many secrets are in each state. A secret scheduled for deletion is counted apart: nobody can read it,
    whatever its policies still say, so it is no problem for `--check`."""
    pending = [c for c in report.checks if c.plan and c.plan.pending_deletion]
    checks = [c for c in report.checks if not (c.plan and c.plan.pending_deletion)]
    return {
        "checked": len(report.checks),
        "in_sync": sum(1 for c in checks if not c.drifted),
        "drifted": sum(1 for c in checks if c.drifted and c.error is None),
        "errors": sum(1 for c in checks if c.error is not None),
        "error_status": sum(1 for c in checks if c.plan and (c.plan.status_after or "").startswith("error")),
        "pending_deletion": len(pending),
    }


def _status_summary(counts: dict[str, int]) -> str:
    parts = [f"{counts['in_sync']} in sync", f"{counts['drifted']} out of sync"]
    if counts["errors"]:
        parts.append(f"{counts['errors']} could not be checked")
    if counts["error_status"]:
        parts.append(f"{counts['error_status']} with an error status")
    if counts["pending_deletion"]:
        parts.append(f"{counts['pending_deletion']} scheduled for deletion")
    return f"{_count(counts['checked'], 'secret')}: {', '.join(parts)}"


def _print_status_table(run: _Run, report: SweepReport) -> None:
    rows: list[tuple[str | Text, ...]] = []
    for check in report.checks:
        plan = check.plan
        if plan is None:
            name = _name_of(check.arn)
            if check.error is not None:
                rows.append((name, "", "", Text("error", "red"), Text(f"error: {check.error}", "red")))
            else:
                rows.append((name, "", "", "", Text("a replica: its primary's region reconciles it", "dim")))
            continue
        state = Text("in sync", "green") if not check.drifted else Text("\n".join(plan.describe()), "yellow")
        if plan.pending_deletion:
            state.append("\nscheduled for deletion: nobody can read it", "dim")
        for entry in plan.rejected:
            state.append(f"\nrejected: {entry.reason}", "red")
        for account, reason in sorted(plan.unreachable.items()):
            state.append(f"\nunreachable {account}: {reason}", "red")
        keys = "\n".join(_key_of(copy) + ("" if i == 0 else f" ({copy.region})") for i, copy in enumerate(plan.copies))
        readers = _readers_cell(check)
        rows.append((plan.secret_name, "\n".join(plan.consumers) or "-", readers, keys, _status_cell(plan), state))
    _print_rows(run, ("secret", "consumers", "can read now", "keys", "status", "state"), rows)


def _readers_cell(check: SecretCheck) -> Text:
    """Each principal of another account the policies let in: foreign grants marked, partial ones saying why they
    do not let it read."""
    cell = Text()
    for reader in check.readers:
        if cell:
            cell.append("\n")
        cell.append(reader.principal, "green" if reader.reads else "dim")
        foreign = [grant for grant in reader.grants if not grant.ours]
        if foreign:
            cell.append(" (foreign: " + ", ".join(f"{g.policy} {g.sid or 'no Sid'}" for g in foreign) + ")", "red")
        if not reader.reads:
            cell.append(f" (cannot read: {_why_not(check, reader)})", "yellow")
    return cell if cell else Text("-")


def _why_not(check: SecretCheck, reader: Reader) -> str:
    if not check.on_customer_managed_key:
        return "the secret is on the AWS managed key"
    policies = {grant.policy for grant in reader.grants}
    return f"granted in the {' and '.join(sorted(policies))} only"


def by_account_report(report: SweepReport) -> list[dict[str, Any]]:
    """The reverse view: each consumer account's principals, and the secrets each can read, and by whose grant."""
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for check in report.checks:
        for reader in check.readers:
            rows.setdefault((reader.account or "*", reader.principal), []).append(
                {"secret": check.arn, "reads": reader.reads, "origin": reader.origin}
            )
    return [
        {"account": account, "principal": principal, "secrets": secrets}
        for (account, principal), secrets in sorted(rows.items())
    ]


def _print_by_account(run: _Run, report: SweepReport) -> None:
    rows: list[tuple[str | Text, ...]] = [
        (
            row["account"],
            row["principal"],
            "\n".join(
                _name_of(item["secret"])
                + ("" if item["origin"] == "secretshare" else f" ({item['origin']})")
                + ("" if item["reads"] else " (cannot read)")
                for item in row["secrets"]
            ),
        )
        for row in by_account_report(report)
    ]
    _print_rows(run, ("account", "principal", "can read"), rows)


def _print_rows(run: _Run, headers: tuple[str, ...], rows: list[tuple[str | Text, ...]]) -> None:
    """On a terminal, a table whose cells wrap (an ARN is never cut short). Piped, plain lines for grep and cut: the
    headers, then one row a line, its cells separated by tabs and a cell's lines joined by "; "."""
    if stdout_is_terminal():
        table = Table(*headers)
        for column in table.columns:
            column.overflow = "fold"
        for row in rows:
            table.add_row(*row)
        run.out.print(table)
        return
    for cells in (headers, *rows):
        plain = (cell.plain if isinstance(cell, Text) else cell for cell in cells)
        click.echo("\t".join("; ".join(part for part in text.splitlines() if part) for text in plain))


def _status_cell(plan: Plan) -> Text:
    """The status tag's value; where the tag is behind, the value the next reconciliation writes."""
    value = plan.status_after or "-"
    colour = "green" if value.startswith("ok") else "red" if value.startswith("error") else "yellow"
    cell = Text(value, colour)
    if plan.status_changes:
        cell.append(f"\n(tag now: {plan.status_before or 'none'})")
    return cell


# --- sweep ----------------------------------------------------------------------------------------------------


@main.command(
    short_help="Reconcile (or queue) every secret out of sync.",
    epilog=_epilog("secretshare sweep --queue-url https://sqs.eu-west-1.amazonaws.com/111111111111/reconcile.fifo"),
)
@click.option(
    "--queue-url",
    envvar="QUEUE_URL",
    show_envvar=True,
    help="Queue the reconciliations on this FIFO queue (the reconcile function's) instead of running them here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema: docs/using.md).")
@_global_options(top=False)
@click.pass_context
def sweep(ctx: click.Context, queue_url: str | None, as_json: bool) -> None:
    """Check every shared secret as `status` does, then reconcile those out of sync (or queue them) and print a
    table of what changed; -v prints each plan with its diffs as well.
    """
    queue_url = check_queue_url("--queue-url", queue_url or "", fifo=True)
    run = _start(ctx, as_json=as_json)
    report = _checked(run)
    arns = list(report.to_reconcile)
    checks = {check.arn: check for check in report.checks}
    if not as_json:
        _line(run.out, f"checked {_count(len(report.checks), 'secret')}: {len(arns)} to reconcile")
    if queue_url:
        naming = {arn: checks[arn].keys_naming for arn in arns}
        queued = enqueue_reconciliations(
            arns, queue_url, settings=run.settings, clients=run.clients, keys_naming=naming
        )
        if as_json:
            items = [{**check_report(checks[arn]), "applied": False, "failures": []} for arn in arns]
            _print_json(_sweep_document(report, items, queued=queued))
        else:
            _line(run.out, f"queued {_count(queued, 'reconciliation')} on {queue_url}")
        return
    outcomes = _reconcile_all(run, arns, checks)
    failed = sum(1 for outcome in outcomes if outcome["error"])
    if as_json:
        _print_json(_sweep_document(report, outcomes, queued=None))
    elif outcomes:
        _print_sweep_table(run, outcomes)
        _line(run.out, f"reconciled {_count(len(outcomes), 'secret')}: {len(outcomes) - failed} done, {failed} failed")
    if failed:
        raise CliError(
            f"{failed} of {_count(len(outcomes), 'reconciliation')} failed",
            hint="the table names each failure; `secretshare reconcile <secret> -v` shows one in full",
        )


def _reconcile_all(run: _Run, arns: list[str], checks: dict[str, SecretCheck]) -> list[dict[str, Any]]:
    """Reconcile each secret (one after the other, like the FIFO queue), each outcome as a report."""
    outcomes = []
    with _progress(run.err, "reconciling", total=len(arns)) as advance:
        for arn in arns:
            result: ReconcileResult | None = None
            error: str | None = None
            try:
                result = reconcile_secret(
                    arn, settings=run.settings, clients=run.clients, hinted_keys=checks[arn].keys_naming
                )
            except ReconcileFailed as err:
                result = err.result if isinstance(err.result, ReconcileResult) else None
                error = str(err)
            except SecretShareError as err:
                error = str(err)
            if result is None:
                outcomes.append({**check_report(checks[arn]), "applied": False, "failures": [], "error": error})
            else:
                outcomes.append(result_report(result, error=error))
                if run.verbose and not run.as_json:
                    print_result(run.out, result)
            advance(1)
    return outcomes


def _print_sweep_table(run: _Run, outcomes: list[dict[str, Any]]) -> None:
    rows: list[tuple[str | Text, ...]] = [
        (
            outcome["name"] or outcome["secret"],
            "\n".join(outcome.get("granted", [])) or "-",
            "\n".join(outcome.get("revoked", [])) or "-",
            outcome.get("writes") or "-",
            outcome["status"] or "-",
            Text(f"failed: {outcome['error']}", "red") if outcome["error"] else Text("done", "green"),
        )
        for outcome in outcomes
    ]
    _print_rows(run, ("secret", "granted", "revoked", "writes", "status", "result"), rows)


def _sweep_document(report: SweepReport, items: list[dict[str, Any]], *, queued: int | None) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "checked": len(report.checks),
        "to_reconcile": len(report.to_reconcile),
        "queued": queued,
        "reconciled": 0 if queued is not None else len(items),
        "failed": sum(1 for item in items if item["error"]),
        "secrets": [{k: v for k, v in item.items() if k not in _TABLE_ONLY} for item in items],
    }


# --- demo -----------------------------------------------------------------------------------------------------


@main.command(
    short_help="Take over a secret shared by hand: tag it, grant as it is read now, replace the hand-made statements.",
    epilog=_epilog("secretshare adopt payments/db-password            # then: ... --apply"),
)
@click.argument("secret")
@click.option("--apply", is_flag=True, help="Do it (without it, print what would be done and write nothing).")
@_global_options(top=False)
@click.pass_context
def adopt(ctx: click.Context, secret: str, apply: bool) -> None:
    """Take over SECRET, shared by hand: tag it `share-with` with every principal of another account that can read it
    now, reconcile it, then remove the hand-written statements secretshare's grants replace. A statement it cannot
    express (other actions, other conditions, a key statement for other secrets too, a grant in one policy only) is
    left as it is and listed. Without --apply nothing is written.
    """
    check_secret_id(secret)
    run = _start(ctx)
    adopted = adopt_secret(secret, settings=run.settings, clients=run.clients, apply=apply)
    if adopted is None:
        raise _no_secret(run, secret, secret)
    for line in _adoption_lines(adopted, applied=apply):
        _line(run.out, escape(line))
    if adopted.left_behind:
        raise CliError(
            f"taken-over statements came back: {', '.join(adopted.left_behind)}",
            hint="another reconciliation wrote the policy meanwhile; run `secretshare adopt` again to remove them",
        )


def _adoption_lines(adopted: Adopted, *, applied: bool) -> list[str]:
    name = _name_of(adopted.secret_arn)
    adoption = adopted.adoption
    if not adoption.entries:
        head = f"{name}: nothing to adopt: no hand-written grant lets a principal of another account read it"
    else:
        tags = " ".join(f"{key}={value!r}" for key, value in adopted.tags.items())
        head = f"{name}: {'tagged' if applied else 'would tag'} {tags}"
        if adopted.result is not None:
            head += f"; status: {result_status(adopted.result) or '-'}"
    verb = "took over" if applied and adoption.entries else "would take over"
    lines = [head]
    lines += [f"  {verb}: {policy} {stmt.get('Sid') or '(no Sid)'}" for policy, stmt in adoption.taken_over]
    lines += [f"  left as it is: {kept.policy} {kept.sid}: {kept.why}" for kept in adoption.kept]
    return lines


@main.command(
    short_help="End one share, or every share: revoke every grant and parameter.",
    epilog=_epilog("secretshare unshare payments/db-password --restore-key --dry-run"),
)
@click.argument("secret", required=False)
@click.option("--all", "every", is_flag=True, help="Every shared secret of the region, instead of one SECRET.")
@click.option(
    "--restore-key",
    is_flag=True,
    help="Also move the secret back to the AWS managed key, and schedule the deletion (in 30 days, cancellable) of "
    "the key secretshare made for it.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be done; write nothing.")
@_global_options(top=False)
@click.pass_context
def unshare(ctx: click.Context, secret: str | None, every: bool, restore_key: bool, dry_run: bool) -> None:
    """End the share of SECRET (or of every shared secret, --all): remove its share tags, so the functions do not
    grant it again, and revoke every grant and parameter secretshare made for it, now. Statements secretshare did not
    write stay as they are.
    """
    if bool(secret) == every:
        raise CliError("name one SECRET, or --all", hint="secretshare unshare -h", exit_code=EXIT_USAGE)
    if secret:
        check_secret_id(secret)
    run = _start(ctx)
    targets = [secret] if secret else secrets_to_reconcile(settings=run.settings, clients=run.clients)
    failed = 0
    for target in targets:
        try:
            done = unshare_secret(
                target, settings=run.settings, clients=run.clients, restore_key=restore_key, dry_run=dry_run
            )
        except ReconcileFailed as err:
            failed += 1
            _line(run.out, f"{escape(_name_of(target))}: failed: {escape(str(err))}")
            continue
        _line(run.out, escape(_unshared_line(done, dry_run=dry_run)))
    if failed:
        raise CliError(
            f"{failed} of {_count(len(targets), 'share')} could not be ended",
            hint="each line names the failure; run `secretshare unshare <secret>` again once it is fixed",
        )


def _unshared_line(done: Unshared, *, dry_run: bool) -> str:
    would = "would " if dry_run else ""
    parts = [
        f"{would}remove tags {', '.join(done.removed_tags)}" if done.removed_tags else "no share tags",
        f"{would}revoke {', '.join(done.revoked)}" if done.revoked else "nothing granted",
    ]
    if done.retired_key:
        when = f" on {done.key_deletion_date}" if done.key_deletion_date else " in 30 days"
        parts.append(f"{would}move to the AWS managed key and delete key {done.retired_key}{when}")
    if done.left_pool_key:
        parts.append(
            f"{would}move to the AWS managed key; pool key {done.left_pool_key} stays for the secrets it encrypts"
        )
    if done.key_kept:
        parts.append(done.key_kept)
    return f"{_name_of(done.secret_arn)}: {'; '.join(parts)}"


@main.command(
    short_help="The whole story on an embedded AWS emulator.",
    epilog=f"\b\nExample:\n  make demo\n\n\b\nExit status:\n  {EXIT_OK}  every step verified\n  {EXIT_FAILED}  a check "
    "did not hold",
)
@_global_options(top=False)
def demo() -> None:
    """Run the whole story (share, edit, reject, expire, revoke) on an embedded moto server and verify every step
    against what the emulator holds. Needs no AWS account: `pip install 'secretshare[demo]'`."""
    from .demo import run_demo

    _configure_logging(bool(click.get_current_context().ensure_object(dict).get("verbose")))
    console = Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 120)
    if not run_demo(console):
        sys.exit(EXIT_FAILED)


# --- JSON -----------------------------------------------------------------------------------------------------

# Fields the sweep's table shows that are not part of the JSON schema.
_TABLE_ONLY = ("granted", "revoked", "writes")


def _new_key_kind(new_key: CreateKey | None) -> str | None:
    if new_key is None:
        return None
    return KEY_MODE_DEDICATED if new_key.alias else KEY_MODE_POOL


def plan_report(plan: Plan, *, drift: bool, error: str | None = None) -> dict[str, Any]:
    """One secret as the JSON documents describe it (fields documented in docs/using.md)."""
    return {
        "secret": plan.secret_arn,
        "name": plan.secret_name,
        "consumers": list(plan.consumers),
        "keys": [
            {
                "region": copy.region,
                "key_arn": copy.key_arn,
                "new_key": _new_key_kind(copy.new_key),
                "new_key_alias": copy.new_key.alias if copy.new_key else None,
            }
            for copy in plan.copies
        ],
        "status": plan.status_after,
        "status_tag": plan.status_before,
        "drift": drift,
        "changes": plan.describe(),
        "rejected": [{"entry": e.entry, "code": e.code, "reason": e.reason} for e in plan.rejected],
        "unreachable": [{"account": a, "reason": r} for a, r in sorted(plan.unreachable.items())],
        "notes": list(plan.notes),
        "error": error,
        "share_until": format_time(plan.outcome.until) if plan.outcome and plan.outcome.until else None,
        "pending_deletion": plan.pending_deletion,
        # For the sweep's table only (left out of the JSON).
        "granted": list(plan.grants_added),
        "revoked": list(plan.grants_revoked),
        "writes": summarize(plan.changes),
    }


def check_report(check: SecretCheck) -> dict[str, Any]:
    """A secret as the sweep's read-only check found it."""
    if check.plan is not None:
        return _public(plan_report(check.plan, drift=check.drifted, error=check.error))
    note = [] if check.error else ["a replica: reconciled with its primary, by the stack of the primary's region"]
    return {
        "secret": check.arn,
        "name": _name_of(check.arn),
        "consumers": [],
        "keys": [],
        "status": None,
        "status_tag": None,
        "drift": check.drifted,
        "changes": [],
        "rejected": [],
        "unreachable": [],
        "notes": note,
        "error": check.error,
        "share_until": None,
        "pending_deletion": False,
    }


def status_report(check: SecretCheck) -> dict[str, Any]:
    """A secret as `status` shows it: as checked, and who can read it from another account."""
    return {**check_report(check), "readers": [reader_report(reader) for reader in check.readers]}


def reader_report(reader: Reader) -> dict[str, Any]:
    """A principal of another account the secret's policies let in, judged."""
    return {
        "principal": reader.principal,
        "account": reader.account,
        "reads": reader.reads,
        "origin": reader.origin,
        "grants": [
            {
                "policy": grant.policy,
                "sid": grant.sid,
                "principal": grant.principal,
                "narrowed_to": list(grant.narrowed_to),
                "origin": "secretshare" if grant.ours else "foreign",
            }
            for grant in reader.grants
        ],
    }


def result_report(result: ReconcileResult, *, error: str | None = None) -> dict[str, Any]:
    """A reconciliation's outcome: the secret's report plus whether it was applied and what failed."""
    plan = result.plan
    drift = not plan.is_noop or bool(plan.unreachable)
    report = {**plan_report(plan, drift=drift, error=error), "status": result_status(result)}
    if result.key_arn and report["keys"]:
        report["keys"][0] = {**report["keys"][0], "key_arn": result.key_arn}
    return {**report, "applied": result.applied, "failures": list(result.failures.values())}


def _public(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in _TABLE_ONLY}


def _print_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(_public(document), indent=2))


# --- helpers --------------------------------------------------------------------------------------------------


def _name_of(arn: str) -> str:
    try:
        return secret_name_from_arn(arn)
    except ValueError:
        return arn


def _count(number: int, singular: str, plural: str = "") -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


@contextmanager
def _spinner(console: Console, what: str) -> Iterator[None]:
    if not console.is_terminal:
        yield
        return
    with console.status(f"{what} ..."):
        yield


@contextmanager
def _progress(console: Console, what: str, *, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, on a terminal only; yields the function that advances it."""
    if not console.is_terminal:
        yield lambda _: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}" + (f"/{total}" if total is not None else "") + " secrets"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda done: progress.advance(task, done)


if __name__ == "__main__":
    main()
