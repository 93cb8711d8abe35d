"""`make bench` is not part of `make test`, so this keeps its script importable against the library it measures."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"


def test_the_benchmark_script_imports_and_its_key_policy_capacity_holds():
    spec = importlib.util.spec_from_file_location("secretshare_bench", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    capacity = bench.shared_key_capacity()
    assert min(capacity.values()) > 0, capacity
