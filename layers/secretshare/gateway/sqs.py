"""SQS in account A: the reconcile queue, its dead-letter queue and the sweep's hand-over queue."""

from __future__ import annotations

from .base import Service, calls

# SendMessageBatch takes at most ten messages.
_SQS_BATCH = 10


class Queues(Service):
    """The messages secretshare sends."""

    name = "sqs"

    @calls("sqs:SendMessageBatch")
    def send_messages(self, queue_url: str, bodies: list[str], group_id: str) -> None:
        """Send messages to the FIFO queue, ten to a batch (SQS's limit); raise naming every message that failed."""
        client = self._client()
        for start in range(0, len(bodies), _SQS_BATCH):
            batch = bodies[start : start + _SQS_BATCH]
            response = client.send_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "MessageBody": body, "MessageGroupId": group_id} for i, body in enumerate(batch)
                ],
            )
            if response.get("Failed"):
                failed = [batch[int(f["Id"])] + ": " + f.get("Message", f["Code"]) for f in response["Failed"]]
                raise RuntimeError(f"could not queue {'; '.join(failed)}")

    @calls("sqs:SendMessage")
    def send_message(self, queue_url: str, body: str) -> None:
        """Send one message to a standard queue."""
        self._client().send_message(QueueUrl=queue_url, MessageBody=body)
