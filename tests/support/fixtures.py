"""Fixtures every test folder may use (registered by tests/conftest.py): the moto world and its call log."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from support.sam import load_handler
from support.world import REGION, CallLog, World


@pytest.fixture
def world() -> Iterator[World]:
    """Producer A (moto's default account) and consumer accounts, with the library's own session."""
    with mock_aws():
        yield World()


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
def default_session(world: World) -> boto3.Session:
    """boto3's default session, which the handlers use, made now so that a test can hook it first."""
    boto3.setup_default_session(region_name=REGION)
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION
