"""The stack's SQS queues, as the runtime sends to them: the only module that talks to SQS. The jobs queue carries
background jobs (an IdP's erasure, a large export); the events dead-letter queue, events EventBridge kept refusing.

The management API submits a job and answers at once; JobsFunction (functions/jobs/) runs it. A job that needs
longer than one invocation submits its own continuation, so no job holds a message longer than its visibility
timeout; a job that fails is received again (and goes to the jobs dead-letter queue after a few attempts).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

# SQS's longest delay for a message.
MAX_DELAY_SECONDS = 900


class JobQueue:
    def __init__(self, client: Any, queue_url: str):
        self._client = client
        self._queue_url = queue_url

    def submit(self, job: dict, delay_seconds: float = 0) -> None:
        """Queue `job` (a JSON object with a `job` name), to start after `delay_seconds` (at most 15 minutes)."""
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(job, separators=(",", ":")),
                                  DelaySeconds=max(0, min(MAX_DELAY_SECONDS, int(delay_seconds + 0.999))))

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """A received job that failed: received again after `seconds`, not after the queue's whole visibility
        timeout (which is long enough for a step cut short by the function's timeout)."""
        self._client.change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle,
                                               VisibilityTimeout=seconds)


class DeadLetters:
    """A dead-letter queue: what could not be delivered, as a JSON message (encrypted at rest; kept 14 days)."""

    def __init__(self, client: Any, queue_url: str):
        self._client = client
        self._queue_url = queue_url

    def send(self, body: dict) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body, separators=(",", ":")))


@cache
def events_dead_letters() -> DeadLetters:
    import boto3

    from .config import settings

    url = settings().events_dead_letter_queue_url
    if not url:
        raise RuntimeError("EVENTS_DEAD_LETTER_QUEUE_URL is not set: this function has no events dead-letter queue")
    return DeadLetters(boto3.client("sqs"), url)


@cache
def job_queue() -> JobQueue:
    import boto3

    from .config import settings

    url = settings().jobs_queue_url
    if not url:
        raise RuntimeError("JOBS_QUEUE_URL is not set: this function has no jobs queue")
    return JobQueue(boto3.client("sqs"), url)
