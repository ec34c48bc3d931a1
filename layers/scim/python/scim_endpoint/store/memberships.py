"""The memberships half of the store: one item per member, keyed by group and user, with the inverse index GSI1 for
a user's groups.

| item        | pk                               | sk          | GSI1 (gsi1pk, gsi1sk)                     |
|-------------|----------------------------------|-------------|-------------------------------------------|
| membership  | `T#<idp>#Members#<group id>`     | `<user id>` | `T#<idp>#MemberOf#<user id>`, `<group id>` |

Every transaction that adds a membership checks, in that transaction, that the user exists, and that the group
exists (or is still at the version its writer read): a membership is never written for a user or group that is gone.
Adding a member twice or removing an absent one changes nothing, so a request that failed part-way finishes when it
is retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..scim.errors import TooMany
from .table import GROUP, MAX_TRANSACTION_ITEMS, NO_CONDITION, VERSION, GroupGone, Table, UnknownMember, Why, user

# DynamoDB refuses a sort key longer than this, and an empty one. User and group ids are sort keys, so a longer or
# empty one a client sends (`members eq ""`) names no member.
MAX_SORT_KEY_BYTES = 1024


def members_pk(idp_id: str, group_id: str) -> str:
    return f"T#{idp_id}#Members#{group_id}"


def member_of_pk(idp_id: str, user_id: str) -> str:
    """The inverse index's key: a user's memberships, whatever the group."""
    return f"T#{idp_id}#MemberOf#{user_id}"


def keyable(some_id: str) -> bool:
    return 0 < len(some_id.encode()) <= MAX_SORT_KEY_BYTES


@dataclass(frozen=True)
class MemberWrites:
    """Membership writes of one group, for one transaction: members to add (objects with the user id in `value`),
    user ids to remove, and what the group must be for them to apply: present (`group_version` None) or still at
    the version its writer read. When the group's own item is written in the same transaction, that write carries
    the condition (`group_checked`)."""

    group_id: str
    adds: list[dict] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    group_version: int | None = None
    group_checked: bool = False

    def size(self) -> int:
        """Actions in a transaction: per addition the membership and its user's check, per removal one, and the
        group's check unless its own write carries it."""
        return 2 * len(self.adds) + len(self.removes) + (0 if self.group_checked else 1)


# Membership writes one transaction of its own holds at most (with the group's check).
MAX_TRANSACTION_ACTIONS = MAX_TRANSACTION_ITEMS


def removal(table: Table, idp_id: str, group_id: str, user_id: str) -> dict:
    return table.delete(members_pk(idp_id, group_id), user_id)


def write_actions(table: Table, idp_id: str, writes: MemberWrites) -> tuple[list[dict], list[Why]]:
    """The actions of `writes` (see MemberWrites), with what a failed condition on each means. An id no key can hold
    names no user or group: UnknownMember or GroupGone, without a call (a removal of it is nothing to do)."""
    from .resources import resource_pk

    if not keyable(writes.group_id):
        raise GroupGone()
    unkeyable = next((m["value"] for m in writes.adds if not keyable(m["value"])), None)
    if unkeyable is not None:
        raise UnknownMember(unkeyable)
    actions: list[dict] = []
    why: list[Why] = []
    if not writes.group_checked:
        if writes.group_version is None:
            actions.append(table.check(resource_pk(idp_id, "Group"), writes.group_id, "attribute_exists(pk)"))
            why.append(GROUP)
        else:
            actions.append(table.check(resource_pk(idp_id, "Group"), writes.group_id, "version = :version",
                                       {":version": {"N": str(writes.group_version)}}))
            why.append(VERSION)
    for member in writes.adds:
        user_id = member["value"]
        actions.append(table.put(members_pk(idp_id, writes.group_id), user_id, {
            "member": table.serialize(member),
            "gsi1pk": {"S": member_of_pk(idp_id, user_id)},
            "gsi1sk": {"S": writes.group_id},
        }))
        why.append(NO_CONDITION)
        actions.append(table.check(resource_pk(idp_id, "User"), user_id, "attribute_exists(pk)"))
        why.append(user(user_id))
    for user_id in writes.removes:
        if keyable(user_id):
            actions.append(removal(table, idp_id, writes.group_id, user_id))
            why.append(NO_CONDITION)
    return actions, why


