"""Entra's Test Connection (docs/entra.md §2.1) and the lookups behind it, through the real handlers.

Test Connection asks for a user (and a group) that cannot exist, by a random GUID, and needs 200 with an empty
ListResponse. The filter arrives URL-encoded with `%20` or `+`, quoted or not, keywords in any case (§2.3).
"""

from __future__ import annotations

from urllib.parse import quote

import boto3
import pytest

from scim_endpoint.scim.resource_types import GROUP, USER
from scim_endpoint.store import DynamoStore, Stored
from scim_endpoint.store.resources import DynamoResourceStore
from tests.conftest import REGION, TABLE_NAME, Tenant, new_guid
from tests.support import seed_member_items

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
CREATED = "2026-01-01T00:00:00Z"


def encoded(filter_text: str, style: str) -> str:
    """The filter as a query-string value: `%20` for spaces, or `+` for spaces with the rest left raw or encoded."""
    if style == "pct":
        return quote(filter_text, safe="")
    if style == "plus":
        return quote(filter_text, safe="").replace("%20", "+")
    if style == "plus-raw-quotes":
        return filter_text.replace(" ", "+")
    raise ValueError(style)


STYLES = ["pct", "plus", "plus-raw-quotes"]
# (template, whether the value is quoted): `{attr}` and `{value}` are filled in.
FILTER_SHAPES = [
    '{attr} eq "{value}"',
    "{attr} eq {value}",
    '{attr} EQ "{value}"',
    '{Attr} Eq "{value}"',
    "{Attr} eQ {value}",
]


def users_query(attr: str, value: str, style: str, shape: str = FILTER_SHAPES[0]) -> str:
    text = shape.format(attr=attr, Attr=attr[0].upper() + attr[1:], value=value)
    return f"filter={encoded(text, style)}"


def groups_query(value: str, style: str, shape: str = FILTER_SHAPES[0]) -> str:
    text = shape.format(attr="displayName", Attr="DisplayName", value=value)
    return f"excludedAttributes=members&filter={encoded(text, style)}"


def assert_scim_json(headers: dict[str, str]) -> None:
    assert headers["content-type"].split(";")[0].strip() == "application/scim+json"


def assert_empty_list(result) -> None:
    status, headers, body = result
    assert status == 200, body
    assert_scim_json(headers)
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 0
    assert body["Resources"] == []
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 0


def store() -> DynamoResourceStore:
    return DynamoStore.over(boto3.client("dynamodb", region_name=REGION), TABLE_NAME).resources


def insert_user(idp_id: str, user_id: str, user_name: str, external_id: str) -> None:
    attributes = {"schemas": [USER_SCHEMA], "userName": user_name, "externalId": external_id, "active": True}
    store().create(
        idp_id,
        USER.name,
        Stored(user_id, attributes, CREATED, CREATED, 1),
        {"userName": USER.value_key("userName", user_name), "externalId": USER.value_key("externalId", external_id)},
    )


def insert_group(idp_id: str, group_id: str, display_name: str, external_id: str, members: list[dict]) -> None:
    attributes = {"schemas": [GROUP_SCHEMA], "displayName": display_name, "externalId": external_id}
    store().create(
        idp_id,
        GROUP.name,
        Stored(group_id, attributes, CREATED, CREATED, 1),
        {
            "displayName": GROUP.value_key("displayName", display_name),
            "externalId": GROUP.value_key("externalId", external_id),
        },
    )
    seed_member_items(idp_id, group_id, [member["value"] for member in members])  # one item each, as the store keeps


# --- Test Connection: random GUIDs find nothing ----------------------------------------------------------------

ENCODINGS = [(style, shape) for style in STYLES for shape in FILTER_SHAPES]


def test_user_lookup_by_random_guid_is_an_empty_list(call, tenant: Tenant) -> None:
    for style, shape in ENCODINGS:
        query = users_query("userName", new_guid(), style, shape)
        assert_empty_list(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token))


def test_group_lookup_by_random_guid_is_an_empty_list(call, tenant: Tenant) -> None:
    for style, shape in ENCODINGS:
        query = groups_query(new_guid(), style, shape)
        assert_empty_list(call("GET", f"{tenant.base}/Groups?{query}", token=tenant.token))


def test_test_connection_with_data_present_still_finds_nothing(call, tenant: Tenant) -> None:
    insert_user(tenant.idp_id, new_guid(), "alice@contoso.com", "ext-alice")
    insert_group(tenant.idp_id, new_guid(), "Sales", "ext-sales", [])
    query = users_query("userName", new_guid(), "pct")
    assert_empty_list(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token))
    assert_empty_list(call("GET", f"{tenant.base}/Groups?{groups_query(new_guid(), 'plus')}", token=tenant.token))


