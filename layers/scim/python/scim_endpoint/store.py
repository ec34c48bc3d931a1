"""The DynamoDB single table: the only module that talks to DynamoDB.

Keys (tenant first in every key, so no query can cross tenants; see docs/data-model.md):

| item              | pk                                   | sk       |
|-------------------|--------------------------------------|----------|
| resource          | `T#<idp>#<type>`                     | `<id>`   |
| uniqueness guard  | `T#<idp>#<type>#<attr>#<value key>`  | `UNIQUE` |

`type` is `User` or `Group`. A guard owns a unique value (a case-folded `userName`, an `externalId`) and carries a
copy of its resource, so `filter=userName eq "…"` is one consistent GetItem. Resources and guards are written in
one transaction, so uniqueness holds without read-then-write races.

AWS errors leave this module as domain errors: `Conflict`, `Throttled`, `ServiceUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import observability
from .observability import logger
from .scim.errors import Conflict, ServiceUnavailable, Throttled, TooMany

GUARD_SK = "UNIQUE"
_VERSION = "version"  # a failed condition that means "the resource changed since it was read"
# Filters that cannot be answered from keys read the tenant's resources page by page; beyond this many the
# request is refused with 400 tooMany rather than risk API Gateway's 29 s limit (see docs/limits.md).
MAX_SCANNED_RESOURCES = 50_000


class VersionConflict(Exception):
    """The resource changed, or was deleted, between our read and our write."""


class UnknownMember(Exception):
    """A member to add is not a user of the tenant (or was deleted meanwhile)."""

    def __init__(self, user_id: str):
        super().__init__(user_id)
        self.user_id = user_id


class GroupGone(Exception):
    """The group was deleted while its members were being changed."""


# Items one TransactWriteItems may hold (DynamoDB's limit), and BatchWriteItem / BatchGetItem sizes.
MAX_TRANSACTION_ITEMS = 100
BATCH_WRITE_ITEMS = 25
BATCH_GET_KEYS = 100
# DynamoDB refuses a sort key longer than this (ValidationException, a 500), and an empty one. User and group ids
# are sort keys, so a longer or empty one a client sends (`filter=id eq ""`, `members eq ""`) names no resource:
# never a user, never a member.
MAX_SORT_KEY_BYTES = 1024


# Ids this service gives out are UUIDs; `get` answers "none" for anything longer without a call.
MAX_ID_BYTES = 256


def _keyable(resource_id: str) -> bool:
    return 0 < len(resource_id.encode()) <= MAX_SORT_KEY_BYTES


@dataclass(frozen=True)
class Stored:
    """A resource as kept: its SCIM attributes (without `id` and `meta`) and the bookkeeping around them."""

    id: str
    attributes: dict
    created: str
    last_modified: str
    version: int
    password: str | None = None  # a salted hash, never the password; never shown to clients


def resource_pk(idp_id: str, resource_type: str) -> str:
    return f"T#{idp_id}#{resource_type}"


def members_pk(idp_id: str, group_id: str) -> str:
    return f"T#{idp_id}#Members#{group_id}"


def member_of_pk(idp_id: str, user_id: str) -> str:
    """The inverse index's key: a user's memberships, whatever the group."""
    return f"T#{idp_id}#MemberOf#{user_id}"


def guard_pk(idp_id: str, resource_type: str, attribute: str, value_key: str) -> str:
    return f"T#{idp_id}#{resource_type}#{attribute}#{value_key}"


def _stored(item: dict) -> Stored:
    return Stored(
        id=item["id"],
        attributes=item["resource"],
        created=item["created"],
        last_modified=item["lastModified"],
        version=int(item["version"]),
        password=item.get("password"),
    )


class Store:
    def __init__(self, client: Any, table_name: str):
        self._client = client
        self._table = table_name
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._serialize = TypeSerializer().serialize
        self._deserialize = TypeDeserializer().deserialize

    # -- reads ----------------------------------------------------------------------------------------------

    def get(self, idp_id: str, resource_type: str, resource_id: str) -> Stored | None:
        if not resource_id or len(resource_id.encode()) > MAX_ID_BYTES:
            return None  # not an id this service gave out (they are UUIDs): no need to ask DynamoDB (which refuses "")
        item = self._get_item(resource_pk(idp_id, resource_type), resource_id)
        return _stored(item) if item else None

    def find_unique(self, idp_id: str, resource_type: str, attribute: str, value_key: str) -> Stored | None:
        """The resource owning a unique value (one GetItem on its guard), or None."""
        item = self._get_item(guard_pk(idp_id, resource_type, attribute, value_key), GUARD_SK)
        return _stored(item) if item else None

    def scan_tenant(self, idp_id: str, resource_type: str) -> Iterator[Stored]:
        """Every resource of a type for one tenant, in id order: a Query of the tenant's partition, never a Scan."""
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": resource_pk(idp_id, resource_type)}},
        }
        seen = 0
        while True:
            page = self._call("query", **request)
            for item in page.get("Items", []):
                seen += 1
                if seen > MAX_SCANNED_RESOURCES:
                    raise TooMany(
                        f"This request would examine more than {MAX_SCANNED_RESOURCES} resources; "
                        "filter on a unique attribute (userName, displayName, externalId) or id instead."
                    )
                yield _stored(self._item(item))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count(self, idp_id: str, resource_type: str) -> int:
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": resource_pk(idp_id, resource_type)}},
            "Select": "COUNT",
        }
        total = 0
        while True:
            page = self._call("query", **request)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- writes ---------------------------------------------------------------------------------------------

    def create(self, idp_id: str, resource_type: str, stored: Stored, unique: dict[str, str]) -> None:
        """Write a new resource and one guard per unique value (`{attribute: value key}`) in one transaction.

        Raises Conflict naming the attribute whose value another resource holds.
        """
        item = self._record(stored)
        actions = [self._put(resource_pk(idp_id, resource_type), stored.id, item, "attribute_not_exists(pk)")]
        reasons = ["id"]
        for attribute, key in unique.items():
            actions.append(self._put(guard_pk(idp_id, resource_type, attribute, key), GUARD_SK, self._copy(item),
                                     "attribute_not_exists(pk)"))
            reasons.append(attribute)
        self._transact(actions, reasons)

    def update(
        self, idp_id: str, resource_type: str, current: Stored, new: Stored,
        current_unique: dict[str, str], new_unique: dict[str, str],
    ) -> None:
        """Replace `current` by `new` if nobody changed it since it was read (its version), moving the guards of
        unique values that changed and refreshing the copies in the others, all in one transaction.

        Raises VersionConflict when the resource changed (or vanished) meanwhile, Conflict when a new unique value
        is taken.
        """
        item = self._record(new)
        version = {":version": {"N": str(current.version)}}
        actions = [self._put(resource_pk(idp_id, resource_type), new.id, item, "version = :version", version)]
        reasons = [_VERSION]
        owner = {":id": {"S": current.id}}
        for attribute in sorted(set(current_unique) | set(new_unique)):
            old_key, new_key = current_unique.get(attribute), new_unique.get(attribute)
            if old_key is not None and old_key == new_key:
                pk = guard_pk(idp_id, resource_type, attribute, new_key)
                actions.append(self._put(pk, GUARD_SK, self._copy(item), "id = :id", owner))
                reasons.append(_VERSION)
                continue
            if old_key is not None:
                pk = guard_pk(idp_id, resource_type, attribute, old_key)
                actions.append(self._delete(pk, GUARD_SK, "id = :id", owner))
                reasons.append(_VERSION)
            if new_key is not None:
                pk = guard_pk(idp_id, resource_type, attribute, new_key)
                actions.append(self._put(pk, GUARD_SK, self._copy(item), "attribute_not_exists(pk)"))
                reasons.append(attribute)
        self._transact(actions, reasons)

    def delete(self, idp_id: str, resource_type: str, current: Stored, unique: dict[str, str]) -> None:
        """Delete a resource and its guards if it is still the version read; VersionConflict otherwise."""
        owner = {":id": {"S": current.id}}
        version = {":version": {"N": str(current.version)}}
        actions = [self._delete(resource_pk(idp_id, resource_type), current.id, "version = :version", version)]
        actions += [
            self._delete(guard_pk(idp_id, resource_type, attribute, key), GUARD_SK, "id = :id", owner)
            for attribute, key in unique.items()
        ]
        self._transact(actions, [_VERSION] * len(actions))

    # -- group membership: one item per member, and the inverse index GSI1 for "a user's groups" -----------------

    def get_member(self, idp_id: str, group_id: str, user_id: str) -> dict | None:
        if not _keyable(user_id):
            return None
        item = self._get_item(members_pk(idp_id, group_id), user_id)
        return item["member"] if item else None

    def members(self, idp_id: str, group_id: str, limit: int | None) -> list[dict]:
        """A group's members in a stable order (by user id); TooMany when there are more than `limit`."""
        found = []
        for item in self._query_all(members_pk(idp_id, group_id), ProjectionExpression="#m", Names={"#m": "member"}):
            if limit is not None and len(found) == limit:
                raise TooMany(
                    f"The group has more than {limit} members, more than one response may carry; read it with "
                    "excludedAttributes=members, and check a member with filter=id eq \"…\" and members eq \"…\"."
                )
            found.append(item["member"])
        return found

    def member_ids(self, idp_id: str, group_id: str) -> Iterator[str]:
        for item in self._query_all(members_pk(idp_id, group_id), ProjectionExpression="sk"):
            yield item["sk"]

    def groups_of(self, idp_id: str, user_id: str) -> list[str]:
        """The ids of the groups a user is a member of (GSI1, eventually consistent)."""
        return [item["gsi1sk"] for item in self._query_all(
            member_of_pk(idp_id, user_id), index="GSI1", key="gsi1pk", ProjectionExpression="gsi1sk")]

    def get_many(self, idp_id: str, resource_type: str, ids: list[str]) -> dict[str, Stored]:
        """Resources by id (BatchGetItem, 100 keys a call, unprocessed keys retried); missing ids are absent."""
        return {item["id"]: _stored(item) for item in self._batch_get(idp_id, resource_type, ids)}

    def existing(self, idp_id: str, resource_type: str, ids: list[str]) -> set[str]:
        """Which of these ids exist: as `get_many`, reading only the keys."""
        return {item["sk"] for item in self._batch_get(idp_id, resource_type, ids, ProjectionExpression="sk")}

    def _batch_get(self, idp_id: str, resource_type: str, ids: list[str], **options: Any) -> Iterator[dict]:
        pk = resource_pk(idp_id, resource_type)
        unique_ids = [i for i in dict.fromkeys(ids) if _keyable(i)]
        for start in range(0, len(unique_ids), BATCH_GET_KEYS):
            keys = [{"pk": {"S": pk}, "sk": {"S": i}} for i in unique_ids[start : start + BATCH_GET_KEYS]]
            request = {self._table: {"Keys": keys, "ConsistentRead": True, **options}}
            while request:
                page = self._call("batch_get_item", RequestItems=request)
                for item in page.get("Responses", {}).get(self._table, []):
                    yield self._item(item)
                request = page.get("UnprocessedKeys") or {}

    def change_members(
        self, idp_id: str, group_id: str, add: list[dict], remove: list[str], check_users: bool = True
    ) -> None:
        """Write membership items: `add` (member objects, each with its user id in `value`) and `remove` (user ids).

        Each transaction checks the group still exists and, for each added member, that the user does (so a member is
        always a user of the tenant); one holds up to 49 additions or 99 removals, so a large change is several
        transactions, applied in order. Adding a member twice or removing an absent one changes nothing, so a
        request that failed part-way finishes when retried. Raises UnknownMember, GroupGone.
        """
        if not _keyable(group_id):
            raise GroupGone()
        unkeyable = next((m["value"] for m in add if not _keyable(m["value"])), None)
        if unkeyable is not None:
            raise UnknownMember(unkeyable)
        remove = [user_id for user_id in remove if _keyable(user_id)]  # the others are no member
        group_check = {"ConditionCheck": {
            "TableName": self._table,
            "Key": {"pk": {"S": resource_pk(idp_id, "Group")}, "sk": {"S": group_id}},
            "ConditionExpression": "attribute_exists(pk)",
        }}
        writes: list[tuple[list[dict], list[str]]] = []
        for member in add:
            user_id = member["value"]
            put = self._put(members_pk(idp_id, group_id), user_id, {
                "member": self._serialize(member),
                "gsi1pk": {"S": member_of_pk(idp_id, user_id)},
                "gsi1sk": {"S": group_id},
            })
            actions, reasons = [put], [""]
            if check_users:
                actions.append({"ConditionCheck": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": resource_pk(idp_id, "User")}, "sk": {"S": user_id}},
                    "ConditionExpression": "attribute_exists(pk)",
                }})
                reasons.append(user_id)
            writes.append((actions, reasons))
        for user_id in remove:
            writes.append(([{"Delete": {"TableName": self._table,
                                        "Key": {"pk": {"S": members_pk(idp_id, group_id)}, "sk": {"S": user_id}}}}],
                           [""]))
        chunk: list[dict] = []
        reasons: list[str] = []
        for actions, why in writes:
            if len(chunk) + len(actions) > MAX_TRANSACTION_ITEMS - 1:
                self._member_transaction(group_check, chunk, reasons)
                chunk, reasons = [], []
            chunk += actions
            reasons += why
        if chunk or not writes:  # with nothing to write, the group must still exist
            self._member_transaction(group_check, chunk, reasons)

    def _member_transaction(self, group_check: dict, actions: list[dict], reasons: list[str]) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call("transact_write_items", TransactItems=[group_check, *actions])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if codes and codes[0] == "ConditionalCheckFailed":
                raise GroupGone() from None
            for why, code in zip(reasons, codes[1:]):
                if code == "ConditionalCheckFailed" and why:
                    raise UnknownMember(why) from None
            raise VersionConflict() from None

    def delete_members(self, idp_id: str, group_id: str, user_ids: Iterator[str] | list[str]) -> int:
        """Delete membership items in batches of 25 (not atomic; unprocessed items retried). Returns how many."""
        pk = members_pk(idp_id, group_id)
        return self._batch_delete({"pk": {"S": pk}, "sk": {"S": user_id}} for user_id in user_ids)

    def delete_memberships_of(self, idp_id: str, user_id: str) -> int:
        """Remove a user from every group (the inverse index finds them)."""
        keys = ({"pk": {"S": members_pk(idp_id, group_id)}, "sk": {"S": user_id}}
                for group_id in self.groups_of(idp_id, user_id))
        return self._batch_delete(keys)

    def _batch_delete(self, keys: Iterator[dict]) -> int:
        deleted = 0
        batch: list[dict] = []
        for key in keys:
            batch.append({"DeleteRequest": {"Key": key}})
            if len(batch) == BATCH_WRITE_ITEMS:
                deleted += self._batch_write(batch)
                batch = []
        if batch:
            deleted += self._batch_write(batch)
        return deleted

    def _batch_write(self, requests: list[dict]) -> int:
        pending = {self._table: requests}
        for attempt in range(10):
            page = self._call("batch_write_item", RequestItems=pending)
            pending = page.get("UnprocessedItems") or {}
            if not pending:
                return len(requests)
            time.sleep(min(1.0, 0.05 * 2**attempt))  # DynamoDB asks us to slow down
        raise Throttled("DynamoDB did not accept the deletions in time; retry.")

    def _query_all(self, pk: str, index: str | None = None, key: str = "pk", Names: dict | None = None,
                   **options: Any) -> Iterator[dict]:
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "#k = :pk",
            "ExpressionAttributeNames": {"#k": key, **(Names or {})},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            **options,
        }
        if index:
            request["IndexName"] = index
        while True:
            page = self._call("query", **request)
            for item in page.get("Items", []):
                yield self._item(item)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- plumbing -------------------------------------------------------------------------------------------

    def _record(self, stored: Stored) -> dict:
        record = {
            "id": {"S": stored.id},
            "resource": self._serialize(stored.attributes),
            "created": {"S": stored.created},
            "lastModified": {"S": stored.last_modified},
            "version": {"N": str(stored.version)},
        }
        if stored.password is not None:
            record["password"] = {"S": stored.password}
        return record

    @staticmethod
    def _copy(record: dict) -> dict:
        """What a guard keeps of its resource: everything but the password hash."""
        return {key: value for key, value in record.items() if key != "password"}

    def _put(self, pk: str, sk: str, body: dict, condition: str | None = None, values: dict | None = None) -> dict:
        put = {"TableName": self._table, "Item": {"pk": {"S": pk}, "sk": {"S": sk}, **body}}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _delete(self, pk: str, sk: str, condition: str, values: dict) -> dict:
        return {"Delete": {"TableName": self._table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                           "ConditionExpression": condition, "ExpressionAttributeValues": values}}

    def _item(self, item: dict) -> dict:
        return {key: self._deserialize(value) for key, value in item.items()}

    def _get_item(self, pk: str, sk: str) -> dict | None:
        response = self._call(
            "get_item", TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._item(item) if item else None

    def _transact(self, actions: list[dict], reasons: list[str]) -> None:
        """Run a transaction; `reasons[i]` says what a failed condition on action i means: `_VERSION` (the resource
        changed meanwhile) or the name of the unique attribute whose value is taken."""
        from botocore.exceptions import ClientError

        try:
            self._call("transact_write_items", TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            failed = [reason for reason, code in zip(reasons, codes) if code == "ConditionalCheckFailed"]
            if _VERSION in failed:
                raise VersionConflict() from None
            if failed:
                raise Conflict(f"A resource with this {failed[0]} already exists.") from None
            # Another transaction on the same items was in flight (TransactionConflict): a lost race.
            raise VersionConflict() from None

    def _call(self, operation: str, **request: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        observability.dynamodb_call()
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
                raise Throttled() from None
            if code in ("InternalServerError", "ServiceUnavailable"):
                raise ServiceUnavailable() from None
            if code == "TransactionCanceledException":
                raise
            logger.error("dynamodb refused a request", extra={"operation": operation, "error_code": code})
            raise
        except BotoCoreError as error:
            logger.error("dynamodb unreachable", extra={"operation": operation, "error_type": type(error).__name__})
            raise ServiceUnavailable() from None


def dynamodb_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"}))


@cache
def store() -> Store:
    from .config import settings

    return Store(dynamodb_client(), settings().table_name)
