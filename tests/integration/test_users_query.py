"""Querying users through the real handlers: evaluated filters, key lookups, paging, projections, `.search`, the
`tooMany` bound, and how many DynamoDB calls each request costs (docs/entra.md §2.3, §3, §4;
RFC 7644 §3.4)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from scim_endpoint import store as store_module
from scim_endpoint.store import resources as store_resources
from tests.conftest import Tenant, new_guid
from tests.integration.test_users import ENTERPRISE, SEARCH_REQUEST, patch_op, user
from tests.support import LIST_RESPONSE, Users, error, is_admission, ok

# Five users with something for every operator to find.
POPULATION = [
    user("alice@contoso.com", externalId="ext-alice", displayName="Alice Smith", title="Engineer", active=True,
         name={"givenName": "Alice", "familyName": "Smith"},
         emails=[{"type": "work", "value": "alice@contoso.com", "primary": True}],
         **{ENTERPRISE: {"department": "Sales", "employeeNumber": "1001"}}),
    user("bob@fabrikam.com", externalId="ext-bob", displayName="Bob Jones", active=True,
         name={"givenName": "Bob", "familyName": "Jones"},
         emails=[{"type": "work", "value": "bob@fabrikam.com"}, {"type": "home", "value": "bob@contoso.example"}]),
    user("carol@contoso.com", externalId="ext-carol", displayName="Carol Diaz", active=False,
         name={"givenName": "Carol", "familyName": "Diaz"},
         emails=[{"type": "work", "value": "carol@contoso.com"}],
         **{ENTERPRISE: {"department": "Engineering"}}),
    user("dave@contoso.org", externalId="ext-dave", nickName="D", active=True,
         **{ENTERPRISE: {"department": "Sales"}}),
    user("eve@fabrikam.com", externalId="ext-eve", title="Engineer", active=False,
         name={"givenName": "Eve", "familyName": "Smith"}),
]


@pytest.fixture
def population(users: Users) -> dict[str, dict]:
    """The five users, by the part of their userName before the @."""
    return {body["userName"].split("@")[0]: body for body in (users.create(u) for u in POPULATION)}


def names(resources: list[dict]) -> set[str]:
    return {resource["userName"].split("@")[0] for resource in resources}


# --- filters evaluated over the tenant's users ------------------------------------------------------------------


EVALUATED = [
    ('userName co "contoso"', {"alice", "carol", "dave"}),
    ('userName co "CONTOSO.COM"', {"alice", "carol"}),
    ('userName sw "b"', {"bob"}),
    ('userName ew ".com"', {"alice", "bob", "carol", "eve"}),
    ('displayName sw "carol d"', {"carol"}),
    ("title pr", {"alice", "eve"}),
    ("nickName pr", {"dave"}),
    ("emails pr", {"alice", "bob", "carol"}),
    (f"{ENTERPRISE}:department pr", {"alice", "carol", "dave"}),
    ('userName ne "alice@contoso.com"', {"bob", "carol", "dave", "eve"}),
    ('title ne "Engineer"', {"bob", "carol", "dave"}),
    ("active eq false", {"carol", "eve"}),
    ("active eq true", {"alice", "bob", "dave"}),
    ("active ne true", {"carol", "eve"}),
    ('active eq "False"', {"carol", "eve"}),
    ('name.familyName eq "Smith"', {"alice", "eve"}),
    ('name.familyName eq "smith"', {"alice", "eve"}),
    ('name.givenName sw "a" or name.givenName sw "e"', {"alice", "eve"}),
    ('emails[type eq "work" and value co "@contoso"]', {"alice", "carol"}),
    ('emails[type eq "work"].value eq "bob@fabrikam.com"', {"bob"}),
    ('emails[type eq "work"].value eq "bob@contoso.example"', set()),
    ('emails[type eq "home"]', {"bob"}),
    ('emails.value co "contoso"', {"alice", "bob", "carol"}),
    (f'{ENTERPRISE}:department eq "Sales"', {"alice", "dave"}),
    (f'{ENTERPRISE.lower()}:DEPARTMENT eq "sales"', {"alice", "dave"}),
    (f'{ENTERPRISE}:employeeNumber eq 1001', {"alice"}),
    # The enterprise attributes named without their URN (as Entra's manager check does).
    ('department eq "Engineering"', {"carol"}),
    # Attribute names and operators in any case.
    ('USERNAME SW "ALICE"', {"alice"}),
    ('Name.FamilyName EQ "SMITH"', {"alice", "eve"}),
    ('userName Co "fabrikam" AnD Active Eq False', {"eve"}),
    ("ACTIVE eq FALSE", {"carol", "eve"}),
    ("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"d\"", {"dave"}),
    # Logic, with parentheses and `not`.
    ('(title eq "Engineer" or nickName pr) and not (active eq false)', {"alice", "dave"}),
    ('title eq "Engineer" or nickName pr and active eq false', {"alice", "eve"}),
    ('not (userName co "contoso") and (active eq true or title pr)', {"bob", "eve"}),
    ('not (emails pr) or emails[type eq "home"]', {"bob", "dave", "eve"}),
    ('externalId eq "ext-alice" or externalId eq "ext-eve"', {"alice", "eve"}),
    ('externalId sw "EXT-"', set()),  # externalId is case-exact
    ('externalId sw "ext-"', {"alice", "bob", "carol", "dave", "eve"}),
    # Key lookups combined with `and`: the lookup, then the whole filter.
    ('userName eq "alice@contoso.com" and active eq true', {"alice"}),
    ('userName eq "carol@contoso.com" and active eq true', set()),
    ('active eq false and userName eq "CAROL@contoso.com"', {"carol"}),
    ('externalId eq "ext-dave" and department eq "Sales"', {"dave"}),
    ('userName eq "alice@contoso.com" or userName eq "bob@fabrikam.com"', {"alice", "bob"}),
]


def test_evaluated_filters(users: Users, population: dict) -> None:
    """Every filter of EVALUATED over the same five users (one test, so the users are made once)."""
    wrong = {}
    for text, expected in EVALUATED:
        found = users.filter(text)
        assert all(resource == population[resource["userName"].split("@")[0]] for resource in found), text
        if names(found) != expected:
            wrong[text] = (names(found), expected)
    assert wrong == {}, "filters that found (this, not that)"


def test_filter_on_last_modified(users: Users, population: dict) -> None:
    time.sleep(0.01)
    boundary = max(u["meta"]["lastModified"] for u in population.values())
    time.sleep(0.01)
    for name in ("bob", "dave"):
        ok(users.patch(population[name]["id"], patch_op({"op": "replace", "path": "title", "value": "Later"})))
    assert names(users.filter(f'meta.lastModified gt "{boundary}"')) == {"bob", "dave"}
    assert names(users.filter(f'meta.lastModified le "{boundary}"')) == {"alice", "carol", "eve"}
    assert names(users.filter(f'meta.lastModified lt "{boundary}" and title pr')) <= {"alice", "carol", "eve"}
    assert names(users.filter('meta.lastModified gt "2000-01-01T00:00:00Z"')) == set(population)
    assert users.filter('meta.lastModified lt "2000-01-01T00:00:00Z"') == []
    assert names(users.filter(f'meta.created le "{boundary}" and meta.lastModified gt "{boundary}"')) == {"bob", "dave"}


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName+eq+%22alice%40contoso.com%22",  # Entra: `+` for spaces
        'filter=userName+eq+"alice@contoso.com"',  # the validator: `+`, quotes left raw
        "filter=userName%20eq%20%22alice%40contoso.com%22",
        "filter=userName%20Eq%20alice@contoso.com",  # unquoted (the tutorial's Example 1)
        "filter=userName+eq+alice%40contoso.com&aadOptscim062020",  # an unknown flag is ignored
        "filter=externalId+eq+%22ext-alice%22",
        "Filter=externalId+eq+ext-alice",
        "filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22ALICE%40contoso.com%22",
        "filter=displayName+eq+%22Alice+Smith%22",  # `+` inside the quotes is a space here
        "filter=displayName%20eq%20%22Alice%20Smith%22",
    ],
)
def test_encoded_filters(users: Users, population: dict, query: str) -> None:
    body = ok(users.list(query))
    assert body["totalResults"] == 1 and body["Resources"] == [population["alice"]]


def test_a_plus_in_a_value_is_kept_when_it_is_one(users: Users) -> None:
    """`%2B` arrives as `+`: both readings of `+` are tried, for lookups and for evaluated filters."""
    plus = users.create(user("a+b@contoso.com"))
    assert ok(users.list("filter=userName+eq+%22a%2Bb%40contoso.com%22"))["Resources"] == [plus]
    assert ok(users.list("filter=userName+sw+%22a%2Bb%22"))["Resources"] == [plus]
    assert ok(users.list("filter=userName+eq+%22a+b%40contoso.com%22"))["Resources"] == [plus]


@pytest.mark.parametrize(
    "text",
    [
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'userName eq "unterminated',
        "active gt true",
        'userName co true',
        'emails[type eq "work"',
        '"userName" eq "x"',
        "and",
        'userName eq "a" or',
        "",
    ],
)
def test_invalid_filter_is_400_invalid_filter(users: Users, population: dict, text: str) -> None:
    error(users.list(f"filter={quote(text, safe='')}"), 400, "invalidFilter")
    error(users.search({"schemas": [SEARCH_REQUEST], "filter": text}), 400, "invalidFilter")


def test_key_lookups_find_one_user_by_id_user_name_and_external_id(users: Users, population: dict) -> None:
    alice = population["alice"]
    assert users.filter(f'id eq "{alice["id"]}"') == [alice]
    assert users.filter(f'ID EQ "{alice["id"].upper()}"') == []  # ids are case-exact
    assert users.filter(f'id eq "{new_guid()}"') == []
    assert users.filter(f'id eq "{"x" * 2000}"') == []
    assert users.filter('userName eq "ALICE@CONTOSO.COM"') == [alice]
    assert users.filter('externalId eq "ext-alice"') == [alice]
    assert users.filter('externalId eq "EXT-ALICE"') == []


# --- paging ------------------------------------------------------------------------------------------------------


@pytest.fixture
def twelve(users: Users) -> list[dict]:
    return [users.create(user(f"page.{n:02d}@contoso.com")) for n in range(12)]


def test_paging_as_the_logic_app_does(users: Users, twelve: list[dict]) -> None:
    """SCIM_User_Pagination_Test: pages of 5, startIndex = page*5+1, until past the end."""
    seen: list[dict] = []
    page = 0
    while True:
        start = page * 5 + 1
        body = ok(users.list(f"startIndex={start}&count=5"))
        assert body["schemas"] == [LIST_RESPONSE]
        assert body["startIndex"] == start
        assert body["totalResults"] == 12
        assert body["itemsPerPage"] == len(body["Resources"]) == min(5, max(0, 12 - start + 1))
        if not body["Resources"]:
            break
        seen += body["Resources"]
        page += 1
    assert page == 3
    assert sorted(u["id"] for u in seen) == sorted(u["id"] for u in twelve)
    assert len({u["id"] for u in seen}) == 12
    assert {u["id"]: u for u in seen} == {u["id"]: u for u in twelve}
    # The order is stable: the same pages again give the same users in the same order.
    again = [r for start in (1, 6, 11) for r in ok(users.list(f"startIndex={start}&count=5"))["Resources"]]
    assert [u["id"] for u in again] == [u["id"] for u in seen]
    # One page of everything has that order too.
    assert [u["id"] for u in ok(users.list())["Resources"]] == [u["id"] for u in seen]


@pytest.mark.parametrize(
    "query, start, items",
    [
        ("startIndex=13&count=5", 13, 0),
        ("startIndex=1000&count=5", 1000, 0),
        ("startIndex=12&count=5", 12, 1),
        ("startIndex=1&count=2", 1, 2),
        ("count=0", 1, 0),
        ("count=0&startIndex=5", 5, 0),
        ("count=0&filter=userName+sw+%22page.0%22", 1, 0),
        ("startIndex=0&count=3", 1, 3),
        ("startIndex=-4&count=3", 1, 3),
        ("count=-1", 1, 0),
        ("count=1000", 1, 12),
        ("", 1, 12),
        ("startIndex=11", 11, 2),
    ],
)
def test_page_bounds(users: Users, twelve: list[dict], query: str, start: int, items: int) -> None:
    body = ok(users.list(query))
    total = 10 if "filter" in query else 12
    assert body["totalResults"] == total
    assert body["startIndex"] == start
    assert body["itemsPerPage"] == len(body["Resources"]) == items


def test_count_above_the_maximum_is_clamped_to_100(users: Users) -> None:
    for n in range(103):
        users.create(user(f"many.{n:03d}@contoso.com"))
    body = ok(users.list("count=1000"))
    assert body["totalResults"] == 103
    assert body["itemsPerPage"] == len(body["Resources"]) == 100
    rest = ok(users.list("startIndex=101&count=1000"))
    assert rest["itemsPerPage"] == 3
    assert {u["id"] for u in body["Resources"]}.isdisjoint(u["id"] for u in rest["Resources"])
    assert ok(users.list())["itemsPerPage"] == 100
    assert ok(users.search({"schemas": [SEARCH_REQUEST], "count": 500}))["itemsPerPage"] == 100


@pytest.mark.parametrize("query", ["count=abc", "startIndex=1.5", "count=5e2", "startIndex=%20"])
def test_bad_paging_parameters(users: Users, query: str) -> None:
    result = users.list(query)
    if query == "startIndex=%20":
        assert ok(result)["startIndex"] == 1  # blank means absent
    else:
        error(result, 400, "invalidValue")


# --- attributes and excludedAttributes --------------------------------------------------------------------------


def test_projection_on_list(users: Users, population: dict) -> None:
    body = ok(users.list('attributes=userName&filter=userName+sw+"a"'))
    assert body["Resources"] == [{"schemas": population["alice"]["schemas"], "id": population["alice"]["id"],
                                  "userName": "alice@contoso.com"}]
    body = ok(users.list("attributes=name.familyName,emails.value&filter=userName+sw+%22a%22"))
    assert body["Resources"] == [{"schemas": population["alice"]["schemas"], "id": population["alice"]["id"],
                                  "name": {"familyName": "Smith"}, "emails": [{"value": "alice@contoso.com"}]}]
    body = ok(users.list("excludedAttributes=emails,name,meta,urn:ietf:params:scim:schemas:extension:enterprise:"
                         "2.0:User&filter=userName+sw+%22a%22"))
    alice = population["alice"]
    assert body["Resources"] == [{k: v for k, v in alice.items() if k not in ("emails", "name", "meta", ENTERPRISE)}]
    # id and schemas are always returned.
    body = ok(users.list("excludedAttributes=id,schemas,userName"))
    assert all(set(r) >= {"id", "schemas"} and "userName" not in r for r in body["Resources"])
    assert body["totalResults"] == 5


def test_projection_on_get_by_id(users: Users, population: dict) -> None:
    alice = population["alice"]
    got = ok(users.get(alice["id"], f"?attributes=userName,{ENTERPRISE}:department"))
    assert got == {"schemas": alice["schemas"], "id": alice["id"], "userName": alice["userName"],
                   ENTERPRISE: {"department": "Sales"}}
    got = ok(users.get(alice["id"], f"?excludedAttributes={ENTERPRISE}:employeeNumber,title"))
    expected = {k: v for k, v in alice.items() if k != "title"}
    expected[ENTERPRISE] = {"department": "Sales"}
    assert got == expected
    got = users.get(alice["id"], "?attributes=meta")
    assert got.headers["etag"] == 'W/"1"' and ok(got)["meta"] == alice["meta"]


def test_projection_on_post_put_and_patch(users: Users, tenant: Tenant) -> None:
    sent = user("projected@contoso.com", displayName="P", title="T")
    result = users.request("POST", "/Users?attributes=userName", sent)
    status, headers, body = result
    assert status == 201, body
    assert set(body) == {"schemas", "id", "userName"}
    assert headers["location"] == f"{tenant.url}/Users/{body['id']}" and headers["etag"] == 'W/"1"'
    full = users.read(body["id"])
    assert full["displayName"] == "P" and full["title"] == "T"

    result = users.request("PATCH", f"/Users/{body['id']}?excludedAttributes=title",
                           patch_op({"op": "replace", "path": "displayName", "value": "Q"}))
    assert result.status == 200 and "title" not in result.body and result.body["displayName"] == "Q"
    assert result.headers["etag"] == 'W/"2"'
    result = users.request("PUT", f"/Users/{body['id']}?attributes=displayName",
                           user("projected@contoso.com", displayName="R", title="T"))
    assert result.status == 200 and set(result.body) == {"schemas", "id", "displayName"}


# --- POST .search -------------------------------------------------------------------------------------------------


def test_search_request(users: Users, population: dict) -> None:
    body = ok(users.search({
        "schemas": [SEARCH_REQUEST],
        "filter": 'userName co "contoso"',
        "startIndex": 2,
        "count": 1,
        "attributes": ["userName", "name.familyName"],
    }))
    assert body["totalResults"] == 3 and body["startIndex"] == 2 and body["itemsPerPage"] == 1
    (found,) = body["Resources"]
    assert set(found) <= {"schemas", "id", "userName", "name"}
    assert found["userName"] in {"alice@contoso.com", "carol@contoso.com", "dave@contoso.org"}
    every = ok(users.search({"schemas": [SEARCH_REQUEST], "filter": 'userName co "contoso"'}))
    second = every["Resources"][1]
    assert found == {"schemas": second["schemas"], "id": second["id"], "userName": second["userName"],
                     **({"name": {"familyName": second["name"]["familyName"]}} if "name" in second else {})}

    body = ok(users.search({"schemas": [SEARCH_REQUEST], "filter": "active eq false",
                            "excludedAttributes": ["emails", "name"]}))
    assert names(body["Resources"]) == {"carol", "eve"}
    assert all("emails" not in r and "name" not in r for r in body["Resources"])
    assert ok(users.search({}))["totalResults"] == 5
    assert ok(users.search({"filter": 'userName eq "dave@contoso.org"'}))["Resources"] == [population["dave"]]
    error(users.search({"schemas": ["urn:wrong"]}), 400, "invalidValue")
    error(users.search({"count": "many"}), 400, "invalidValue")
    error(users.search([]), 400, "invalidSyntax")
    error(users.request("POST", "/Users/.search", b"{nope"), 400, "invalidSyntax")


def test_root_search(users: Users, population: dict) -> None:
    body = ok(users.request("POST", "/.search", {
        "schemas": [SEARCH_REQUEST], "filter": 'userName ew "@fabrikam.com"', "attributes": ["userName"],
    }))
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 2
    assert {r["userName"] for r in body["Resources"]} == {"bob@fabrikam.com", "eve@fabrikam.com"}
    assert all(set(r) == {"schemas", "id", "userName"} for r in body["Resources"])
    body = ok(users.request("POST", "/.search", {"filter": f'id eq "{population["eve"]["id"]}"'}))
    assert body["Resources"] == [population["eve"]]


# --- tooMany --------------------------------------------------------------------------------------------------------


def test_too_many_for_an_evaluated_filter_but_not_for_a_key_lookup(users: Users, monkeypatch,
                                                                   population: dict) -> None:
    monkeypatch.setattr(store_resources, "MAX_SCANNED_RESOURCES", 3)
    body = error(users.list("filter=userName+co+%22contoso%22"), 400, "tooMany")
    assert "3" in body["detail"]
    error(users.search({"filter": "active eq false"}), 400, "tooMany")
    assert users.filter('userName eq "eve@fabrikam.com"') == [population["eve"]]
    assert users.filter('externalId eq "ext-bob"') == [population["bob"]]
    assert users.filter(f'id eq "{population["carol"]["id"]}"') == [population["carol"]]
    assert users.filter('userName eq "carol@contoso.com" and active eq false') == [population["carol"]]
    assert ok(users.list("count=0"))["totalResults"] == 5
    monkeypatch.setattr(store_resources, "MAX_SCANNED_RESOURCES", 5)
    assert names(users.filter("active eq false")) == {"carol", "eve"}


# --- DynamoDB calls per request -------------------------------------------------------------------------------------


@pytest.fixture
def dynamodb_calls(users: Users):
    """The names of the DynamoDB operations made since the last `clear()`."""
    calls: list[str] = []

    def record(model, params, **kwargs) -> None:
        if not is_admission(params):
            calls.append(model.name)

    events = store_module.store().table.client.meta.events
    events.register("before-call.dynamodb", record)
    yield calls
    events.unregister("before-call.dynamodb", record)


def test_dynamodb_calls_per_request(users: Users, dynamodb_calls: list[str]) -> None:
    def cost(action) -> list[str]:
        dynamodb_calls.clear()
        action()
        return list(dynamodb_calls)

    holder: dict = {}
    assert cost(lambda: holder.update(u=users.created(users.post(user("calls@contoso.com", externalId="c-1"))))) \
        == ["TransactWriteItems"]
    user_id = holder["u"]["id"]
    # GET by id also reads the user's groups (the inverse index; the groups themselves only when there are any),
    # unless the client does not want them.
    assert cost(lambda: ok(users.get(user_id))) == ["GetItem", "Query"]
    assert cost(lambda: ok(users.get(user_id, query="?excludedAttributes=groups"))) == ["GetItem"]
    assert cost(lambda: ok(users.get(user_id, query="?attributes=userName"))) == ["GetItem"]
    assert cost(lambda: users.filter('userName eq "CALLS@contoso.com"')) == ["GetItem"]
    assert cost(lambda: ok(users.list("filter=userName+eq+%22calls%40contoso.com%22"))) == ["GetItem"]
    assert cost(lambda: users.filter('externalId eq "c-1"')) == ["GetItem"]
    assert cost(lambda: users.filter(f'id eq "{user_id}"')) == ["GetItem"]
    assert cost(lambda: users.filter('userName eq "calls@contoso.com" and active eq true')) == ["GetItem"]
    assert cost(lambda: users.filter(f'userName eq "{new_guid()}"')) == ["GetItem"]  # Test Connection
    assert cost(lambda: ok(users.patch(user_id, patch_op({"op": "replace", "path": "title", "value": "A"})))) \
        == ["GetItem", "TransactWriteItems"]
    assert cost(lambda: ok(users.patch(user_id, patch_op({"op": "replace", "path": "title", "value": "A"})))) \
        == ["GetItem"]
    assert cost(lambda: ok(users.put(user_id, user("calls@contoso.com", externalId="c-2")))) \
        == ["GetItem", "TransactWriteItems"]
    assert cost(lambda: users.get(user_id, "?excludedAttributes=groups", headers={"If-None-Match": 'W/"3"'})) \
        == ["GetItem"]
    assert cost(lambda: ok(users.list("count=0"))) == ["Query"]
    assert cost(lambda: error(users.post(user("CALLS@contoso.com")), 409)) == ["TransactWriteItems"]
    # DELETE leaves the user's groups first: the inverse index says there are none here.
    assert cost(lambda: users.delete(user_id)) == ["GetItem", "Query", "TransactWriteItems"]
    assert cost(lambda: error(users.get(user_id), 404)) == ["GetItem"]
    assert cost(lambda: error(users.get("x" * 300), 404)) == []
