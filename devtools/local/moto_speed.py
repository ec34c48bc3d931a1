"""A speed patch for moto's DynamoDB `TransactWriteItems`, for the local server, the tests and the benchmarks only.

Why: moto 5.2.5 backs a transaction up by deep-copying the whole table once per item of the transaction, so that
it can put the copy back if a condition fails (the table's stream records are copied too). That makes a transaction
cost time in proportion to the table's size, even when it touches three items of a partition of its own: measured
here, a 3-action transaction takes 3.3 s on a 20,000-item table, and a PATCH adding one member to a group of 100,000
(200,000 items) 42 s; patched, about 1 ms. Unpatched, a group of 100,000 members could not be exercised locally
(moto's measured costs: docs/local-server.md).

What `install()` changes: `DynamoDBBackend.transact_write_items` is replaced by a copy of moto's own function
that differs in the backup only. Before an action writes (Put, Update, Delete), the item it names is copied (or
its absence noted); if the transaction is cancelled, exactly those items are put back, empty partitions created on
the way are dropped, and the table's stream is cut back to where it was, so a cancelled transaction leaves nothing
behind, as in DynamoDB and as with moto's whole-table copy. The checks, their order and the errors are moto's own.
Each item is named at most once per transaction (moto refuses a second action on the same item), so every copy is
of the item as it was before the transaction.

It is never used by the deployed code: this folder is left out of the Lambda layer (layers/scim/Makefile), and the
patch acts only when someone calls `install()`. moto's function is checked against the version this copy was made
from; after an upgrade of moto that changed it, `install()` warns and leaves moto alone (slow but correct) until
this copy is brought up to date.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import warnings
from typing import Any

# sha256 of the source of `moto.dynamodb.models.DynamoDBBackend.transact_write_items` in moto 5.2.5, the
# function copied below.
_UPSTREAM_SHA256 = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"

_original: Any = None


def install() -> bool:
    """Patch moto (idempotent). Returns whether the patch is in place."""
    global _original
    from moto.dynamodb.models import DynamoDBBackend

    if _original is not None:
        return True
    source = inspect.getsource(DynamoDBBackend.transact_write_items)
    if hashlib.sha256(source.encode()).hexdigest() != _UPSTREAM_SHA256:
        warnings.warn(
            "moto's TransactWriteItems is not the one devtools.local.moto_speed was written for; "
            "leaving it unpatched (correct, but slow on large tables).",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    _original = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = _transact_write_items
    return True


def uninstall() -> None:
    """Put moto's own function back (for tests that compare the two)."""
    global _original
    from moto.dynamodb.models import DynamoDBBackend

    if _original is not None:
        DynamoDBBackend.transact_write_items = _original
        _original = None


def installed() -> bool:
    return _original is not None


class _Undo:
    """What a transaction changed, to put back if it is cancelled: the items it writes and the tables' streams."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, Any, Any, bool, Any]] = []  # (table, hash key, range key, had partition, item)
        self._streams: list[tuple[Any, list, int]] = []  # (table, its stream records list, length before)
        self._tables: set[int] = set()

    def watch_table(self, table: Any) -> None:
        if id(table) in self._tables:
            return
        self._tables.add(id(table))
        if table.stream_shard is not None:
            self._streams.append((table, table.stream_shard.items, len(table.stream_shard.items)))

    def keep(self, table: Any, hash_key: Any, range_key: Any, had_partition: bool, current: Any) -> None:
        self._items.append((table, hash_key, range_key, had_partition, copy.deepcopy(current)))

    def rollback(self) -> None:
        for table, hash_key, range_key, had_partition, item in reversed(self._items):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
                continue
            partition = table.items[hash_key]
            if item is None:
                partition.pop(range_key, None)
            else:
                partition[range_key] = item
            if not partition and not had_partition:
                del table.items[hash_key]
        for table, records, length in self._streams:
            del records[length:]
            if table.stream_shard is not None:
                table.stream_shard.items = records


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's `DynamoDBBackend.transact_write_items`, with `_Undo` in place of its whole-table copies."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    # The backup: the streams of the tables named now, each written item just before it is written.
    undo = _Undo()
    for item in transact_items:
        _, op = next(iter(item.items()))
        table_name = op.get("TableName")
        if table_name and table_name in self.tables:
            undo.watch_table(self.tables[table_name])

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []  # [(Code, Message, Item), ..]
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        # Check transact writes are not performing multiple operations on the same item
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            # Patched: note the item as it is before this action writes it (reading it may create its partition).
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
            had_partition = hash_key in table.items
            current = self.get_item(table_name, key)
            if op_type != "ConditionCheck":
                undo.watch_table(table)
                undo.keep(table, hash_key, range_key, had_partition, current)

            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                self.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                self.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            # Rollback to the original state, and reraise the error
            undo.rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - moto's own: any other failure cancels the transaction
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        # Rollback to the original state, and reraise the errors
        undo.rollback()
        raise TransactionCanceledException(errors)
