"""An in-memory store with DynamoDB's semantics for what the use cases rely on, implementing
`scim_endpoint.store.interface`: every method is one atomic call (as one GetItem, Query or transaction is), with the
same conditions and the same domain errors, chosen in the same order, as the DynamoDB store. The contract suite
(tests/store) runs the same tests against both, so the two cannot drift.

It also keeps the table's stream (the records a real table would emit, with the real key formats) for the cleanup
consumer, and lets the race and fault harness (tests/usecases) stop a call at its boundary or make it fail.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from scim_endpoint.scim.errors import TooMany
from scim_endpoint.store import MemberWrites, Stored
from scim_endpoint.store.memberships import keyable, members_pk
from scim_endpoint.store.resources import GUARD_SK, MAX_SCANNED_RESOURCES, guard_pk, is_id, resource_pk
from scim_endpoint.store.table import GROUP, NO_CONDITION, VERSION, Why, cancellation_error, unique, user

# A hook run at the start of every call, with the call's name: the harness's boundary (it may block there, or raise
# a fault). After a write it is run again with "<name>:written" (a fault there is a timeout after the write).
Hook = Callable[[str], None]


class FakeState:
    """The table: resources, guards and memberships, and the stream of changes."""

    def __init__(self) -> None:
        self.resources: dict[tuple[str, str, str], Stored] = {}
        self.guards: dict[tuple[str, str, str, str], str] = {}  # -> owner id
        self.members: dict[tuple[str, str, str], dict] = {}  # (idp, group, user) -> member object
        # The inverse index (GSI1) as a reader sees it. With `index_lags`, it shows only what it had caught up with
        # (`catch_up_index`): DynamoDB's index is eventually consistent, and the harness makes it lag as far as it can.
        self.index_lags = False
        self.index: set[tuple[str, str, str]] = set()
        self.stream: list[dict] = []
        self.lock = threading.RLock()
        self.hook: Hook | None = None
        self.calls: list[str] = []
        self._sequence = itertools.count(1)

    def snapshot(self) -> tuple:
        with self.lock:
            return (copy.deepcopy(self.resources), dict(self.guards), copy.deepcopy(self.members))

    def emit(self, event: str, pk: str, sk: str) -> None:
        self.stream.append({"eventName": event, "dynamodb": {
            "Keys": {"pk": {"S": pk}, "sk": {"S": sk}}, "SequenceNumber": str(next(self._sequence)),
            "ApproximateCreationDateTime": time.time()}})

    def indexed(self) -> set[tuple[str, str, str]]:
        with self.lock:
            return set(self.index) if self.index_lags else set(self.members)

    def catch_up_index(self) -> None:
        with self.lock:
            self.index = set(self.members)

    def take_stream(self) -> list[dict]:
        with self.lock:
            records, self.stream = self.stream, []
        return records


class _Calls:
    def __init__(self, state: FakeState):
        self.state = state

    def _enter(self, name: str) -> None:
        self.state.calls.append(name)
        if self.state.hook is not None:
            self.state.hook(name)

    def _written(self, name: str) -> None:
        if self.state.hook is not None:
            self.state.hook(f"{name}:written")


def _fail(checks: list[tuple[Why, bool]]) -> None:
    """Raise what DynamoDB would, if any condition failed (`checks`: each action's meaning and whether it held)."""
    if any(not held for _, held in checks):
        codes = ["None" if held else "ConditionalCheckFailed" for _, held in checks]
        raise cancellation_error(codes, [why for why, _ in checks])


class FakeResources(_Calls):
    def get(self, idp_id: str, resource_type: str, resource_id: str) -> Stored | None:
        if not is_id(resource_id):
            return None
        self._enter("get")
        with self.state.lock:
            return copy.deepcopy(self.state.resources.get((idp_id, resource_type, resource_id)))

    def find_unique(self, idp_id: str, resource_type: str, attribute: str, value_key: str) -> Stored | None:
        self._enter("find_unique")
        with self.state.lock:
            owner = self.state.guards.get((idp_id, resource_type, attribute, value_key))
            return copy.deepcopy(self.state.resources.get((idp_id, resource_type, owner))) if owner else None

    def scan_tenant(self, idp_id: str, resource_type: str, unbounded: bool = False) -> Iterator[Stored]:
        self._enter("scan_tenant")
        with self.state.lock:
            found = sorted((r for (i, t, _), r in self.state.resources.items() if (i, t) == (idp_id, resource_type)),
                           key=lambda r: r.id)
            found = copy.deepcopy(found)
        for seen, stored in enumerate(found, start=1):
            if not unbounded and seen > MAX_SCANNED_RESOURCES:
                raise TooMany(f"This request would examine more than {MAX_SCANNED_RESOURCES} resources.")
            yield stored

    def after(self, idp_id: str, resource_type: str, after: str | None, batch: int) -> Iterator[Stored]:
        self._enter("after")
        with self.state.lock:
            found = sorted((r for (i, t, _), r in self.state.resources.items()
                            if (i, t) == (idp_id, resource_type) and (after is None or r.id > after)),
                           key=lambda r: r.id)
            found = copy.deepcopy(found)
        yield from found

    def count(self, idp_id: str, resource_type: str) -> int:
        self._enter("count")
        with self.state.lock:
            return sum(1 for (i, t, _) in self.state.resources if (i, t) == (idp_id, resource_type))

    def get_many(self, idp_id: str, resource_type: str, ids: list[str]) -> dict[str, Stored]:
        self._enter("get_many")
        with self.state.lock:
            return {i: copy.deepcopy(self.state.resources[(idp_id, resource_type, i)])
                    for i in ids if (idp_id, resource_type, i) in self.state.resources}

    def existing(self, idp_id: str, resource_type: str, ids: list[str]) -> set[str]:
        self._enter("existing")
        with self.state.lock:
            return {i for i in ids if (idp_id, resource_type, i) in self.state.resources}

    def create(self, idp_id: str, resource_type: str, stored: Stored, unique_keys: dict[str, str],
               members: MemberWrites | None = None) -> None:
        self._enter("create")
        state = self.state
        with state.lock:
            checks = [(unique("id"), (idp_id, resource_type, stored.id) not in state.resources)]
            checks += [(unique(a), (idp_id, resource_type, a, k) not in state.guards) for a, k in unique_keys.items()]
            checks += _member_checks(state, idp_id, members)
            _fail(checks)
            state.resources[(idp_id, resource_type, stored.id)] = dataclasses.replace(
                copy.deepcopy(stored), guards=dict(unique_keys))
            state.emit("INSERT", resource_pk(idp_id, resource_type), stored.id)
            for attribute, key in unique_keys.items():
                state.guards[(idp_id, resource_type, attribute, key)] = stored.id
                state.emit("INSERT", guard_pk(idp_id, resource_type, attribute, key), GUARD_SK)
            _apply_members(state, idp_id, members)
        self._written("create")

    def update(self, idp_id: str, resource_type: str, current: Stored, new: Stored,
               current_unique: dict[str, str], new_unique: dict[str, str],
               members: MemberWrites | None = None) -> None:
        self._enter("update")
        state = self.state
        with state.lock:
            there = state.resources.get((idp_id, resource_type, current.id))
            checks = [(VERSION, there is not None and there.version == current.version)]
            for attribute in sorted(set(current_unique) | set(new_unique)):
                old, new_key = current_unique.get(attribute), new_unique.get(attribute)
                if old is not None:
                    checks.append((VERSION, state.guards.get((idp_id, resource_type, attribute, old)) == current.id))
                if new_key is not None and new_key != old:
                    checks.append((unique(attribute), (idp_id, resource_type, attribute, new_key) not in state.guards))
            checks += _member_checks(state, idp_id, members)
            _fail(checks)
            state.resources[(idp_id, resource_type, current.id)] = dataclasses.replace(
                copy.deepcopy(new), guards=dict(new_unique))
            state.emit("MODIFY", resource_pk(idp_id, resource_type), current.id)
            for attribute in sorted(set(current_unique) | set(new_unique)):
                old, new_key = current_unique.get(attribute), new_unique.get(attribute)
                if old is not None and old != new_key:
                    del state.guards[(idp_id, resource_type, attribute, old)]
                    state.emit("REMOVE", guard_pk(idp_id, resource_type, attribute, old), GUARD_SK)
                if new_key is not None:
                    existed = (idp_id, resource_type, attribute, new_key) in state.guards
                    state.guards[(idp_id, resource_type, attribute, new_key)] = current.id
                    state.emit("MODIFY" if existed else "INSERT", guard_pk(idp_id, resource_type, attribute, new_key),
                               GUARD_SK)
            _apply_members(state, idp_id, members)
        self._written("update")

    def delete(self, idp_id: str, resource_type: str, current: Stored, unique_keys: dict[str, str],
               memberships_of_user: list[str] = ()) -> None:
        self._enter("delete")
        state = self.state
        with state.lock:
            there = state.resources.get((idp_id, resource_type, current.id))
            checks = [(VERSION, there is not None and there.version == current.version)]
            checks += [(VERSION, state.guards.get((idp_id, resource_type, a, k)) == current.id)
                       for a, k in unique_keys.items()]
            checks += [(NO_CONDITION, True) for _ in memberships_of_user]
            _fail(checks)
            del state.resources[(idp_id, resource_type, current.id)]
            state.emit("REMOVE", resource_pk(idp_id, resource_type), current.id)
            for attribute, key in unique_keys.items():
                del state.guards[(idp_id, resource_type, attribute, key)]
                state.emit("REMOVE", guard_pk(idp_id, resource_type, attribute, key), GUARD_SK)
            for group_id in memberships_of_user:
                if state.members.pop((idp_id, group_id, current.id), None) is not None:
                    state.emit("REMOVE", members_pk(idp_id, group_id), current.id)
        self._written("delete")

    @staticmethod
    def update_size(current_unique: dict[str, str], new_unique: dict[str, str]) -> int:
        from scim_endpoint.store.resources import DynamoResourceStore

        return DynamoResourceStore.update_size(current_unique, new_unique)

    @staticmethod
    def create_size(unique_keys: dict[str, str]) -> int:
        from scim_endpoint.store.resources import DynamoResourceStore

        return DynamoResourceStore.create_size(unique_keys)


def _member_checks(state: FakeState, idp_id: str, writes: MemberWrites | None) -> list[tuple[Why, bool]]:
    from scim_endpoint.store import GroupGone, UnknownMember

    if writes is None:
        return []
    if not keyable(writes.group_id):
        raise GroupGone()
    unkeyable = next((m["value"] for m in writes.adds if not keyable(m["value"])), None)
    if unkeyable is not None:
        raise UnknownMember(unkeyable)
    checks: list[tuple[Why, bool]] = []
    group = state.resources.get((idp_id, "Group", writes.group_id))
    if not writes.group_checked:
        if writes.group_version is None:
            checks.append((GROUP, group is not None))
        else:
            checks.append((VERSION, group is not None and group.version == writes.group_version))
    for member in writes.adds:
        checks.append((NO_CONDITION, True))
        checks.append((user(member["value"]), (idp_id, "User", member["value"]) in state.resources))
    checks += [(NO_CONDITION, True) for _ in writes.removes]
    return checks


def _apply_members(state: FakeState, idp_id: str, writes: MemberWrites | None) -> None:
    if writes is None:
        return
    for member in writes.adds:
        key = (idp_id, writes.group_id, member["value"])
        existed = key in state.members
        state.members[key] = copy.deepcopy(member)
        state.emit("MODIFY" if existed else "INSERT", members_pk(idp_id, writes.group_id), member["value"])
    for user_id in writes.removes:
        if state.members.pop((idp_id, writes.group_id, user_id), None) is not None:
            state.emit("REMOVE", members_pk(idp_id, writes.group_id), user_id)


class FakeMemberships(_Calls):
    def get_member(self, idp_id: str, group_id: str, user_id: str) -> dict | None:
        if not (keyable(group_id) and keyable(user_id)):
            return None
        self._enter("get_member")
        with self.state.lock:
            return copy.deepcopy(self.state.members.get((idp_id, group_id, user_id)))

    def members(self, idp_id: str, group_id: str, limit: int | None) -> list[dict]:
        if not keyable(group_id):
            return []
        self._enter("members")
        with self.state.lock:
            found = [copy.deepcopy(m) for (i, g, u), m in sorted(self.state.members.items())
                     if (i, g) == (idp_id, group_id)]
        if limit is not None and len(found) > limit:
            raise TooMany(f"The group has more than {limit} members, more than one response may carry.")
        return found

    def member_ids(self, idp_id: str, group_id: str) -> Iterator[str]:
        if not keyable(group_id):
            return iter(())
        self._enter("member_ids")
        with self.state.lock:
            return iter(sorted(u for (i, g, u) in self.state.members if (i, g) == (idp_id, group_id)))

    def groups_of(self, idp_id: str, user_id: str) -> list[str]:
        if not keyable(user_id):
            return []
        self._enter("groups_of")
        return sorted(g for (i, g, u) in self.state.indexed() if (i, u) == (idp_id, user_id))

    def write(self, idp_id: str, writes: MemberWrites) -> None:
        self._enter("write")
        with self.state.lock:
            _fail(_member_checks(self.state, idp_id, writes))
            _apply_members(self.state, idp_id, writes)
        self._written("write")

    def all_memberships(self) -> Iterator[tuple[str, str, str]]:
        self._enter("all_memberships")
        with self.state.lock:
            return iter(sorted(self.state.members))

    def delete_members(self, idp_id: str, group_id: str, user_ids: Iterable[str]) -> int:
        user_ids = list(user_ids)
        self._enter("delete_members")
        deleted = 0
        with self.state.lock:
            for user_id in user_ids:
                if self.state.members.pop((idp_id, group_id, user_id), None) is not None:
                    self.state.emit("REMOVE", members_pk(idp_id, group_id), user_id)
                deleted += 1
        return deleted

    def delete_memberships_of(self, idp_id: str, user_id: str, deleted_at: float | None = None) -> int:
        if deleted_at is not None:  # DynamoDB's waits until the index shows what was written before the deletion
            self.state.catch_up_index()
        return sum(self.delete_members(idp_id, group_id, [user_id]) for group_id in self.groups_of(idp_id, user_id))


class FakeStore:
    """`resources` and `memberships` over one in-memory table (`state`)."""

    def __init__(self, state: FakeState | None = None):
        self.state = state or FakeState()
        self.resources = FakeResources(self.state)
        self.memberships = FakeMemberships(self.state)
