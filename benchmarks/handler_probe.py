"""Run by bench.py in a fresh interpreter: the reconcile handler's peak memory and batch throughput.

Expects AWS_ENDPOINT_URL to point at a moto server and ALLOWED_CONSUMERS to list consumer accounts.
Prints the handler's log lines, then the figures as one JSON line (the last).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions" / "reconcile"), str(ROOT / "layers")]

import app  # noqa: E402
import boto3  # noqa: E402


@dataclass
class Context:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str = "secretshare-reconcile"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:secretshare-reconcile"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000  # the template's timeout: every record of the batch is started


def batch(arns: list[str]) -> dict:
    """An SQS batch whose records carry aws.tag change events, as the FIFO queue delivers them."""
    records = []
    for i, arn in enumerate(arns):
        event = {
            "version": "0",
            "source": "aws.tag",
            "detail-type": "Tag Change on Resource",
            "resources": [arn],
            "detail": {"changed-tag-keys": ["share-with"], "service": "secretsmanager", "resource-type": "secret"},
        }
        records.append(
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": json.dumps(event),
                "attributes": {"MessageGroupId": "secretshare"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:secretshare.fifo",
                "awsRegion": "eu-west-1",
            }
        )
    return {"Records": records}


def invoke(event: dict) -> float:
    started = time.perf_counter()
    response = app.handler(event, Context())
    elapsed = time.perf_counter() - started
    assert response["batchItemFailures"] == [], response
    return elapsed


def main() -> None:
    consumers = os.environ["ALLOWED_CONSUMERS"].split()
    secrets = boto3.client("secretsmanager")
    arns = [
        secrets.create_secret(
            Name=f"probe/{i}", SecretString="v", Tags=[{"Key": "share-with", "Value": consumers[i % len(consumers)]}]
        )["ARN"]
        for i in range(10)
    ]
    tracemalloc.start()
    new_share = invoke(batch(arns))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    in_sync = invoke(batch(arns))
    print(
        json.dumps(
            {
                "peak_memory_mb": round(peak / 2**20, 1),
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "new_share_messages_per_s": round(10 / new_share, 1),
                "in_sync_messages_per_s": round(10 / in_sync, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
