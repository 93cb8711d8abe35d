"""Helpers for the SAM application's tests: the templates as data, the sample events, SAM CLI runs, handlers.

Templates are read with cfn-lint's decoder, which understands the short intrinsic tags (`!Ref`, `!Sub`,
`!GetAtt`) and returns them as `{"Ref": ...}`, `{"Fn::Sub": ...}` dicts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from cfnlint.decode import decode

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
CONSUMER_TEMPLATE = REPO / "consumer" / "template.yaml"
EVENTS = REPO / "events"
REGION = "eu-west-1"
PRODUCER = "123456789012"  # moto's default account, and the account of every sample event
# The secret every sample event names, as its full ARN; tests put a moto secret's real ARN in its place.
SAMPLE_SECRET_NAME = "payments/db-password"
SAMPLE_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{PRODUCER}:secret:{SAMPLE_SECRET_NAME}-Ab12Cd"
CONSUMER_B = "222222222222"
CONSUMER_C = "333333333333"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": PRODUCER,
    "AWS::StackName": "secretshare",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{PRODUCER}:stack/secretshare/4c5e8a10-ce2f-11ef-9a3b-0a1b2c3d4e5",
    "AWS::URLSuffix": "amazonaws.com",
}
# The name CloudFormation gives the functions' role when ReconcileRoleName is left empty (the default).
RECONCILE_ROLE_ARN = f"arn:aws:iam::{PRODUCER}:role/secretshare-ReconcileRole-4Tq9LmZx2Kp8"
# `Fn::GetAtt` values the tests need, as CloudFormation would return them.
ATTRIBUTES = {("ReconcileRole", "Arn"): RECONCILE_ROLE_ARN}


# --- templates -------------------------------------------------------------------------------------------------


@cache
def _decoded(path: Path) -> dict[str, Any]:
    template, problems = decode(str(path))
    assert not problems, f"{path} does not parse: {problems}"
    # Plain dicts and lists (the decoder's node classes carry line numbers we do not need).
    return json.loads(json.dumps(template))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data (a fresh copy each call)."""
    return json.loads(json.dumps(_decoded(path)))


def parameter_defaults(template: dict[str, Any], **overrides: str) -> dict[str, str]:
    """Each parameter's value: its default unless overridden."""
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    return {**values, **overrides}


def resolve(
    node: Any,
    parameters: dict[str, str],
    pseudo: dict[str, str] | None = None,
    *,
    attributes: dict[tuple[str, ...], str] | None = None,
) -> Any:
    """Substitute `Ref` and `Fn::Sub` of parameters and pseudo parameters, `Fn::GetAtt` of the ATTRIBUTES above, and
    evaluate `Fn::Join`, `Fn::Select` and `Fn::Split`; anything else is left as it is."""
    names = {**PSEUDO_PARAMETERS, **(pseudo or {}), **parameters}
    known = ATTRIBUTES if attributes is None else attributes

    def again(item: Any) -> Any:
        return resolve(item, parameters, pseudo, attributes=attributes)

    if isinstance(node, list):
        return [again(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in names:
        return names[node["Ref"]]
    if set(node) == {"Fn::GetAtt"} and tuple(node["Fn::GetAtt"]) in known:
        return known[tuple(node["Fn::GetAtt"])]
    if set(node) == {"Fn::Sub"}:
        text, local = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]
        values = {**names, **{k: str(again(v)) for k, v in local.items()}}
        return re.sub(r"\$\{([^}!]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)
    if set(node) == {"Fn::Join"}:
        separator, items = node["Fn::Join"]
        return separator.join(str(item) for item in again(items))
    if set(node) == {"Fn::Select"}:
        index, items = again(node["Fn::Select"])
        return items[int(index)]
    if set(node) == {"Fn::Split"}:
        separator, text = node["Fn::Split"]
        return str(again(text)).split(separator)
    return {key: again(value) for key, value in node.items()}


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type."""
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def as_list(value: Any) -> list[Any]:
    """An IAM policy field that may be one value or a list, as a list."""
    return value if isinstance(value, list) else [value]


# --- sample events ---------------------------------------------------------------------------------------------


TAG_RULE = "ShareTagChangeRule"
API_RULE = "SecretApiCallRule"

# The rule each sample is meant for; None: no rule may take it.
ROUTES = {
    "tag-change.json": TAG_RULE,
    "tag-change-continuation-key.json": TAG_RULE,
    "tag-change-removed.json": TAG_RULE,
    # `share-without` starts with `share-with` but is not a share tag; `team` is unrelated.
    "tag-change-unrelated-keys.json": None,
    "tag-change-other-service.json": None,
    "cloudtrail-create-secret.json": API_RULE,
    "cloudtrail-tag-resource.json": API_RULE,
    "cloudtrail-untag-resource-partial-arn.json": API_RULE,
    "cloudtrail-update-secret.json": API_RULE,
    "cloudtrail-delete-secret.json": API_RULE,
    "cloudtrail-restore-secret-aRN.json": API_RULE,
    "cloudtrail-put-resource-policy.json": API_RULE,
    "cloudtrail-delete-resource-policy.json": API_RULE,
    "cloudtrail-replicate-secret-to-regions.json": API_RULE,
    "cloudtrail-remove-regions-from-replication.json": API_RULE,
    # A failed call changed nothing; a read changes nothing.
    "cloudtrail-tag-resource-denied.json": None,
    "cloudtrail-get-secret-value.json": None,
    # Scheduled events are made by EventBridge for the schedule rule, not matched by pattern: see below.
    "schedule.json": None,
    # Sent by an expiry schedule (EventBridge Scheduler) straight to the queue, never through a rule.
    "share-expired.json": None,
}


# Samples that are SQS events as Lambda delivers them, not EventBridge events: a batch for the reconcile function, and
# the sweep function's requests (the schedule rule's, and a sweep's hand-over).
SQS_SAMPLES = {"sqs-batch.json", "sweep-start.json", "sweep-continue.json"}


def sample_names() -> list[str]:
    """Every file in events/."""
    return sorted(path.name for path in EVENTS.glob("*.json"))


def load_sample(name: str, *, secret_arn: str | None = None) -> dict[str, Any]:
    """A sample event; with `secret_arn`, the sample secret's full ARN replaced by it (names and partial ARNs
    in the samples resolve to the same moto secret as they are)."""
    text = (EVENTS / name).read_text()
    if secret_arn:
        text = text.replace(SAMPLE_SECRET_ARN, secret_arn)
    return json.loads(text)


def sqs_record(body: dict[str, Any] | str, *, message_id: str | None = None) -> dict[str, Any]:
    """An SQS record from the reconcile FIFO queue, as Lambda delivers it, carrying `body`."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + hashlib.sha256(text.encode()).hexdigest(),
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1795864503123",
            "SequenceNumber": "18890203546513442816",
            "MessageGroupId": "secretshare",
            "SenderId": "AIDAJXNJGGKNS7OSV23OI",
            "MessageDeduplicationId": hashlib.sha256(text.encode()).hexdigest(),
            "ApproximateFirstReceiveTimestamp": "1795864503140",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{PRODUCER}:secretshare-ReconcileQueue-8FjK2LmN4PqR.fifo",
        "awsRegion": REGION,
    }


