"""Sweep function: check every secret that may need a reconciliation and queue those that do, as it goes.

Each invocation is one request from the sweep queue: the schedule's (`{"resume_after": ""}`), or the hand-over of a
sweep that ran out of time (`{"resume_after": "<last ARN checked>"}`). A direct invocation (no `Records`) is taken as a
request itself. The check is read-only; the reconcile function does the work, behind the FIFO queue.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from secretshare.domain.errors import ConfigurationError
from secretshare.domain.settings import Settings
from secretshare.gateway import Clients, default_session
from secretshare.reconciler.sweep import SecretCheck, enqueue_reconciliations, hand_over, sweep
from secretshare.runtime.observability import logger

# Time kept back from the function's timeout: the last chunk's queuing and the hand-over.
SAFETY_SECONDS = 60


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Sweep from where the request says, queue the out-of-sync secrets chunk by chunk, hand over what is left."""
    settings = Settings.from_env()
    if not settings.queue_url:
        raise ConfigurationError("QUEUE_URL is not set: the sweep queues reconciliations on the reconcile FIFO queue")
    requests = [json.loads(record["body"]) for record in event["Records"]] if "Records" in event else [event]
    resume_after = next((str(r.get("resume_after") or "") for r in requests if isinstance(r, dict)), "")
    clients = Clients(default_session())
    queued = 0

    def queue_drifted(checks: tuple[SecretCheck, ...]) -> None:
        nonlocal queued
        drifted = [c for c in checks if c.drifted]
        queued += enqueue_reconciliations(
            [c.arn for c in drifted],
            settings.queue_url,
            settings=settings,
            clients=clients,
            keys_naming={c.arn: c.keys_naming for c in drifted},
        )

    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS
    report = sweep(settings=settings, clients=clients, after=resume_after, deadline=deadline, on_chunk=queue_drifted)
    hand_over(report, settings=settings, clients=clients)
    logger.info(
        "swept" if report.complete else "swept part, handed the rest over",
        extra={
            "after": resume_after,
            "checked": len(report.checked),
            "drifted": list(report.drifted),
            "errors": dict(report.errors),
            "resume_after": report.resume_after,
        },
    )
    return {"checked": len(report.checked), "queued": queued, "resume_after": report.resume_after}
