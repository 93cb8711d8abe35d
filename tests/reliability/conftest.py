"""Fixtures for the reliability suite: three accounts on moto, faults at the AWS boundary, the two handlers.

The accounts and the user's view of them are the integration suite's `World` (tests/integration/conftest.py),
the handler helpers are the SAM suite's (tests/sam/sam_support.py); both are loaded by path, unchanged.
Faults are injected only at the AWS boundary (faults.py): never by replacing boto3 or secretshare code.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import botocore.endpoint
import botocore.retries.bucket
import pytest
from faults import AwsFaults, VirtualClock
from moto import mock_aws

from secretshare import aws as secretshare_aws

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


integration = _load("integration_world", TESTS / "integration" / "conftest.py")
sam_support = _load("sam_support", TESTS / "sam" / "sam_support.py")

World = integration.World
CallLog = integration.CallLog
PRODUCER = integration.PRODUCER
REGION = integration.REGION
CONSUMERS = ("222222222222", "333333333333", "444444444444")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and a region; the handlers' settings; no default session, no cached allow-list."""
    for name in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("ALLOWED_CONSUMERS", " ".join(CONSUMERS))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "secretshare")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SecretShare")
    secretshare_aws._organization_cache.clear()
    boto3.DEFAULT_SESSION = None
    yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def world() -> Iterator[World]:
    """Producer A (moto's default account) and consumer accounts, with the library's own session."""
    with mock_aws():
        yield World()


@pytest.fixture
def calls(world: World) -> CallLog:
    """Every call the library makes through `world.session` (one per call, however often it was retried)."""
    return CallLog(world.session, resolver=world.own_session)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """botocore's clock: backoff delays recorded, not slept; the adaptive rate limiter never waits."""
    virtual = VirtualClock()
    monkeypatch.setattr(botocore.endpoint, "time", virtual)
    monkeypatch.setattr(botocore.retries.bucket, "Clock", lambda: virtual)
    return virtual


@pytest.fixture
def faults(world: World, clock: VirtualClock) -> AwsFaults:
    """Faults on the library's session (`world.session`)."""
    return AwsFaults(world.session, PRODUCER)


# --- the handlers ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def reconcile_app() -> ModuleType:
    return sam_support.load_handler("reconcile")


@pytest.fixture(scope="session")
def sweep_app() -> ModuleType:
    return sam_support.load_handler("sweep")


@pytest.fixture
def default_session(world: World) -> boto3.Session:
    """boto3's default session, which the handlers use, made now so that a test can hook it first."""
    boto3.setup_default_session(region_name=REGION)
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


@pytest.fixture
def handler_faults(default_session: boto3.Session, clock: VirtualClock) -> AwsFaults:
    """Faults on the handlers' session."""
    return AwsFaults(default_session, PRODUCER)
