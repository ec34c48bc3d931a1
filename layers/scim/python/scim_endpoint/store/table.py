"""The one DynamoDB table, as the store's two halves use it: calls, (de)serialization, batches, and transactions whose
cancellation reasons become domain errors. The only code that calls DynamoDB (with `resources.py` and
`memberships.py`, which build what it sends)."""

from __future__ import annotations

from decimal import Decimal

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import observability
from ..observability import logger
from ..scim.errors import Conflict, ServiceUnavailable, Throttled

# Items one TransactWriteItems may hold (DynamoDB's limit), and BatchWriteItem / BatchGetItem sizes.
MAX_TRANSACTION_ITEMS = 100
BATCH_WRITE_ITEMS = 25
BATCH_GET_KEYS = 100
# Attempts at a BatchGetItem or BatchWriteItem whose keys or items DynamoDB leaves unprocessed (it asks us to slow
# down), with a growing wait between them (about 6 s in all), before the request is answered 429.
_BATCH_ATTEMPTS = 10


def _slow_down(attempt: int) -> None:
    if attempt + 1 < _BATCH_ATTEMPTS:
        time.sleep(min(1.0, 0.05 * 2**attempt))


class VersionConflict(Exception):
    """A condition on what was read failed: the resource changed, or was deleted, since it was read."""


class Contention(Exception):
    """Another transaction held one of the items (TransactionConflict): nothing was written; try again."""


class UnknownMember(Exception):
    """A member to add is not a user of the tenant (or was deleted meanwhile)."""

    def __init__(self, user_id: str):
        super().__init__(user_id)
        self.user_id = user_id


class GroupGone(Exception):
    """The group was deleted while its members were being changed."""


@dataclass(frozen=True)
class Why:
    """What it means when the condition of one action of a transaction fails."""

    kind: str  # "version", "unique", "user", "group", "" (no condition)
    detail: str = ""


NO_CONDITION = Why("")
VERSION = Why("version")
GROUP = Why("group")


def unique(attribute: str) -> Why:
    return Why("unique", attribute)


def user(user_id: str) -> Why:
    return Why("user", user_id)


# Throttling reasons DynamoDB gives for one action of a cancelled transaction.
_THROTTLED = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


