"""Fixtures for the SAM application's tests: moto with producer A and consumers, the handlers, their output.

The handlers use boto3's default session (made on first use); each test starts without one, so hooks that a
test registers on `boto3.DEFAULT_SESSION` (fault injection, call recording) see every call the handler makes
and nothing leaks into the next test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sam_support import CONSUMER_B, CONSUMER_C, PRODUCER, REGION, load_handler

from secretshare import aws as secretshare_aws
from secretshare.names import parameter_name


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs the SAM CLI (a minute or two the first time); part of make test")


@pytest.fixture(autouse=True)
def handler_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a region, the function's settings; no default session, no cached allow-list."""
    for name in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("ALLOWED_CONSUMERS", f"{CONSUMER_B} {CONSUMER_C}")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "secretshare")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SecretShare")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    secretshare_aws._organization_cache.clear()
    boto3.DEFAULT_SESSION = None
    yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture(scope="session")
def reconcile_app() -> ModuleType:
    return load_handler("reconcile")


@pytest.fixture(scope="session")
def sweep_app() -> ModuleType:
    return load_handler("sweep")


class Accounts:
    """Producer A (moto's default account) and consumer accounts reached through sts.assume_role.

    Reads go through a session of their own, never boto3's default session that the handlers use.
    """

    def __init__(self) -> None:
        self.session = boto3.Session(region_name=REGION)
        self.secretsmanager = self.session.client("secretsmanager")
        self.sqs = self.session.client("sqs")

    def create_secret(self, name: str, share_with: str | None = None) -> str:
        """A secret on the AWS managed key, tagged `share-with` when given; its full ARN."""
        arguments: dict[str, Any] = {"Name": name, "SecretString": "s3cr3t"}
        if share_with is not None:
            arguments["Tags"] = [{"Key": "share-with", "Value": share_with}]
        return self.secretsmanager.create_secret(**arguments)["ARN"]

    def parameter(self, account: str, secret_name: str) -> dict[str, Any] | None:
        """The consumer policy published for `secret_name` in `account`, parsed, or None."""
        credentials = self.session.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/operator", RoleSessionName="test"
        )["Credentials"]
        ssm = self.session.client(
            "ssm",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        try:
            value = ssm.get_parameter(Name=parameter_name("/secretshare", PRODUCER, REGION, secret_name))
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise
        return json.loads(value["Parameter"]["Value"])


@pytest.fixture
def accounts() -> Iterator[Accounts]:
    with mock_aws():
        yield Accounts()


@pytest.fixture
def default_session() -> boto3.Session:
    """boto3's default session, made now so that a test can hook it before the handler uses it."""
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION
