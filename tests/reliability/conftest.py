"""Fixtures for the reliability suite: faults at the AWS boundary, the two handlers.

The accounts and the user's view of them are the shared `World` (tests/support/world.py); the handler helpers
are tests/support/sam.py. Faults are injected only at the AWS boundary (faults.py): never by replacing boto3 or
secretshare code.
"""

from __future__ import annotations

import boto3
import botocore.endpoint
import botocore.retries.bucket
import pytest
from faults import AwsFaults, VirtualClock
from support.world import PRODUCER, World, isolate_aws_environment

CONSUMERS = ("222222222222", "333333333333", "444444444444")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region; the handlers' settings."""
    isolate_aws_environment(
        monkeypatch,
        ALLOWED_CONSUMERS=" ".join(CONSUMERS),
        POWERTOOLS_SERVICE_NAME="secretshare",
        POWERTOOLS_METRICS_NAMESPACE="SecretShare",
    )


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
