"""The moto world every test folder shares: producer A and consumer accounts, and a user's view of them.

A is moto's default account. Consumers are reached with `sts.assume_role`, exactly as the library reaches
them; MOTO_ACCOUNT_ID is never set, because it would pin every call to one account.

`World` reads state the way a user checks it (key policy, resource policy, KmsKeyId, parameters in B and C)
through its own boto3 session, so call counters hooked on the library's session see library calls only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError

from secretshare.domain.names import parameter_name
from secretshare.domain.settings import AllowList, Settings
from secretshare.gateway import organizations as organizations_gateway
from secretshare.reconciler.reconcile import ReconcileResult, reconcile_secret
from support.sam import RECONCILE_ROLE_ARN
from support.strict import StrictAws

REGION = "eu-west-1"
PRODUCER = "123456789012"  # moto's default account
CONSUMER_B = "222222222222"
CONSUMER_C = "333333333333"
READ_PREFIXES = ("Get", "Describe", "List")
# Written out here rather than imported, so a renamed Sid in the library shows up as a failing test.
ACCOUNT_USE_SIDS = ("SecretShareAccountUse", "SecretShareAccountDataKeys", "SecretShareDenyDirectUse")

# Parsing botocore's service models costs about 0.1 s per service per session; sessions share one loader.
_LOADER = botocore.loaders.create_loader()


def new_session(credentials: Mapping[str, str] | None = None) -> boto3.Session:
    """A fresh boto3 session (own event hooks, own credentials chain) sharing the parsed service models; with
    `credentials` (an AssumeRole answer's), it acts as that role."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    keys = (
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        if credentials
        else {}
    )
    session = boto3.Session(botocore_session=core, region_name=REGION, **keys)
    # boto3 appends its own data path to the loader on every session; keep the shared list from growing.
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session


