"""Each IdP's event feed, in the table: one item per event, in the order the events were written, kept for the
retention period (TTL), read page by page from a cursor.

The feed's partition key is `E#<idp>`, not `T#<idp>#…`: the stream's consumers take only `T#` keys (their filter),
so writing the feed starts no work of its own. The erasure deletes it with the rest of the tenant.

A reader never sees an event written later with a position before one it has already read: positions are the time
of writing (to the millisecond, then the stream's sequence number and the event id), a page shows only events written more than SETTLE_SECONDS ago,
and a write that took longer than half of that is written again at a fresh position (so every event becomes
visible at a position no reader has passed). An event may so appear twice, with the same id.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from ..scim.errors import Throttled
from .table import Table

SETTLE_SECONDS = 5.0
WRITE_ATTEMPTS = 3
EVENTS = "E#"


def feed_pk(idp_id: str) -> str:
    return f"{EVENTS}{idp_id}"


def position(written_ms: int, sequence: str = "", event_id: str = "") -> str:
    """Time of writing, then the stream's sequence number (a batch is written at one time, and a shard's next batch
    may be in the same millisecond), then the event id: unique, and in commit order per resource."""
    return f"{written_ms:013d}#{sequence:0>40}#{event_id}" if event_id else f"{written_ms:013d}#"


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not a cursor this API gave out") from None
    stamp, _, rest = sk.partition("#")
    sequence, _, event_id = rest.partition("#")
    if len(stamp) != 13 or not stamp.isdigit() or len(sequence) != 40 or not sequence.isdigit() or not event_id:
        raise ValueError("not a cursor this API gave out")
    return sk


class DynamoFeedStore:
    def __init__(self, table: Table, clock: Callable[[], float] = time.time):
        self._table = table
        self._clock = clock

    def append(self, entries: list[tuple[str, str, str]], retention_days: int) -> None:
        """Write events: (IdP id, stream sequence number, event id, the event's JSON) each, at the time of writing."""
        for _ in range(WRITE_ATTEMPTS):
            written = int(self._clock() * 1000)
            expires = int(self._clock()) + retention_days * 86400
            keys = [(feed_pk(idp), position(written, sequence, event_id)) for idp, sequence, event_id, _ in entries]
            self._table.batch_put([(pk, sk, {"event": {"S": text}, "expires_at": {"N": str(expires)}})
                                   for (pk, sk), (*_, text) in zip(keys, entries)])
            if not SETTLE_SECONDS or self._clock() * 1000 - written <= SETTLE_SECONDS * 500:
                return
            # Too slow to be sure no reader passed the position: again at a fresh one, and the stale copy goes.
            self._table.batch_delete(keys)
        raise Throttled("The event feed's writes were too slow to be ordered; retry.", retry_after=1)

    def page(self, idp_id: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Up to `limit` events' JSON after the position `after` (None: the oldest kept), all written more than
        SETTLE_SECONDS ago; and the position of the last (None if none)."""
        horizon = position(int((self._clock() - SETTLE_SECONDS) * 1000))
        low = (after or "") + "\x00"
        if low > horizon:
            return [], None  # a position not yet settled: nothing after it can be shown yet
        request: dict[str, Any] = {
            "TableName": self._table.name, "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": {"S": feed_pk(idp_id)}, ":low": {"S": low},
                                          ":high": {"S": horizon}},
            "ConsistentRead": True, "Limit": limit,
        }
        answer = self._table.call("query", **request)
        items = [self._table.item(raw) for raw in answer.get("Items", [])]
        return [item["event"] for item in items], (items[-1]["sk"] if items else None)

    def keys(self, idp_id: str, limit: int) -> list[tuple[str, str]]:
        """The keys of up to `limit` events of the IdP's feed, oldest first (the erasure deletes them page by page)."""
        answer = self._table.call("query", TableName=self._table.name, KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues={":pk": {"S": feed_pk(idp_id)}},
                                  ProjectionExpression="pk, sk", ConsistentRead=True, Limit=limit)
        return [(raw["pk"]["S"], raw["sk"]["S"]) for raw in answer.get("Items", [])]
