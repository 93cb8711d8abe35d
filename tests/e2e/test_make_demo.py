"""`make demo` on a clean clone installs only what the demo needs, and says what it is doing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make_commands(target: str) -> list[str]:
    """The commands `make <target>` runs from a clean clone (`-B`: as if nothing were installed; `-n`: print only)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    completed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        timeout=60,
    )
    return completed.stdout.splitlines()


def test_make_demo_installs_only_the_demo_extra_and_the_evaluator():
    commands = make_commands("demo")
    installs = [line for line in commands if "pip install" in line and "-e" in line.split()]
    assert installs == [".venv/bin/python -m pip install --progress-bar on -e '.[demo]'"]
    assert not [line for line in commands if "[dev]" in line]
    assert any(line.startswith("npm ci --prefix evaluator/iam_evaluator/node") for line in commands)
    # The product never depends on test code: no PYTHONPATH, the evaluator is a package of its own.
    assert commands[-1] == ".venv/bin/secretshare demo"


def test_make_demo_says_what_it_installs_and_runs():
    echoed = [line for line in make_commands("demo") if line.startswith("echo ")]
    assert any("installing secretshare with the demo extra" in line for line in echoed)
    assert any("running the demo" in line for line in echoed)


def test_make_test_still_installs_the_dev_extra():
    assert any("-e '.[dev]'" in line for line in make_commands("test"))


def test_the_demo_extra_holds_what_the_demo_imports():
    pyproject = (REPO / "pyproject.toml").read_text()
    demo = next(line for line in pyproject.splitlines() if line.startswith("demo = "))
    for requirement in ("secretshare[cli]", '"moto>=', '"flask"', '"flask-cors"', '"PyYAML"'):
        assert requirement in demo
    # Not moto[server]: it installs every service's dependencies (cfn-lint, docker, sympy), twice the demo's size.
    assert "moto[server]" not in demo


def test_the_demo_imports_the_evaluator_without_pytest():
    """The demo extra does not install pytest: the evaluator the demo imports must not need it."""
    blocked = "import sys; sys.modules['pytest'] = None; import secretshare_cli.demo, iam_evaluator"
    completed = subprocess.run(
        [sys.executable, "-c", blocked],
        cwd=REPO,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
