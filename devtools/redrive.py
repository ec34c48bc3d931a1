"""Replays what the table stream's consumers could not do: `scim-admin redrive-cleanup` and `redrive-events`.

When CleanupFunction keeps failing on a batch (after Lambda's retries), Lambda sends its on-failure destination —
the cleanup dead-letter queue — a description of the batch: its stream, shard and sequence numbers, not its records.
For each such message this reads those records again from the stream (which keeps them 24 hours), runs the same
consumer on them (`scim_endpoint.cleanup.handle_records`, idempotent), and deletes the message once they are all
handled. When the records are gone from the stream, it sweeps the whole table instead (`cleanup.sweep`: every
membership whose user or group is gone), which covers whatever those records would have cleaned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scim_endpoint import cleanup

# The stream's errors that mean "these records are no longer there".
_GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}


@dataclass
class Redrive:
    batches: int = 0
    records: int = 0
    memberships_deleted: int = 0
    swept: bool = False
    left: list[str] = field(default_factory=list)  # messages whose records failed again (kept on the queue)

    def as_dict(self) -> dict:
        return {"batches": self.batches, "records": self.records, "memberships_deleted": self.memberships_deleted,
                "swept": self.swept, "left": len(self.left)}


def redrive(sqs: Any, streams: Any, store: Any, queue_url: str, timeout: float = 300,
            progress: Callable[[str], None] = lambda message: None, sweep: bool = False) -> Redrive:
    """Replay every message of the dead-letter queue (until it is empty or `timeout` seconds have passed); then
    sweep the table if some records had left the stream, or if asked (`sweep`)."""
    result = Redrive()
    sweep_needed = False
    for messages in _received(sqs, queue_url, timeout):
        for message in messages:
            info = _batch_info(message)
            found = _records(streams, info) if info is not None else None
            records, complete = found if found is not None else (None, False)
            result.batches += 1
            if not complete:
                sweep_needed = True  # gone from the stream, in whole or in part: the sweep below covers them
            if records is not None:
                summary = cleanup.handle_records(store, records)
                result.records += len(records)
                result.memberships_deleted += summary["memberships_deleted"]
                if summary["batchItemFailures"]:
                    result.left.append(message["MessageId"])
                    continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            progress(f"batch {result.batches}: {len(records or [])} records replayed"
                     + ("" if complete else " (not all of them in the stream any more: sweeping)"))
    if sweep_needed or sweep:
        progress("sweeping the table for memberships whose user or group is gone")
        result.memberships_deleted += cleanup.sweep(store)["memberships_deleted"]
        result.swept = True
    return result


def _received(sqs: Any, queue_url: str, timeout: float) -> Iterator[list[dict]]:
    """The queue's messages, ten at a time, until it is empty or `timeout` seconds have passed (each hidden from
    other readers for two minutes while it is replayed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       VisibilityTimeout=120).get("Messages", [])
        if not messages:
            return
        yield messages


def _batch_info(message: dict) -> dict | None:
    """Where the message's batch is in the stream; None for a message that does not say (it is not Lambda's)."""
    try:
        info = json.loads(message["Body"])["DDBStreamBatchInfo"]
        info = {**info, "endSequenceNumber": info.get("endSequenceNumber") or info["startSequenceNumber"]}
        if not all(isinstance(info[k], str) and info[k] for k in ("streamArn", "shardId")):
            return None
        if not all(isinstance(info[k], str) and info[k].isdigit()
                   for k in ("startSequenceNumber", "endSequenceNumber")):
            return None
        return info
    except (ValueError, KeyError, TypeError):
        return None


def _records(streams: Any, info: dict) -> tuple[list[dict], bool] | None:
    """The batch's records, from its first sequence number to its last, and whether they reach the last (the stream
    may have trimmed the rest); None when the stream no longer has any of them."""
    from botocore.exceptions import ClientError

    end = int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(StreamArn=info["streamArn"], ShardId=info["shardId"],
                                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                                              SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
        records: list[dict] = []
        empty_pages = 0
        while iterator and empty_pages < 3:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            batch = page.get("Records", [])
            empty_pages = 0 if batch else empty_pages + 1
            for record in batch:
                if int(record["dynamodb"]["SequenceNumber"]) > end:
                    return records, True
                records.append(record)
            if records and int(records[-1]["dynamodb"]["SequenceNumber"]) >= end:
                return records, True
            iterator = page.get("NextShardIterator")
        return records, False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _GONE:
            return None
        raise


@dataclass
class EventsRedrive:
    published: int = 0  # dead-lettered events published again
    batches: int = 0  # failed stream batches replayed through the events consumer
    records: int = 0
    expired: int = 0  # failed batches no longer in the stream: their changes have no event (reconcile from an export)
    left: list[str] = field(default_factory=list)  # messages that failed again (kept on the queue)

    def as_dict(self) -> dict:
        return {"published": self.published, "batches": self.batches, "records": self.records,
                "expired": self.expired, "left": len(self.left)}


def redrive_events(sqs: Any, streams: Any, services: Any, queue_url: str, timeout: float = 300,
                   progress: Callable[[str], None] = lambda message: None) -> EventsRedrive:
    """Empty the events dead-letter queue (until `timeout`): an event EventBridge kept refusing is published again;
    a stream batch the events consumer kept failing (Lambda's description of it) is read from the stream and handled
    again (`events.consumer.handle_records`: the same event ids, so consumers de-duplicate). A message that fails
    again stays on the queue."""
    from scim_endpoint.events import consumer

    result = EventsRedrive()
    for messages in _received(sqs, queue_url, timeout):
        for message in messages:
            done = _redrive_event(message, streams, services, result, consumer)
            if done:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                result.left.append(message["MessageId"])
        progress(f"{result.published} event(s) published again, {result.batches} batch(es) replayed, "
                 f"{len(result.left)} failed again")
    return result


def _redrive_event(message: dict, streams: Any, services: Any, result: EventsRedrive, consumer: Any) -> bool:
    """Whether the message is done with (and can leave the queue)."""
    try:
        body = json.loads(message["Body"])
    except (ValueError, KeyError, TypeError):
        return False
    if isinstance(body, dict) and isinstance(body.get("detail-type"), str) and isinstance(body.get("detail"), str):
        if services.event_bus.publish([(body["detail-type"], body["detail"])]).refused:
            return False
        result.published += 1
        return True
    info = _batch_info(message)
    if info is None:
        return False  # not a message of ours: left for a person to look at
    found = _records(streams, info)
    result.batches += 1
    if found is None or not found[1]:
        result.expired += 1
        if found is None:
            return True
    records = found[0]
    result.records += len(records)
    return not consumer.handle_records(services, records)["batchItemFailures"]