def sqs_batch(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    """An SQS event for the reconcile function."""
    return {"Records": [sqs_record(body) for body in bodies]}


# --- SAM CLI -------------------------------------------------------------------------------------------------------


def runtime() -> str:
    """The functions' runtime, e.g. python3.13, from the template's Globals."""
    return load_template()["Globals"]["Function"]["Runtime"]


def sam_environment() -> dict[str, str]:
    """The environment SAM runs in offline: no telemetry, no instance metadata, a region, the runtime's Python.

    `sam build` without Docker needs the runtime's Python on PATH. On pyenv machines it is an extra version:
    put it beside the default one (PYENV_VERSION=<default>:<runtime>), as the Makefile does.
    """
    env = dict(os.environ)
    env.update(SAM_CLI_TELEMETRY="0", AWS_EC2_METADATA_DISABLED="true")
    env.setdefault("AWS_DEFAULT_REGION", REGION)
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    python = runtime()
    if not _runs([python, "--version"], env) and shutil.which("pyenv", path=env.get("PATH")):
        version = python.removeprefix("python")
        installed = _output(["pyenv", "versions", "--bare"], env).split()
        matching = sorted((v for v in installed if v.startswith(version + ".")), key=_version_key)
        if matching:
            default = _output(["pyenv", "version-name"], {**env, "PYENV_VERSION": ""}).strip() or "system"
            env["PYENV_VERSION"] = f"{default.split(':')[0]}:{matching[-1]}"
    return env


def sam(*arguments: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the SAM CLI of this virtual environment from the repository root."""
    executable = Path(sys.executable).with_name("sam")
    return subprocess.run(
        [str(executable), *arguments],
        cwd=REPO,
        env=sam_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _runs(command: list[str], env: dict[str, str]) -> bool:
    try:
        return subprocess.run(command, env=env, capture_output=True, check=False, timeout=30).returncode == 0
    except FileNotFoundError:
        return False


def _output(command: list[str], env: dict[str, str]) -> str:
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=30).stdout


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


# --- handlers --------------------------------------------------------------------------------------------------


def load_handler(function: str) -> ModuleType:
    """functions/<function>/app.py as module `<function>_app` (both files are named app.py), imported once."""
    name = f"{function}_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "functions" / function / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str = "secretshare-ReconcileFunction-AbC123"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{PRODUCER}:function:secretshare-ReconcileFunction-AbC123"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
    log_group_name: str = "/aws/lambda/secretshare-reconcile"
    log_stream_name: str = "2026/11/28/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000  # the reconcile function's timeout (template.yaml)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among the lines of captured output."""
    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def emf_blobs(text: str) -> list[dict[str, Any]]:
    """CloudWatch embedded-metric-format documents among the lines of captured output."""
    return [line for line in json_lines(text) if "_aws" in line]


# --- Lambda's SQS event source, played against moto's queue ---------------------------------------------------------


def lambda_records(messages: list[dict[str, Any]], queue_arn: str) -> list[dict[str, Any]]:
    """SQS messages as received (`AttributeNames=["All"]`), as Lambda hands them to a function."""
    return [
        {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message["Attributes"],
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": REGION,
        }
        for message in messages
    ]


def deliver_once(sqs: Any, queue_url: str, handler: Any, context: Any) -> list[dict[str, Any]]:
    """One poll of the event source mapping: receive up to ten messages, hand them to `handler`, delete the ones it
    did not report failed (those stay invisible until their visibility timeout ends). Returns the messages."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])
    if not messages:
        return []
    response = handler({"Records": lambda_records(messages, queue_arn)}, context)
    failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return messages