class Table:
    def __init__(self, client: Any, name: str):
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.client = client
        self.name = name
        serializer = TypeSerializer().serialize
        self.serialize = lambda value: serializer(_numbers(value))
        self._deserialize = TypeDeserializer().deserialize

    # -- actions -------------------------------------------------------------------------------------------------

    def put(self, pk: str, sk: str, body: dict, condition: str | None = None, values: dict | None = None) -> dict:
        return {"Put": self._conditional({"Item": {"pk": {"S": pk}, "sk": {"S": sk}, **body}}, condition, values)}

    def delete(self, pk: str, sk: str, condition: str | None = None, values: dict | None = None) -> dict:
        return {"Delete": self._conditional({"Key": self.key(pk, sk)}, condition, values)}

    def check(self, pk: str, sk: str, condition: str, values: dict | None = None) -> dict:
        return {"ConditionCheck": self._conditional({"Key": self.key(pk, sk)}, condition, values)}

    @staticmethod
    def key(pk: str, sk: str) -> dict:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _conditional(self, action: dict, condition: str | None, values: dict | None) -> dict:
        action = {"TableName": self.name, **action}
        if condition:
            action["ConditionExpression"] = condition
        if values:
            action["ExpressionAttributeValues"] = values
        return action

    # -- reads ---------------------------------------------------------------------------------------------------

    def item(self, raw: dict) -> dict:
        return {key: plain(self._deserialize(value)) for key, value in raw.items()}

    def get_item(self, pk: str, sk: str) -> dict | None:
        """One item, strongly consistent (every GetItem here may decide a write)."""
        response = self.call("get_item", TableName=self.name, Key=self.key(pk, sk), ConsistentRead=True)
        item = response.get("Item")
        return self.item(item) if item else None

    def query(self, pk: str, index: str | None = None, key: str = "pk", names: dict | None = None,
              **options: Any) -> Iterator[dict]:
        """The items of one partition, all pages. Strongly consistent on the table; an index (GSI1) cannot be, and
        its readers say why that is safe."""
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "#k = :pk",
            "ExpressionAttributeNames": {"#k": key, **(names or {})},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            **options,
        }
        if index:
            request["IndexName"] = index
        else:
            request["ConsistentRead"] = True
        while True:
            page = self.call("query", **request)
            for raw in page.get("Items", []):
                yield self.item(raw)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def scan(self, **options: Any) -> Iterator[dict]:
        """Every item the options select, all pages: maintenance only (no request reads the whole table)."""
        request = {"TableName": self.name, **options}
        while True:
            page = self.call("scan", **request)
            for raw in page.get("Items", []):
                yield self.item(raw)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count(self, pk: str) -> int:
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        total = 0
        while True:
            page = self.call("query", **request)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def batch_get(self, keys: list[tuple[str, str]], **options: Any) -> Iterator[dict]:
        """Items by key, strongly consistent, 100 keys a call, unprocessed keys asked again; missing ones absent."""
        unique_keys = list(dict.fromkeys(keys))
        for start in range(0, len(unique_keys), BATCH_GET_KEYS):
            chunk = [self.key(pk, sk) for pk, sk in unique_keys[start : start + BATCH_GET_KEYS]]
            request = {self.name: {"Keys": chunk, "ConsistentRead": True, **options}}
            for attempt in range(_BATCH_ATTEMPTS):
                page = self.call("batch_get_item", RequestItems=request)
                for raw in page.get("Responses", {}).get(self.name, []):
                    yield self.item(raw)
                request = page.get("UnprocessedKeys") or {}
                if not request:
                    break
                _slow_down(attempt)
            else:
                raise Throttled("DynamoDB did not answer the reads in time; retry.", retry_after=1)

    # -- writes --------------------------------------------------------------------------------------------------

    def batch_delete(self, keys: Iterable[tuple[str, str]]) -> int:
        """Delete items in batches of 25 (not atomic; unprocessed items retried). Returns how many."""
        return self._batches({"DeleteRequest": {"Key": self.key(pk, sk)}} for pk, sk in keys)

    def batch_put(self, items: Iterable[tuple[str, str, dict]]) -> int:
        """Put items (pk, sk, attributes in DynamoDB's format) in batches of 25 (not atomic; unprocessed items
        retried). Returns how many."""
        return self._batches({"PutRequest": {"Item": {**self.key(pk, sk), **body}}} for pk, sk, body in items)

    def _batches(self, requests: Iterable[dict]) -> int:
        done = 0
        batch: list[dict] = []
        for request in requests:
            batch.append(request)
            if len(batch) == BATCH_WRITE_ITEMS:
                done += self._batch_write(batch)
                batch = []
        if batch:
            done += self._batch_write(batch)
        return done

    def _batch_write(self, requests: list[dict]) -> int:
        pending = {self.name: requests}
        for attempt in range(_BATCH_ATTEMPTS):
            page = self.call("batch_write_item", RequestItems=pending)
            pending = page.get("UnprocessedItems") or {}
            if not pending:
                return len(requests)
            _slow_down(attempt)
        raise Throttled("DynamoDB did not accept the writes in time; retry.", retry_after=1)

    def transact(self, actions: list[dict], why: list[Why]) -> None:
        """Run one transaction (at most 100 actions); a cancellation becomes the domain error its reasons name:
        a failed condition by what `why[i]` says it means (a lost race first, as it makes every other answer stale),
        another transaction holding an item Contention, throttling Throttled. Nothing was written in any case."""
        from botocore.exceptions import ClientError

        assert len(actions) == len(why) and 0 < len(actions) <= MAX_TRANSACTION_ITEMS
        try:
            self.call("transact_write_items", TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") or "None" for reason in error.response.get("CancellationReasons", [])]
            raise cancellation_error(codes, why) from None

    # -- plumbing ------------------------------------------------------------------------------------------------

    def call(self, operation: str, **request: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        observability.dynamodb_call()
        try:
            return getattr(self.client, operation)(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
                raise Throttled() from None
            if code in ("InternalServerError", "ServiceUnavailable"):
                raise ServiceUnavailable() from None
            if code in ("TransactionCanceledException", "ConditionalCheckFailedException"):
                raise  # the caller's to read
            logger.error("dynamodb refused a request", extra={"operation": operation, "error_code": code})
            raise
        except BotoCoreError as error:
            # Including a timeout after DynamoDB may have written: the client is told to retry, and every write here
            # is conditional or idempotent, so the retry finds what is stored.
            logger.error("dynamodb unreachable", extra={"operation": operation, "error_type": type(error).__name__})
            raise ServiceUnavailable() from None


def cancellation_error(codes: list[str], why: list[Why]) -> Exception:
    failed = [reason for reason, code in zip(why, codes) if code == "ConditionalCheckFailed"]
    for kind in ("version", "group", "user", "unique"):
        hit = next((reason for reason in failed if reason.kind == kind), None)
        if hit is None:
            continue
        if kind == "version":
            return VersionConflict()
        if kind == "group":
            return GroupGone()
        if kind == "user":
            return UnknownMember(hit.detail)
        return Conflict(f"A resource with this {hit.detail} already exists.")
    if "TransactionConflict" in codes:
        return Contention()
    if _THROTTLED & set(codes):
        return Throttled(retry_after=1)
    # Anything else (a ValidationError) is a request this code should never have built: a bug, answered 500.
    logger.error("dynamodb cancelled a transaction", extra={"reasons": sorted(set(codes))})
    return RuntimeError(f"transaction cancelled: {sorted(set(codes))}")


def _numbers(value: Any) -> Any:
    """A value with its floats as Decimals, which DynamoDB's serializer takes (a custom attribute may be a decimal);
    written from their shortest repr, so 87.5 is stored as 87.5."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """A deserialized value as JSON takes it (DynamoDB numbers are Decimals): whole numbers as ints, others as floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value
