"""The edge of a request, as an attack review found it: one IdP id per request in its canonical form, privileges from
the route table, strict input (always a SCIM 400, never a 5xx or a 429) and bounded output. Each test here failed on
the code before the fix it guards."""

from __future__ import annotations

import json
import unicodedata
from urllib.parse import quote

import pytest

from scim_endpoint.scim import listing
from tests.conftest import Tenant, new_guid
from tests.support import Groups, Users, error, ok, table_items

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def user(name: str, **more) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, **more}


def encoded_first_character(idp_id: str) -> str:
    """The IdP id with its first character percent-encoded: `%64…` for `d…`."""
    return f"%{ord(idp_id[0]):02X}{idp_id[1:]}"


@pytest.fixture
def secrets_reads(monkeypatch) -> list[str]:
    """The IdP ids whose secret was read from Secrets Manager during the test."""
    from scim_endpoint import tenants

    reads: list[str] = []
    real = tenants._Secrets.read

    def counting(self, idp_id: str):
        reads.append(idp_id)
        return real(self, idp_id)

    monkeypatch.setattr(tenants._Secrets, "read", counting)
    return reads


# --- one IdP id, in its canonical form ---------------------------------------------------------------------------


@pytest.mark.parametrize("method, suffix, body", [
    ("POST", "/Users", user("shadow@contoso.com")),
    ("GET", "/Users", None),
    ("POST", "/Users/.search", {"schemas": [SEARCH_REQUEST]}),
    ("GET", "/ServiceProviderConfig", None),
])
def test_a_percent_encoded_idp_id_names_no_idp(call, make_tenant, secrets_reads, method, suffix, body) -> None:
    """API Gateway decodes path parameters but not the path: `/v1/scim/%64…` was authenticated against the decoded id
    while the handlers used the raw segment (a shadow partition), and the privilege check was skipped. Now it is a
    401 before any store or key store access, whatever the key may do."""
    tenant = make_tenant(["users:read"])
    before = table_items()
    secrets_reads.clear()
    result = call(method, f"/v1/scim/{encoded_first_character(tenant.idp_id)}{suffix}", body=body, token=tenant.token)
    assert result.event["pathParameters"]["idpId"] == tenant.idp_id  # decoded, as API Gateway gives it
    error(result, 401)
    assert secrets_reads == []
    assert table_items() == before


@pytest.mark.parametrize("segment", ["{id}%0A", "{id}%20", "{id}%00", "{upper}"])
def test_only_the_canonical_form_of_an_idp_id_is_accepted(call, tenant: Tenant, secrets_reads, segment) -> None:
    """A trailing newline, a space, a NUL: never the IdP. (Case matters: ids are compared exactly, and the tenant's
    id here is lower case.)"""
    raw = segment.format(id=tenant.idp_id, upper=tenant.idp_id.upper())
    secrets_reads.clear()
    error(call("GET", f"/v1/scim/{raw}/Users", token=tenant.token), 401)
    assert secrets_reads in ([], [tenant.idp_id.upper()])  # a well-formed other id is looked up, nothing else


# --- privileges from the route table -------------------------------------------------------------------------------


def test_a_read_only_key_cannot_write_through_search_paths(call, make_tenant) -> None:
    """The privilege used to depend on the path's suffix: a `users:read` key reached the write handlers of
    `/Users/.search`. Now the route table decides, and `/Users/.search` has only POST (a read)."""
    tenant = make_tenant(["users:read", "groups:read"])
    before = table_items()
    for method in ("PUT", "PATCH", "DELETE"):
        for path in ("/Users/.search", "/Groups/.search"):
            result = call(method, f"{tenant.base}{path}", body={"userName": "x"}, token=tenant.token)
            assert result.status in (403, 405), result.body
            if result.status == 405:
                assert "POST" in result.headers["allow"]
    ok(call("POST", f"{tenant.base}/Users/.search", body={"schemas": [SEARCH_REQUEST]}, token=tenant.token))
    error(call("POST", f"{tenant.base}/Users", body=user("w@contoso.com"), token=tenant.token), 403)
    assert table_items() == before


@pytest.mark.parametrize("privileges, path", [
    (["groups:read"], "/Users"),
    (["groups:write"], "/Users/.search"),
    (["users:read"], "/Groups"),
    (["users:write"], "/Groups/.search"),
])
def test_a_key_reads_only_what_it_may(call, make_tenant, privileges, path) -> None:
    tenant = make_tenant(privileges)
    method = "POST" if path.endswith(".search") else "GET"
    body = {"schemas": [SEARCH_REQUEST]} if method == "POST" else None
    error(call(method, f"{tenant.base}{path}", body=body, token=tenant.token), 403)


def test_a_handler_runs_only_for_the_route_api_gateway_matched(call, tenant: Tenant) -> None:
    """If the function were handed a request whose path its resolver would route elsewhere than the resource API
    Gateway matched, it refuses it rather than run a handler the route table did not judge (the path does not even
    hold the IdP id where the matched route has it: 401)."""
    from tests.conftest import load_handler
    from devtools.local.template import routes
    from devtools.local.server import LambdaContext

    result = call("GET", f"{tenant.base}/Users", token=tenant.token)
    event = dict(result.event)
    event["resource"] = "/v1/scim/{idpId}/Users/.search"  # what API Gateway would say for another route
    route = next(r for r in routes() if r.method == "GET" and r.resource.endswith("/Users"))
    answer = load_handler(route.code_dir, route.handler)(event, LambdaContext(route.function, "x"))
    assert answer["statusCode"] in (401, 403, 405)
    assert json.loads(answer["body"])["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_other_methods_of_a_known_path_are_405_with_allow(call, tenant: Tenant) -> None:
    result = call("DELETE", f"{tenant.base}/ServiceProviderConfig", token=tenant.token)
    error(result, 405)
    assert result.headers["allow"] == "GET"
    result = call("POST", f"{tenant.base}/Users/{new_guid()}", body={}, token=tenant.token)
    error(result, 405)
    assert result.headers["allow"] == "DELETE, GET, PATCH, PUT"
    error(call("DELETE", f"{tenant.base}/ServiceProviderConfig"), 401)  # a token first, as everywhere


# --- strict input: a 400, never a 5xx or a 429 ---------------------------------------------------------------------


def raw_call(call, tenant: Tenant, method: str, path: str, text: str):
    """A request whose body is exactly `text` (JSON with escapes the `call` helper's own encoding would not write)."""
    return call(method, f"{tenant.base}{path}", body=text.encode(), token=tenant.token)


@pytest.mark.parametrize("text", [
    '{"userName": "\\ud800"}',
    '{"userName": "a", "displayName": "x\\udfffy"}',
    '{"userName": "a", "\\ud800": "x"}',
    '{"userName": "a", "emails": [{"value": "\\udbff"}]}',
])
def test_lone_surrogates_in_a_body_are_a_400(users: Users, call, tenant: Tenant, text: str) -> None:
    before = table_items()
    error(raw_call(call, tenant, "POST", "/Users", text), 400, "invalidSyntax")
    assert table_items() == before


def test_a_patch_with_a_lone_surrogate_is_a_400_not_a_429(users: Users, call, tenant: Tenant) -> None:
    """It used to be retried eight times and answered 429 "changing too often", which Entra retries forever."""
    created = users.create(user("surrogate@contoso.com"))
    before = table_items()
    for text in (
        '{"schemas": ["%s"], "Operations": [{"op": "replace", "path": "title", "value": "\\ud800"}]}' % PATCH_OP,
        '{"schemas": ["%s"], "Operations": [{"op": "replace", "path": "ti\\ud800tle", "value": "x"}]}' % PATCH_OP,
        '{"schemas": ["%s"], "Operations": [{"op": "add", "value": {"\\ud800": "x"}}]}' % PATCH_OP,
    ):
        error(raw_call(call, tenant, "PATCH", f"/Users/{created['id']}", text), 400, "invalidSyntax")
    assert table_items() == before


def test_a_lone_surrogate_in_a_query_parameter_is_a_400(call, tenant: Tenant) -> None:
    from tests.conftest import load_handler
    from devtools.local.server import LambdaContext
    from devtools.local.template import routes

    event = call("GET", f"{tenant.base}/Users", token=tenant.token).event
    route = next(r for r in routes() if r.method == "GET" and r.resource.endswith("/Users"))
    handler = load_handler(route.code_dir, route.handler)
    for params, scim_type in (({"filter": 'userName eq "\ud800"'}, "invalidFilter"),
                              ({"attributes": "user\udc00Name"}, "invalidValue")):
        answer = handler({**event, "queryStringParameters": params,
                          "multiValueQueryStringParameters": {k: [v] for k, v in params.items()}},
                         LambdaContext(route.function, "x"))
        assert answer["statusCode"] == 400, answer
        assert json.loads(answer["body"])["scimType"] == scim_type


@pytest.mark.parametrize("depth", [33, 1000, 10_000])
def test_deeply_nested_json_is_a_400(call, tenant: Tenant, depth: int) -> None:
    """10,000 `[` used to be a 500 (RecursionError); anything deeper than 32 levels is refused."""
    error(raw_call(call, tenant, "POST", "/Users", "[" * depth + "]" * depth), 400, "invalidSyntax")
    nested = '{"userName": "deep", "x": ' + "[" * depth + "]" * depth + "}"
    error(raw_call(call, tenant, "POST", "/Users", nested), 400, "invalidSyntax")


@pytest.mark.parametrize("schemas", [5, True, "urn:x", {"a": 1}, [5], None])
@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
def test_a_search_request_with_bad_schemas_is_a_400(call, tenant: Tenant, schemas, path: str) -> None:
    """`"schemas": 5` or `true` used to be a 500."""
    result = call("POST", f"{tenant.base}{path}", body={"schemas": schemas}, token=tenant.token)
    if schemas is None:
        ok(result)  # absent is fine: the endpoint says what the request is
    else:
        error(result, 400, "invalidValue")


@pytest.mark.parametrize("body", [
    {"schemas": [SEARCH_REQUEST], "count": True},
    {"schemas": [SEARCH_REQUEST], "count": 1.5},
    {"schemas": [SEARCH_REQUEST], "filter": 5},
    {"schemas": [SEARCH_REQUEST], "attributes": [1, 2]},
    {"schemas": [SEARCH_REQUEST], "startIndex": {"a": 1}},
])
def test_a_search_request_with_wrong_types_is_a_400(call, tenant: Tenant, body: dict) -> None:
    error(call("POST", f"{tenant.base}/Users/.search", body=body, token=tenant.token), 400, "invalidValue")


def test_a_search_request_that_is_not_an_object_is_a_400(call, tenant: Tenant) -> None:
    for body in ([1], "x", 5):
        error(call("POST", f"{tenant.base}/Users/.search", body=body, token=tenant.token), 400, "invalidSyntax")


@pytest.mark.parametrize("text", [
    '{"userName": "a@contoso.com", "USERNAME": "b@contoso.com"}',
    '{"userName": "a@contoso.com", "userName": "b@contoso.com"}',
    '{"userName": "a@contoso.com", "name": {"givenName": "A", "GivenName": "B"}}',
])
def test_one_attribute_named_twice_is_a_400(call, tenant: Tenant, text: str) -> None:
    """Names ignore case in SCIM, so neither can win (the last one used to)."""
    before = table_items()
    error(raw_call(call, tenant, "POST", "/Users", text), 400, "invalidSyntax")
    assert table_items() == before


def test_a_patch_naming_an_operation_field_twice_is_a_400(users: Users, call, tenant: Tenant) -> None:
    created = users.create(user("twice@contoso.com"))
    text = ('{"schemas": ["%s"], "Operations": [{"op": "replace", "OP": "remove", "path": "title", "value": "x"}]}'
            % PATCH_OP)
    error(raw_call(call, tenant, "PATCH", f"/Users/{created['id']}", text), 400, "invalidSyntax")


@pytest.mark.parametrize("attribute", ["userName", "externalId", "displayName"])
@pytest.mark.parametrize("character", ["\x00", "\x01", "\n", "\t", "\x1f", "\x7f"])
def test_control_characters_in_naming_attributes_are_a_400(users: Users, groups: Groups, attribute: str,
                                                          character: str) -> None:
    before = table_items()
    body = user("ctl@contoso.com", **{attribute: f"a{character}b"})
    error(users.post(body), 400, "invalidValue")
    if attribute != "userName":
        error(groups.post({"displayName": "Team", attribute: f"a{character}b"}), 400, "invalidValue")
    assert table_items() == before


def test_a_patch_cannot_put_a_control_character_into_a_name(users: Users) -> None:
    created = users.create(user("patched@contoso.com"))
    result = users.patch(created["id"], {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "userName", "value": "pat\x00ched@contoso.com"}]})
    error(result, 400, "invalidValue")


def test_user_names_equal_under_nfc_and_case_folding_collide(users: Users) -> None:
    composed = "Zoë.Dupont@contoso.com"
    decomposed = unicodedata.normalize("NFD", composed).upper()
    assert composed != decomposed
    created = users.create(user(composed))
    error(users.post(user(decomposed)), 409, "uniqueness")
    # Stored and returned exactly as sent; found by either form.
    assert created["userName"] == composed
    assert [u["id"] for u in users.filter(f'userName eq "{decomposed}"')] == [created["id"]]
    renamed = users.create(user("other@contoso.com"))
    error(users.patch(renamed["id"], {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "userName", "value": decomposed}]}), 409, "uniqueness")


def test_group_names_equal_under_nfc_and_case_folding_collide(groups: Groups) -> None:
    composed = "Équipe Zoë"
    groups.create({"displayName": composed})
    error(groups.post({"displayName": unicodedata.normalize("NFD", composed).lower()}), 409, "uniqueness")


@pytest.mark.parametrize("query, start_index, items", [
    ("count=99999999999999999999", 1, 3),
    ("count=" + "9" * 5000, 1, 3),
    ("count=-" + "9" * 5000, 1, 0),
    ("startIndex=" + "9" * 5000, 1_000_000_000, 0),
    ("startIndex=-" + "9" * 5000, 1, 3),
    ("startIndex=0000000000000000000002&count=0000000000000000001", 2, 1),
])
def test_huge_count_and_start_index_are_clamped(users: Users, query: str, start_index: int, items: int) -> None:
    """RFC 7644 §3.4.2.4: a count above the maximum means the maximum, a startIndex below 1 means 1; many digits
    used to be a 400 (and 4,300 digits would not even parse as an integer)."""
    for n in range(3):
        users.create(user(f"clamp{n}@contoso.com"))
    body = ok(users.list(query))
    assert body["startIndex"] == start_index
    assert body["itemsPerPage"] == len(body["Resources"]) == items
    assert body["totalResults"] == 3


# --- bounded output ----------------------------------------------------------------------------------------------


def test_a_member_carries_at_most_a_short_display_and_ref(users: Users, groups: Groups) -> None:
    """The review built a 13.5 MB group from 420 members with 16 KB `display`/`$ref`: members are capped when
    written."""
    alice = users.create(user("alice@contoso.com"))
    for member in ({"value": alice["id"], "display": "x" * 257}, {"value": alice["id"], "$ref": "x" * 257}):
        error(groups.post({"displayName": "Big", "members": [member]}), 400, "invalidValue")
    team = groups.create({"displayName": "Team"})
    error(groups.patch(team["id"], {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": alice["id"], "display": "x" * 16384}]}]}),
        400, "invalidValue")
    ok(groups.post({"displayName": "Fits", "members": [{"value": alice["id"], "display": "x" * 256}]}), 201)


def test_a_list_returns_fewer_resources_than_asked_rather_than_pass_the_budget(users: Users, monkeypatch) -> None:
    for n in range(10):
        users.create(user(f"budget{n:02d}@contoso.com", displayName="y" * 1000))
    one = len(listing.to_json(ok(users.list("count=1"))["Resources"][0]))
    monkeypatch.setattr(listing, "MAX_RESPONSE_BYTES", 4 * one)
    body = ok(users.list("count=10"))
    assert 1 <= body["itemsPerPage"] == len(body["Resources"]) < 10
    assert body["totalResults"] == 10
    assert listing.wire_size(json.dumps(body)) <= 4 * one
    # The next page starts where this one stopped: nothing is skipped.
    after = ok(users.list(f"count=10&startIndex={1 + body['itemsPerPage']}"))
    assert after["Resources"][0]["id"] not in {r["id"] for r in body["Resources"]}


def test_a_resource_larger_than_the_budget_is_refused_not_truncated(users: Users, groups: Groups,
                                                                     monkeypatch) -> None:
    members = [users.create(user(f"m{n}@contoso.com"))["id"] for n in range(5)]
    team = groups.create({"displayName": "Large", "members": [{"value": m, "display": "d" * 256} for m in members]})
    monkeypatch.setattr(listing, "MAX_RESPONSE_BYTES", 1000)
    body = error(groups.get(team["id"]), 400, "tooMany")
    assert "excludedAttributes=members" in body["detail"]
    error(groups.list(), 400, "tooMany")  # the first group alone is over: a page cannot hold less than one
    ok(groups.get(team["id"], "?excludedAttributes=members"))
    assert ok(groups.list("excludedAttributes=members"))["itemsPerPage"] == 1


@pytest.mark.parametrize("parameter", ["attributes", "excludedAttributes"])
def test_projection_lists_are_bounded(users: Users, parameter: str) -> None:
    error(users.list(f"{parameter}=" + ",".join(["userName"] * 101)), 400, "invalidValue")
    error(users.list(f"{parameter}=" + "a" * 257), 400, "invalidValue")
    ok(users.list(f"{parameter}=" + ",".join(["userName"] * 100)))


# --- found by the generated-input suite (tests/fuzz) ----------------------------------------------------------------


def test_a_filter_on_an_empty_id_or_member_finds_nothing(users: Users, groups: Groups) -> None:
    """`filter=id eq ""` and `members eq ""` were read as DynamoDB keys, which may not be empty: a 500."""
    alice = users.create(user("alice@contoso.com"))
    team = groups.create({"displayName": "Team", "members": [{"value": alice["id"]}]})
    assert users.filter('id eq ""') == []
    assert groups.filter(f'id eq "{team["id"]}" and members eq ""') == []
    assert groups.filter('members eq ""') == []


ESCAPED_SURROGATE = "\\ud800"  # the six characters `\ud800`: valid filter text, a JSON escape of a lone surrogate


@pytest.mark.parametrize("text", [
    f'id eq "{ESCAPED_SURROGATE}"',
    f'userName eq "{ESCAPED_SURROGATE}"',
    f'externalId eq "a{ESCAPED_SURROGATE}b"',
    f'displayName co "{ESCAPED_SURROGATE}"',
])
def test_an_escaped_lone_surrogate_in_a_filter_is_a_400(users: Users, call, tenant: Tenant, text: str) -> None:
    """A quoted filter value decoded to a lone surrogate reached the store as a key it could not encode: a 500.
    Whether the filter comes in the query string or in a SearchRequest, it is now 400 invalidFilter."""
    users.create(user("alice@contoso.com"))
    error(users.list(f"filter={quote(text, safe='')}"), 400, "invalidFilter")
    error(users.search({"schemas": [SEARCH_REQUEST], "filter": text}), 400, "invalidFilter")
    error(call("POST", f"{tenant.base}/.search", body={"filter": text}, token=tenant.token), 400, "invalidFilter")


def test_an_escaped_lone_surrogate_in_a_patch_path_filter_is_a_400(users: Users, groups: Groups) -> None:
    """In a PATCH path's value filter the same value was a 500 on a group, and on a user a write DynamoDB refused,
    retried eight times and answered 429, which Entra retries forever. Now 400 invalidPath, and nothing written."""
    alice = users.create(user("alice@contoso.com", emails=[{"type": "work", "value": "alice@contoso.com"}]))
    team = groups.create({"displayName": "Team", "members": [{"value": alice["id"]}]})
    before = table_items()
    error(users.patch(alice["id"], {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": f'emails[type eq "{ESCAPED_SURROGATE}"].value', "value": "x@contoso.com"}]}),
        400, "invalidPath")
    error(groups.patch(team["id"], {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": f'members[value eq "{ESCAPED_SURROGATE}"]'}]}), 400, "invalidPath")
    assert table_items() == before


# --- found by the review of the request edge --------------------------------------------------------------------


@pytest.mark.parametrize("base_path", ["", "/scim", "/api/scim"])
def test_a_custom_domains_base_path_comes_before_the_tenant_url(call, tenant: Tenant, base_path: str) -> None:
    """Behind a custom domain with a base path mapping, API Gateway's `path` starts with the base path: the IdP
    segment is found after it (it was read at a fixed position: every such request was a 401)."""
    from devtools.local.server import LambdaContext
    from devtools.local.template import routes
    from tests.conftest import load_handler

    for method, suffix, route_suffix in (("GET", "/Users", "/Users"), ("GET", "/Users/abc", "/Users/{id}"),
                                         ("GET", "/ServiceProviderConfig", "/ServiceProviderConfig")):
        event = call(method, f"{tenant.base}{suffix}", token=tenant.token).event
        event = {**event, "path": f"{base_path}{tenant.base}{suffix}"}
        route = next(r for r in routes() if r.method == method and r.resource.endswith(route_suffix))
        answer = load_handler(route.code_dir, route.handler)(event, LambdaContext(route.function, "x"))
        assert answer["statusCode"] == (404 if suffix == "/Users/abc" else 200), answer
    # The base path does not make another segment the IdP's.
    event = call("GET", f"{tenant.base}/Users", token=tenant.token).event
    event = {**event, "path": f"/v1/scim/{tenant.idp_id}/v1/scim/other/Users"}
    route = next(r for r in routes() if r.method == "GET" and r.resource.endswith("/Users"))
    assert load_handler(route.code_dir, route.handler)(event, LambdaContext(route.function, "x"))["statusCode"] == 401
