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
from dataclasses import dataclass
from functools import cache
from typing import Any

from .observability import logger
from .scim.errors import Conflict, ServiceUnavailable, Throttled, TooMany

GUARD_SK = "UNIQUE"
_VERSION = "version"  # a failed condition that means "the resource changed since it was read"
# Filters that cannot be answered from keys read the tenant's resources page by page; beyond this many the
# request is refused with 400 tooMany rather than risk API Gateway's 29 s limit (see docs/limits.md).
MAX_SCANNED_RESOURCES = 50_000


class VersionConflict(Exception):
    """The resource changed, or was deleted, between our read and our write."""


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

    def _put(self, pk: str, sk: str, body: dict, condition: str, values: dict | None = None) -> dict:
        put = {"TableName": self._table, "Item": {"pk": {"S": pk}, "sk": {"S": sk}, **body},
               "ConditionExpression": condition}
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
