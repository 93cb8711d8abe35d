"""The integration suite: the library on moto with three accounts (`world`, `calls`: tests/support/fixtures.py)."""

import pytest
from support.world import isolate_aws_environment


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region."""
    isolate_aws_environment(monkeypatch)
