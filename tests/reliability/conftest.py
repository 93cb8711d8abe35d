"""The reliability suite: faults injected at the AWS boundary (tests/support/faults.py: `faults`, `handler_faults`,
`clock` in tests/support/fixtures.py), never by replacing boto3 or secretshare code; the accounts and the user's
view of them are the shared `World`."""

from __future__ import annotations

import pytest
from support.world import isolate_aws_environment

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
