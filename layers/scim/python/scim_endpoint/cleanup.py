"""Deletes what a removed group or user leaves behind: their membership items.

Run by the table's stream (template.yaml: CleanupFunction) for every removed item. A group's removal is one
transaction that makes it gone for every reader at once; its members, possibly 100,000 of them, are deleted here,
in batches, after the fact. A user leaves its groups before it is removed (users.delete); this catches a membership
added in between. Both are idempotent, so a retried batch of records does no harm.
"""

from __future__ import annotations

from .observability import logger
from .store import Store


def handle_records(store: Store, records: list[dict]) -> dict:
    groups = users = memberships = 0
    for record in records:
        if record.get("eventName") != "REMOVE":
            continue
        keys = record.get("dynamodb", {}).get("Keys", {})
        pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
        parts = pk.split("#")
        if len(parts) != 3 or parts[0] != "T":
            continue  # guards and membership items leave nothing behind
        idp_id, kind = parts[1], parts[2]
        if kind == "Group":
            memberships += store.delete_members(idp_id, sk, store.member_ids(idp_id, sk))
            groups += 1
        elif kind == "User":
            memberships += store.delete_memberships_of(idp_id, sk)
            users += 1
    summary = {"groups": groups, "users": users, "memberships_deleted": memberships}
    logger.info("cleanup done", extra=summary)
    return summary
