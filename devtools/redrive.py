"""Replays what the table stream's consumer could not do: `scim-admin redrive-cleanup`.

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
from collections.abc import Callable
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
            progress: Callable[[str], None] = lambda message: None) -> Redrive:
    """Replay every message of the dead-letter queue (until it is empty or `timeout` seconds have passed)."""
    deadline = time.monotonic() + timeout
    result = Redrive()
    sweep_needed = False
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       VisibilityTimeout=120).get("Messages", [])
        if not messages:
            break
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
    if sweep_needed:
        progress("sweeping the table for memberships whose user or group is gone")
        result.memberships_deleted += cleanup.sweep(store)["memberships_deleted"]
        result.swept = True
    return result


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
