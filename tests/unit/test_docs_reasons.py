"""The user guide (docs/using.md) lists every rejection code and every status the code can write: read from the source,
not re-listed."""

import ast
import re
from pathlib import Path

import pytest

from secretshare.domain.status import NOTHING_GRANTED

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "layers" / "secretshare"
USING = (REPO / "docs" / "using.md").read_text()


def section(title: str) -> str:
    """docs/using.md's text from the heading `title` to the next heading of the same or a higher level."""
    heading = re.search(rf"^(#+) {re.escape(title)}\n", USING, re.MULTILINE)
    assert heading, title
    level = len(heading.group(1))
    rest = USING[heading.end() :]
    following = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: following.start()] if following else rest


def calls_of(*names: str) -> list[ast.Call]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                found.append(node)
    return found


def literal(node: ast.expr) -> str | None:
    """A string constant, or the constant start of an f-string (`managed-by-` of f"managed-by-{service}")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return None


def rejection_codes() -> set[str]:
    """The code argument of every InvalidShareEntry(message, code) and RejectedEntry(entry, reason, code)."""
    codes = set()
    for call in calls_of("InvalidShareEntry", "RejectedEntry"):
        position = 1 if call.func.id == "InvalidShareEntry" else 2  # type: ignore[attr-defined]
        arguments = [*call.args, *(keyword.value for keyword in call.keywords if keyword.arg == "code")]
        if len(arguments) > position and (code := literal(arguments[position])) is not None:
            codes.add(code)
    return codes


def status_codes() -> set[str]:
    """Every `status_code` an error carries (the status tag writes `error <status_code>`), and the codes
    AwsCallFailed is given outright."""
    codes = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
                    if name == "status_code" and (code := literal(node.value)) is not None and code:
                        codes.add(code.removesuffix("-") + ("-<service>" if code.endswith("-") else ""))
    for call in calls_of("AwsCallFailed"):
        if len(call.args) > 2 and (code := literal(call.args[2])) is not None:
            codes.add(code)
    return codes


def test_the_source_is_read_for_the_codes():
    assert {"not-an-account", "wildcard", "refused-by-aws", "malformed-date", "non-ascii"} <= rejection_codes()
    assert {"key-not-usable", "managed-by-<service>", "aws-unreachable", "failed"} <= status_codes()


@pytest.mark.parametrize("code", sorted(rejection_codes()))
def test_every_rejection_code_is_in_the_rejected_entries_table_and_the_status_values(code):
    assert f"| `{code}` |" in section("`share-with`: the consumers"), f"add {code} to the rejected-entries table"
    assert f"`{code}`" in section("`share-with-status`: the outcome, where the person acted")


@pytest.mark.parametrize("code", sorted(status_codes()))
def test_every_status_a_failed_reconciliation_writes_is_in_the_user_guide(code):
    status = section("`share-with-status`: the outcome, where the person acted")
    assert f"`{code}`" in status or f"`error {code}`" in status, code


def test_the_status_values_without_consumers_are_in_the_user_guide():
    status = section("`share-with-status`: the outcome, where the person acted")
    assert f"/ {NOTHING_GRANTED}` |" in status
    assert "`U+002A`" in status


def test_the_what_gets_written_where_table_is_one_table():
    table = section("What gets written where").strip().split("\n\n")[0].splitlines()
    assert table[0].startswith("| Where |")
    assert any(line.startswith("| Secret tag `share-with-status`") for line in table)
    assert any(line.startswith("| EventBridge Scheduler") for line in table)


def test_every_relative_link_in_the_docs_resolves():
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.relative_to(REPO)} links to {target}"


def test_the_readme_is_a_start_page():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150, "the README is the start page: move detail to docs/"
    assert readme.index("make demo") < readme.index("## ") and readme.index("make test") < readme.index("## ")
