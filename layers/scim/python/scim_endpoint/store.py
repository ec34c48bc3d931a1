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
# Filters that cannot be answered from keys read the tenant's resources page by page; beyond this many the
# request is refused with 400 tooMany rather than risk API Gateway's 29 s limit (see docs/limits.md).
MAX_SCANNED_RESOURCES = 50_000


@dataclass(frozen=True)
class Stored:
    """A resource as kept: its SCIM attributes (without `id` and `meta`) and the bookkeeping around them."""

    id: str
    attributes: dict
    created: str
    last_modified: str
    version: int


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
                        f"This filter would examine more than {MAX_SCANNED_RESOURCES} resources; "
                        "filter on userName, externalId or id instead."
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
        """Write a new resource and one guard per unique value (`{attribute: value key}`) atomically.

        Raises Conflict naming the attribute whose value is taken.
        """
        item = self._record(stored)
        writes = [(resource_pk(idp_id, resource_type), stored.id, item)]
        writes += [(guard_pk(idp_id, resource_type, attr, key), GUARD_SK, item) for attr, key in unique.items()]
        actions = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {"pk": {"S": pk}, "sk": {"S": sk}, **body},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for pk, sk, body in writes
        ]
        names = ["id", *unique]
        self._transact(actions, names)

    # -- plumbing -------------------------------------------------------------------------------------------

    def _record(self, stored: Stored) -> dict:
        return {
            "id": {"S": stored.id},
            "resource": self._serialize(stored.attributes),
            "created": {"S": stored.created},
            "lastModified": {"S": stored.last_modified},
            "version": {"N": str(stored.version)},
        }

    def _item(self, item: dict) -> dict:
        return {key: self._deserialize(value) for key, value in item.items()}

    def _get_item(self, pk: str, sk: str) -> dict | None:
        response = self._call(
            "get_item", TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._item(item) if item else None

    def _transact(self, actions: list[dict], names: list[str]) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call("transact_write_items", TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            for name, reason in zip(names, reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise Conflict(f"A resource with this {name} already exists.") from None
            raise Throttled("The request conflicted with another one in flight; retry.") from None

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
