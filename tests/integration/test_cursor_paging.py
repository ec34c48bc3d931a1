"""RFC 9865 cursor paging through the handlers: `cursor` and `count` on GET /Users, /Groups and the SearchRequest of
/.search; `nextCursor` until the last page; cursors bound to their IdP and query, tamper-proof, and expiring; the
same cost at any depth; and lists too long for index paging."""

from __future__ import annotations

import time
from urllib.parse import quote

from scim_endpoint import observability
from scim_endpoint.scim import cursors
from scim_endpoint.store import resources as store_resources
from scim_endpoint.resources import common
from tests.conftest import Tenant

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def make_users(call, tenant: Tenant, count: int, prefix: str = "user") -> list[str]:
    ids = []
    for index in range(count):
        result = call("POST", f"{tenant.base}/Users", token=tenant.token, body={
            "userName": f"{prefix}{index:03d}@contoso.com", "title": "Engineer" if index % 3 == 0 else "Sales",
            "active": True})
        assert result.status == 201, result.body
        ids.append(result.body["id"])
    return ids


def page(call, tenant: Tenant, query: str, path: str = "/Users"):
    return call("GET", f"{tenant.base}{path}?{query}", token=tenant.token)


def walk(call, tenant: Tenant, query: str, path: str = "/Users", limit: int = 100) -> list[dict]:
    """Every page of a cursor-paged list, following nextCursor; each page's body."""
    pages, cursor = [], ""
    for _ in range(limit):
        result = page(call, tenant, f"{query}&cursor={cursor}", path)
        assert result.status == 200, result.body
        pages.append(result.body)
        cursor = result.body.get("nextCursor")
        if cursor is None:
            return pages
    raise AssertionError("nextCursor never ended")


def error(result, scim_type: str) -> dict:
    assert result.status == 400, (result.status, result.body)
    assert result.headers["content-type"].startswith("application/scim+json")
    assert result.body["scimType"] == scim_type, result.body
    return result.body


# --- first, middle and last pages -------------------------------------------------------------------------------------


def test_pages_follow_next_cursor_to_the_last_page(call, tenant) -> None:
    ids = make_users(call, tenant, 7)
    pages = walk(call, tenant, "count=3")
    assert [len(p["Resources"]) for p in pages] == [3, 3, 1]
    first, middle, last = pages
    assert first["schemas"] == [LIST_RESPONSE] and first["itemsPerPage"] == 3
    assert "nextCursor" in first and "nextCursor" in middle and "nextCursor" not in last
    # No totalResults or startIndex: counting would read the whole list on every page (RFC 9865 lets it go).
    assert "totalResults" not in first and "startIndex" not in first
    seen = [r["id"] for p in pages for r in p["Resources"]]
    assert seen == sorted(ids) and len(set(seen)) == 7
    # The cursor is opaque and made of RFC 3986 unreserved characters.
    assert all(c.isalnum() or c in "-._~" for c in first["nextCursor"])


def test_an_empty_cursor_written_without_a_value_asks_for_the_first_page(call, tenant) -> None:
    make_users(call, tenant, 2)
    bare = page(call, tenant, "cursor&count=1")
    assert bare.status == 200 and len(bare.body["Resources"]) == 1 and "nextCursor" in bare.body
    exact = page(call, tenant, "count=2&cursor=")
    assert len(exact.body["Resources"]) == 2 and "nextCursor" not in exact.body


def test_an_exact_last_page_has_no_next_cursor_and_an_empty_list_one_page(call, tenant) -> None:
    assert walk(call, tenant, "count=5") == [{"schemas": [LIST_RESPONSE], "itemsPerPage": 0, "Resources": []}]
    make_users(call, tenant, 4)
    assert [len(p["Resources"]) for p in walk(call, tenant, "count=2")] == [2, 2]


def test_index_paging_is_unchanged_and_the_default(call, tenant) -> None:
    make_users(call, tenant, 3)
    indexed = page(call, tenant, "startIndex=2&count=1").body
    assert indexed["totalResults"] == 3 and indexed["startIndex"] == 2 and "nextCursor" not in indexed
    assert page(call, tenant, "count=2").body["totalResults"] == 3


def test_cursor_with_start_index_is_refused_and_count_is_read_as_rfc_7644_says(call, tenant) -> None:
    make_users(call, tenant, 2)
    error(page(call, tenant, "cursor=&startIndex=1"), "invalidValue")
    for count in ("0", "-3"):  # a negative count means 0, and 0 means no resources (and no read)
        empty = page(call, tenant, f"cursor=&count={count}")
        assert empty.status == 200 and empty.body["Resources"] == [] and "nextCursor" not in empty.body
    for body in ({"cursor": 123}, {"cursor": True}, {"cursor": ["x"]}, {"cursor": {}}):
        error(call("POST", f"{tenant.base}/Users/.search", token=tenant.token, body={"schemas": [SEARCH], **body}),
              "invalidCursor")


# --- filters and projection ------------------------------------------------------------------------------------------


def test_a_filtered_and_projected_list_by_cursor(call, tenant) -> None:
    ids = make_users(call, tenant, 9)
    query = f"filter={quote('title eq \"Engineer\"')}&attributes=userName&count=2"
    pages = walk(call, tenant, query)
    resources = [r for p in pages for r in p["Resources"]]
    engineers = {ids[0], ids[3], ids[6]}
    assert [r["id"] for r in resources] == sorted(engineers)  # in id order, each once
    assert all(set(r) == {"schemas", "id", "userName"} for r in resources)


def test_an_evaluated_filter_page_may_hold_fewer_than_count_with_a_next_cursor(call, tenant, monkeypatch) -> None:
    ids = make_users(call, tenant, 12)
    monkeypatch.setattr(common, "CURSOR_EXAMINED", 4)  # a page examines at most 4 resources
    pages = walk(call, tenant, f"filter={quote('title eq \"Engineer\"')}&count=10")
    engineers = {ids[0], ids[3], ids[6], ids[9]}
    in_order = sorted(ids)
    # Each page examines the next 4 resources in id order and shows the engineers among them; the third ends its
    # examination on the last resource without knowing it is the last, so an empty page ends the list.
    expected = [sorted(engineers & set(in_order[i:i + 4])) for i in range(0, 12, 4)] + [[]]
    assert [[r["id"] for r in p["Resources"]] for p in pages] == expected
    assert all("nextCursor" in p for p in pages[:-1]) and "nextCursor" not in pages[-1]


def test_a_lookup_by_key_is_one_page(call, tenant) -> None:
    make_users(call, tenant, 3)
    found = page(call, tenant, f"filter={quote('userName eq \"user001@contoso.com\"')}&cursor=&count=5").body
    assert [r["userName"] for r in found["Resources"]] == ["user001@contoso.com"] and "nextCursor" not in found


def test_groups_by_cursor_carry_their_members_unless_excluded(call, tenant) -> None:
    user_id = make_users(call, tenant, 1)[0]
    for index in range(3):
        made = call("POST", f"{tenant.base}/Groups", token=tenant.token,
                    body={"displayName": f"Team {index}", "members": [{"value": user_id}]})
        assert made.status == 201, made.body
    pages = walk(call, tenant, "count=2", path="/Groups")
    assert [len(p["Resources"]) for p in pages] == [2, 1]
    assert all(r["members"][0]["value"] == user_id for p in pages for r in p["Resources"])
    lean = walk(call, tenant, "count=2&excludedAttributes=members", path="/Groups")
    assert all("members" not in r for p in lean for r in p["Resources"])


def test_search_requests_page_by_cursor_over_users_then_groups(call, tenant) -> None:
    make_users(call, tenant, 3)
    for index in range(2):
        call("POST", f"{tenant.base}/Groups", token=tenant.token, body={"displayName": f"Team {index}"})
    seen, cursor, pages = [], "", 0
    while cursor is not None:
        result = call("POST", f"{tenant.base}/.search", token=tenant.token,
                      body={"schemas": [SEARCH], "cursor": cursor, "count": 2, "excludedAttributes": ["members"]})
        assert result.status == 200, result.body
        seen += [r["meta"]["resourceType"] for r in result.body["Resources"]]
        cursor, pages = result.body.get("nextCursor"), pages + 1
    assert seen == ["User", "User", "User", "Group", "Group"] and pages == 3
    users_only = call("POST", f"{tenant.base}/Users/.search", token=tenant.token,
                      body={"schemas": [SEARCH], "cursor": "", "count": 2, "filter": "active eq true"})
    assert len(users_only.body["Resources"]) == 2 and "nextCursor" in users_only.body


# --- cursors that are not good here ----------------------------------------------------------------------------------


def first_cursor(call, tenant: Tenant, query: str = "count=1", path: str = "/Users") -> str:
    return page(call, tenant, f"{query}&cursor=", path).body["nextCursor"]


def test_a_tampered_cursor_is_invalid_and_a_cursor_cannot_be_read(call, tenant) -> None:
    import base64

    ids = make_users(call, tenant, 3)
    cursor = first_cursor(call, tenant)
    kid, sealed, mac = cursor.split(".")
    flipped = ("A" if sealed[5] != "A" else "B").join((sealed[:5], sealed[6:]))
    messages = set()
    for bad in (f"{kid}.{flipped}.{mac}", f"{kid}.{sealed}.{mac[:-1]}", cursor + "x", f"eA.{sealed}.{mac}", "garbage",
                "a.b.c", "x" * 2000, "%%%", f"{kid}.{sealed}"):
        messages.add(error(page(call, tenant, f"count=1&cursor={quote(bad)}"), "invalidCursor")["detail"])
    assert len(messages) == 1  # one message, whatever is wrong: nothing to learn from it
    # Opaque: the position it holds (a user's id) cannot be read from it.
    decoded = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    assert not any(user_id.encode() in decoded for user_id in ids) and b"User" not in decoded


def test_a_cursor_of_another_idp_or_query_is_invalid(call, tenant, make_tenant) -> None:
    make_users(call, tenant, 3)
    cursor = first_cursor(call, tenant, f"filter={quote('active eq true')}&count=1")
    assert page(call, tenant, f"filter={quote('active eq true')}&count=1&cursor={cursor}").status == 200
    other = make_tenant(name="Fabrikam")
    make_users(call, other, 3)
    error(page(call, other, f"filter={quote('active eq true')}&count=1&cursor={cursor}"), "invalidCursor")
    error(page(call, tenant, f"filter={quote('active eq false')}&count=1&cursor={cursor}"), "invalidCursor")
    error(page(call, tenant, f"count=1&cursor={cursor}"), "invalidCursor")
    error(page(call, tenant, f"filter={quote('active eq true')}&attributes=userName&count=1&cursor={cursor}"),
          "invalidCursor")
    error(page(call, tenant, f"filter={quote('active eq true')}&count=1&cursor={cursor}", "/Groups"), "invalidCursor")
    messages = {error(page(call, other, f"filter={quote('active eq true')}&count=1&cursor={cursor}"),
                      "invalidCursor")["detail"], error(page(call, tenant, "count=1&cursor=x.y.z"), "invalidCursor")[
                          "detail"]}
    assert len(messages) == 1  # another list's genuine cursor and a made-up one are told apart by nothing
    # `count` may change from page to page.
    assert page(call, tenant, f"filter={quote('active eq true')}&count=2&cursor={cursor}").status == 200


def test_an_expired_cursor_says_so(call, tenant, monkeypatch) -> None:
    make_users(call, tenant, 2)
    cursor = first_cursor(call, tenant)
    later = time.time() + cursors.CURSOR_TIMEOUT_SECONDS + 1
    monkeypatch.setattr(common.time, "time", lambda: later)
    assert "expired" in error(page(call, tenant, f"count=1&cursor={cursor}"), "expiredCursor")["detail"]


# --- cost and size -------------------------------------------------------------------------------------------------


def test_a_deep_page_costs_what_the_first_costs(call, tenant) -> None:
    make_users(call, tenant, 12)

    def calls(query: str) -> tuple[int, dict]:
        before = observability.dynamodb_calls()
        result = page(call, tenant, query)
        assert result.status == 200, result.body
        return observability.dynamodb_calls() - before, result.body

    first_calls, first = calls("count=3&cursor=")
    cursor = calls(f"count=3&cursor={first['nextCursor']}")[1]["nextCursor"]
    deep_calls, deep = calls(f"count=3&cursor={cursor}")  # the third page of four
    assert len(deep["Resources"]) == 3 and "nextCursor" in deep
    assert deep_calls == first_calls == 2  # the admission's GetItem, and one Query


