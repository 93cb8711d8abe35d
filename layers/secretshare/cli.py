"""The `secretshare` command line: reconcile, sweep, status and demo.

It uses the standard AWS environment (profiles, AWS_REGION, AWS_ENDPOINT_URL) through boto3. This
module is the only one that imports the presentation libraries; they are not shipped to Lambda.
"""

from __future__ import annotations

import difflib
import logging
import sys

import boto3
import click
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from .errors import ReconcileFailed, SecretShareError
from .plan import Plan
from .policy import render
from .reconcile import ReconcileResult, reconcile_secret
from .settings import Settings
from .sweep import enqueue_reconciliations, secrets_to_reconcile
from .sweep import sweep as sweep_secrets

# emoji=False: ARNs contain ":secret:", which rich would otherwise turn into an emoji.
console = Console(highlight=False, emoji=False)


@click.group()
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile of the producer account A.")
@click.option("--region", envvar="AWS_REGION", help="Region of the secrets (default: the profile's).")
@click.option("-v", "--verbose", is_flag=True, help="Log every AWS change as it is made.")
@click.pass_context
def main(ctx: click.Context, profile: str | None, region: str | None, verbose: bool) -> None:
    """Share Secrets Manager secrets across AWS accounts with a `share-with` tag."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(message)s")
    ctx.obj = {"profile": profile, "region": region}


def _session(ctx: click.Context) -> boto3.Session:
    return boto3.Session(profile_name=ctx.obj["profile"], region_name=ctx.obj["region"])


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SecretShareError as err:
        raise click.ClickException(str(err)) from err


@main.command()
@click.argument("secret")
@click.option("--dry-run", is_flag=True, help="Show the plan as a diff; change nothing.")
@click.pass_context
def reconcile(ctx: click.Context, secret: str, dry_run: bool) -> None:
    """Bring SECRET (name, ARN or partial ARN) in line with its share tags."""
    try:
        result = reconcile_secret(secret, dry_run=dry_run, settings=_settings(), session=_session(ctx))
    except ReconcileFailed as err:
        print_result(err.result)  # type: ignore[arg-type]
        raise click.ClickException(str(err)) from err
    except SecretShareError as err:
        raise click.ClickException(str(err)) from err
    print_result(result)


def print_result(result: ReconcileResult) -> None:
    """The plan as readable lines and policy diffs, then consumers and rejected entries."""
    plan = result.plan
    verb = "applied" if result.applied else "would apply (dry run)"
    console.print(f"[bold]{plan.secret_name}[/bold]  {plan.secret_arn}")
    for note in plan.notes:
        console.print(f"  [yellow]note:[/yellow] {note}")
    if plan.is_noop:
        console.print("  [green]in sync: nothing to change[/green]")
    else:
        console.print(f"  {verb}:")
        for line in plan.describe():
            console.print(f"   • {line}")
        print_policy_diffs(plan)
    console.print(f"  consumers: {', '.join(plan.consumers) or 'none'}")
    console.print(f"  key: {result.key_arn or 'AWS managed key'}")
    for copy in plan.copies[1:]:
        key = copy.key_arn or (copy.new_key.alias if copy.new_key else "-")
        console.print(f"  replica in {copy.region}: key {key}")
    if plan.status_after:
        console.print(f"  status: {plan.status_after}")
    for entry in plan.rejected:
        console.print(f"  [red]rejected[/red] {entry.entry!r}: {entry.reason}")
    for failure in result.failures:
        console.print(f"  [red]failed[/red] {failure}")


def print_policy_diffs(plan: Plan) -> None:
    """Unified diffs of every policy document the plan rewrites."""
    documents = [
        (f"key policy {c.key_arn or f'of the new key in {c.region}'}", c.before, c.after)
        for c in plan.key_policy_changes
    ]
    if plan.resource_policy_change:
        documents.append(("resource policy", plan.resource_policy_change.before, plan.resource_policy_change.after))
    for title, before, after in documents:
        diff = difflib.unified_diff(
            render(before).splitlines() if before else [],
            render(after).splitlines() if after else [],
            fromfile=f"{title} (now)",
            tofile=f"{title} (planned)",
            lineterm="",
        )
        console.print(Syntax("\n".join(diff), "diff", theme="ansi_dark", background_color="default"))


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """A table of every shared secret: consumers, key, status (as its status tag says it), and whether it is in sync."""
    settings, session = _settings(), _session(ctx)
    table = Table("secret", "consumers", "key", "status", "state")
    for arn in secrets_to_reconcile(settings=settings, session=session):
        try:
            result = reconcile_secret(arn, dry_run=True, settings=settings, session=session)
        except SecretShareError as err:
            table.add_row(arn, "", "", f"[red]error {err.status_code}[/red]", f"[red]error: {err}[/red]")
            continue
        plan = result.plan
        state = "[green]in sync[/green]" if plan.is_noop else "[yellow]" + "; ".join(plan.describe()) + "[/yellow]"
        if plan.rejected:
            state += "\n[red]rejected: " + "; ".join(e.reason for e in plan.rejected) + "[/red]"
        keys = "\n".join(copy.key_arn or f"AWS managed ({copy.region})" for copy in plan.copies)
        table.add_row(plan.secret_name, "\n".join(plan.consumers) or "-", keys, _status_cell(plan), state)
    console.print(table)


def _status_cell(plan: Plan) -> str:
    """The status tag's value; where the tag is behind, the value the next reconciliation writes."""
    value = plan.status_after or "-"
    colour = "green" if value.startswith("ok") else "red" if value.startswith("error") else "yellow"
    cell = f"[{colour}]{value}[/{colour}]"
    if plan.status_changes:
        cell += f"\n(tag now: {plan.status_before or 'none'})"
    return cell


@main.command()
@click.option("--queue-url", envvar="QUEUE_URL", help="Queue the reconciliations here instead of running them.")
@click.pass_context
def sweep(ctx: click.Context, queue_url: str | None) -> None:
    """Check every tagged secret and every secret our keys still grant on; reconcile (or queue) those out of sync."""
    settings, session = _settings(), _session(ctx)
    report = sweep_secrets(settings=settings, session=session)
    arns = list(report.to_reconcile)
    console.print(f"checked {len(report.checked)} secrets: {len(arns)} to reconcile")
    if queue_url:
        console.print(f"queued {enqueue_reconciliations(arns, queue_url, session=session)} reconciliations")
        return
    failed = 0
    for arn in arns:
        try:
            print_result(reconcile_secret(arn, settings=settings, session=session))
        except SecretShareError as err:
            failed += 1
            console.print(f"[red]{arn}: {err}[/red]")
    console.print(f"reconciled {len(arns)} secrets, {failed} failed")
    if failed:
        sys.exit(1)


@main.command()
def demo() -> None:
    """Run the whole story on an embedded moto server and verify every step."""
    from .demo import run_demo

    sys.exit(0 if run_demo(console) else 1)


if __name__ == "__main__":
    main()
