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
