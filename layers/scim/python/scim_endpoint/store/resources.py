"""The resources half of the store: users and groups, and the uniqueness guards written with them.

| item              | pk                                   | sk       |
|-------------------|--------------------------------------|----------|
| resource          | `T#<idp>#<type>`                     | `<id>`   |
| uniqueness guard  | `T#<idp>#<type>#<attr>#<value key>`  | `UNIQUE` |

`type` is `User` or `Group`. A guard owns a unique value (a canonical caseless `userName`, an `externalId`) and
carries a copy of its resource, so `filter=userName eq "…"` is one consistent GetItem. Resources and guards are
written in one transaction, so uniqueness holds without read-then-write races. A change of a group's attributes may
carry membership writes in the same transaction (`members`), and a user's deletion the removal of its memberships.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..scim.errors import TooMany
from . import memberships
from .table import NO_CONDITION, VERSION, Table, Why, unique

GUARD_SK = "UNIQUE"
# Filters that cannot be answered from keys read the tenant's resources page by page; beyond this many the
# request is refused with 400 tooMany rather than risk API Gateway's 29 s limit (see docs/limits.md).
MAX_SCANNED_RESOURCES = 50_000
# Ids this service gives out are UUIDs; `get` answers "none" for anything longer, or empty, without a call (DynamoDB
# refuses an empty key).
MAX_ID_BYTES = 256


@dataclass(frozen=True)
class Stored:
    """A resource as kept: its SCIM attributes (without `id` and `meta`) and the bookkeeping around them."""

    id: str
    attributes: dict
    created: str
    last_modified: str
    version: int
    password: str | None = None  # a salted hash, never the password; never shown to clients
    # The guard keys the resource holds (attribute -> value key), as recorded when it was written: a change or a
    # deletion moves exactly these, even if the way keys are made changes. None: written before they were recorded.
    guards: dict[str, str] | None = None


def resource_pk(idp_id: str, resource_type: str) -> str:
    return f"T#{idp_id}#{resource_type}"


def guard_pk(idp_id: str, resource_type: str, attribute: str, value_key: str) -> str:
    return f"T#{idp_id}#{resource_type}#{attribute}#{value_key}"


def is_id(resource_id: str) -> bool:
    return 0 < len(resource_id.encode()) <= MAX_ID_BYTES


def _stored(item: dict) -> Stored:
    return Stored(
        id=item["id"],
        attributes=item["resource"],
        created=item["created"],
        last_modified=item["lastModified"],
        version=int(item["version"]),
        password=item.get("password"),
        guards=item.get("guards"),
    )


class DynamoResourceStore:
    def __init__(self, table: Table):
        self._table = table

    # -- reads: all strongly consistent (each may decide a write) ------------------------------------------------

    def get(self, idp_id: str, resource_type: str, resource_id: str) -> Stored | None:
        if not is_id(resource_id):
            return None
        item = self._table.get_item(resource_pk(idp_id, resource_type), resource_id)
        return _stored(item) if item else None

    def find_unique(self, idp_id: str, resource_type: str, attribute: str, value_key: str) -> Stored | None:
        """The resource owning a unique value (one GetItem on its guard), or None."""
        item = self._table.get_item(guard_pk(idp_id, resource_type, attribute, value_key), GUARD_SK)
        return _stored(item) if item else None

    def scan_tenant(self, idp_id: str, resource_type: str, unbounded: bool = False) -> Iterator[Stored]:
        """Every resource of a type for one tenant, in id order: a Query of the tenant's partition, never a Scan.
        TooMany beyond MAX_SCANNED_RESOURCES, unless `unbounded` (an export, which no request's time bounds)."""
        for seen, item in enumerate(self._table.query(resource_pk(idp_id, resource_type)), start=1):
            if not unbounded and seen > MAX_SCANNED_RESOURCES:
                raise TooMany(
                    f"This request would examine more than {MAX_SCANNED_RESOURCES} resources; "
                    "filter on a unique attribute (userName, displayName, externalId) or id instead."
                )
            yield _stored(item)

    def count(self, idp_id: str, resource_type: str) -> int:
        return self._table.count(resource_pk(idp_id, resource_type))

    def after(self, idp_id: str, resource_type: str, after: str | None, batch: int) -> Iterator[Stored]:
        """The tenant's resources of a type in id order, from just after the id `after` (from the first for None):
        one Query of `batch` items each time the caller reads past the last batch, starting where the last one ended
        (so a page at any depth costs what the first one costs)."""
        start = {"ExclusiveStartKey": self._table.key(resource_pk(idp_id, resource_type), after)} if after else {}
        for item in self._table.query(resource_pk(idp_id, resource_type), Limit=batch, **start):
            yield _stored(item)

    def get_many(self, idp_id: str, resource_type: str, ids: list[str]) -> dict[str, Stored]:
        """Resources by id (BatchGetItem); missing ids are absent."""
        pk = resource_pk(idp_id, resource_type)
        return {item["id"]: _stored(item) for item in self._table.batch_get([(pk, i) for i in ids if is_id(i)])}

    def existing(self, idp_id: str, resource_type: str, ids: list[str]) -> set[str]:
        """Which of these ids exist: as `get_many`, reading only the keys."""
        pk = resource_pk(idp_id, resource_type)
        keys = [(pk, i) for i in ids if is_id(i)]
        return {item["sk"] for item in self._table.batch_get(keys, ProjectionExpression="sk")}

    def all_resources(self) -> Iterator[tuple[str, str, Stored]]:
        """(IdP id, resource type, resource) of every user and group of the table: a Scan, for maintenance only
        (`scim-admin migrate-guards`), never on a request's path."""
        for item in self._table.scan(FilterExpression="sk <> :guard AND attribute_exists(#v)",
                                     ExpressionAttributeNames={"#v": "version"},
                                     ExpressionAttributeValues={":guard": {"S": GUARD_SK}}):
            parts = item["pk"].split("#")
            if len(parts) == 3 and parts[0] == "T" and parts[2] in ("User", "Group"):
                yield parts[1], parts[2], _stored(item)

    # -- writes: one transaction each ----------------------------------------------------------------------------

    def create(self, idp_id: str, resource_type: str, stored: Stored, unique_keys: dict[str, str],
               members: memberships.MemberWrites | None = None) -> None:
        """Write a new resource and one guard per unique value (`{attribute: value key}`), and for a group its first
        members, in one transaction. Raises Conflict naming the attribute whose value another resource holds,
        UnknownMember, Contention."""
        item = self._record(stored, unique_keys)
        actions = [self._table.put(resource_pk(idp_id, resource_type), stored.id, item, "attribute_not_exists(pk)")]
        why: list[Why] = [unique("id")]
        for attribute, key in unique_keys.items():
            actions.append(self._table.put(guard_pk(idp_id, resource_type, attribute, key), GUARD_SK,
                                           _copy(item), "attribute_not_exists(pk)"))
            why.append(unique(attribute))
        self._with_members(idp_id, actions, why, members)
        self._table.transact(actions, why)

    def update(self, idp_id: str, resource_type: str, current: Stored, new: Stored,
               current_unique: dict[str, str], new_unique: dict[str, str],
               members: memberships.MemberWrites | None = None) -> None:
        """Replace `current` by `new` if nobody changed it since it was read (its version), moving the guards of
        unique values that changed and refreshing the copies in the others, and for a group writing `members`, all
        in one transaction. Raises VersionConflict when the resource changed (or vanished) meanwhile, Conflict when
        a new unique value is taken, UnknownMember, Contention."""
        actions, why = self._update_actions(idp_id, resource_type, current, new, current_unique, new_unique)
        self._with_members(idp_id, actions, why, members)
        self._table.transact(actions, why)

    def delete(self, idp_id: str, resource_type: str, current: Stored, unique_keys: dict[str, str],
               memberships_of_user: list[str] = ()) -> None:
        """Delete a resource and its guards if it is still the version read (VersionConflict otherwise), and for a
        user its memberships of these groups, in one transaction."""
        owner = {":id": {"S": current.id}}
        version = {":version": {"N": str(current.version)}}
        actions = [self._table.delete(resource_pk(idp_id, resource_type), current.id, "version = :version", version)]
        actions += [
            self._table.delete(guard_pk(idp_id, resource_type, attribute, key), GUARD_SK, "id = :id", owner)
            for attribute, key in unique_keys.items()
        ]
        why = [VERSION] * len(actions)
        for group_id in memberships_of_user:
            actions.append(memberships.removal(self._table, idp_id, group_id, current.id))
            why.append(NO_CONDITION)
        self._table.transact(actions, why)

    @staticmethod
    def update_size(current_unique: dict[str, str], new_unique: dict[str, str]) -> int:
        """How many actions `update` takes in its transaction before any membership writes."""
        return 1 + sum(
            1 if current_unique.get(a) is not None and current_unique.get(a) == new_unique.get(a)
            else (current_unique.get(a) is not None) + (new_unique.get(a) is not None)
            for a in set(current_unique) | set(new_unique)
        )

    @staticmethod
    def create_size(unique_keys: dict[str, str]) -> int:
        """How many actions `create` takes in its transaction before any membership writes."""
        return 1 + len(unique_keys)

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _update_actions(self, idp_id, resource_type, current, new, current_unique, new_unique):
        item = self._record(new, new_unique)
        version = {":version": {"N": str(current.version)}}
        actions = [self._table.put(resource_pk(idp_id, resource_type), new.id, item, "version = :version", version)]
        why: list[Why] = [VERSION]
        owner = {":id": {"S": current.id}}
        for attribute in sorted(set(current_unique) | set(new_unique)):
            old_key, new_key = current_unique.get(attribute), new_unique.get(attribute)
            if old_key is not None and old_key == new_key:
                pk = guard_pk(idp_id, resource_type, attribute, new_key)
                actions.append(self._table.put(pk, GUARD_SK, _copy(item), "id = :id", owner))
                why.append(VERSION)
                continue
            if old_key is not None:
                actions.append(self._table.delete(guard_pk(idp_id, resource_type, attribute, old_key), GUARD_SK,
                                                  "id = :id", owner))
                why.append(VERSION)
            if new_key is not None:
                actions.append(self._table.put(guard_pk(idp_id, resource_type, attribute, new_key), GUARD_SK,
                                               _copy(item), "attribute_not_exists(pk)"))
                why.append(unique(attribute))
        return actions, why

    def _with_members(self, idp_id: str, actions: list[dict], why: list[Why],
                      members: memberships.MemberWrites | None) -> None:
        if members is None:
            return
        member_actions, member_why = memberships.write_actions(self._table, idp_id, members)
        actions += member_actions
        why += member_why

    def _record(self, stored: Stored, unique_keys: dict[str, str]) -> dict:
        record = {
            "id": {"S": stored.id},
            "resource": self._table.serialize(stored.attributes),
            "created": {"S": stored.created},
            "lastModified": {"S": stored.last_modified},
            "version": {"N": str(stored.version)},
            "guards": self._table.serialize(unique_keys),
        }
        if stored.password is not None:
            record["password"] = {"S": stored.password}
        return record


def _copy(record: dict) -> dict:
    """What a guard keeps of its resource: everything but the password hash."""
    return {key: value for key, value in record.items() if key != "password"}

