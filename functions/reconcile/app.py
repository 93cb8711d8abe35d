"""Reconcile function: bring each secret named by an SQS batch of EventBridge events in line with its tags.

Also accepts one EventBridge event on its own (`sam local invoke -e events/tag-change.json`, manual runs);
then a failure raises to the caller instead of being reported per record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from secretshare.domain.errors import ReconcileFailed
from secretshare.domain.events import UnrecognizedEvent, same_secret_key, secret_id_from_event
from secretshare.domain.settings import Settings
from secretshare.gateway import Clients, default_session
from secretshare.reconciler.reconcile import ReconcileResult, reconcile_secret
from secretshare.reconciler.sweep import keys_naming_of
from secretshare.runtime.observability import count_reconciliation, logger, metrics
from secretshare.runtime.retries import RESERVE_SECONDS, after_failure, defer, made_keys_of

# The queue is FIFO with one message group, so Lambda hands over one batch at a time, in order. The secrets of a
# batch are reconciled at once (one thread each, at most BatchSize), each secret's records one after another in
# their order, and the library lets one reconciliation at a time write a key policy
# (secretshare.gateway.base.KeyPolicyLocks): a burst of tag changes converges near AWS's own request quotas
# (docs/cost-and-scale.md). A reconciliation's own failure is queued again behind the others, or left to the sweep
# (secretshare.runtime.retries); a record is reported failed only when even that failed, and then so is every later
# record of its secret, so that the queue redelivers them in their order while the other secrets go on.


@dataclass(frozen=True)
class Request:
    """One SQS record: its message id and the EventBridge event its body holds (None: the body names no secret)."""

    message_id: str
    body: str
    event: dict[str, Any] | None
    secret_id: str | None
    problem: Exception | None = None  # why the body names no secret


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
    requests = [parse_record(record) for record in event["Records"]]
    in_order = partial(reconcile_in_order, settings=settings, clients=clients, context=context)
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        failed = [message for messages in pool.map(in_order, by_secret(requests)) for message in messages]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def parse_record(record: dict[str, Any]) -> Request:
    """The request an SQS record carries: its body is an EventBridge event (or secretshare's own of that shape)."""
    body = record.get("body", "")
    try:
        event = json.loads(body)
        return Request(record["messageId"], body, event, secret_id_from_event(event))
    except (json.JSONDecodeError, UnrecognizedEvent) as err:
        return Request(record["messageId"], body, None, None, err)


def by_secret(requests: list[Request]) -> list[list[Request]]:
    """The batch's requests in lists of one secret each (`same_secret_key`), each list in the batch's order."""
    groups: dict[str, list[Request]] = {}
    for request in requests:
        key = same_secret_key(request.secret_id) if request.secret_id else f"message {request.message_id}"
        groups.setdefault(key, []).append(request)
    return list(groups.values())


def reconcile_in_order(
    requests: list[Request], settings: Settings, clients: Clients, context: LambdaContext
) -> list[str]:
    """One secret's requests, one after another; the message ids to report failed: one that failed, and every one
    after it (never run before the one before it succeeded)."""
    for position, request in enumerate(requests):
        try:
            reconcile_request(request, settings, clients, context)
        except Exception:
            logger.exception(
                "record %s of secret %s not processed: it and the later records of that secret are redelivered",
                request.message_id,
                request.secret_id,
            )
            return [later.message_id for later in requests[position:]]
    return []


def reconcile_request(request: Request, settings: Settings, clients: Clients, context: LambdaContext) -> dict[str, Any]:
    """One record. A body that names no secret is logged whole and dropped: retrying cannot make it name one. A
    record the invocation has too little time left for is queued again untried (secretshare.runtime.retries)."""
    with log_context(message_id=request.message_id):
        if request.event is None or request.secret_id is None:
            count_reconciliation(None, succeeded=False)
            logger.error(
                "record names no secret; dropped", exc_info=request.problem, extra={"body": request.body[:4096]}
            )
            return {"dropped": True}
        event, secret_id = request.event, request.secret_id
        if context.get_remaining_time_in_millis() < RESERVE_SECONDS * 1000:
            outcome = defer(event, secret_id, settings=settings, clients=clients)
            logger.warning("reconciliation not started: %s", outcome, extra={"secret_arn": secret_id})
            return {"deferred": True}
        try:
            return reconcile_one(
                secret_id, settings, clients, made_keys=made_keys_of(event), hinted_keys=keys_naming_of(event)
            )
        except Exception as err:  # every failure was counted and logged: now decide what becomes of it
            outcome = after_failure(event, secret_id, err, settings=settings, clients=clients)
            logger.warning("reconciliation failed: %s", outcome, extra={"secret_arn": secret_id})
            return {"failed": str(err), "then": outcome}


def reconcile_one(
    secret_id: str,
    settings: Settings,
    clients: Clients,
    made_keys: tuple[str, ...] = (),
    hinted_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Reconcile the secret an event named (adopting the keys earlier attempts made, reading the keys the sweep found
    naming it); count and log the outcome, and raise on failure."""
    # Every line of this reconciliation, the library's included, carries the secret: as the event names it
    # (the ARN for tag events, the sweep and most CloudTrail calls) and, once known, by its full ARN.
    with log_context(secret_arn=secret_id):
        result = _reconcile(secret_id, settings, clients, made_keys, hinted_keys)
        logger.thread_safe_append_keys(secret_arn=result.secret_arn)
        summary = {
            "secret_arn": result.secret_arn,
            "changes": result.changes,
            "consumers": list(result.consumers),
            "rejected": [{"entry": entry.entry, "reason": entry.reason} for entry in result.rejected],
            "key_arn": result.key_arn,
        }
        logger.info("reconciled" if result.changes else "in sync", extra={"result": summary})
    return summary


@contextmanager
def log_context(**keys: str) -> Iterator[None]:
    """These keys on every log line of this thread (the library's too) until the block ends, then the ones before."""
    before = logger.thread_safe_get_current_keys().copy()
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**before)


def _reconcile(
    secret_id: str, settings: Settings, clients: Clients, made_keys: tuple[str, ...], hinted_keys: tuple[str, ...]
) -> ReconcileResult:
    try:
        result = reconcile_secret(
            secret_id,
            settings=settings,
            clients=clients,
            made_keys=made_keys,
            hinted_keys=hinted_keys,
            own_region_only=True,
        )
    except ReconcileFailed as err:
        partial_result = err.result if isinstance(err.result, ReconcileResult) else None
        count_reconciliation(partial_result, succeeded=False)
        logger.error("reconciliation failed", extra={"failures": list(err.failures)})
        raise
    except Exception:
        count_reconciliation(None, succeeded=False)
        logger.exception("reconciliation failed")
        raise
    # Rejected tag entries are not failures (retrying cannot fix them): the library logs each, and they are counted.
    count_reconciliation(result, succeeded=True)
    return result
