"""Erasing a deleted IdP: every item of its tenant in the table, its event feed, its exports, its secret, then its
registry items,
leaving a tombstone (the id, and when it was deleted) so the id is never reused.

Run by the jobs function, in steps that each fit one invocation: the first waits until the IdP has admitted no
request for ERASURE_GRACE_SECONDS (longer than any request admitted just before its deletion can run, so nothing of
the tenant is written once the erasure reads the table); then it reads the whole table with a Scan filtered on the
tenant's key prefix, deleting what it finds and saving its place after every page, so a step that stops (or fails)
is resumed where it was by the next. A Scan, because nothing of the tenant may escape it, whatever kind of item it
is: its cost is the table's size once per erasure (docs/management-api.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ..export_bucket import export_prefix
from ..observability import logger
from ..store.registry import DELETED, DELETING, decode_cursor, encode_cursor
from ..tenants import now_text, parse_time
from . import Services

ERASE_JOB = "erase"
FEED_SWEEP_JOB = "sweep-feed"
# After an erasure, when its feed is swept again: longer than the events consumer's timeout (SQS's longest delay).
FEED_SWEEP_DELAY_SECONDS = 900
# Scan pages read between two saves of the erasure's place.
PAGES_PER_SAVE = 5
# Feed events deleted per page in the finishing phase.
FEED_KEYS_PER_PAGE = 1000
# How long an erased IdP's tombstone is kept (then DynamoDB's TTL removes it).
TOMBSTONE_DAYS = 365


def erase_step(services: Services, idp_id: str, budget_seconds: float,
               clock: Callable[[], float] = time.monotonic) -> bool:
    """One step of the IdP's erasure, within `budget_seconds`; True when it is finished (or there is nothing to do),
    False when the step queued the next (a wait, or more to read)."""
    registry = services.store.registry
    record = registry.get(idp_id)
    if record is None or record.state != DELETING:
        return True  # erased already, or never deleted: nothing to do
    started = clock()
    since = parse_time(record.deleting_since) if record.deleting_since else datetime.now(timezone.utc)
    wait = (since + timedelta(seconds=services.settings.erasure_grace_seconds) - datetime.now(timezone.utc))
    if wait.total_seconds() > 0:
        services.jobs.submit({"job": ERASE_JOB, "idp_id": idp_id}, delay_seconds=wait.total_seconds())
        return False
    progress = {"phase": "erasing", "deleted": 0, "cursor": None, **record.erasure}
    progress["phase"] = "erasing" if progress["phase"] == "waiting" else progress["phase"]
    # From now on every removal of the tenant's items is the erasure's: the events consumer makes none of them.
    progress.setdefault("erasing_since", now_text())
    if progress["phase"] == "erasing":
        cursor = decode_cursor(progress["cursor"])
        while True:
            keys, cursor = registry.tenant_keys(idp_id, cursor, PAGES_PER_SAVE)
            progress["deleted"] += registry.delete_keys(keys)
            progress["cursor"] = encode_cursor(cursor)
            if cursor is None:
                progress["phase"] = "finishing"
            registry.save_erasure(idp_id, progress)
            if cursor is None:
                break
            if clock() - started > budget_seconds:
                services.jobs.submit({"job": ERASE_JOB, "idp_id": idp_id})
                return False
    # Finishing: each part is done again harmlessly if a step stops here. First the IdP's event feed (outside the
    # tenant's key prefix), a page at a time.
    while keys := services.store.feed.keys(idp_id, FEED_KEYS_PER_PAGE):
        progress["deleted"] += registry.delete_keys(keys)
        if clock() - started > budget_seconds:
            registry.save_erasure(idp_id, progress)
            services.jobs.submit({"job": ERASE_JOB, "idp_id": idp_id})
            return False
    # The exports' records before their objects: an export finishing meanwhile finds no record to complete, and
    # deletes its object itself (export.run); one that completed before is deleted here.
    progress["deleted"] += registry.delete_keys(registry.registry_keys(idp_id))
    if services.settings.export_bucket:
        services.exports.delete_prefix(export_prefix(idp_id))
    services.directory.delete(idp_id)
    expires = int(time.time()) + TOMBSTONE_DAYS * 86400
    registry.tombstone(idp_id, now_text(), expires, progress.get("erasing_since"))
    # A batch of the events consumer under way as the feed went may still write to it: swept again once such a batch
    # has surely ended (a consumer that reads the tombstone writes no more).
    services.jobs.submit({"job": FEED_SWEEP_JOB, "idp_id": idp_id}, delay_seconds=FEED_SWEEP_DELAY_SECONDS)
    logger.info("idp erased", extra={"idp_id": idp_id, "items_deleted": progress["deleted"]})
    return True


def sweep_feed(services: Services, idp_id: str) -> int:
    """Delete what an erased IdP's feed still holds (see erase_step); how many items."""
    record = services.store.registry.get(idp_id)
    if record is None or record.state != DELETED:
        return 0  # never erased (or its tombstone expired): nothing of ours to sweep
    deleted = 0
    while keys := services.store.feed.keys(idp_id, FEED_KEYS_PER_PAGE):
        deleted += services.store.registry.delete_keys(keys)
    if deleted:
        logger.info("an erased idp's feed swept", extra={"idp_id": idp_id, "items_deleted": deleted})
    return deleted