def test_a_list_too_long_for_index_paging_pages_by_cursor(call, tenant, monkeypatch) -> None:
    ids = make_users(call, tenant, 25)
    monkeypatch.setattr(store_resources, "MAX_SCANNED_RESOURCES", 10)  # as 50,000 is to 100,000 users
    error(page(call, tenant, f"filter={quote('title pr')}&startIndex=20"), "tooMany")
    pages = walk(call, tenant, f"filter={quote('title pr')}&count=10")
    assert [r["id"] for p in pages for r in p["Resources"]] == sorted(ids)


def test_service_provider_config_advertises_both_paging_methods(call, tenant) -> None:
    config = call("GET", f"{tenant.base}/ServiceProviderConfig", token=tenant.token).body
    assert config["pagination"] == {"cursor": True, "index": True, "defaultPaginationMethod": "index",
                                    "defaultPageSize": 100, "maxPageSize": 100,
                                    "cursorTimeout": cursors.CURSOR_TIMEOUT_SECONDS}


def test_a_lookup_by_key_over_users_and_groups_is_one_page(call, tenant, monkeypatch) -> None:
    make_users(call, tenant, 12)
    call("POST", f"{tenant.base}/Groups", token=tenant.token, body={"displayName": "Team"})
    monkeypatch.setattr(common, "CURSOR_EXAMINED", 4)  # as for a large tenant: a walk would take pages
    before = observability.dynamodb_calls()
    found = call("POST", f"{tenant.base}/.search", token=tenant.token, body={
        "schemas": [SEARCH], "cursor": "", "filter": 'userName eq "user005@contoso.com"'})
    assert found.status == 200 and [r["userName"] for r in found.body["Resources"]] == ["user005@contoso.com"]
    assert "nextCursor" not in found.body  # groups have no userName: nothing of theirs is read
    assert observability.dynamodb_calls() - before == 2  # admission, and the user's guard


def test_a_filter_on_members_examines_a_bounded_number_of_groups_a_page(call, tenant, monkeypatch) -> None:
    user_id = make_users(call, tenant, 1)[0]
    for index in range(7):
        call("POST", f"{tenant.base}/Groups", token=tenant.token,
             body={"displayName": f"Team {index}", "members": [{"value": user_id}] if index == 6 else []})
    monkeypatch.setattr(common, "CURSOR_ENRICHED", 3)  # each examined group costs a read of its members
    query = f"filter={quote('members.display co \"x\"')}&excludedAttributes=members&count=10"
    before = observability.dynamodb_calls()
    first = page(call, tenant, f"{query}&cursor=", "/Groups")
    assert first.status == 200 and "nextCursor" in first.body
    assert observability.dynamodb_calls() - before <= 1 + 1 + 3  # admission, one Query, three groups' members
    pages = walk(call, tenant, query, "/Groups")
    assert len(pages) == 3 and all(p["Resources"] == [] for p in pages)


def test_a_full_page_resumes_at_the_next_match_not_after_the_last_one_taken(call, tenant) -> None:
    ids = make_users(call, tenant, 9)
    in_order = sorted(ids)
    engineers = [i for i in in_order if ids.index(i) % 3 == 0]
    first = page(call, tenant, f"filter={quote('title eq \"Engineer\"')}&count=1&cursor=").body
    assert [r["id"] for r in first["Resources"]] == engineers[:1]
    from scim_endpoint.tenants import signing_keys

    position = cursors.decode(first["nextCursor"], cursors.binding(
        tenant.idp_id, "/Users", common.ListQuery(filter=first_filter(), count=1, cursor="")), time.time(),
        signing_keys().get, ("User",))
    # The next page starts just before the second engineer: the resources between the two are not read again.
    assert position.after == in_order[in_order.index(engineers[1]) - 1]


def first_filter():
    from scim_endpoint.scim.filter import parse

    return parse('title eq "Engineer"')
