"""What sharing costs in dollars a month (issue 21): AWS's prices, each with its source, in this one place; the usage a
month assumes; and the bill per 1,000 shared secrets in each key mode, from the calls `make bench` measures.

Prices are AWS's list prices in US East (N. Virginia), without the free tiers (KMS's 20,000 requests, Lambda's
1M requests and 400,000 GB-seconds, SQS's 1M requests), which an account spends on everything else it runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    dollars: float
    per: str
    source: str


PRICES = {
    "kms_key": Price(1.00, "customer-managed key a month", "aws.amazon.com/kms/pricing (stored copy, read offline)"),
    "kms_request": Price(
        0.03 / 10_000, "KMS request", "aws.amazon.com/kms/pricing via third-party guides (not read from AWS offline)"
    ),
    "secret": Price(
        0.40,
        "secret a month",
        "aws.amazon.com/secrets-manager/pricing as third-party pages quote it (not read from AWS offline)",
    ),
    "secrets_manager_request": Price(0.05 / 10_000, "Secrets Manager API call", "as above (not read from AWS offline)"),
    "lambda_gb_second": Price(
        0.0000133334, "GB-second, arm64", "aws.amazon.com/lambda/pricing via third-party guides (not read offline)"
    ),
    "lambda_request": Price(0.20 / 1_000_000, "Lambda request", "as above (not read from AWS offline)"),
    "sqs_fifo_request": Price(
        0.50 / 1_000_000, "SQS FIFO request", "from memory of aws.amazon.com/sqs/pricing: UNVERIFIED"
    ),
}
# Calls AWS does not bill: STS AssumeRole, the Resource Groups Tagging API, SSM standard parameters at standard
# throughput (in the consumer accounts), CloudFormation reads. From the services' pricing pages as remembered:
# not verified offline.
FREE_SERVICES = ("sts", "resourcegroupstaggingapi", "ssm", "cloudformation")

# The month the bill assumes: the sweep on template.yaml's default schedule, rate(1 hour); each shared secret's tags
# edited once (one reconciliation that changes something, and the no-op one its status tag's event starts); three
# SQS requests a message (send, receive, delete: an upper bound, the event source mapping batches the last two).
SWEEPS_A_MONTH = 730
CHANGES_A_MONTH = 1
SQS_REQUESTS_A_MESSAGE = 3
PER = 1_000  # the bill is per this many shared secrets


def key_count(mode: str, figures: Mapping[str, Any]) -> float:
    """Keys that `PER` shared secrets of distinct consumer sets take in each mode."""
    if mode == "dedicated":
        return PER
    if mode == "pool":
        return PER / figures["pool"]["secrets_per_key"]
    # One key someone chose holds what its policy holds; beyond that, more keys, chosen and watched by hand.
    return math.ceil(PER / figures["capacity"]["secrets_distinct_3_consumers"])


def monthly_bill(mode: str, figures: Mapping[str, Any]) -> dict[str, float]:
    """Dollars a month for `PER` shared secrets in `mode`, line by line, from the measured calls of that mode."""
    calls = figures["calls_by_mode"][mode]
    lambda_gb_s = figures["lambda_gb_seconds"]
    changes = PER * CHANGES_A_MONTH
    kms_requests = PER * SWEEPS_A_MONTH * calls["sweep_kms_per_secret"] + changes * calls["change_kms"]
    sm_requests = PER * SWEEPS_A_MONTH * calls["sweep_secretsmanager_per_secret"] + changes * calls["change_sm"]
    invocations = changes * 2 / 10 + SWEEPS_A_MONTH  # batches of 10 reconciliations, one sweep invocation
    bill = {
        "keys": key_count(mode, figures) * PRICES["kms_key"].dollars,
        "kms_requests": kms_requests * PRICES["kms_request"].dollars,
        "secrets_manager_requests": sm_requests * PRICES["secrets_manager_request"].dollars,
        "lambda": (
            (changes * 2 * lambda_gb_s["per_reconciliation"] + PER * SWEEPS_A_MONTH * lambda_gb_s["sweep_per_secret"])
            * PRICES["lambda_gb_second"].dollars
            + invocations * PRICES["lambda_request"].dollars
        ),
        "sqs": changes * 2 * SQS_REQUESTS_A_MESSAGE * PRICES["sqs_fifo_request"].dollars,
    }
    bill["secretshare"] = sum(bill.values())
    bill["secrets_manager_storage"] = PER * PRICES["secret"].dollars
    return {name: round(value, 2) for name, value in bill.items()}


def assumptions() -> dict[str, Any]:
    """What the bill assumes, for results.json and the docs."""
    return {
        "per_shared_secrets": PER,
        "sweeps_a_month": SWEEPS_A_MONTH,
        "tag_changes_a_secret_a_month": CHANGES_A_MONTH,
        "sqs_requests_a_message": SQS_REQUESTS_A_MESSAGE,
        "free": list(FREE_SERVICES),
        "prices": {name: {"dollars": p.dollars, "per": p.per, "source": p.source} for name, p in PRICES.items()},
    }