# --- the lookups are real ------------------------------------------------------------------------------------------


@pytest.fixture
def alice(tenant: Tenant) -> dict:
    user = {"id": new_guid(), "userName": "Alice.Smith@Contoso.com", "externalId": "ext-Alice-0042"}
    insert_user(tenant.idp_id, user["id"], user["userName"], user["externalId"])
    # Someone else in the same tenant, so "found one" cannot mean "returned everything".
    insert_user(tenant.idp_id, new_guid(), "bob@contoso.com", "ext-bob")
    return user


def assert_found_exactly(result, tenant: Tenant, user: dict, endpoint: str = "Users") -> dict:
    status, headers, body = result
    assert status == 200, body
    assert_scim_json(headers)
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 1
    assert body["itemsPerPage"] == 1
    (found,) = body["Resources"]
    assert found["id"] == user["id"]
    assert found["meta"]["location"] == f"{tenant.url}/{endpoint}/{user['id']}"
    return found


@pytest.mark.parametrize("spelling", ["alice.smith@contoso.com", "ALICE.SMITH@CONTOSO.COM", "Alice.Smith@Contoso.com"])
def test_user_name_lookup_ignores_case(call, tenant: Tenant, alice: dict, spelling: str) -> None:
    for style, shape in ENCODINGS:
        query = users_query("userName", spelling, style, shape)
        found = assert_found_exactly(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token), tenant, alice)
        assert found["userName"] == alice["userName"]  # as stored, not as asked
        assert found["externalId"] == alice["externalId"]
        assert found["meta"]["resourceType"] == "User"


def test_external_id_lookup(call, tenant: Tenant, alice: dict) -> None:
    for style, shape in ENCODINGS:
        query = users_query("externalId", alice["externalId"], style, shape)
        assert_found_exactly(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token), tenant, alice)


def test_external_id_lookup_is_case_exact(call, tenant: Tenant, alice: dict) -> None:
    query = users_query("externalId", alice["externalId"].upper(), "pct")
    assert_empty_list(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token))


def test_id_lookup(call, tenant: Tenant, alice: dict) -> None:
    for style, shape in ENCODINGS:
        query = users_query("id", alice["id"], style, shape)
        assert_found_exactly(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token), tenant, alice)
        query = users_query("id", new_guid(), style, shape)
        assert_empty_list(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token))


def test_another_tenant_does_not_see_the_user(call, tenant: Tenant, alice: dict, make_tenant) -> None:
    other = make_tenant(name="Fabrikam Entra")
    for attr, value in (("userName", alice["userName"]), ("externalId", alice["externalId"]), ("id", alice["id"])):
        query = users_query(attr, value, "pct")
        assert_empty_list(call("GET", f"{other.base}/Users?{query}", token=other.token))
        # ... while its own tenant does.
        assert_found_exactly(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token), tenant, alice)
    status, _, body = call("GET", f"{other.base}/Users", token=other.token)
    assert status == 200 and body["totalResults"] == 0 and body["Resources"] == []


def test_group_lookup_finds_the_group_and_excludes_members(call, tenant: Tenant, alice: dict) -> None:
    group = {"id": new_guid(), "displayName": "Sales-EMEA"}
    members = [{"value": alice["id"]}]
    insert_group(tenant.idp_id, group["id"], group["displayName"], "ext-sales", members)
    insert_group(tenant.idp_id, new_guid(), "Marketing", "ext-marketing", [])

    for style, shape in ENCODINGS:
        result = call("GET", f"{tenant.base}/Groups?{groups_query('sales-emea', style, shape)}", token=tenant.token)
        found = assert_found_exactly(result, tenant, group, "Groups")
        assert found["displayName"] == "Sales-EMEA"
        assert found["schemas"] == [GROUP_SCHEMA]
        assert "members" not in found

    # The same lookup without excludedAttributes shows the members, so the exclusion above did something.
    query = f"filter={encoded('displayName eq \"Sales-EMEA\"', 'pct')}"
    result = call("GET", f"{tenant.base}/Groups?{query}", token=tenant.token)
    found = assert_found_exactly(result, tenant, group, "Groups")
    assert found["members"] == members


def test_group_name_with_spaces_encoded_as_pct20(call, tenant: Tenant) -> None:
    group = {"id": new_guid(), "displayName": "Sales EMEA"}
    insert_group(tenant.idp_id, group["id"], group["displayName"], "ext-sales", [])
    result = call("GET", f"{tenant.base}/Groups?{groups_query('sales emea', 'pct')}", token=tenant.token)
    assert_found_exactly(result, tenant, group, "Groups")


