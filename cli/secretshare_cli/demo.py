"""`secretshare demo`: the whole story on an embedded moto server, each step checked independently.

The checks read AWS directly (not through secretshare's own results), so the demo fails if what it
prints is not what AWS holds.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from secretshare.domain.names import GRANT_SID_PREFIX, GRANTS_TAG_KEY, POOL_KEY_TAG_VALUE, is_ours, parameter_name
from secretshare.domain.policy import granted_principals, statements
from secretshare.domain.settings import AllowList, Settings
from secretshare.domain.sharetag import format_time, tag_value
from secretshare.reconciler.reconcile import ReconcileResult, reconcile_secret

PRODUCER = "123456789012"  # moto's default account plays account A
APP_ROLE_OF_A = f"arn:aws:iam::{PRODUCER}:role/payments-app"
CONSUMER_B = "222222222222"
CONSUMER_C = "333333333333"
REGION = "eu-west-1"
SECRET_NAME = "payments/db-password"
OU_SECRET_NAME = "analytics/api-key"
ROLE_C = f"arn:aws:iam::{CONSUMER_C}:role/app"


@contextmanager
def embedded_moto() -> Iterator[str]:
    """Start moto's server on a free local port with fake credentials; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = dict(os.environ)
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID"):
        os.environ.pop(name, None)
    try:
        yield endpoint
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


