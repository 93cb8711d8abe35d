"""Fixtures of the command-line tests: account A on moto, or the moto world with faults at the AWS boundary."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from commandline import ALLOWED, run_cli
from moto import mock_aws
from support.faults import AwsFaults
from support.world import PRODUCER, REGION, World, isolate_aws_environment

from secretshare_cli import cli


@pytest.fixture
def run():
    """`run("status", "--json")`: the command line's outcome."""
    return run_cli


@pytest.fixture
def aws(monkeypatch) -> Iterator[boto3.Session]:
    """Account A on moto, with fake credentials, the region set and consumers B and C allowed."""
    isolate_aws_environment(monkeypatch, AWS_REGION=REGION, ALLOWED_CONSUMERS=ALLOWED)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def cli_world(monkeypatch) -> Iterator[World]:
    """The moto world, the command line using the world's library session (so faults on it apply)."""
    isolate_aws_environment(monkeypatch, AWS_REGION=REGION, ALLOWED_CONSUMERS=ALLOWED)
    with mock_aws():
        world = World()
        monkeypatch.setattr(cli, "make_session", lambda profile, region: world.session)
        yield world


@pytest.fixture
def cli_faults(cli_world: World, clock) -> AwsFaults:
    """Faults on the command line's session; botocore's backoff does not wait."""
    return AwsFaults(cli_world.session, PRODUCER)
