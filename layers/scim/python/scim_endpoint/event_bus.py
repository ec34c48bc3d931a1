"""The stack's EventBridge bus: the only module that talks to EventBridge. Events go out with PutEvents, ten at a
time; entries EventBridge refuses are sent again (with back-off) and, after that, handed back to the caller, which
dead-letters them."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

PUT_EVENTS_ENTRIES = 10  # EventBridge's limits per call: entries, and their total size (as it counts it)
PUT_EVENTS_BYTES = 256 * 1024
ATTEMPTS = 4


@dataclass
class Published:
    refused: list[tuple[str, str]] = field(default_factory=list)  # still refused after every attempt
    failed: int = 0  # entries refused on their first attempt


class EventBus:
    def __init__(self, client: Any, bus_name: str, source: str, sleep: Callable[[float], None] = time.sleep):
        self._client = client
        self._bus = bus_name
        self._source = source
        self._sleep = sleep

    def publish(self, entries: list[tuple[str, str]]) -> Published:
        """Send (detail-type, detail JSON) entries: those EventBridge still refused after ATTEMPTS, and how many
        entries it refused on some attempt."""
        result = Published()
        for pending in self._requests(entries):
            for attempt in range(ATTEMPTS):
                pending = self._put(pending)
                if not pending:
                    break
                if attempt == 0:
                    result.failed += len(pending)
                if attempt + 1 < ATTEMPTS:
                    self._sleep(random.uniform(0, min(2.0, 0.1 * 2**attempt)))
            result.refused += pending
        return result

    def _requests(self, entries: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
        """The entries in calls of at most PUT_EVENTS_ENTRIES and PUT_EVENTS_BYTES (else EventBridge refuses the
        whole call), in order."""
        calls: list[list[tuple[str, str]]] = []
        size = 0
        for entry in entries:
            entry_size = self.size(entry)
            if not calls or len(calls[-1]) == PUT_EVENTS_ENTRIES or size + entry_size > PUT_EVENTS_BYTES:
                calls.append([])
                size = 0
            calls[-1].append(entry)
            size += entry_size
        return calls

    def size(self, entry: tuple[str, str]) -> int:
        """An entry's size as EventBridge counts it: source, detail-type and detail in UTF-8, and 14 for its time."""
        detail_type, detail = entry
        return 14 + len(self._source.encode()) + len(detail_type.encode()) + len(detail.encode())

    def _put(self, entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """One PutEvents call; the entries it failed (all of them when the call itself failed)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.put_events(Entries=[
                {"EventBusName": self._bus, "Source": self._source, "DetailType": detail_type, "Detail": detail}
                for detail_type, detail in entries])
        except (ClientError, BotoCoreError):
            return entries
        if not answer.get("FailedEntryCount"):
            return []
        return [entry for entry, result in zip(entries, answer.get("Entries", [])) if result.get("ErrorCode")]


@cache
def event_bus() -> EventBus:
    import boto3
    from botocore.config import Config

    from .config import settings
    from .events.models import SOURCE

    name = settings().event_bus_name
    if not name:
        raise RuntimeError("EVENT_BUS_NAME is not set: this function has no event bus")
    return EventBus(boto3.client("events", config=Config(connect_timeout=2, read_timeout=5,
                                                         retries={"mode": "standard"})), name, SOURCE)