def isolate_aws_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Fake credentials and a region, plus `variables`; nothing from the developer's own AWS setup leaks in.

    No default session and no cached allow-list either: each test starts with a new moto.
    """
    for name in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    # The organization allow-list is cached per process for five minutes.
    organizations_gateway._organization_cache.clear()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@dataclass(frozen=True)
class ApiCall:
    """One AWS call the library made: service, operation and the account the credentials belong to."""

    service: str
    operation: str
    account: str
    arguments: dict = field(default_factory=dict, compare=False)

    @property
    def is_read(self) -> bool:
        return self.operation.startswith(READ_PREFIXES)


class CallLog:
    """Every call made through a boto3 session, recorded by a botocore `before-call` hook."""

    def __init__(self, session: boto3.Session, resolver: boto3.Session) -> None:
        self._resolver = resolver
        self._raw: list[tuple[str, str, Any, dict]] = []
        self._accounts: dict[str, str] = {}
        session.events.register("before-call", self._record)

    def _record(self, model: Any, params: dict, request_signer: Any, **_: Any) -> None:
        # botocore hands the hook the signer only; the signing credentials tell which account is called.
        credentials = request_signer._credentials.get_frozen_credentials()
        body = params.get("body") or {}
        # The request as serialized: a dict for query-protocol services (STS), JSON bytes for the others.
        arguments = body if isinstance(body, dict) else json.loads(body or b"{}")
        self._raw.append((model.service_model.service_name, model.name, credentials, arguments))

    def clear(self) -> None:
        self._raw.clear()

    @property
    def calls(self) -> list[ApiCall]:
        return [
            ApiCall(service, operation, self._account(creds), args) for service, operation, creds, args in self._raw
        ]

    def named(self, operation: str) -> list[ApiCall]:
        return [call for call in self.calls if call.operation == operation]

    def writes(self) -> list[ApiCall]:
        """Calls that may change something (STS aside: assuming a role changes nothing)."""
        return [call for call in self.calls if call.service != "sts" and not call.is_read]

    def reads_in(self, account: str) -> list[ApiCall]:
        return [call for call in self.calls if call.service != "sts" and call.is_read and call.account == account]

    def _account(self, credentials: Any) -> str:
        if credentials.access_key not in self._accounts:
            sts = self._resolver.client(
                "sts",
                aws_access_key_id=credentials.access_key,
                aws_secret_access_key=credentials.secret_key,
                aws_session_token=credentials.token,
            )
            self._accounts[credentials.access_key] = sts.get_caller_identity()["Account"]
        return self._accounts[credentials.access_key]


class World:
    """The three accounts, the session and settings handed to the library, and a user's view of the result."""

    region = REGION
    producer = PRODUCER

    def __init__(self) -> None:
        self.settings = Settings(allowed_consumers=AllowList("any"))
        own = new_session()
        self.own_session = own  # for clients the helpers below do not cover (another region, another service)
        # The library acts as the functions' role (template.yaml's ReconcileRole), as it does in Lambda; the test's
        # own session is a person of account A (an administrator).
        self.credentials = own.client("sts").assume_role(RoleArn=RECONCILE_ROLE_ARN, RoleSessionName="secretshare")[
            "Credentials"
        ]
        self.session = new_session(self.credentials)
        strict = StrictAws.active
        if strict is not None:
            strict.act_as_reconcile_role(self.credentials["AccessKeyId"])
            strict.product_settings = lambda: self.settings
        self.secretsmanager = own.client("secretsmanager")
        self.kms = own.client("kms")
        self.sts = own.client("sts")
        self.organizations = own.client("organizations")
        self.sqs = own.client("sqs")
        self._consumer_clients: dict[str, Any] = {}

    # --- the library, as a caller uses it -------------------------------------------------

    def reconcile(self, secret_id: str, **kwargs: Any) -> ReconcileResult:
        kwargs.setdefault("settings", self.settings)
        kwargs.setdefault("session", self.session)
        return reconcile_secret(secret_id, **kwargs)

    # --- producer account A ------------------------------------------------------------------

    def create_secret(
        self,
        name: str,
        share_with: str | None = None,
        *,
        tags: dict[str, str] | None = None,
        kms_key_id: str | None = None,
        value: str = "s3cr3t-value",
    ) -> str:
        """Create a secret in A (tagged `share-with` when `share_with` is given); return its full ARN."""
        all_tags = dict(tags or {})
        if share_with is not None:
            all_tags["share-with"] = share_with
        arguments: dict[str, Any] = {"Name": name, "SecretString": value}
        if all_tags:
            arguments["Tags"] = [{"Key": key, "Value": text} for key, text in all_tags.items()]
        if kms_key_id:
            arguments["KmsKeyId"] = kms_key_id
        return self.secretsmanager.create_secret(**arguments)["ARN"]

    def tag(self, secret_id: str, value: str, key: str = "share-with") -> None:
        self.secretsmanager.tag_resource(SecretId=secret_id, Tags=[{"Key": key, "Value": value}])

    def untag(self, secret_id: str, key: str = "share-with") -> None:
        self.secretsmanager.untag_resource(SecretId=secret_id, TagKeys=[key])

    def status(self, secret_id: str) -> str | None:
        """The secret's `share-with-status` tag, as the person who tagged it sees it."""
        tags = self.secretsmanager.describe_secret(SecretId=secret_id).get("Tags", [])
        return next((tag["Value"] for tag in tags if tag["Key"] == "share-with-status"), None)

    def make_organization(self) -> OrgTree:
        """A's AWS Organization (A is its management account): root -> apps -> team, and a sibling OU, with one
        account in team, one in the sibling, and one at the root. moto picks the member account ids."""
        organizations = self.organizations
        org = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root = organizations.list_roots()["Roots"][0]["Id"]

        def ou(parent: str, name: str) -> str:
            return organizations.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]

        def account(name: str, parent: str) -> str:
            created = organizations.create_account(AccountName=name, Email=f"{name}@example.com")
            account_id = created["CreateAccountStatus"]["AccountId"]
            if parent != root:
                organizations.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
            return account_id

        apps = ou(root, "apps")
        team = ou(apps, "team")
        sibling = ou(root, "data")
        return OrgTree(
            org,
            root,
            apps,
            team,
            sibling,
            account("in-team", team),
            account("in-data", sibling),
            account("at-root", root),
        )

    def create_key(self, policy: dict | None = None) -> dict:
        """A customer-managed key in A; its KeyMetadata."""
        arguments = {"Policy": json.dumps(policy)} if policy else {}
        return self.kms.create_key(**arguments)["KeyMetadata"]

    def kms_key_id(self, secret_id: str) -> str | None:
        return self.secretsmanager.describe_secret(SecretId=secret_id).get("KmsKeyId")

    def key_policy(self, key_id: str) -> dict:
        return json.loads(self.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])

    def resource_policy(self, secret_id: str) -> dict | None:
        text = self.secretsmanager.get_resource_policy(SecretId=secret_id).get("ResourcePolicy")
        return json.loads(text) if text else None

    def put_resource_policy(self, secret_id: str, document: dict) -> None:
        self.secretsmanager.put_resource_policy(SecretId=secret_id, ResourcePolicy=json.dumps(document))

    def secret_value(self, secret_id: str) -> str:
        return self.secretsmanager.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"]

    def aliases(self, prefix: str = "alias/secretshare/") -> dict[str, str]:
        """Alias name -> target key id, for aliases under `prefix`."""
        pages = self.kms.get_paginator("list_aliases").paginate()
        return {
            alias["AliasName"]: alias.get("TargetKeyId", "")
            for page in pages
            for alias in page["Aliases"]
            if alias["AliasName"].startswith(prefix)
        }

    def key_arn(self, key_id_or_alias: str) -> str:
        return self.kms.describe_key(KeyId=key_id_or_alias)["KeyMetadata"]["Arn"]

    def key_count(self) -> int:
        return sum(len(page["Keys"]) for page in self.kms.get_paginator("list_keys").paginate())

    # --- consumer accounts -------------------------------------------------------------------

    def ssm(self, account: str) -> Any:
        """An SSM client in `account`, through an assumed role, as an operator of that account would use."""
        if account not in self._consumer_clients:
            credentials = self.sts.assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/operator", RoleSessionName="integration-test"
            )["Credentials"]
            self._consumer_clients[account] = self.own_session.client(
                "ssm",
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        return self._consumer_clients[account]

    def parameter(self, account: str, name: str) -> dict | None:
        """The parameter (Name, Type, Value, Description) in `account`, or None when it does not exist."""
        ssm = self.ssm(account)
        try:
            found = ssm.get_parameter(Name=name)["Parameter"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise
        described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
        return {**found, "Description": described[0].get("Description", "") if described else ""}

    def published_policy(self, account: str, secret_name: str) -> dict | None:
        """The consumer policy published in `account` for the secret `secret_name` of A, parsed, or None."""
        found = self.parameter(account, parameter_name("/secretshare", PRODUCER, REGION, secret_name))
        return json.loads(found["Value"]) if found else None

    def parameters(self, account: str) -> dict[str, str]:
        """Name -> value of every parameter secretshare could have written for A in `account`."""
        pages = (
            self.ssm(account)
            .get_paginator("get_parameters_by_path")
            .paginate(Path=f"/secretshare/{PRODUCER}", Recursive=True)
        )
        return {parameter["Name"]: parameter["Value"] for page in pages for parameter in page["Parameters"]}

    def parameters_for(self, account: str, secret_arn: str) -> list[str]:
        """Names of the parameters in `account` whose consumer policy grants `secret_arn`."""
        return [
            name
            for name, value in self.parameters(account).items()
            if any(secret_arn in as_set(s.get("Resource", [])) for s in json.loads(value)["Statement"])
        ]

    # --- reading policies the way a reviewer does -------------------------------------------------

    @staticmethod
    def statements(document: dict | None) -> list[dict]:
        if not document:
            return []
        found = document["Statement"]
        return [found] if isinstance(found, dict) else found

    @classmethod
    def ours(cls, document: dict | None) -> list[dict]:
        """Statements secretshare wrote for shares (Sid starting with SecretShare): grants and cleanup markers, not
        the key-level statements of account A's own use (`account_use`)."""
        return [
            s
            for s in cls.statements(document)
            if str(s.get("Sid", "")).startswith("SecretShare") and s.get("Sid") not in ACCOUNT_USE_SIDS
        ]

    @classmethod
    def account_use(cls, document: dict | None) -> dict[str, dict]:
        """Sid -> the key-level statements secretshare keeps on a key for account A's own use."""
        return {s["Sid"]: s for s in cls.statements(document) if s.get("Sid") in ACCOUNT_USE_SIDS}

    @classmethod
    def foreign(cls, document: dict | None) -> list[dict]:
        """Every statement secretshare does not own, including those without a Sid."""
        return [s for s in cls.statements(document) if not str(s.get("Sid", "")).startswith("SecretShare")]

    @classmethod
    def key_grants_for(cls, document: dict, secret_arn: str) -> list[dict]:
        """Our Allow key-policy statements whose `kms:EncryptionContext:SecretARN` condition names `secret_arn`."""
        return [
            s
            for s in cls.ours(document)
            if s.get("Effect") == "Allow"
            and secret_arn
            in as_set(s.get("Condition", {}).get("StringEquals", {}).get("kms:EncryptionContext:SecretARN", []))
        ]

    def sharing(self, secret_arn: str, accounts: tuple[str, ...] = ("222222222222", "333333333333")) -> Sharing:
        """Who the secret is shared with, as seen in A's key and resource policies and B's and C's parameters."""
        key_id = self.kms_key_id(secret_arn)
        key_policy = self.key_policy(key_id) if key_id else {}
        return Sharing(
            key_id=key_id,
            key_grantees=frozenset(p for s in self.key_grants_for(key_policy, secret_arn) for p in principals(s)),
            resource_grantees=frozenset(p for s in self.ours(self.resource_policy(secret_arn)) for p in principals(s)),
            parameter_accounts=frozenset(a for a in accounts if self.parameters_for(a, secret_arn)),
        )


@dataclass(frozen=True)
class OrgTree:
    """The organization `World.make_organization` makes: ids of its root, OUs and member accounts."""

    id: str
    root: str
    apps: str
    team: str  # nested in apps
    sibling: str  # beside apps
    in_team: str
    in_sibling: str
    at_root: str

    def path(self, *units: str) -> str:
        """An OU entry of `share-with`: the path from the organization through the root to the last unit."""
        return "/".join([self.id, self.root, *units])

    def principal_paths(self, account: str) -> list[str]:
        """What AWS puts in `aws:PrincipalOrgPaths` for a principal of `account` (its parents' path)."""
        parents = {self.in_team: [self.apps, self.team], self.in_sibling: [self.sibling], self.at_root: []}[account]
        return ["/".join([self.id, self.root, *parents]) + "/"]


@dataclass(frozen=True)
class Sharing:
    """A user's view of one secret's grants."""

    key_id: str | None
    key_grantees: frozenset[str]
    resource_grantees: frozenset[str]
    parameter_accounts: frozenset[str]


def principals(statement: dict) -> set[str]:
    """Whom a grant grants, as a user reads it: the roles and users its `aws:PrincipalArn` condition names (their
    accounts' roots narrowed by name), else its principals."""
    named = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn")
    return as_set(named) if named else as_set(statement["Principal"]["AWS"])


def as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)