class Demo:
    """The story, step by step; `failures` collects every check that did not hold."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.session = boto3.Session(region_name=REGION)
        self.secrets = self.session.client("secretsmanager")
        self.kms = self.session.client("kms")
        self.settings = Settings(allowed_consumers=AllowList.parse(f"{CONSUMER_B} {CONSUMER_C}"))
        self.failures: list[str] = []
        self.secret_arn = ""
        console.print("[dim]starting the IAM policy evaluator (iam-simulate on node) ...[/dim]")
        self.evaluator = _evaluator()

    def check(self, ok: bool, what: str) -> None:
        """Print a verified claim, or record it as failed."""
        self.console.print(f"  {'[green]✔[/green]' if ok else '[red]✘[/red]'} {what}")
        if not ok:
            self.failures.append(what)

    def step(self, title: str) -> None:
        """Start a numbered part of the story."""
        self.console.rule(f"[bold]{title}")

    def reconcile(self, now: datetime | None = None) -> ReconcileResult:
        """Reconcile the demo secret (at `now`, default the clock) and print what changed."""
        result = reconcile_secret(self.secret_arn, settings=self.settings, session=self.session, now=now)
        for line in result.changes or ["nothing to change"]:
            self.console.print(f"  • {line}")
        return result

    def tag(self, value: str, key: str = "share-with") -> None:
        """Set a tag, as a person would in the console."""
        self.secrets.tag_resource(SecretId=self.secret_arn, Tags=[{"Key": key, "Value": value}])
        self.console.print(f"  tagged [bold]{key} = {value}[/bold]")

    def status(self) -> str | None:
        """The secret's status tag, as the person who tagged it sees it in the console."""
        tags = self.secrets.describe_secret(SecretId=self.secret_arn).get("Tags", [])
        return tag_value(tags, self.settings.status_tag_key)

    def check_status(self, wanted: str | None) -> None:
        """Check the status tag against what the person should see."""
        found = self.status()
        self.check(found == wanted, f"tag {self.settings.status_tag_key} = {found!r}")

    def key_arn(self) -> str:
        """The secret's KmsKeyId as AWS reports it."""
        return self.secrets.describe_secret(SecretId=self.secret_arn).get("KmsKeyId", "")

    def key_policy(self) -> dict:
        """The key policy of the secret's key as AWS holds it."""
        return json.loads(self.kms.get_key_policy(KeyId=self.key_arn(), PolicyName="default")["Policy"])

    def key_grants(self) -> set[str]:
        """Principals in secretshare's grant statements (Sid SecretShareDecrypt...) of the secret's key policy."""
        grants = [s for s in statements(self.key_policy()) if str(s.get("Sid", "")).startswith(GRANT_SID_PREFIX)]
        return granted_principals({"Statement": grants})

    def check_app_role_of_a(self, when: str) -> None:
        """An app role of A that may call only secretsmanager:GetSecretValue still reads the secret, judged by an
        independent IAM policy evaluator (iam-simulate) on the policies AWS holds. Before the share the secret is on
        the AWS managed key, whose policy AWS documents (moto's stand-in key has a policy of its own)."""
        if self.evaluator is None:
            self.console.print("  [dim]app role of A: not judged (the IAM evaluator is not installed: make demo)[/dim]")
            return
        from iam_evaluator import aws_managed_secretsmanager_key_policy, can_read_secret

        key = self.key_arn()
        managed = f"arn:aws:kms:{REGION}:{PRODUCER}:key/aws-secretsmanager"
        verdict = can_read_secret(
            self.evaluator,
            caller_arn=APP_ROLE_OF_A,
            secret_arn=self.secret_arn,
            kms_key_arn=key or managed,
            key_policy=self.key_policy() if key else aws_managed_secretsmanager_key_policy(PRODUCER, REGION),
            secret_policy=self.resource_policy(),
            identity_policies=[
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
                }
            ],
        )
        self.check(verdict.allowed, f"app role of A (only secretsmanager:GetSecretValue) reads the secret {when}")

    def resource_policy(self) -> dict | None:
        """The secret's resource policy as AWS holds it."""
        text = self.secrets.get_resource_policy(SecretId=self.secret_arn).get("ResourcePolicy")
        return json.loads(text) if text else None

    def parameter(self, account: str, secret_name: str = SECRET_NAME) -> str | None:
        """The consumer-policy parameter in a consumer account, read through its publisher role."""
        role = self.settings.consumer_role_arn("aws", account)
        credentials = self.session.client("sts").assume_role(RoleArn=role, RoleSessionName="demo")["Credentials"]
        ssm = self.session.client(
            "ssm",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        name = parameter_name(self.settings.parameter_prefix, PRODUCER, REGION, secret_name)
        found = ssm.get_parameters(Names=[name])["Parameters"]
        return found[0]["Value"] if found else None

    def show_json(self, title: str, document: object) -> None:
        """Print a policy document."""
        text = json.dumps(document, indent=2)
        syntax = Syntax(text, "json", background_color="default", word_wrap=True)
        self.console.print(Panel(syntax, title=title, expand=False))

    def run(self) -> bool:
        """The whole story; True when every check held."""
        self.create_secret()
        self.share_with_b_and_c()
        self.second_run_changes_nothing()
        self.drop_c()
        self.reject_bad_entry()
        self.time_boxed_share()
        self.untag()
        self.share_with_an_ou()
        self.console.rule()
        if self.failures:
            self.console.print(f"[red bold]demo failed: {len(self.failures)} check(s) did not hold[/red bold]")
            return False
        self.console.print("[green bold]demo passed: every step verified against AWS (moto)[/green bold]")
        return True

    def create_secret(self) -> None:
        self.step("1. Account A has a secret on the AWS managed key")
        self.secret_arn = self.secrets.create_secret(Name=SECRET_NAME, SecretString="s3cr3t-value")["ARN"]
        self.console.print(f"  created {self.secret_arn}")
        self.check(self.key_arn() == "", "secret has no KmsKeyId: it uses aws/secretsmanager, unshareable")
        self.check_app_role_of_a("on the AWS managed key")

    def share_with_b_and_c(self) -> None:
        self.step(f"2. Share with account {CONSUMER_B} and role {ROLE_C}")
        self.tag(f"{CONSUMER_B} {ROLE_C}")
        self.reconcile()
        key = self.key_arn()
        tags = {t["TagKey"]: t["TagValue"] for t in self.kms.list_resource_tags(KeyId=key)["Tags"]} if key else {}
        self.check(
            key.startswith("arn:aws:kms:") and tags.get(GRANTS_TAG_KEY) == POOL_KEY_TAG_VALUE,
            "secret moved to a key of secretshare's pool (KEY_MODE=pool): each grant on it names its secret",
        )
        wanted = {f"arn:aws:iam::{CONSUMER_B}:root", ROLE_C}
        self.check(self.key_grants() == wanted, "key policy grants kms:Decrypt to exactly B and C's role")
        self.show_json("key policy statements of secretshare", [s for s in statements(self.key_policy()) if is_ours(s)])
        policy = self.resource_policy()
        self.check(granted_principals(policy) == wanted, "resource policy grants GetSecretValue to exactly the same")
        self.show_json("resource policy statement", [s for s in statements(policy) if is_ours(s)])
        for account in (CONSUMER_B, CONSUMER_C):
            value = self.parameter(account)
            names_secret = value is not None and self.secret_arn in value and key in value
            self.check(names_secret, f"account {account} has the consumer IAM policy parameter")
        name = parameter_name(self.settings.parameter_prefix, PRODUCER, REGION, SECRET_NAME)
        self.show_json(f"{name} in {CONSUMER_B} and {CONSUMER_C}", json.loads(self.parameter(CONSUMER_B) or "{}"))
        plaintext = self.secrets.get_secret_value(SecretId=self.secret_arn)["SecretString"]
        self.check(plaintext == "s3cr3t-value", "the secret still reads after the key move")
        self.check_app_role_of_a("after the key move")
        self.check_status("ok 2 consumers")

    def second_run_changes_nothing(self) -> None:
        self.step("3. Reconciling again changes nothing")
        self.check(self.reconcile().plan.is_noop, "second run planned no write")

    def drop_c(self) -> None:
        self.step(f"4. Edit the tag: drop {CONSUMER_C}")
        self.tag(CONSUMER_B)
        self.reconcile()
        wanted = {f"arn:aws:iam::{CONSUMER_B}:root"}
        self.check(self.key_grants() == wanted, f"key policy no longer grants {ROLE_C}")
        self.check(granted_principals(self.resource_policy()) == wanted, "resource policy no longer grants it")
        self.check(self.parameter(CONSUMER_C) is None, f"parameter deleted in {CONSUMER_C}")
        self.check(self.parameter(CONSUMER_B) is not None, f"parameter kept in {CONSUMER_B}")

    def reject_bad_entry(self) -> None:
        self.step("5. A bad entry is rejected; the good one still holds")
        self.tag(f"{CONSUMER_B} 12345")
        result = self.reconcile()
        reasons = [entry.reason for entry in result.rejected]
        for reason in reasons:
            self.console.print(f"  [red]rejected[/red] {reason}")
        self.check(len(reasons) == 1 and "'12345'" in reasons[0], "'12345' rejected with its reason")
        self.check(self.key_grants() == {f"arn:aws:iam::{CONSUMER_B}:root"}, f"{CONSUMER_B} still granted")
        self.check_status("error 1 rejected: 12345 not-an-account / ok 1 consumer")

    def time_boxed_share(self) -> None:
        self.step("6. A time-boxed share ends on its own")
        self.tag(CONSUMER_B)
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        self.tag(format_time(until), key=self.settings.share_until_tag_key)
        self.reconcile()
        self.check_status(f"ok 1 consumer until {format_time(until)}")
        self.console.print(f"  [dim]the clock reaches {format_time(until)} (the expiry schedule fires)[/dim]")
        self.reconcile(now=until)
        self.check(self.key_grants() == set(), "at that moment the key policy grants nobody")
        self.check(self.parameter(CONSUMER_B) is None, f"parameter deleted in {CONSUMER_B}")
        tags = {t["Key"]: t["Value"] for t in self.secrets.describe_secret(SecretId=self.secret_arn)["Tags"]}
        self.check(tags.get("share-with") == CONSUMER_B, "the share-with tag stays, for the record")
        self.check_status(f"expired {format_time(until)}")
        self.secrets.untag_resource(SecretId=self.secret_arn, TagKeys=[self.settings.share_until_tag_key])
        self.console.print(f"  removed [bold]{self.settings.share_until_tag_key}[/bold]: shared again")
        self.reconcile()
        self.check_status("ok 1 consumer")

    def untag(self) -> None:
        self.step("7. Remove the tag: everything is revoked")
        self.secrets.untag_resource(SecretId=self.secret_arn, TagKeys=["share-with"])
        self.reconcile()
        self.check(self.key_grants() == set(), "key policy holds no secretshare grant")
        self.check(self.resource_policy() is None, "resource policy deleted (only ours was in it)")
        self.check(self.parameter(CONSUMER_B) is None, f"parameter deleted in {CONSUMER_B}")
        self.check_status(None)
        self.check_app_role_of_a("after the share ends (it stays on its key)")

    def share_with_an_ou(self) -> None:
        """An OU entry: AWS's own aws:PrincipalOrgPaths decides who is in it; the policy goes to its accounts."""
        self.step("8. Share with an OU of A's organization")
        organizations = self.session.client("organizations")
        org = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root = organizations.list_roots()["Roots"][0]["Id"]
        units = {
            name: organizations.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
            for name in ("apps", "data")
        }
        members = {}
        for name, unit in units.items():
            created = organizations.create_account(AccountName=name, Email=f"{name}@example.com")
            members[name] = created["CreateAccountStatus"]["AccountId"]
            organizations.move_account(AccountId=members[name], SourceParentId=root, DestinationParentId=unit)
        path = f"{org}/{root}/{units['apps']}"
        self.console.print(f"  organization {org}: account {members['apps']} in OU apps, {members['data']} in data")
        self.settings = replace(self.settings, allowed_consumers=AllowList.parse("organization"))
        self.secret_arn = self.secrets.create_secret(Name=OU_SECRET_NAME, SecretString="ou-value")["ARN"]
        self.tag(path)
        self.reconcile()
        (grant,) = [s for s in statements(self.key_policy()) if str(s.get("Sid", "")).startswith(GRANT_SID_PREFIX)]
        self.show_json("key policy grant", grant)
        self.check(grant["Principal"] == {"AWS": "*"}, "granted to the OU through AWS's conditions, not a principal")
        self.check(self.parameter(members["apps"], OU_SECRET_NAME) is not None, f"{members['apps']} got the policy")
        self.check(self.parameter(members["data"], OU_SECRET_NAME) is None, f"{members['data']} got nothing")
        if self.evaluator is None:
            return
        from iam_evaluator import can_read_secret

        identity = json.loads(self.parameter(members["apps"], OU_SECRET_NAME) or "{}")
        for name, paths, allowed in (("apps", f"{path}/", True), ("data", f"{org}/{root}/{units['data']}/", False)):
            verdict = can_read_secret(
                self.evaluator,
                caller_arn=f"arn:aws:iam::{members[name]}:role/reader",
                secret_arn=self.secret_arn,
                kms_key_arn=self.key_arn(),
                key_policy=self.key_policy(),
                secret_policy=self.resource_policy(),
                identity_policies=[identity],
                org_id=org,
                org_paths=[paths],
            )
            reads = "reads it" if allowed else "cannot read it, though its IAM allows the same"
            self.check(verdict.allowed is allowed, f"a role of {members[name]} (OU {name}) {reads}")


def _evaluator() -> Any:
    """The test suite's IAM policy evaluator (tests/support, node and iam-simulate), when installed: `make demo`
    puts it on the path. It judges who can read from the policies AWS holds, independently of secretshare."""
    try:
        from iam_evaluator import Evaluator, EvaluatorUnavailableError
    except ImportError:
        return None
    try:
        return Evaluator()  # starts node now: a missing install shows here, not mid-story
    except EvaluatorUnavailableError:
        return None


def run_demo(console: Console) -> bool:
    """Start the embedded emulator and run the story; True when every step verified."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    console.print("[dim]starting the embedded moto server ...[/dim]")
    with embedded_moto() as endpoint:
        console.print(f"embedded moto server at {endpoint}; account A = {PRODUCER}, region {REGION}")
        console.print(f"ALLOWED_CONSUMERS = {CONSUMER_B} {CONSUMER_C} (demo setting; the default is A's organization)")
        demo = Demo(console)
        try:
            return demo.run()
        finally:
            if demo.evaluator is not None:
                demo.evaluator.close()
