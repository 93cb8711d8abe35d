"""Fixtures every test folder may use (registered by tests/conftest.py): the moto world and its call log, faults at
the AWS boundary and botocore's clock, the handlers and the session they use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType

import boto3
import botocore.endpoint
import botocore.retries.bucket
import pytest
from moto import mock_aws

from iam_evaluator import Evaluator
from secretshare.domain.settings import KEY_MODE_DEDICATED
from support.faults import AwsFaults, VirtualClock
from support.sam import load_handler
from support.strict import StrictAws, settings_from_environment
from support.world import PRODUCER, REGION, CallLog, World


@pytest.fixture(autouse=True)
def paced_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the library's pacing of quota-bound calls asked for (secretshare.gateway.quotas), recorded, not
    slept; and a fresh pace per test."""
    waits: list[float] = []
    monkeypatch.setattr("secretshare.gateway.quotas.sleep", waits.append)
    monkeypatch.setattr("secretshare.gateway.quotas._paces", {})
    return waits


@pytest.fixture(autouse=True)
def strict_aws(request: pytest.FixtureRequest) -> Iterator[StrictAws | None]:
    """AWS as strict as it is where it matters to secretshare (support.strict), in every test; a test leaves it only
    with `@pytest.mark.lenient_aws(reason="...")`."""
    marker = request.node.get_closest_marker("lenient_aws")
    if marker is not None:
        assert marker.kwargs.get("reason"), "say why the test leaves the strict layer: lenient_aws(reason=...)"
        yield None
        return
    evaluator = request.getfixturevalue("iam")
    monkeypatch = request.getfixturevalue("monkeypatch")
    # The library's pauses for a key KMS does not find yet pass at once (they are counted by the strict layer).
    monkeypatch.setattr("secretshare.gateway.kms.sleep", lambda seconds: None)
    with StrictAws(lambda: evaluator).installed() as strict:
        yield strict


@pytest.fixture
def world(strict_aws: StrictAws | None) -> Iterator[World]:
    """Producer A (moto's default account) and consumer accounts; the library acts as the functions' role."""
    with mock_aws():
        yield World()


@pytest.fixture
def dedicated_keys(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """KEY_MODE=dedicated, for the library and the handlers: a key per shared secret, as before the pool."""
    world.settings = replace(world.settings, key_mode=KEY_MODE_DEDICATED)
    monkeypatch.setenv("KEY_MODE", KEY_MODE_DEDICATED)
    return world


@pytest.fixture
def calls(world: World) -> CallLog:
    """Every call the library makes through `world.session`, in any account (one per call, however often it
    was retried)."""
    return CallLog(world.session, resolver=world.own_session)


@pytest.fixture(scope="session")
def reconcile_app() -> ModuleType:
    """functions/reconcile/app.py."""
    return load_handler("reconcile")


@pytest.fixture(scope="session")
def sweep_app() -> ModuleType:
    """functions/sweep/app.py."""
    return load_handler("sweep")


@pytest.fixture
def default_session(world: World, strict_aws: StrictAws | None) -> boto3.Session:
    """boto3's default session, which the handlers use, made now so that a test can hook it first. It holds the
    functions' role's credentials, as Lambda gives them; the handlers read their settings from the environment."""
    credentials = world.credentials
    boto3.setup_default_session(
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    if strict_aws is not None:
        strict_aws.product_settings = settings_from_environment
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


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


@pytest.fixture
def handler_faults(default_session: boto3.Session, clock: VirtualClock) -> AwsFaults:
    """Faults on the handlers' session."""
    return AwsFaults(default_session, PRODUCER)


@pytest.fixture(scope="session")
def iam() -> Iterator[Evaluator]:
    """The independent IAM evaluator (iam-simulate): one node process per pytest session, so one per xdist worker."""
    with Evaluator() as evaluator:
        yield evaluator
