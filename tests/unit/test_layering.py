"""The package's layers, checked on the source: a pure core without boto3, and every AWS call in `aws.py`."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "secretshare"
PURE = ("arns", "events", "keypolicy", "names", "plan", "policy", "settings", "sharetag", "status")
# The demo plays the user (it creates and tags secrets itself); every other AWS call goes through `aws.Aws`.
CALLERS_OF_AWS = ("aws", "demo")
CLIENT_METHODS = {"client", "get_paginator", "resource"}


def parsed(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text())


def imported_modules(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", PURE)
def test_the_pure_core_imports_no_aws_sdk(module):
    assert imported_modules(parsed(module)) & {"boto3", "botocore"} == set()


@pytest.mark.parametrize("module", sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in CALLERS_OF_AWS))
def test_only_the_aws_layer_makes_clients(module):
    calls = [
        node.func.attr
        for node in ast.walk(parsed(module))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLIENT_METHODS
    ]
    assert calls == [], f"{module}.py makes AWS clients itself ({calls}); add a method to secretshare.aws.Aws"
