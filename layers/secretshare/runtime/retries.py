"""What becomes of a reconciliation that failed, so that one failing secret never holds up the others.

The reconcile queue is FIFO with one message group: one batch at a time, in order (functions/reconcile/app.py). AWS
delivers nothing else of a group while one of its messages is in flight or waiting to be retried
(docs/aws-facts.md §8): a failed message left to the queue's own retries would hold every reconciliation behind it
for its visibility timeout, each time. So a failed message is never left to the queue:
- what trying again soon may fix (AWS throttled a call, failed on its side or did not answer; or an error nobody
  expected) is queued again, behind what is already queued, up to MAX_ATTEMPTS times, then moved to the dead-letter
  queue (its alarm fires);
- what it cannot fix (a consumer account that cannot be reached, a principal AWS refuses, a policy too large, a key
  that cannot be used, a permission missing in A) is recorded where the person looks (the status tag, written by
  the reconciliation, the ReconcileFailed metric and its alarm, the log line) and left to the hourly sweep, which
  finds the secret out of sync and queues it again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..domain.errors import AwsCallFailed, SecretShareError
from ..domain.events import MESSAGE_GROUP_ID, reconcile_request
from ..domain.settings import Settings
from ..gateway import Aws, Clients

RETRY_SOURCE = "secretshare.retry"
RETRY_DETAIL_TYPE = "Reconciliation Retry"
# Attempts in all, the first one included, before a message goes to the dead-letter queue.
MAX_ATTEMPTS = 3
# A reconciliation starts only with this much of its invocation left: room for the longest wait for a key policy
# another reconciliation is writing (20 s: gateway.base.KEY_LOCK_WAIT_SECONDS), one consumer account that does not
# answer (27 s at most: gateway.base.CONSUMER_CLIENT_CONFIG), a key KMS does not find yet (15 s: gateway.kms) and the
# rest of the work. A record that finds less is queued again untried (`defer`): a function that times out fails its
# whole batch, and the queue then holds the message group back for its visibility timeout.
RESERVE_SECONDS = 65


def worth_retrying_soon(err: BaseException) -> bool:
    """True for a failure that trying again in a moment may fix: AWS throttling, failing or not answering, and any
    error secretshare did not raise on purpose. The failures it raises on purpose need a person, or the next sweep."""
    if isinstance(err, AwsCallFailed):
        return err.transient
    return not isinstance(err, SecretShareError)


def attempt_of(event: Mapping[str, Any]) -> int:
    """Which attempt an event is: 1, or the count a retry request carries."""
    detail = event.get("detail")
    attempt = detail.get("attempt") if isinstance(detail, Mapping) and event.get("source") == RETRY_SOURCE else None
    return attempt if isinstance(attempt, int) and attempt > 0 else 1


def retry_request(
    secret_id: str, attempt: int, reason: str, now: datetime | None = None, made_keys: Sequence[str] = ()
) -> dict[str, Any]:
    """The request that queues a secret's reconciliation again (its detail differs from any earlier one, so content-
    based deduplication never drops it), with the keys the attempts before it made."""
    detail: dict[str, Any] = {
        "attempt": attempt,
        "reason": reason[:1000],
        "requested": (now or datetime.now(UTC)).isoformat(),
    }
    if made_keys:
        detail["made_keys"] = list(made_keys)
    return reconcile_request(secret_id, RETRY_SOURCE, RETRY_DETAIL_TYPE, detail)


def made_keys_of(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys earlier attempts made, as a retry request carries them (our own message; each is checked again by
    the reconciliation that adopts it, so anything else in it is ignored)."""
    detail = event.get("detail")
    found = detail.get("made_keys") if isinstance(detail, Mapping) and event.get("source") == RETRY_SOURCE else None
    return (
        tuple(key for key in found if isinstance(key, str) and key.startswith("arn:"))
        if isinstance(found, list)
        else ()
    )


def after_failure(
    event: Mapping[str, Any], secret_id: str, err: BaseException, *, settings: Settings, clients: Clients
) -> str:
    """Queue a failed reconciliation again, move it to the dead-letter queue, or leave it to the sweep; say which.

    Raises `err` itself when there is no queue to put it back on (a direct invocation, a CLI run).
    """
    if not worth_retrying_soon(err):
        return "left to the next sweep (the status tag says why)"
    if not settings.queue_url:
        raise err
    attempt = attempt_of(event)
    aws = Aws(settings, clients)
    made = tuple(dict.fromkeys((*made_keys_of(event), *getattr(err, "made_keys", ()))))
    request = retry_request(secret_id, attempt + 1, f"{type(err).__name__}: {err}", made_keys=made)
    if attempt < MAX_ATTEMPTS:
        aws.queues.send_messages(settings.queue_url, [json.dumps(request)], MESSAGE_GROUP_ID)
        return f"queued again behind the others (attempt {attempt + 1} of {MAX_ATTEMPTS})"
    if not settings.dead_letter_queue_url:
        raise err
    aws.queues.send_messages(settings.dead_letter_queue_url, [json.dumps(request)], MESSAGE_GROUP_ID)
    return f"moved to the dead-letter queue after {attempt} attempts"


def defer(event: Mapping[str, Any], secret_id: str, *, settings: Settings, clients: Clients) -> str:
    """Queue a reconciliation again untried, behind the others, because its invocation has too little time left. Not
    an attempt: the request keeps the event's attempt count. Raises RuntimeError when there is no queue."""
    if not settings.queue_url:
        raise RuntimeError(f"no time left to reconcile {secret_id} and no queue to put it back on")
    request = retry_request(
        secret_id, attempt_of(event), "deferred: too little time left in the invocation", made_keys=made_keys_of(event)
    )
    Aws(settings, clients).queues.send_messages(settings.queue_url, [json.dumps(request)], MESSAGE_GROUP_ID)
    return "deferred to a later invocation (too little time left in this one)"
