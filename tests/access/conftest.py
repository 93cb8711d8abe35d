"""Effective-access tests: who can read, judged by an independent IAM evaluator (iam-simulate, one process per pytest
worker, the `iam` fixture) on the policies secretshare left in moto."""

import pytest
from support.iam_evaluator import iam as iam
from support.world import isolate_aws_environment


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region."""
    isolate_aws_environment(monkeypatch)
