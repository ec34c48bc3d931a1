"""The table stream's consumer: what a removed group or user leaves behind, and memberships written for a user or
group that was gone by the time they landed.

Run by the table's stream (template.yaml: CleanupFunction) for every insertion and removal, in batches:

- a group's removal is one transaction that makes it gone for every reader at once; its members, possibly 100,000 of
  them, are deleted here, in batches, after the fact (a strongly consistent Query of the group's member partition);
- a user's removal deletes the memberships its own transaction could not (more than fit, or written a moment before
  and not yet in the eventually consistent inverse index): those the index shows once it has caught up with the
  deletion (a write reaches it within a second; the consumer reads it INDEX_SETTLE_SECONDS after the deletion);
- a membership's insertion is checked against its user and group (one consistent BatchGetItem): if either is gone,
  the membership goes too. Every write of a membership checked both in its own transaction, so this only finds a
  membership whose user or group was deleted just after, before the index could show it to that deletion.

Every step is idempotent, so a retried batch does no harm. A record that fails stops the batch there: it and the
records after it are reported (`batchItemFailures`) and retried by Lambda; after the retries, the batch goes to the
dead-letter queue, from which `scim-admin redrive-cleanup` replays it.
"""

from __future__ import annotations

from .observability import logger
from .store.interface import StoreInterface
from .store.stream import written_at


def handle_records(store: StoreInterface, records: list[dict]) -> dict:
    counts = {"groups": 0, "users": 0, "memberships_checked": 0, "memberships_deleted": 0}
    for record in records:
        try:
            _handle(store, record, counts)
        except Exception:
            logger.exception("cleanup failed on a stream record",
                             extra={"event_name": record.get("eventName"), **_where(record)})
            logger.info("cleanup stopped", extra=counts)
            sequence = record.get("dynamodb", {}).get("SequenceNumber", "")
            return {**counts, "batchItemFailures": [{"itemIdentifier": sequence}]}
    logger.info("cleanup done", extra=counts)
    return {**counts, "batchItemFailures": []}


def _handle(store: StoreInterface, record: dict, counts: dict) -> None:
    keys = record.get("dynamodb", {}).get("Keys", {})
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    parts = pk.split("#")
    if len(parts) < 3 or parts[0] != "T":
        return
    idp_id, kind = parts[1], parts[2]
    event = record.get("eventName")
    if event == "REMOVE" and len(parts) == 3 and kind == "Group":
        counts["memberships_deleted"] += store.memberships.delete_members(
            idp_id, sk, store.memberships.member_ids(idp_id, sk))
        counts["groups"] += 1
    elif event == "REMOVE" and len(parts) == 3 and kind == "User":
        # Read once the index shows every membership written before the deletion (its own read may have missed one).
        counts["memberships_deleted"] += store.memberships.delete_memberships_of(idp_id, sk, written_at(record))
        counts["users"] += 1
    elif event == "INSERT" and len(parts) == 4 and kind == "Members":
        group_id, user_id = parts[3], sk
        counts["memberships_checked"] += 1
        user_there = bool(store.resources.existing(idp_id, "User", [user_id]))
        group_there = bool(store.resources.existing(idp_id, "Group", [group_id]))
        if not (user_there and group_there):
            counts["memberships_deleted"] += store.memberships.delete_members(idp_id, group_id, [user_id])


def sweep(store: StoreInterface) -> dict:
    """Delete every membership whose user or group is gone, in the whole table: what the cleanup of a lost batch
    would have done, when its stream records can no longer be read (after 24 hours). A Scan: maintenance only,
    run by `scim-admin redrive-cleanup`, never on a request's path."""
    by_idp: dict[str, list[tuple[str, str]]] = {}
    for idp_id, group_id, user_id in store.memberships.all_memberships():
        by_idp.setdefault(idp_id, []).append((group_id, user_id))
    checked = deleted = 0
    for idp_id, memberships in by_idp.items():
        users = store.resources.existing(idp_id, "User", list({u for _, u in memberships}))
        groups = store.resources.existing(idp_id, "Group", list({g for g, _ in memberships}))
        for group_id, user_id in memberships:
            checked += 1
            if user_id not in users or group_id not in groups:
                deleted += store.memberships.delete_members(idp_id, group_id, [user_id])
    summary = {"memberships_checked": checked, "memberships_deleted": deleted}
    logger.info("sweep done", extra=summary)
    return summary


def _where(record: dict) -> dict:
    """The record's place in the stream, for the log: never its keys (they hold ids, not personal data, but a log
    line about a failure needs only where to look)."""
    change = record.get("dynamodb", {})
    return {"sequence_number": change.get("SequenceNumber"), "event_source": record.get("eventSourceARN")}
