"""Sweep function: on a schedule, check every secret that may need a reconciliation and queue those that do.

The candidates are every secret carrying a share tag and every secret that a key of ours still grants on (so
untagged and deleted secrets get their grants revoked). The check is read-only; the reconcile function does the
work, one secret at a time, behind the FIFO queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from secretshare.aws import Clients, default_session
from secretshare.errors import ConfigurationError
from secretshare.observability import logger
from secretshare.settings import Settings
from secretshare.sweep import enqueue_reconciliations, sweep


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check the candidate secrets and queue the out-of-sync ones on QUEUE_URL; the event carries nothing."""
    settings = Settings.from_env()
    if not settings.queue_url:
        raise ConfigurationError("QUEUE_URL is not set: the sweep queues reconciliations on the reconcile FIFO queue")
    clients = Clients(default_session())
    report = sweep(settings=settings, clients=clients)
    queued = enqueue_reconciliations(list(report.to_reconcile), settings.queue_url, settings=settings, clients=clients)
    logger.info(
        "swept",
        extra={"checked": len(report.checked), "drifted": list(report.drifted), "errors": dict(report.errors)},
    )
    return {"checked": len(report.checked), "queued": queued}
