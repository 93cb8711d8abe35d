"""Every event shape names its secret: `secretshare.domain.events.secret_id_from_event` on the samples in events/."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from support.sam import SAMPLE_SECRET_ARN, SAMPLE_SECRET_NAME, SQS_SAMPLES, load_sample, sample_names

import secretshare
import secretshare.domain.events
from secretshare.domain.events import (
    EXPIRY_DETAIL_TYPE,
    EXPIRY_SOURCE,
    UnrecognizedEvent,
    reconcile_request,
    same_secret_key,
    secret_id_from_event,
)
from secretshare.reconciler.sweep import sweep_message

PARTIAL_ARN = SAMPLE_SECRET_ARN.removesuffix("-Ab12Cd")

# What each sample names the secret by. Full ARNs come from resources[0] (aws.tag) or responseElements.
EXPECTED_SECRET_ID = {
    "tag-change.json": SAMPLE_SECRET_ARN,
    "tag-change-continuation-key.json": SAMPLE_SECRET_ARN,
    "tag-change-removed.json": SAMPLE_SECRET_ARN,
    "tag-change-unrelated-keys.json": SAMPLE_SECRET_ARN,
    "cloudtrail-create-secret.json": SAMPLE_SECRET_ARN,
    "cloudtrail-tag-resource.json": SAMPLE_SECRET_ARN,
    "cloudtrail-untag-resource-partial-arn.json": PARTIAL_ARN,
    "cloudtrail-update-secret.json": SAMPLE_SECRET_ARN,
    "cloudtrail-delete-secret.json": SAMPLE_SECRET_ARN,
    "cloudtrail-restore-secret-aRN.json": SAMPLE_SECRET_ARN,
    "cloudtrail-put-resource-policy.json": SAMPLE_SECRET_ARN,
    "cloudtrail-delete-resource-policy.json": SAMPLE_SECRET_ARN,
    "cloudtrail-replicate-secret-to-regions.json": SAMPLE_SECRET_ARN,
    "cloudtrail-remove-regions-from-replication.json": SAMPLE_SECRET_ARN,
    "cloudtrail-tag-resource-denied.json": SAMPLE_SECRET_ARN,
    "cloudtrail-get-secret-value.json": SAMPLE_SECRET_ARN,
    "share-expired.json": SAMPLE_SECRET_ARN,
}
NO_SECRET = {"tag-change-other-service.json", "schedule.json"}


@pytest.mark.parametrize("name", sorted(EXPECTED_SECRET_ID))
def test_each_sample_names_its_secret(name):
    assert secret_id_from_event(load_sample(name)) == EXPECTED_SECRET_ID[name]


@pytest.mark.parametrize("name", sorted(NO_SECRET))
def test_events_about_no_secret_raise_naming_the_event(name):
    event = load_sample(name)
    with pytest.raises(UnrecognizedEvent, match=f"id={event['id']} source={event['source']}"):
        secret_id_from_event(event)


def test_every_sample_is_classified_here():
    assert set(sample_names()) == set(EXPECTED_SECRET_ID) | NO_SECRET | SQS_SAMPLES


def test_sqs_batch_sample_wraps_events_that_name_the_secret():
    records = load_sample("sqs-batch.json")["Records"]
    assert [secret_id_from_event(json.loads(r["body"])) for r in records] == [SAMPLE_SECRET_ARN] * len(records)
    assert {r["attributes"]["MessageGroupId"] for r in records} == {"secretshare"}


def test_sweep_message_names_its_secret():
    assert secret_id_from_event(sweep_message(SAMPLE_SECRET_ARN)) == SAMPLE_SECRET_ARN


def test_cloudtrail_prefers_the_response_arn_then_secret_id_then_name():
    event = load_sample("cloudtrail-create-secret.json")
    assert secret_id_from_event(event) == SAMPLE_SECRET_ARN
    event["detail"]["responseElements"] = None  # a failed call has no response
    assert secret_id_from_event(event) == SAMPLE_SECRET_NAME
    event["detail"]["requestParameters"]["secretId"] = PARTIAL_ARN
    assert secret_id_from_event(event) == PARTIAL_ARN


def test_cloudtrail_without_any_secret_field_raises_naming_the_call():
    event = load_sample("cloudtrail-tag-resource.json")
    event["detail"]["requestParameters"] = {"tags": []}
    with pytest.raises(UnrecognizedEvent, match="eventName=TagResource"):
        secret_id_from_event(event)


@pytest.mark.parametrize("event", [[], "text", None])
def test_a_body_that_is_not_an_event_object_raises(event):
    with pytest.raises(UnrecognizedEvent, match="expected an EventBridge event"):
        secret_id_from_event(event)  # type: ignore[arg-type]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return found | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_events_module_is_pure():
    imports = imported_modules(Path(secretshare.domain.events.__file__))
    assert not {name for name in imports if name.split(".")[0] in ("boto3", "botocore", "aws_lambda_powertools")}


def test_only_the_observability_module_imports_powertools():
    package = Path(secretshare.__file__).parent
    importing = {
        path.name
        for path in package.rglob("*.py")
        if any(name.startswith("aws_lambda_powertools") for name in imported_modules(path))
    }
    assert importing == {"observability.py"}


def test_the_expiry_sample_is_the_message_an_expiry_schedule_sends():
    sent = reconcile_request(SAMPLE_SECRET_ARN, EXPIRY_SOURCE, EXPIRY_DETAIL_TYPE)
    assert load_sample("share-expired.json") == sent


@pytest.mark.parametrize(
    "name",
    ["payments/db-password", "app/db-secret", "a-bbbbbb-cccccc", "tokens/x-Ab12Cd"],
)
def test_every_way_an_event_names_a_secret_gives_it_one_key(name):
    """Name, partial ARN and full ARN (any region) of one secret fall in one group of the reconcile function's batch,
    even when the name itself ends like an ARN's random suffix."""
    partial = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name}"
    ways = [name, partial, f"{partial}-Zz9Yy8", f"{partial}-Zz9Yy8".replace("eu-west-1", "us-east-1")]

    assert len({same_secret_key(way) for way in ways}) == 1


def test_different_secrets_get_different_keys():
    assert same_secret_key("payments/db-password") != same_secret_key("payments/api-key")
