"""Reconcile function: bring each secret named by an SQS batch of EventBridge events in line with its tags.

Also accepts one EventBridge event on its own (`sam local invoke -e events/tag-change.json`, manual runs);
then a failure raises to the caller instead of being reported per record.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from secretshare.domain.errors import ReconcileFailed
from secretshare.domain.events import UnrecognizedEvent, secret_id_from_event
from secretshare.domain.settings import Settings
from secretshare.gateway import Clients, default_session
from secretshare.reconciler.reconcile import ReconcileResult, reconcile_secret
from secretshare.runtime.observability import count_reconciliation, logger, metrics
from secretshare.runtime.retries import RESERVE_SECONDS, after_failure, defer, made_keys_of

# The FIFO queue (one message group) is there so that no two reconciliations run at once, not for order: each
# reconciliation reads the secret's current state. A record fails (and the queue redelivers it, holding the group
# back) only when even queuing it again failed: a reconciliation's own failure is queued again behind the others,
# or left to the sweep (secretshare.runtime.retries). When every record fails the response lists them all rather than
# raising: the function's Errors alarm is kept for the function itself breaking.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """SQS batch: reconcile each record, report the failed ones. One EventBridge event: reconcile it."""
    # One set of clients and settings per invocation: each consumer account's role is assumed once for the batch.
    clients = Clients(default_session())
    settings = Settings.from_env()
    if "Records" not in event:
        try:
            secret_id = secret_id_from_event(event)
        except UnrecognizedEvent:
            count_reconciliation(None, succeeded=False)
            logger.exception("event names no secret")
            raise
        return reconcile_one(secret_id, settings, clients)
    record_handler = partial(reconcile_record, settings=settings, clients=clients, context=context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def reconcile_record(record: SQSRecord, settings: Settings, clients: Clients, context: LambdaContext) -> dict[str, Any]:
    """One SQS record, whose body is an EventBridge event (or secretshare's own request of the same shape).

    A body that names no secret is logged whole and dropped: retrying cannot make it name one. A record the
    invocation has too little time left for is queued again untried (secretshare.runtime.retries.RESERVE_SECONDS).
    """
    with logger.append_context_keys(message_id=record.message_id):
        try:
            event = json.loads(record.body)
            secret_id = secret_id_from_event(event)
        except (json.JSONDecodeError, UnrecognizedEvent):
            count_reconciliation(None, succeeded=False)
            logger.exception("record names no secret; dropped", extra={"body": record.body[:4096]})
            return {"dropped": True}
        if context.get_remaining_time_in_millis() < RESERVE_SECONDS * 1000:
            outcome = defer(event, secret_id, settings=settings, clients=clients)
            logger.warning("reconciliation not started: %s", outcome, extra={"secret_arn": secret_id})
            return {"deferred": True}
        try:
            return reconcile_one(secret_id, settings, clients, made_keys=made_keys_of(event))
        except Exception as err:  # every failure was counted and logged: now decide what becomes of it
            outcome = after_failure(event, secret_id, err, settings=settings, clients=clients)
            logger.warning("reconciliation failed: %s", outcome, extra={"secret_arn": secret_id})
            return {"failed": str(err), "then": outcome}


def reconcile_one(
    secret_id: str, settings: Settings, clients: Clients, made_keys: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Reconcile the secret an event named (adopting the keys earlier attempts made); count and log the outcome, and
    raise on failure."""
    # Every line of this reconciliation, the library's included, carries the secret: as the event names it
    # (the ARN for tag events, the sweep and most CloudTrail calls) and, once known, by its full ARN.
    with logger.append_context_keys(secret_arn=secret_id):
        result = _reconcile(secret_id, settings, clients, made_keys)
        logger.append_keys(secret_arn=result.secret_arn)
        summary = {
            "secret_arn": result.secret_arn,
            "changes": result.changes,
            "consumers": list(result.consumers),
            "rejected": [{"entry": entry.entry, "reason": entry.reason} for entry in result.rejected],
            "key_arn": result.key_arn,
        }
        logger.info("reconciled" if result.changes else "in sync", extra={"result": summary})
    return summary


def _reconcile(secret_id: str, settings: Settings, clients: Clients, made_keys: tuple[str, ...]) -> ReconcileResult:
    try:
        result = reconcile_secret(
            secret_id, settings=settings, clients=clients, made_keys=made_keys, own_region_only=True
        )
    except ReconcileFailed as err:
        partial = err.result if isinstance(err.result, ReconcileResult) else None
        count_reconciliation(partial, succeeded=False)
        logger.error("reconciliation failed", extra={"failures": list(err.failures)})
        raise
    except Exception:
        count_reconciliation(None, succeeded=False)
        logger.exception("reconciliation failed")
        raise
    # Rejected tag entries are not failures (retrying cannot fix them): the library logs each, and they are counted.
    count_reconciliation(result, succeeded=True)
    return result
