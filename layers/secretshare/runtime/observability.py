"""Logger and metrics for the Lambda handlers, created once.

Only the handlers import this module: the core library logs through the standard `logging` module and
never imports Powertools, so the CLI and the unit tests run without it.

Tracing is Lambda's active tracing (template.yaml `Tracing: Active`), which records every invocation
without code. Powertools' Tracer is left out on purpose: its X-Ray SDK import nearly doubles the
handler's cold start (measured by `make bench`), for per-call subsegments the logs already give.
"""

from __future__ import annotations

import logging
import os
import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from ..reconciler.reconcile import ReconcileResult

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "secretshare"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SecretShare"
# The library's logger (`logging.getLogger("secretshare")` in every core module).
LIBRARY_LOGGER = "secretshare"

# Metric names; template.yaml's ReconcileFailedAlarm watches RECONCILE_FAILED.
RECONCILE_SUCCEEDED = "ReconcileSucceeded"
RECONCILE_FAILED = "ReconcileFailed"
GRANTS_ADDED = "GrantsAdded"
GRANTS_REVOKED = "GrantsRevoked"
ENTRIES_REJECTED = "EntriesRejected"

logger = Logger(service=SERVICE)
_counting = threading.Lock()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# The library's log lines get the same JSON format and appended keys (the secret ARN) as the handlers' own.
logging.getLogger(LIBRARY_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={LIBRARY_LOGGER})


def count_reconciliation(result: ReconcileResult | None, *, succeeded: bool) -> None:
    """Record one reconciliation's outcome; `result` is None when it failed before planning. Safe from the reconcile
    function's threads (Powertools' metric set is a plain dict, flushed when it reaches 100 metrics)."""
    with _counting:
        metrics.add_metric(name=RECONCILE_SUCCEEDED if succeeded else RECONCILE_FAILED, unit=MetricUnit.Count, value=1)
        if result is None:
            return
        metrics.add_metric(name=GRANTS_ADDED, unit=MetricUnit.Count, value=len(result.plan.grants_added))
        metrics.add_metric(name=GRANTS_REVOKED, unit=MetricUnit.Count, value=len(result.plan.grants_revoked))
        metrics.add_metric(name=ENTRIES_REJECTED, unit=MetricUnit.Count, value=len(result.rejected))
