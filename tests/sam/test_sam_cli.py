"""The SAM CLI accepts both templates and builds the application without Docker, for arm64."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.sam import CONSUMER_TEMPLATE, REPO, TEMPLATE, load_template, runtime, sam, sam_environment


@pytest.mark.parametrize("template", [TEMPLATE, CONSUMER_TEMPLATE], ids=["producer", "consumer"])
def test_sam_validate_lint_passes(template: Path):
    # --lint runs cfn-lint on the transformed template; plain `sam validate` misses misspelled properties.
    run = sam("validate", "--lint", "--template-file", str(template))
    assert run.returncode == 0, run.stdout + run.stderr


def test_cfn_lint_passes_for_the_consumer_template_including_informational_checks():
    run = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--include-checks", "I", "--", str(CONSUMER_TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_consumer_template_is_plain_cloudformation_usable_as_a_stackset():
    consumer = load_template(CONSUMER_TEMPLATE)
    assert "Transform" not in consumer  # StackSets cannot expand macros without CAPABILITY_AUTO_EXPAND


@pytest.mark.slow
def test_sam_build_makes_an_arm64_layer_and_functions_that_import_under_the_runtime(tmp_path: Path):
    build = tmp_path / "build"
    run = sam(
        "build",
        "--cached",
        "--cache-dir",
        str(REPO / ".aws-sam" / "cache"),
        "--build-dir",
        str(build),
        "--template-file",
        str(TEMPLATE),
    )
    assert run.returncode == 0, run.stdout + run.stderr

    layer = build / "SecretShareLayer" / "python"
    for package in ("secretshare", "aws_lambda_powertools", "boto3", "botocore"):
        assert (layer / package / "__init__.py").is_file(), f"{package} missing from the layer"
    for folder in ("domain", "gateway", "reconciler", "runtime"):
        assert (layer / "secretshare" / folder / "__init__.py").is_file(), f"secretshare/{folder} missing"
    assert not list(layer.glob("click*")), "the CLI's dependencies must not ship in the layer"
    assert not list(layer.rglob("secretshare_cli")) and not list(layer.rglob("cli.py")), "the CLI must not ship"
    assert not (layer / "aws_xray_sdk").exists(), "the X-Ray SDK doubles the cold start (see observability.py)"
    extensions = [path.name for path in layer.rglob("*.so")]
    python_tag = runtime().removeprefix("python").replace(".", "")
    assert all("aarch64" in name and f"cpython-{python_tag}" in name for name in extensions), extensions

    # Each handler imports from the built artifacts alone (-S: no site-packages), with the runtime's Python and
    # Lambda's search order (function code, then the layer).
    for function in ("ReconcileFunction", "SweepFunction"):
        code = build / function
        assert (code / "app.py").is_file()
        environment = sam_environment()
        environment.update(
            PYTHONPATH=f"{code}:{layer}",
            LAMBDA_TASK_ROOT=str(code),
            AWS_LAMBDA_FUNCTION_NAME=function,
        )
        probe = subprocess.run(
            [runtime(), "-S", "-c", "import app, botocore; print(app.handler, botocore.__file__)"],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr
        assert str(layer) in probe.stdout  # botocore came from the layer, not from anywhere else
