"""The DynamoDB store's own behaviour, beyond the contract it shares with the in-memory store (tests/store): what
DynamoDB's failures become, and which reads are strongly consistent."""

from __future__ import annotations

import boto3
import pytest

from scim_endpoint.store import Contention, DynamoStore
from tests.conftest import REGION, TABLE_NAME
from tests.store.test_contract import IDP, make_group, make_user

@pytest.fixture
def dynamo(aws) -> DynamoStore:
    return DynamoStore.over(boto3.client("dynamodb", region_name=REGION), TABLE_NAME)


def cancel_with(monkeypatch, dynamo: DynamoStore, code: str) -> None:
    from botocore.exceptions import ClientError

    def cancelled(operation_name: str, api_params: dict) -> dict:
        if operation_name != "TransactWriteItems":
            return real(operation_name, api_params)
        reasons = [{"Code": code}] + [{"Code": "None"}] * (len(api_params["TransactItems"]) - 1)
        raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": code},
                           "CancellationReasons": reasons}, operation_name)

    real = dynamo.table.client._make_api_call
    monkeypatch.setattr(dynamo.table.client, "_make_api_call", cancelled)


@pytest.mark.parametrize("code, error", [
    ("TransactionConflict", Contention),
    ("ThrottlingError", None),
    ("ProvisionedThroughputExceeded", None),
    ("ValidationError", RuntimeError),
])
def test_every_cancellation_is_a_domain_error(dynamo: DynamoStore, monkeypatch, code: str, error) -> None:
    from scim_endpoint.scim.errors import Throttled

    cancel_with(monkeypatch, dynamo, code)
    with pytest.raises(error or Throttled) as raised:
        make_user(dynamo, "u1")
    if error is None:
        assert raised.value.status == 429 and raised.value.headers["Retry-After"]


@pytest.mark.parametrize("code, status", [
    ("ThrottlingException", 429), ("ProvisionedThroughputExceededException", 429), ("RequestLimitExceeded", 429),
    ("InternalServerError", 503), ("ServiceUnavailable", 503),
])
def test_service_errors_are_429_or_503(dynamo: DynamoStore, monkeypatch, code: str, status: int) -> None:
    from botocore.exceptions import ClientError

    from scim_endpoint.scim.errors import ScimError

    def failing(operation_name: str, api_params: dict) -> dict:
        raise ClientError({"Error": {"Code": code, "Message": code}}, operation_name)

    monkeypatch.setattr(dynamo.table.client, "_make_api_call", failing)
    with pytest.raises(ScimError) as raised:
        dynamo.resources.get(IDP, "User", "u1")
    assert raised.value.status == status


def test_a_timeout_is_503(dynamo: DynamoStore, monkeypatch) -> None:
    """Including one after DynamoDB wrote: the client retries, and finds what is stored."""
    from botocore.exceptions import ReadTimeoutError

    from scim_endpoint.scim.errors import ServiceUnavailable

    real = dynamo.table.client._make_api_call

    def late(operation_name: str, api_params: dict) -> dict:
        real(operation_name, api_params)
        raise ReadTimeoutError(endpoint_url="https://dynamodb")

    monkeypatch.setattr(dynamo.table.client, "_make_api_call", late)
    with pytest.raises(ServiceUnavailable):
        make_user(dynamo, "u1")
    monkeypatch.undo()
    assert dynamo.resources.get(IDP, "User", "u1") is not None


