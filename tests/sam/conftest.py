"""Fixtures for the SAM application's tests: the function's settings in the environment.

The moto world (`world`), the handlers (`reconcile_app`, `sweep_app`) and boto3's default session
(`default_session`) come from tests/support/fixtures.py. The handlers use boto3's default session (made on first
use); each test starts without one, so hooks that a test registers on `boto3.DEFAULT_SESSION` (fault injection,
call recording) see every call the handler makes and nothing leaks into the next test.
"""

from __future__ import annotations

import pytest
from support.world import CONSUMER_B, CONSUMER_C, isolate_aws_environment


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs the SAM CLI (a minute or two the first time); part of make test")


@pytest.fixture(autouse=True)
def handler_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, a region, the function's settings."""
    isolate_aws_environment(
        monkeypatch,
        ALLOWED_CONSUMERS=f"{CONSUMER_B} {CONSUMER_C}",
        POWERTOOLS_SERVICE_NAME="secretshare",
        POWERTOOLS_METRICS_NAMESPACE="SecretShare",
        POWERTOOLS_TRACE_DISABLED="true",
    )
