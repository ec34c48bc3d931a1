"""The table stream's second consumer (functions/events/): every committed change becomes its event (`changes`),
written to the IdP's feed (the table), then published on the stack's EventBridge bus.

A batch is handled record by record, in stream order. A record that cannot be made into its event (a malformed
image) stops the batch there: the events before it are written and published, and the answer names that record, so
Lambda retries from it (splitting the batch to isolate it, then dead-lettering it alone). The events are written to
the feeds before they are published; a failure of the feed write (or of the batch's reads) names the batch's first
record, so Lambda hands the whole batch over again (its events keep their ids: consumers de-duplicate on them).
Entries EventBridge still refuses after its retries go to the events dead-letter queue (an alarm; `scim-admin
redrive-events` publishes them again), never failing the batch: the feed has them.

An IdP erased already (a consumer late by more than its erasure took) gets no feed items any more (its feed is
gone with the rest of it), but its events are still published: the product hears of what happened before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import observability
from ..observability import logger
from ..store.registry import DELETED
from ..store.stream import MEMBERSHIP, Change, change_of
from .changes import detail, event_of
from .models import Event


class BatchLookup:
    """What the events of one batch need to know, read once for the batch: which groups and users of its
    memberships exist (strongly consistent), and since when each deleted IdP has been deleted."""

    def __init__(self, store: Any, changes: list[Change]):
        self._store = store
        self._found: dict[tuple[str, str], dict[str, dict]] = {}
        self._states: dict[str, tuple[float | None, bool]] = {}
        wanted: dict[tuple[str, str], set[str]] = {}
        for change in changes:
            if change.kind == MEMBERSHIP:
                wanted.setdefault((change.idp_id, "Group"), set()).add(change.group_id)
                wanted.setdefault((change.idp_id, "User"), set()).add(change.item_id)
        for (idp_id, resource_type), ids in wanted.items():
            found = store.resources.get_many(idp_id, resource_type, sorted(ids))
            self._found[(idp_id, resource_type)] = {i: stored.attributes for i, stored in found.items()}

    def existing(self, idp_id: str, resource_type: str, ids: list[str]) -> dict[str, dict]:
        known = self._found.get((idp_id, resource_type), {})
        return {i: known[i] for i in ids if i in known}

    def erasing_since(self, idp_id: str) -> float | None:
        """When the IdP's erasure began removing its items (epoch seconds), None while it has not."""
        return self._state(idp_id)[0]

    def erased(self, idp_id: str) -> bool:
        """Erased already (a tombstone): its feed is gone."""
        return self._state(idp_id)[1]

    def _state(self, idp_id: str) -> tuple[float | None, bool]:
        if idp_id not in self._states:
            record = self._store.registry.get(idp_id)
            since = None
            if record is not None and record.erasure.get("erasing_since"):
                since = _epoch(record.erasure["erasing_since"])
            self._states[idp_id] = (since, record is not None and record.state == DELETED)
        return self._states[idp_id]


def _epoch(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def handle_records(services: Any, records: list[dict]) -> dict:
    """Events of a batch of stream records: to the feeds, then to the bus. Returns Lambda's partial batch answer."""
    pairs: list[tuple[dict, Change]] = []
    stopped_at: dict | None = None
    for record in records:
        try:
            change = change_of(record)
        except Exception:
            logger.exception("a stream record could not be read", extra=_where(record))
            stopped_at = record
            break
        if change is not None:
            pairs.append((record, change))
    events: list[Event] = []
    try:
        lookup = BatchLookup(services.store, [change for _, change in pairs])
        for record, change in pairs:
            try:
                event = event_of(change, lookup, services.tenant_url)
            except Exception:
                logger.exception("a change could not be made into its event", extra=_where(record))
                stopped_at = record
                break
            if event is not None:
                events.append(event)
        kept = [e for e in events if not lookup.erased(e.idp_id)]
        if kept:
            services.store.feed.append([(e.idp_id, e.sequence, e.id, detail(e)) for e in kept],
                                       services.settings.event_retention_days)
    except Exception:
        logger.exception("events could not be written to the feed")
        return {"batchItemFailures": [{"itemIdentifier": _sequence(records[0])}]}
    if events:
        published = services.event_bus.publish([(e.type, detail(e)) for e in events])
        for detail_type, text in published.refused:
            services.events_dead_letters.send({"detail-type": detail_type, "detail": text})
        observability.count("EventsPublished", len(events) - len(published.refused))
        observability.count("EventsFailed", published.failed)
        observability.count("EventsDeadLettered", len(published.refused))
        logger.info("events published", extra={"events": len(events), "failed": published.failed,
                                               "dead_lettered": len(published.refused)})
    return {"batchItemFailures": [{"itemIdentifier": _sequence(stopped_at)}] if stopped_at else []}


def _sequence(record: dict) -> str:
    return str(record.get("dynamodb", {}).get("SequenceNumber", ""))


def _where(record: dict) -> dict:
    """The record's place in the stream, for the log (never its images: they hold people's data)."""
    return {"sequence_number": _sequence(record), "event_name": record.get("eventName")}
