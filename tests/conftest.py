"""Fixtures shared by every test folder."""

import logging
import sys

import pytest

# The moto world and its call log, for every folder.
pytest_plugins = ["support.fixtures"]


class _CurrentStdout:
    """A stream that writes to whatever sys.stdout is now (capsys swaps it per test)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def handler_output(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    """capsys, with the Powertools log handler writing to it too (it keeps the stdout of import time otherwise)."""
    from secretshare.runtime.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    if not isinstance(handler.stream, _CurrentStdout):
        handler.setStream(_CurrentStdout())  # type: ignore[arg-type]
    return capsys