# How long after a user's deletion its memberships are read from the inverse index (GSI1) by the cleanup: DynamoDB
# propagates a write to a GSI within a second, so twice that.
INDEX_SETTLE_SECONDS = 2.0


class DynamoMembershipStore:
    def __init__(self, table: Table, index_settle_seconds: float = INDEX_SETTLE_SECONDS,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self._table = table
        self._index_settle_seconds = index_settle_seconds
        self._clock = clock
        self._sleep = sleep

    def get_member(self, idp_id: str, group_id: str, user_id: str) -> dict | None:
        if not (keyable(group_id) and keyable(user_id)):
            return None
        item = self._table.get_item(members_pk(idp_id, group_id), user_id)
        return item["member"] if item else None

    def members(self, idp_id: str, group_id: str, limit: int | None) -> list[dict]:
        """A group's members in a stable order (by user id), strongly consistent; TooMany beyond `limit`."""
        if not keyable(group_id):
            return []
        found = []
        for item in self._table.query(members_pk(idp_id, group_id), ProjectionExpression="#m", names={"#m": "member"}):
            if limit is not None and len(found) == limit:
                raise TooMany(
                    f"The group has more than {limit} members, more than one response may carry; read it with "
                    "excludedAttributes=members, and check a member with filter=id eq \"…\" and members eq \"…\"."
                )
            found.append(item["member"])
        return found

    def member_ids(self, idp_id: str, group_id: str) -> Iterator[str]:
        """The user ids of a group's members, strongly consistent."""
        if not keyable(group_id):
            return iter(())
        return (item["sk"] for item in self._table.query(members_pk(idp_id, group_id), ProjectionExpression="sk"))

    def groups_of(self, idp_id: str, user_id: str) -> list[str]:
        """The ids of the groups a user is a member of: GSI1, which is eventually consistent (a membership written a
        moment ago may be missing; its readers say why that is safe)."""
        if not keyable(user_id):
            return []
        return [item["gsi1sk"] for item in self._table.query(
            member_of_pk(idp_id, user_id), index="GSI1", key="gsi1pk", ProjectionExpression="gsi1sk")]

    def write(self, idp_id: str, writes: MemberWrites) -> None:
        """One transaction of membership writes (at most MAX_TRANSACTION_ACTIONS actions: `writes.size()`). Raises
        GroupGone (the group is gone), VersionConflict (the group changed since `group_version`), UnknownMember (a
        user to add is gone), Contention, Throttled."""
        actions, why = write_actions(self._table, idp_id, writes)
        self._table.transact(actions, why)

    def all_memberships(self) -> Iterator[tuple[str, str, str]]:
        """(IdP id, group id, user id) of every membership item of the table: a Scan of the inverse index (which
        holds membership items only), for maintenance only (the sweep after lost cleanup batches), never on a
        request's path."""
        for item in self._table.scan(IndexName="GSI1", ProjectionExpression="pk, sk"):
            parts = item["pk"].split("#", 3)
            if len(parts) == 4 and parts[0] == "T" and parts[2] == "Members":
                yield parts[1], parts[3], item["sk"]

    def delete_members(self, idp_id: str, group_id: str, user_ids: Iterable[str]) -> int:
        """Delete membership items in batches of 25 (not atomic; unprocessed items retried). Returns how many."""
        pk = members_pk(idp_id, group_id)
        return self._table.batch_delete((pk, user_id) for user_id in user_ids if keyable(user_id))

    def delete_memberships_of(self, idp_id: str, user_id: str, deleted_at: float | None = None) -> int:
        """Remove a user from every group the inverse index shows. Given when the user was deleted (epoch seconds),
        first wait until the index shows every membership written before then: writes reach a GSI within a second
        (docs/data-model.md), so INDEX_SETTLE_SECONDS after the deletion nothing written before it is missing."""
        if deleted_at is not None:
            self._sleep(max(0.0, min(deleted_at + self._index_settle_seconds - self._clock(),
                                     self._index_settle_seconds)))
        return self._table.batch_delete(
            (members_pk(idp_id, group_id), user_id) for group_id in self.groups_of(idp_id, user_id))