# --- paging basics -------------------------------------------------------------------------------------------------


@pytest.fixture
def three_users(tenant: Tenant) -> list[str]:
    ids = sorted(new_guid() for _ in range(3))
    for number, user_id in enumerate(ids):
        insert_user(tenant.idp_id, user_id, f"user{number}@contoso.com", f"ext-{number}")
    return ids  # the order a listing returns them in (by id)


def test_count_zero_gives_only_the_total(call, tenant: Tenant, three_users: list[str]) -> None:
    status, headers, body = call("GET", f"{tenant.base}/Users?count=0", token=tenant.token)
    assert status == 200
    assert_scim_json(headers)
    assert body["totalResults"] == 3
    assert body["Resources"] == []
    assert body["itemsPerPage"] == 0


def test_count_zero_with_a_filter(call, tenant: Tenant, three_users: list[str]) -> None:
    query = f"count=0&{users_query('userName', 'USER1@contoso.com', 'plus')}"
    status, _, body = call("GET", f"{tenant.base}/Users?{query}", token=tenant.token)
    assert status == 200
    assert (body["totalResults"], body["Resources"], body["itemsPerPage"]) == (1, [], 0)


def test_listing_without_paging_returns_all(call, tenant: Tenant, three_users: list[str]) -> None:
    status, _, body = call("GET", f"{tenant.base}/Users", token=tenant.token)
    assert status == 200
    assert [r["id"] for r in body["Resources"]] == three_users
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 1, 3)


@pytest.mark.parametrize(
    ("start_index", "count", "expected"),
    [(1, 2, [0, 1]), (2, 1, [1]), (2, 5, [1, 2]), (3, 1, [2]), (4, 2, []), (0, 1, [0])],
)
def test_start_index_and_count_slice(
    call, tenant: Tenant, three_users: list[str], start_index: int, count: int, expected: list[int]
) -> None:
    status, _, body = call("GET", f"{tenant.base}/Users?startIndex={start_index}&count={count}", token=tenant.token)
    assert status == 200
    assert [r["id"] for r in body["Resources"]] == [three_users[i] for i in expected]
    assert body["totalResults"] == 3
    assert body["startIndex"] == max(1, start_index)
    assert body["itemsPerPage"] == len(expected)


# --- `+` inside a quoted value: a form-encoded space, or a plus sign that API Gateway has already decoded ------


def test_group_name_with_spaces_sent_form_encoded_is_found(call, tenant: Tenant) -> None:
    group = {"id": new_guid(), "displayName": "Sales EMEA"}
    insert_group(tenant.idp_id, group["id"], group["displayName"], "ext-sales-emea", [])
    for query in (
        'filter=displayName+eq+%22Sales+EMEA%22',  # form encoding, as Entra encodes the spaces between tokens
        'filter=displayName%20eq%20%22Sales%20EMEA%22',
        'excludedAttributes=members&filter=displayName+eq+"sales+emea"',
    ):
        result = call("GET", f"{tenant.base}/Groups?{query}", token=tenant.token)
        assert_found_exactly(result, tenant, group, "Groups")


def test_user_name_with_a_plus_sign_is_found(call, tenant: Tenant) -> None:
    user = {"id": new_guid(), "userName": "alice+provisioning@contoso.com"}
    insert_user(tenant.idp_id, user["id"], user["userName"], "ext-alice-plus")
    # A decoy whose name is the same with a space: the exact reading wins.
    insert_user(tenant.idp_id, new_guid(), "alice provisioning@contoso.com", "ext-alice-space")
    for query in (
        "filter=userName+eq+%22alice%2Bprovisioning%40contoso.com%22",
        'filter=userName eq "alice+provisioning@contoso.com"',
    ):
        found = assert_found_exactly(call("GET", f"{tenant.base}/Users?{query}", token=tenant.token), tenant, user)
        assert found["userName"] == user["userName"]


def test_a_plus_read_as_a_space_also_applies_to_evaluated_filters(call, tenant: Tenant) -> None:
    group = {"id": new_guid(), "displayName": "Sales EMEA"}
    insert_group(tenant.idp_id, group["id"], group["displayName"], "ext-1", [])
    insert_group(tenant.idp_id, new_guid(), "Marketing", "ext-2", [])
    result = call("GET", f"{tenant.base}/Groups?filter=displayName+sw+%22sales+e%22", token=tenant.token)
    assert_found_exactly(result, tenant, group, "Groups")
