"""checkov, a maintained IaC security scanner, passes both templates with .checkov.yaml; every check it skips
is justified there, fires without the skip (no stale skip), and what a justification relies on is true.

checkov runs offline from its own virtual environment (.venv/checkov, made by `make venv`; see pyproject.toml's
`scan` extra for why it is separate). Set CHECKOV to use another executable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from support.sam import CONSUMER_TEMPLATE, REPO, TEMPLATE, load_template, resources_of_type

CONFIG = REPO / ".checkov.yaml"


def checkov() -> str:
    executable = Path(os.environ.get("CHECKOV") or REPO / ".venv" / "checkov" / "bin" / "checkov")
    assert executable.exists(), f"{executable} is missing: `make venv` installs checkov in a venv of its own"
    return str(executable)


def start(*options: str, cwd: Path = REPO) -> subprocess.Popen[str]:
    """checkov on both templates; it reads .checkov.yaml from `cwd` when there is one."""
    files = ["-f", str(TEMPLATE), "-f", str(CONSUMER_TEMPLATE)]
    return subprocess.Popen(
        [checkov(), *options, *files, "--output", "json"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(process: subprocess.Popen[str]) -> tuple[int, list[dict]]:
    out, err = process.communicate(timeout=300)
    assert out.strip(), err
    report = json.loads(out)
    return process.returncode, report if isinstance(report, list) else [report]


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, list[dict]]]:
    """checkov with the project's configuration, and without its skips (both at once: each takes seconds)."""
    configured = start("--config-file", str(CONFIG))
    elsewhere = tmp_path_factory.mktemp("no-checkov-config")
    unskipped = start("--framework", "cloudformation", "--skip-download", "--compact", "--quiet", cwd=elsewhere)
    return {"configured": results(configured), "unskipped": results(unskipped)}


def skipped_checks() -> list[str]:
    return yaml.safe_load(CONFIG.read_text())["skip-check"]


def failed(reports: list[dict]) -> list[tuple[str, str, str]]:
    return [
        (check["check_id"], check["resource"], check["file_abs_path"])
        for report in reports
        for check in report["results"]["failed_checks"]
    ]


def test_checkov_passes_both_templates(scans):
    returncode, reports = scans["configured"]
    assert failed(reports) == []
    assert returncode == 0
    assert [report["summary"]["parsing_errors"] for report in reports] == [0]
    scanned = {check["file_abs_path"] for report in reports for check in report["results"]["passed_checks"]}
    assert scanned == {str(TEMPLATE), str(CONSUMER_TEMPLATE)}


def test_every_skipped_check_still_fires_without_its_skip(scans):
    _, reports = scans["unskipped"]
    assert {check_id for check_id, _, _ in failed(reports)} == set(skipped_checks())


def test_every_skipped_check_is_justified_in_a_comment():
    lines = CONFIG.read_text().splitlines()
    for check_id in skipped_checks():
        (index,) = [i for i, line in enumerate(lines) if re.fullmatch(rf"\s*- {check_id}\s*", line)]
        named_in_a_comment = any(line.lstrip().startswith("#") and check_id in line for line in lines)
        assert lines[index - 1].lstrip().startswith("#") or named_in_a_comment, f"{check_id} is not justified"


def test_the_queues_are_encrypted_as_the_sqs_skip_says():
    queues = resources_of_type(load_template(), "AWS::SQS::Queue")
    assert set(queues) == {"ReconcileQueue", "ReconcileDeadLetterQueue", "SweepQueue", "SweepDeadLetterQueue"}
    assert all(queue["Properties"]["SqsManagedSseEnabled"] is True for queue in queues.values())