def test_reads_that_decide_writes_are_strongly_consistent(dynamo: DynamoStore, monkeypatch) -> None:
    """Every GetItem, BatchGetItem and base-table Query asks for a consistent read; the inverse index (GSI1) cannot
    be, and is the one read that does not (docs/data-model.md says why that is safe)."""
    make_user(dynamo, "u1")
    make_group(dynamo, "g1", members=["u1"])
    seen: list[tuple[str, dict]] = []
    real = dynamo.table.client._make_api_call

    def recording(operation_name: str, api_params: dict) -> dict:
        seen.append((operation_name, api_params))
        return real(operation_name, api_params)

    monkeypatch.setattr(dynamo.table.client, "_make_api_call", recording)
    dynamo.resources.get(IDP, "User", "u1")
    dynamo.resources.find_unique(IDP, "User", "userName", "u1@contoso.com")
    list(dynamo.resources.scan_tenant(IDP, "User"))
    dynamo.resources.count(IDP, "User")
    dynamo.resources.existing(IDP, "User", ["u1"])
    dynamo.memberships.members(IDP, "g1", None)
    list(dynamo.memberships.member_ids(IDP, "g1"))
    dynamo.memberships.get_member(IDP, "g1", "u1")
    dynamo.memberships.groups_of(IDP, "u1")
    for operation, params in seen:
        if operation == "BatchGetItem":
            assert all(request["ConsistentRead"] for request in params["RequestItems"].values())
        elif params.get("IndexName") == "GSI1":
            assert "ConsistentRead" not in params
        else:
            assert params["ConsistentRead"] is True, operation
    assert sum(1 for _, params in seen if params.get("IndexName")) == 1


@pytest.mark.parametrize("age, waited", [(0.0, 2.0), (0.5, 1.5), (2.0, 0.0), (3600.0, 0.0), (-30.0, 2.0)])
def test_a_users_memberships_are_read_once_the_index_has_caught_up(aws, age: float, waited: float) -> None:
    """The inverse index may not yet show a membership written a moment before the user's deletion: the cleanup
    reads it INDEX_SETTLE_SECONDS after the deletion (never longer, whatever the clocks say), and at once when that
    time has passed (a redrive, a late batch)."""
    from scim_endpoint.store.memberships import DynamoMembershipStore

    now = 1_800_000_000.0
    slept: list[float] = []
    dynamo = DynamoStore.over(boto3.client("dynamodb", region_name=REGION), TABLE_NAME)
    memberships = DynamoMembershipStore(dynamo.table, 2.0, clock=lambda: now, sleep=slept.append)
    make_user(dynamo, "u1")
    make_group(dynamo, "g1", members=["u1"])
    assert memberships.delete_memberships_of(IDP, "u1", deleted_at=now - age) == 1
    assert slept == [pytest.approx(waited)]
    assert memberships.delete_memberships_of(IDP, "u1") == 0 and slept == [pytest.approx(waited)]  # no time: no wait


@pytest.mark.parametrize("unanswered", [1, 9, 10])
def test_unprocessed_keys_are_asked_again_then_429(dynamo: DynamoStore, monkeypatch, unanswered: int) -> None:
    """BatchGetItem and BatchWriteItem may leave keys unprocessed when DynamoDB is busy: they are asked again after a
    growing wait, and after 10 attempts the request is 429, never a loop without end."""
    from scim_endpoint.scim.errors import Throttled
    from scim_endpoint.store import table

    make_user(dynamo, "u1")
    make_group(dynamo, "g1", members=["u1"])
    slept: list[float] = []
    monkeypatch.setattr(table.time, "sleep", slept.append)
    real = dynamo.table.client._make_api_call
    calls = {"BatchGetItem": 0, "BatchWriteItem": 0}

    def busy(operation_name: str, api_params: dict) -> dict:
        if operation_name not in calls:
            return real(operation_name, api_params)
        calls[operation_name] += 1
        if calls[operation_name] <= unanswered:
            field = "UnprocessedKeys" if operation_name == "BatchGetItem" else "UnprocessedItems"
            return {field: api_params["RequestItems"]}
        return real(operation_name, api_params)

    monkeypatch.setattr(dynamo.table.client, "_make_api_call", busy)
    if unanswered < 10:
        assert dynamo.resources.existing(IDP, "User", ["u1", "u2"]) == {"u1"}
        assert dynamo.memberships.delete_members(IDP, "g1", ["u1"]) == 1
        assert calls == {"BatchGetItem": unanswered + 1, "BatchWriteItem": unanswered + 1}
    else:
        with pytest.raises(Throttled):
            dynamo.resources.existing(IDP, "User", ["u1"])
        with pytest.raises(Throttled):
            dynamo.memberships.delete_members(IDP, "g1", ["u1"])
        assert calls == {"BatchGetItem": 10, "BatchWriteItem": 10}
    assert sorted(slept) == sorted(2 * [min(1.0, 0.05 * 2**n) for n in range(min(unanswered, 9))])
