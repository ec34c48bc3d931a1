"""The moto speed patch (devtools.local.moto_speed) keeps TransactWriteItems all-or-nothing, and is faster.

The semantic tests run twice, with moto's own function and with the patched one, on the template's table (its GSI
and stream included), so they show that both behave alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION, TABLE_NAME

SEEDED = 1_000  # items around the ones a transaction touches: several partitions, GSI entries, stream records


@pytest.fixture(params=[True, False], ids=["patched", "moto"])
def patched(request: pytest.FixtureRequest) -> Iterator[bool]:
    yield from _patch_state(request.param)


def _patch_state(wanted: bool) -> Iterator[bool]:
    from devtools.local import moto_speed

    was = moto_speed.installed()
    if wanted:
        assert moto_speed.install(), "moto changed: bring moto_speed up to date"
    else:
        moto_speed.uninstall()
    try:
        yield wanted
    finally:
        if was:
            moto_speed.install()
        else:
            moto_speed.uninstall()


def _backend_table():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE_NAME)


def _seed(count: int) -> None:
    """Membership-like items (with GSI keys) in 10 partitions, written straight into moto's table (fast)."""
    table = _backend_table()
    for n in range(count):
        table.put_item({
            "pk": {"S": f"T#i#Members#g{n % 10}"}, "sk": {"S": f"u{n:06d}"},
            "member": {"M": {"value": {"S": f"u{n:06d}"}}},
            "gsi1pk": {"S": f"T#i#MemberOf#u{n:06d}"}, "gsi1sk": {"S": f"g{n % 10}"},
        })


def _everything(client) -> dict:
    """The table's items, its GSI's items, and the number of stream records."""

    def scan(**options) -> list[dict]:
        items, request = [], {"TableName": TABLE_NAME, **options}
        while True:
            page = client.scan(**request)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    table = _backend_table()
    return {"items": scan(), "gsi": scan(IndexName="GSI1"), "stream": len(table.stream_shard.items),
            "partitions": sorted(str(k) for k in table.items)}


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _transaction(last_condition: str) -> list[dict]:
    """Every kind of action on seeded items and new ones; the last is a condition check on `u000001`."""
    members = "T#i#Members#g1"
    return [
        {"Put": {"TableName": TABLE_NAME, "Item": {
            **_key("T#i#Members#new", "u999999"), "gsi1pk": {"S": "T#i#MemberOf#u999999"}, "gsi1sk": {"S": "new"}},
            "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": TABLE_NAME, "Item": {  # replaces a seeded item, moving its GSI entry
            **_key("T#i#Members#g0", "u000000"), "gsi1pk": {"S": "T#i#MemberOf#moved"}, "gsi1sk": {"S": "g0"}}}},
        {"Update": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g2", "u000002"),
                    "UpdateExpression": "SET #m.#v = :v, extra = :x REMOVE gsi1pk",
                    "ExpressionAttributeNames": {"#m": "member", "#v": "value"},
                    "ExpressionAttributeValues": {":v": {"S": "changed"}, ":x": {"N": "1"}}}},
        {"Update": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g3", "created-by-update"),
                    "UpdateExpression": "SET gsi1pk = :p, gsi1sk = :s",
                    "ExpressionAttributeValues": {":p": {"S": "T#i#MemberOf#x"}, ":s": {"S": "g3"}}}},
        {"Delete": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g4", "u000004"),
                    "ConditionExpression": "attribute_exists(pk)"}},
        {"Delete": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g5", "absent")}},
        {"ConditionCheck": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g6", "u000006"),
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"ConditionCheck": {"TableName": TABLE_NAME, "Key": _key(members, "u000001"),
                            "ConditionExpression": last_condition}},
    ]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws: None, patched: bool) -> None:
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    _seed(SEEDED)
    before = _everything(client)

    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=_transaction("attribute_not_exists(pk)"))

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert codes == ["None"] * 7 + ["ConditionalCheckFailed"]
    assert _everything(client) == before


def test_a_refused_transaction_puts_back_what_it_wrote_before_the_refusal(aws: None, patched: bool) -> None:
    """Two actions on one item are refused (ValidationException) when the second is reached, after the first
    actions were applied: those are undone too."""
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    _seed(SEEDED)
    before = _everything(client)
    actions = _transaction("attribute_exists(pk)")
    actions.append({"Delete": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g0", "u000000")}})

    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=actions)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _everything(client) == before


def test_a_successful_transaction_applies_every_action(aws: None, patched: bool) -> None:
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    _seed(SEEDED)
    before = _everything(client)

    client.transact_write_items(TransactItems=_transaction("attribute_exists(pk)"))

    after = _everything(client)
    items = {(i["pk"]["S"], i["sk"]["S"]): i for i in after["items"]}
    assert ("T#i#Members#new", "u999999") in items
    assert items[("T#i#Members#g0", "u000000")]["gsi1pk"] == {"S": "T#i#MemberOf#moved"}
    assert "member" not in items[("T#i#Members#g0", "u000000")]
    updated = items[("T#i#Members#g2", "u000002")]
    assert updated["member"] == {"M": {"value": {"S": "changed"}}} and updated["extra"] == {"N": "1"}
    assert "gsi1pk" not in updated
    assert items[("T#i#Members#g3", "created-by-update")]["gsi1pk"] == {"S": "T#i#MemberOf#x"}
    assert ("T#i#Members#g4", "u000004") not in items
    assert len(after["items"]) == len(before["items"]) + 2 - 1
    gsi = {(i["gsi1pk"]["S"], i["gsi1sk"]["S"]) for i in after["gsi"]}
    assert ("T#i#MemberOf#moved", "g0") in gsi and ("T#i#MemberOf#u000000", "g0") not in gsi
    assert ("T#i#MemberOf#u000002", "g2") not in gsi and ("T#i#MemberOf#u999999", "new") in gsi
    assert after["stream"] > before["stream"]


def test_the_patched_transaction_does_not_cost_the_size_of_the_table(aws: None) -> None:
    """A ratio, not a timing: moto's own copies the 20,000-item table once per action; the patch copies 3 items."""
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    _seed(20_000)
    actions = [
        {"ConditionCheck": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g1", "u000001"),
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"Put": {"TableName": TABLE_NAME, "Item": _key("T#i#Members#g9", "speed")}},
        {"ConditionCheck": {"TableName": TABLE_NAME, "Key": _key("T#i#Members#g2", "u000002"),
                            "ConditionExpression": "attribute_exists(pk)"}},
    ]

    def median_seconds(rounds: int) -> float:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            client.transact_write_items(TransactItems=actions)
            times.append(time.perf_counter() - started)
        return sorted(times)[len(times) // 2]

    state = _patch_state(False)
    next(state)
    try:
        unpatched = median_seconds(1)  # seconds each: one is enough for a ratio
    finally:
        state.close()
    state = _patch_state(True)
    next(state)
    try:
        patched = median_seconds(21)
    finally:
        state.close()

    ratio = unpatched / patched
    print(f"\nTransactWriteItems (3 actions) on a 20,000-item table: moto {unpatched * 1000:.1f} ms, "
          f"patched {patched * 1000:.2f} ms, {ratio:.0f}x")
    assert ratio > 20
