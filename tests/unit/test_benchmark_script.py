"""`make bench` is not part of `make test`, so this keeps its script importable against the library it measures, and
holds its real-latency injector to AWS's behaviour (no benchmark is run here)."""

import importlib.util
import json
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
BENCH = BENCHMARKS / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("secretshare_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_script_imports_and_its_key_policy_capacity_holds(bench):
    capacity = bench.shared_key_capacity()
    assert min(capacity.values()) > 0, capacity


def test_the_pool_figure_and_the_bill_are_computed_from_the_planner_and_the_prices(bench):
    pool = bench.pool_capacity(120)  # about 55 secrets to a key: two keys filled, a third opened
    assert pool["keys"] == 3 and pool["key_dollars_per_secret_a_month"] == 0.025, pool
    calls = {"sweep_kms_per_secret": 1, "sweep_secretsmanager_per_secret": 2, "change_kms": 3, "change_sm": 4}
    figures = {
        "pool": pool,
        "capacity": {"secrets_distinct_3_consumers": 64},
        "calls_by_mode": dict.fromkeys(bench.MODE_REGIONS, calls),
        "lambda_gb_seconds": {"per_reconciliation": 1.0, "sweep_per_secret": 0.1},
    }
    modes = {mode: bench.bill.monthly_bill(mode, figures) for mode in bench.MODE_REGIONS}
    assert modes["dedicated"]["keys"] == 1000 and modes["own key"]["keys"] == 16
    assert modes["pool"]["keys"] == round(1000 / pool["secrets_per_key"], 2)
    for bill in modes.values():
        assert bill["secrets_manager_storage"] == 400
        assert bill["secretshare"] == pytest.approx(
            sum(v for k, v in bill.items() if k not in ("secretshare", "secrets_manager_storage")), abs=0.05
        )


class _Body:
    def stream(self, **_):
        yield json.dumps({"ARN": "arn", "Name": "name"}).encode()


@pytest.fixture
def aws_latency(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("aws_latency", None)
    import aws_latency

    return aws_latency


def test_the_latency_injector_makes_each_attempt_take_the_latency_and_throttles_past_the_quota(aws_latency):
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
    quota = aws_latency.Quota("resource policy", frozenset({"secretsmanager.GetResourcePolicy"}), 2, "test")
    latency = aws_latency.AwsLatency(session, "123456789012", latency=0.02, quotas=(quota,))
    # What an emulator behind the injector would answer (registered after it, as moto's server sits behind it).
    session.events.register(
        "before-send", lambda request, **_: AWSResponse(request.url, 200, {"x-amzn-RequestId": "r"}, _Body())
    )
    client = session.client("secretsmanager", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))

    started = time.monotonic()
    client.get_resource_policy(SecretId="name")
    client.get_resource_policy(SecretId="name")
    assert time.monotonic() - started >= 0.04  # two attempts of 20 ms each
    with pytest.raises(ClientError) as refused:  # the bucket holds one second of the quota: 2 calls
        client.get_resource_policy(SecretId="name")

    assert refused.value.response["Error"]["Code"] == "ThrottlingException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client.describe_secret(SecretId="name")  # another quota: not throttled
    tally = latency.take()
    assert tally.calls["secretsmanager.GetResourcePolicy"] == 3
    assert tally.throttled == {"secretsmanager.GetResourcePolicy": 1}
