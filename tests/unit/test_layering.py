"""The package's layers, checked on the source: the folder a module sits in says what it may import.

- `domain`: pure (no boto3, botocore or Powertools), imports only `domain`;
- `gateway`: the one layer that calls AWS, over `domain`;
- `reconciler`: read, plan, apply, the loop and the sweep, over `gateway` and `domain`; the read model, the plan and
  its changes are pure (they import neither the SDK nor the gateway);
- `runtime`: the Lambda glue (retries, observability), the only layer that imports Powertools;
- the library never imports the command line (`secretshare_cli`), the evaluator (`iam_evaluator`) or test code.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "layers" / "secretshare"
CLI = REPO / "cli" / "secretshare_cli"
LAYERS = ("domain", "gateway", "reconciler", "runtime")
# What each layer may import of the library, itself included: no arrow runs back up.
MAY_IMPORT = {
    "domain": {"domain"},
    "gateway": {"domain", "gateway"},
    "reconciler": {"domain", "gateway", "reconciler"},
    "runtime": {"domain", "gateway", "reconciler", "runtime"},
}
SDK = {"boto3", "botocore"}
POWERTOOLS = "aws_lambda_powertools"
# Pure modules of the reconciler: the read model, the plan and its changes.
PURE_RECONCILER = ("state", "plan", "changes")
CLIENT_METHODS = {"client", "get_paginator", "resource"}
NOT_THE_LIBRARYS = {"secretshare_cli", "iam_evaluator", "support", "tests", "click", "rich", "moto", "pytest"}


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def layer_of(path: Path) -> str | None:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else None


def imports(path: Path) -> list[tuple[str, int]]:
    """Every import of a module: (dotted name, relative level), absolute names with level 0."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def library_layers_imported(path: Path) -> set[str]:
    """The layers of the library a module imports (relative imports resolved from its folder)."""
    layers = set()
    own = layer_of(path)
    for name, level in imports(path):
        if level == 0 and name.startswith("secretshare."):
            layers.add(name.split(".")[1])
        elif level == 1:
            layers.add(own or name.split(".")[0])
        elif level == 2:
            layers.add(name.split(".")[0])
    return layers


def top_level_imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name, level in imports(path) if level == 0 and name}


@pytest.mark.parametrize("path", modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(path):
    layer = layer_of(path)
    if layer is None:
        return  # the package's own __init__ gathers the public API from any layer
    assert layer in LAYERS, f"{path.relative_to(PACKAGE)} is in no layer"
    assert library_layers_imported(path) <= MAY_IMPORT[layer], path


@pytest.mark.parametrize("path", modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_library_never_imports_the_command_line_the_evaluator_or_test_code(path):
    assert top_level_imports(path) & NOT_THE_LIBRARYS == set()


@pytest.mark.parametrize("path", modules(PACKAGE / "domain"), ids=lambda p: p.name)
def test_the_domain_is_pure(path):
    assert top_level_imports(path) & (SDK | {POWERTOOLS}) == set()


@pytest.mark.parametrize("name", PURE_RECONCILER)
def test_the_read_model_the_plan_and_its_changes_are_pure(name):
    path = PACKAGE / "reconciler" / f"{name}.py"
    assert top_level_imports(path) & SDK == set()
    assert "gateway" not in library_layers_imported(path) or _only_for_type_checking(path, "gateway")


def _only_for_type_checking(path: Path, layer: str) -> bool:
    """True when every import of `layer` sits under `if TYPE_CHECKING:` (a type hint, not a dependency)."""
    tree = ast.parse(path.read_text())
    guarded = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    return all(
        id(node) in guarded
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 2 and (node.module or "").startswith(layer)
    )


@pytest.mark.parametrize("path", modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_runtime_imports_powertools(path):
    if POWERTOOLS in top_level_imports(path):
        assert layer_of(path) == "runtime", path


@pytest.mark.parametrize("path", [p for p in modules(PACKAGE) if layer_of(p) != "gateway"], ids=lambda p: p.name)
def test_only_the_gateway_makes_aws_clients(path):
    calls = [
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLIENT_METHODS
    ]
    assert calls == [], f"{path.name} makes AWS clients itself ({calls}); add a method to a gateway service"


def test_the_command_line_is_a_package_apart_that_the_lambda_layer_does_not_ship():
    layer_root = REPO / "layers"
    assert (CLI / "cli.py").exists() and (CLI / "demo.py").exists()
    shipped = {path.name for path in layer_root.rglob("*.py")}
    assert "cli.py" not in shipped and "demo.py" not in shipped
    for path in modules(PACKAGE):
        assert {"click", "rich"} & top_level_imports(path) == set(), path
