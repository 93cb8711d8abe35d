"""Effective-access tests: who can read, judged by an independent IAM evaluator (iam-simulate, one process per pytest
worker: the `iam` fixture of tests/support/fixtures.py) on the policies secretshare left in moto."""

import pytest
from support.world import isolate_aws_environment


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region."""
    isolate_aws_environment(monkeypatch)
