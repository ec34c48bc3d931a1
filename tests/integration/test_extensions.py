"""An IdP's own schema extensions (custom attributes): declared through the management API, then served to that IdP
only — discovery, create and replace, both PATCH dialects, filters, projection — and changed under the rules that
keep stored values readable (docs/extensions.md)."""

from __future__ import annotations

import copy
from urllib.parse import quote

import pytest

from scim_endpoint import observability, tenants
from tests.conftest import Tenant

ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
ACME_GROUP = "urn:ietf:params:scim:schemas:extension:acme:2.0:Group"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

DECLARATION = {
    "resourceType": "User",
    "required": False,
    "schema": {
        "id": ACME,
        "name": "AcmeUser",
        "description": "Acme's own user attributes",
        "attributes": [
            {"name": "costCenter", "type": "string", "description": "The cost center, from Entra's extension "
                                                                       "attribute"},
            {"name": "badgeNumber", "type": "integer"},
            {"name": "contractor", "type": "boolean"},
            {"name": "hourlyRate", "type": "decimal"},
            {"name": "startDate", "type": "dateTime"},
            {"name": "homepage", "type": "reference", "referenceTypes": ["external"]},
            {"name": "skills", "type": "string", "multiValued": True, "caseExact": True},
            {"name": "clearances", "type": "complex", "multiValued": True, "subAttributes": [
                {"name": "value", "type": "string", "required": True},
                {"name": "level", "type": "integer"},
                {"name": "primary", "type": "boolean"},
            ]},
            {"name": "office", "type": "complex", "subAttributes": [
                {"name": "building", "type": "string"},
                {"name": "floor", "type": "integer"},
            ]},
            {"name": "alias", "type": "string", "returned": "request"},
            {"name": "employeeId", "type": "string", "returned": "always", "mutability": "immutable"},
        ],
    },
}


def declaration(**changes) -> dict:
    declared = copy.deepcopy(DECLARATION)
    declared.update({k: v for k, v in changes.items() if k != "attributes"})
    if "attributes" in changes:
        declared["schema"]["attributes"] = changes["attributes"]
    return declared


def extension_path(idp_id: str, urn: str = ACME) -> str:
    return f"/admin/v1/idps/{idp_id}/extensions/{quote(urn, safe='')}"


@pytest.fixture
def declare(admin):
    def put(idp_id: str, body: dict | None = None, urn: str = ACME, force: bool = False, status: int = 201):
        result = admin("PUT", extension_path(idp_id, urn) + ("?force=true" if force else ""), body or DECLARATION)
        assert result.status == status, result.body
        return result.body

    return put


@pytest.fixture
def acme(tenant: Tenant, declare) -> Tenant:
    """An IdP that declared the Acme extension."""
    declare(tenant.idp_id)
    return tenant


def acme_user(user_name: str = "bjensen@contoso.com", **attributes) -> dict:
    return {"schemas": [USER_SCHEMA, ACME], "userName": user_name, "active": True,
            ACME: attributes or {"costCenter": "4711"}}


def scim_error(result, status: int, scim_type: str | None = None) -> dict:
    assert result.status == status, (result.status, result.body)
    assert result.headers["content-type"].startswith("application/scim+json")
    if scim_type is not None:
        assert result.body.get("scimType") == scim_type, result.body
    return result.body


def patch(call, tenant: Tenant, user_id: str, *operations: dict):
    return call("PATCH", f"{tenant.base}/Users/{user_id}", token=tenant.token,
                body={"schemas": [PATCH_OP], "Operations": list(operations)})


def create(call, tenant: Tenant, body: dict) -> dict:
    result = call("POST", f"{tenant.base}/Users", token=tenant.token, body=body)
    assert result.status == 201, result.body
    return result.body


# --- the management API ---------------------------------------------------------------------------------------------


def test_an_extension_is_created_replaced_listed_read_and_deleted(admin, tenant, declare) -> None:
    created = declare(tenant.idp_id)
    assert created["schema"]["id"] == ACME and created["resourceType"] == "User" and created["required"] is False
    assert [a["name"] for a in created["schema"]["attributes"]][:2] == ["costCenter", "badgeNumber"]

    replaced = declare(tenant.idp_id, declaration(required=True), status=200)
    assert replaced["required"] is True
    listed = admin("GET", f"/admin/v1/idps/{tenant.idp_id}/extensions")
    assert listed.status == 200 and [e["schema"]["id"] for e in listed.body["extensions"]] == [ACME]
    read = admin("GET", extension_path(tenant.idp_id, ACME.upper()))  # a URN in any case
    assert read.status == 200 and read.body == replaced

    assert admin("DELETE", extension_path(tenant.idp_id)).status == 204
    assert admin("GET", f"/admin/v1/idps/{tenant.idp_id}/extensions").body == {"extensions": []}
    gone = admin("GET", extension_path(tenant.idp_id))
    assert gone.status == 404 and gone.body["error"]["code"] == "not_found"
    assert admin("DELETE", extension_path(tenant.idp_id)).status == 404


@pytest.mark.parametrize("body, where", [
    (declaration(schema={"id": "acme-costcenter", "name": "x", "attributes": [{"name": "a"}]}), "schema.id"),
    (declaration(schema={"id": "urn:acme:", "name": "x", "attributes": [{"name": "a"}]}), "schema.id"),
    (declaration(schema={"id": USER_SCHEMA + ":acme", "name": "x", "attributes": [{"name": "a"}]}), "schema.id"),
    (declaration(schema={"id": ENTERPRISE, "name": "x", "attributes": [{"name": "a"}]}), "schema.id"),
    (declaration(attributes=[{"name": "costCenter", "type": "money"}]), "unknown type"),
    (declaration(attributes=[{"name": "costCenter", "type": "binary"}]), "unknown type"),
    (declaration(attributes=[{"name": "userName"}]), "core attribute"),
    (declaration(attributes=[{"name": "externalId"}]), "core attribute"),
    (declaration(attributes=[{"name": "cost center"}]), "attribute name"),
    (declaration(attributes=[{"name": "a"}, {"name": "A"}]), "twice"),
    (declaration(attributes=[{"name": "a", "mutability": "readOnly"}]), "mutability"),
    (declaration(attributes=[{"name": "a", "returned": "never"}]), "returned"),
    (declaration(attributes=[{"name": "a", "uniqueness": "server"}]), "uniqueness"),
    (declaration(attributes=[{"name": "a", "type": "complex"}]), "sub-attributes"),
    (declaration(attributes=[{"name": "a", "subAttributes": [{"name": "b"}]}]), "sub-attributes"),
    (declaration(attributes=[{"name": "a", "type": "complex", "subAttributes": [
        {"name": "b", "type": "complex", "subAttributes": [{"name": "c"}]}]}]), "neither complex"),
    (declaration(attributes=[{"name": "a", "typo": "string"}]), "typo"),
    (declaration(attributes=[]), "attributes"),
    (declaration(attributes=[{"name": f"a{i}"} for i in range(101)]), "attributes"),
    (declaration(resourceType="Device"), "resourceType"),
    ({"schema": DECLARATION["schema"]}, "resourceType"),
])
def test_an_invalid_declaration_is_refused_saying_what_is_wrong(admin, tenant, body, where) -> None:
    result = admin("PUT", extension_path(tenant.idp_id, body.get("schema", {}).get("id", ACME)), body)
    assert result.status == 400, result.body
    assert result.body["error"]["code"] == "invalid_request"
    assert where in result.body["error"]["message"], result.body["error"]["message"]
    assert admin("GET", f"/admin/v1/idps/{tenant.idp_id}/extensions").body == {"extensions": []}


def test_the_path_must_name_the_declared_urn_and_the_idp_must_exist(admin, tenant) -> None:
    mismatch = admin("PUT", extension_path(tenant.idp_id, "urn:other:ext"), DECLARATION)
    assert mismatch.status == 400 and "URN in the path" in mismatch.body["error"]["message"]
    assert admin("PUT", extension_path("no-such-idp"), DECLARATION).status == 404


def test_limits_on_an_idps_extensions(admin, tenant, declare) -> None:
    def small(urn: str) -> dict:
        return declaration(schema={"id": urn, "name": "x", "attributes": [{"name": "a"}]})

    declare(tenant.idp_id, small("urn:acme:x:ext1"), urn="urn:acme:x:ext1")
    for urn in ("urn:acme:x:ext1:sub", "urn:acme:x"):  # no URN may prefix another: a path would name two attributes
        prefix = admin("PUT", extension_path(tenant.idp_id, urn), small(urn))
        assert prefix.status == 400 and "prefix" in prefix.body["error"]["message"], prefix.body
    for index in range(2, 11):
        declare(tenant.idp_id, small(f"urn:acme:x:ext{index}"), urn=f"urn:acme:x:ext{index}")
    eleventh = admin("PUT", extension_path(tenant.idp_id, "urn:acme:x:ext11"), small("urn:acme:x:ext11"))
    assert eleventh.status == 400 and "at most 10 extensions" in eleventh.body["error"]["message"]
    big = declaration(schema={"id": "urn:acme:x:big", "name": "x", "attributes": [
        {"name": f"a{i}", "description": "d" * 1000} for i in range(30)]})
    assert admin("DELETE", extension_path(tenant.idp_id, "urn:acme:x:ext10")).status == 204
    too_big = admin("PUT", extension_path(tenant.idp_id, "urn:acme:x:big"), big)
    assert too_big.status == 400 and "bytes together" in too_big.body["error"]["message"]


# --- discovery: that IdP, and only that IdP ---------------------------------------------------------------------------


def test_discovery_publishes_the_extension_to_its_idp_only(call, acme, make_tenant) -> None:
    schemas = call("GET", f"{acme.base}/Schemas", token=acme.token).body
    assert [s["id"] for s in schemas["Resources"]][-1] == ACME and schemas["totalResults"] == 4
    one = call("GET", f"{acme.base}/Schemas/{ACME}", token=acme.token)
    assert one.status == 200 and one.body["name"] == "AcmeUser"
    assert one.body["meta"]["location"] == f"{acme.url}/Schemas/{ACME}"
    cost_center = one.body["attributes"][0]
    assert cost_center == {"name": "costCenter", "type": "string", "multiValued": False,
                           "description": "The cost center, from Entra's extension attribute", "required": False,
                           "caseExact": False, "mutability": "readWrite", "returned": "default", "uniqueness": "none"}
    user_type = call("GET", f"{acme.base}/ResourceTypes/User", token=acme.token).body
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False},
                                             {"schema": ACME, "required": False}]
    group_type = call("GET", f"{acme.base}/ResourceTypes/Group", token=acme.token).body
    assert "schemaExtensions" not in group_type

    other = make_tenant(name="Fabrikam")
    assert ACME not in [s["id"] for s in call("GET", f"{other.base}/Schemas", token=other.token).body["Resources"]]
    scim_error(call("GET", f"{other.base}/Schemas/{ACME}", token=other.token), 404)
    assert call("GET", f"{other.base}/ResourceTypes/User", token=other.token).body["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False}]


def test_a_group_extension_and_its_required_flag(call, admin, tenant, declare) -> None:
    declare(tenant.idp_id, declaration(resourceType="Group", required=True, schema={
        "id": ACME_GROUP, "name": "AcmeGroup", "attributes": [{"name": "code", "required": True}]}), urn=ACME_GROUP)
    group_type = call("GET", f"{tenant.base}/ResourceTypes/Group", token=tenant.token).body
    assert group_type["schemaExtensions"] == [{"schema": ACME_GROUP, "required": True}]
    missing = call("POST", f"{tenant.base}/Groups", token=tenant.token, body={"displayName": "Sales"})
    assert ACME_GROUP in scim_error(missing, 400, "invalidValue")["detail"]
    no_code = call("POST", f"{tenant.base}/Groups", token=tenant.token,
                   body={"displayName": "Sales", ACME_GROUP: {"code": ""}})
    assert "code" in scim_error(no_code, 400, "invalidValue")["detail"]
    made = call("POST", f"{tenant.base}/Groups", token=tenant.token,
                body={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ACME_GROUP], "displayName": "Sales",
                      ACME_GROUP: {"code": "S-1"}})
    assert made.status == 201 and made.body[ACME_GROUP] == {"code": "S-1"}
    assert made.body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group", ACME_GROUP]


# --- create and replace ---------------------------------------------------------------------------------------------


def test_create_and_replace_return_the_extension_exactly_as_sent(call, acme) -> None:
    values = {"costCenter": "4711", "badgeNumber": 1234, "contractor": False, "hourlyRate": 87.5,
              "startDate": "2026-01-05T09:00:00Z", "homepage": "https://acme.example/~bj", "skills": ["SQL", "Go"],
              "clearances": [{"value": "secret", "level": 3, "primary": True}], "office": {"building": "B2",
                                                                                          "floor": 4}}
    created = create(call, acme, acme_user(**values))
    assert created["schemas"] == [USER_SCHEMA, ACME]
    assert created[ACME] == values
    read = call("GET", f"{acme.base}/Users/{created['id']}", token=acme.token).body
    assert read[ACME] == values

    replaced = call("PUT", f"{acme.base}/Users/{created['id']}", token=acme.token,
                    body=acme_user(costCenter="4712", skills=["Rust"]))
    assert replaced.status == 200 and replaced.body[ACME] == {"costCenter": "4712", "skills": ["Rust"]}


def test_extension_attribute_names_and_the_urn_may_be_written_in_any_case(call, acme) -> None:
    created = create(call, acme, {"userName": "case@contoso.com", ACME.upper(): {"COSTCENTER": "1", "Skills": "one"}})
    assert created[ACME] == {"costCenter": "1", "skills": ["one"]}


@pytest.mark.parametrize("values, detail", [
    ({"badgeNumber": "1234"}, "badgeNumber"),
    ({"badgeNumber": 12.5}, "badgeNumber"),
    ({"contractor": "maybe"}, "contractor"),
    ({"hourlyRate": "high"}, "hourlyRate"),
    ({"startDate": "yesterday"}, "startDate"),
    ({"startDate": "2026-01-05T09:00:00"}, "startDate"),
    ({"costCenter": 4711}, "costCenter"),
    ({"office": "B2"}, "office"),
    ({"clearances": [{"level": 3}]}, "clearances.value"),
])
def test_extension_values_are_validated_like_core_ones(call, acme, values, detail) -> None:
    body = scim_error(call("POST", f"{acme.base}/Users", token=acme.token, body=acme_user(**values)), 400,
                      "invalidValue")
    assert detail in body["detail"]
    assert call("GET", f"{acme.base}/Users", token=acme.token).body["totalResults"] == 0


@pytest.mark.parametrize("values", [{"office": {"wing": "east"}}, {"unknown": "x"}])
def test_an_attribute_the_extension_does_not_declare_is_refused(call, acme, values) -> None:
    scim_error(call("POST", f"{acme.base}/Users", token=acme.token, body=acme_user(**values)), 400, "invalidSyntax")


def test_another_idp_sending_the_same_urn_gets_a_400(call, acme, make_tenant) -> None:
    other = make_tenant(name="Fabrikam")
    scim_error(call("POST", f"{other.base}/Users", token=other.token, body=acme_user()), 400)
    created = create(call, other, {"userName": "plain@contoso.com"})
    scim_error(patch(call, other, created["id"], {"op": "add", "path": f"{ACME}:costCenter", "value": "1"}), 400,
               "invalidPath")
    scim_error(patch(call, other, created["id"], {"op": "add", "value": {ACME: {"costCenter": "1"}}}), 400,
               "invalidPath")


def test_an_immutable_attribute_is_set_once(call, acme) -> None:
    created = create(call, acme, acme_user(employeeId="E-1"))
    kept = call("PUT", f"{acme.base}/Users/{created['id']}", token=acme.token, body=acme_user(costCenter="9"))
    assert kept.status == 200 and kept.body[ACME] == {"costCenter": "9", "employeeId": "E-1"}
    same = call("PUT", f"{acme.base}/Users/{created['id']}", token=acme.token, body=acme_user(employeeId="E-1"))
    assert same.status == 200
    scim_error(call("PUT", f"{acme.base}/Users/{created['id']}", token=acme.token, body=acme_user(employeeId="E-2")),
               400, "mutability")
    scim_error(patch(call, acme, created["id"], {"op": "replace", "path": f"{ACME}:employeeId", "value": "E-3"}),
               400, "mutability")
    scim_error(patch(call, acme, created["id"], {"op": "remove", "path": f"{ACME}:employeeId"}), 400, "mutability")
    later = create(call, acme, acme_user("later@contoso.com"))
    assert patch(call, acme, later["id"], {"op": "add", "path": f"{ACME}:employeeId", "value": "E-9"}).body[ACME][
        "employeeId"] == "E-9"


# --- PATCH ------------------------------------------------------------------------------------------------------------


def test_patch_with_the_urn_qualified_path_entra_sends(call, acme) -> None:
    """Entra's form for a custom attribute mapped to `urn:…:User:costCenter`."""
    created = create(call, acme, {"userName": "entra@contoso.com"})
    added = patch(call, acme, created["id"], {"op": "Add", "path": f"{ACME}:costCenter", "value": "4711"})
    assert added.status == 200 and added.body[ACME] == {"costCenter": "4711"}
    assert added.body["schemas"] == [USER_SCHEMA, ACME]
    replaced = patch(call, acme, created["id"], {"op": "Replace", "path": f"{ACME}:costCenter", "value": "4712"},
                     {"op": "Replace", "path": f"{ACME}:contractor", "value": "True"})
    assert replaced.body[ACME] == {"costCenter": "4712", "contractor": True}
    removed = patch(call, acme, created["id"], {"op": "Remove", "path": f"{ACME}:costCenter"},
                    {"op": "Remove", "path": f"{ACME}:contractor"})
    assert ACME not in removed.body and removed.body["schemas"] == [USER_SCHEMA]


def test_patch_with_a_path_less_value_keyed_by_the_urn(call, acme) -> None:
    created = create(call, acme, {"userName": "pathless@contoso.com"})
    result = patch(call, acme, created["id"], {"op": "replace", "value": {
        "active": False, ACME: {"costCenter": "1", "office": {"building": "B1"}}}})
    assert result.status == 200 and result.body["active"] is False
    assert result.body[ACME] == {"costCenter": "1", "office": {"building": "B1"}}
    keyed = patch(call, acme, created["id"], {"op": "add", "value": {f"{ACME}:badgeNumber": 7}})
    assert keyed.body[ACME]["badgeNumber"] == 7
    whole = patch(call, acme, created["id"], {"op": "add", "path": ACME, "value": {"office": {"floor": 2}}})
    assert whole.body[ACME]["office"] == {"building": "B1", "floor": 2}
    gone = patch(call, acme, created["id"], {"op": "remove", "path": ACME})
    assert ACME not in gone.body


def test_patch_on_multi_valued_and_complex_extension_attributes(call, acme) -> None:
    created = create(call, acme, acme_user(skills=["SQL"], clearances=[{"value": "a", "level": 1, "primary": True}]))
    user_id = created["id"]
    added = patch(call, acme, user_id, {"op": "add", "path": f"{ACME}:skills", "value": ["Go", "SQL"]},
                  {"op": "add", "path": f"{ACME}:clearances", "value": [{"value": "b", "level": 2,
                                                                         "primary": True}]})
    assert added.body[ACME]["skills"] == ["SQL", "Go"]
    assert added.body[ACME]["clearances"] == [{"value": "a", "level": 1, "primary": False},
                                              {"value": "b", "level": 2, "primary": True}]
    filtered = patch(call, acme, user_id, {"op": "replace", "path": f'{ACME}:clearances[value eq "a"].level',
                                           "value": 5})
    assert filtered.body[ACME]["clearances"][0] == {"value": "a", "level": 5, "primary": False}
    sub = patch(call, acme, user_id, {"op": "replace", "path": f"{ACME}:office.floor", "value": 3})
    assert sub.body[ACME]["office"] == {"floor": 3}
    removed = patch(call, acme, user_id, {"op": "remove", "path": f'{ACME}:clearances[level ge 5]'},
                    {"op": "remove", "path": f"{ACME}:skills", "value": ["SQL"]})
    assert removed.body[ACME]["clearances"] == [{"value": "b", "level": 2, "primary": True}]
    assert removed.body[ACME]["skills"] == ["Go"]
    replaced = patch(call, acme, user_id, {"op": "replace", "path": f"{ACME}:skills", "value": ["Rust"]})
    assert replaced.body[ACME]["skills"] == ["Rust"]
    scim_error(patch(call, acme, user_id, {"op": "add", "path": f"{ACME}:badgeNumber", "value": "x"}), 400,
               "invalidValue")
    scim_error(patch(call, acme, user_id, {"op": "add", "path": f"{ACME}:nope", "value": "x"}), 400, "invalidPath")
    assert call("GET", f"{acme.base}/Users/{user_id}", token=acme.token).body[ACME]["skills"] == ["Rust"]


# --- filters and projection ----------------------------------------------------------------------------------------


def test_filters_on_extension_attributes(call, acme) -> None:
    one = create(call, acme, acme_user("one@contoso.com", costCenter="4711", skills=["SQL"], badgeNumber=10))
    two = create(call, acme, acme_user("two@contoso.com", costCenter="0815", badgeNumber=20))
    create(call, acme, {"userName": "three@contoso.com"})

    def found(text: str) -> list[str]:
        result = call("GET", f"{acme.base}/Users?filter={quote(text)}", token=acme.token)
        assert result.status == 200, result.body
        return sorted(r["userName"] for r in result.body["Resources"])

    assert found(f'{ACME}:costCenter eq "4711"') == ["one@contoso.com"]
    assert found(f'{ACME.upper()}:COSTCENTER eq "4711"') == ["one@contoso.com"]
    assert found(f"{ACME}:costCenter pr") == ["one@contoso.com", "two@contoso.com"]
    assert found(f'{ACME}:costCenter co "81"') == ["two@contoso.com"]
    assert found(f"{ACME}:badgeNumber gt 15") == ["two@contoso.com"]
    assert found(f'{ACME}:skills eq "sql"') == []  # declared caseExact
    assert found(f'{ACME}:skills eq "SQL"') == ["one@contoso.com"]
    assert found(f'not ({ACME}:costCenter pr)') == ["three@contoso.com"]
    searched = call("POST", f"{acme.base}/Users/.search", token=acme.token,
                    body={"filter": f'{ACME}:costCenter sw "47"', "attributes": [f"{ACME}:costCenter"]})
    assert [r["id"] for r in searched.body["Resources"]] == [one["id"]]
    assert searched.body["Resources"][0][ACME] == {"costCenter": "4711"}
    assert two["id"]


def test_attributes_and_excluded_attributes_on_extension_attributes(call, acme) -> None:
    created = create(call, acme, acme_user(costCenter="1", office={"building": "B", "floor": 1}, alias="BJ",
                                           employeeId="E-7"))
    base = f"{acme.base}/Users/{created['id']}"

    def get(query: str) -> dict:
        result = call("GET", f"{base}?{query}", token=acme.token)
        assert result.status == 200, result.body
        return result.body

    only = get(f"attributes={quote(ACME + ':office.floor')}")
    assert only[ACME] == {"office": {"floor": 1}, "employeeId": "E-7"}  # employeeId is returned always
    assert "userName" not in only
    whole = get(f"attributes={quote(ACME)}")
    assert whole[ACME] == {"costCenter": "1", "office": {"building": "B", "floor": 1}, "alias": "BJ",
                           "employeeId": "E-7"}
    without = get(f"excludedAttributes={quote(ACME + ':costCenter')},{quote(ACME + ':employeeId')}")
    assert without[ACME] == {"office": {"building": "B", "floor": 1}, "employeeId": "E-7"}  # alias on request
    assert without["userName"] == "bjensen@contoso.com"
    assert "alias" not in created[ACME] and created[ACME]["employeeId"] == "E-7"
    asked = get(f"attributes={quote(ACME + ':alias')}")
    assert asked[ACME] == {"alias": "BJ", "employeeId": "E-7"}
    listed = call("GET", f"{acme.base}/Users?attributes=userName", token=acme.token).body["Resources"][0]
    assert listed[ACME] == {"employeeId": "E-7"}


# --- changing an extension --------------------------------------------------------------------------------------------


def test_adding_attributes_is_always_allowed(call, acme, declare) -> None:
    created = create(call, acme, acme_user(costCenter="1"))
    more = DECLARATION["schema"]["attributes"] + [{"name": "division", "type": "string"}]
    declare(acme.idp_id, declaration(attributes=more), status=200)
    result = patch(call, acme, created["id"], {"op": "add", "path": f"{ACME}:division", "value": "R&D"})
    assert result.body[ACME] == {"costCenter": "1", "division": "R&D"}


def test_removing_or_retyping_a_used_attribute_is_refused_unless_forced(call, admin, acme, declare) -> None:
    created = create(call, acme, acme_user(costCenter="4711", badgeNumber=12))
    without_cost_center = [a for a in DECLARATION["schema"]["attributes"] if a["name"] != "costCenter"]
    refused = admin("PUT", extension_path(acme.idp_id), declaration(attributes=without_cost_center))
    assert refused.status == 409 and refused.body["error"]["code"] == "extension_in_use"
    assert "costCenter" in refused.body["error"]["message"] and "4711" not in refused.body["error"]["message"]
    retyped = [dict(a, type="string") if a["name"] == "badgeNumber" else a for a in DECLARATION["schema"]["attributes"]]
    assert admin("PUT", extension_path(acme.idp_id), declaration(attributes=retyped)).status == 409
    # Unused attributes may go: nothing stored holds a value of them.
    unused = [a for a in DECLARATION["schema"]["attributes"] if a["name"] != "hourlyRate"]
    declare(acme.idp_id, declaration(attributes=unused), status=200)

    declare(acme.idp_id, declaration(attributes=[a for a in without_cost_center if a["name"] != "hourlyRate"]),
            force=True, status=200)
    read = call("GET", f"{acme.base}/Users/{created['id']}", token=acme.token).body
    assert read[ACME] == {"badgeNumber": 12}  # no longer shown at once
    assert call("GET", f"{acme.base}/Users?filter={quote(ACME + ':costCenter pr')}",
                token=acme.token).body["totalResults"] == 0
    written = patch(call, acme, created["id"], {"op": "replace", "path": "active", "value": False})
    assert written.body[ACME] == {"badgeNumber": 12}
    from tests.support import table_items

    stored = [i for i in table_items() if i.get("id", {}).get("S") == created["id"] and "resource" in i]
    assert stored and "4711" not in str(stored)  # and gone from the store once written


def test_deleting_a_used_extension_is_refused_unless_forced(call, admin, acme) -> None:
    created = create(call, acme, acme_user(costCenter="4711"))
    refused = admin("DELETE", extension_path(acme.idp_id))
    assert refused.status == 409 and refused.body["error"]["code"] == "extension_in_use"
    assert admin("DELETE", extension_path(acme.idp_id) + "?force=true").status == 204
    read = call("GET", f"{acme.base}/Users/{created['id']}", token=acme.token).body
    assert ACME not in read and read["schemas"] == [USER_SCHEMA]
    scim_error(call("POST", f"{acme.base}/Users", token=acme.token, body=acme_user("new@contoso.com")), 400)


def test_an_unused_extension_is_deleted_without_force(admin, acme) -> None:
    assert admin("DELETE", extension_path(acme.idp_id)).status == 204


# --- the cache: no extra AWS call, and changes seen at once -------------------------------------------------------------


def test_extensions_cost_no_aws_call_and_changes_reach_the_next_request(call, declare, make_tenant,
                                                                       monkeypatch) -> None:
    plain, extended = make_tenant(name="Plain"), make_tenant(name="Extended")
    declare(extended.idp_id)
    reads: list[str] = []
    original = tenants._Secrets.read
    monkeypatch.setattr(tenants._Secrets, "read", lambda self, idp_id: reads.append(idp_id) or original(self, idp_id))

    def cost(who: Tenant) -> int:
        call("GET", f"{who.base}/Users?filter={quote('userName eq \"x\"')}", token=who.token)  # warm
        before = observability.dynamodb_calls()
        result = call("GET", f"{who.base}/Users?filter={quote('userName eq \"x\"')}", token=who.token)
        assert result.status == 200
        return observability.dynamodb_calls() - before

    reads.clear()
    assert cost(extended) == cost(plain)
    assert reads.count(extended.idp_id) <= 1  # the warm-up's read at most: none per request once cached

    # A change is seen from the next request, in every container (the registry's revision), within the TTL.
    declare(extended.idp_id, declaration(attributes=[{"name": "region"}]), force=True, status=200)
    made = call("POST", f"{extended.base}/Users", token=extended.token,
                body={"userName": "r@contoso.com", ACME: {"region": "EMEA"}})
    assert made.status == 201 and made.body[ACME] == {"region": "EMEA"}


# --- Entra end to end --------------------------------------------------------------------------------------------------


def test_entra_shaped_requests_with_a_custom_attribute(call, acme) -> None:
    """Entra's own requests (tests/entra_requests.py), each with the custom attribute mapped beside the enterprise
    ones, in both PATCH dialects (with and without aadOptscim062020), then disabled and looked up as Entra does."""
    from tests.entra_requests import COMPAT_REPLACE_WITH_FLAG, COMPAT_REPLACE_WITHOUT_FLAG, DISABLE_WITH_FLAG, TUT_CREATE

    body = copy.deepcopy(TUT_CREATE)
    body["schemas"] = [*body["schemas"], ACME]
    body[ACME] = {"costCenter": "4711"}
    created = create(call, acme, body)
    assert created[ACME] == {"costCenter": "4711"} and created["emails"] == body["emails"]

    without_flag = copy.deepcopy(COMPAT_REPLACE_WITHOUT_FLAG)
    without_flag["Operations"].append({"op": "Replace", "path": f"{ACME}:costCenter", "value": "0815"})
    replaced = call("PATCH", f"{acme.base}/Users/{created['id']}", token=acme.token, body=without_flag)
    assert replaced.status == 200, replaced.body
    assert replaced.body[ACME] == {"costCenter": "0815"} and replaced.body[ENTERPRISE]["employeeNumber"] == "Eqpj"

    with_flag = copy.deepcopy(COMPAT_REPLACE_WITH_FLAG)
    with_flag["Operations"][1]["value"][f"{ACME}:costCenter"] = "1234"
    replaced = call("PATCH", f"{acme.base}/Users/{created['id']}", token=acme.token, body=with_flag)
    assert replaced.status == 200, replaced.body
    assert replaced.body[ACME] == {"costCenter": "1234"} and replaced.body[ENTERPRISE]["employeeNumber"] == "Aklq"

    disabled = call("PATCH", f"{acme.base}/Users/{created['id']}", token=acme.token, body=DISABLE_WITH_FLAG)
    assert disabled.status == 200 and disabled.body["active"] is False and disabled.body[ACME] == {"costCenter": "1234"}
    found = call("GET", f"{acme.base}/Users?filter={quote('userName eq \"' + created['userName'] + '\"')}",
                 token=acme.token).body
    assert [r["id"] for r in found["Resources"]] == [created["id"]] and found["Resources"][0][ACME] == {
        "costCenter": "1234"}


# --- regressions: what an adversarial review found ------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400", "1e-200", "1" * 42])
def test_numbers_dynamodb_cannot_keep_are_a_400(call, acme, raw) -> None:
    for name in ("hourlyRate", "badgeNumber"):
        text = '{"userName": "n@contoso.com", "%s": {"%s": %s}}' % (ACME, name, raw)
        result = call("POST", f"{acme.base}/Users", token=acme.token, body=text.encode())
        scim_error(result, 400)
    path_filter = patch(call, acme, create(call, acme, {"userName": f"f{len(raw)}@contoso.com"})["id"],
                        {"op": "add", "path": f"{ACME}:clearances[level eq 1e999].value", "value": "x"})
    scim_error(path_filter, 400)


def test_an_allowed_change_never_hides_or_loses_values(call, admin, acme, declare) -> None:
    """Making sub-attributes required is allowed without force: values stored without them stay shown, and a PATCH
    that does not touch the extension (Entra disabling the user) neither fails nor drops them."""
    created = create(call, acme, acme_user(office={"floor": 3}, clearances=[{"value": "a"}, {"value": "b",
                                                                                             "level": 2}]))
    attributes = copy.deepcopy(DECLARATION["schema"]["attributes"])
    office = next(a for a in attributes if a["name"] == "office")
    office["subAttributes"][0]["required"] = True  # building
    declare(acme.idp_id, declaration(attributes=attributes), status=200)
    shown = call("GET", f"{acme.base}/Users/{created['id']}", token=acme.token).body[ACME]
    assert shown["office"] == {"floor": 3} and len(shown["clearances"]) == 2
    disabled = patch(call, acme, created["id"], {"op": "replace", "path": "active", "value": False})
    assert disabled.status == 200 and disabled.body[ACME] == shown
    touched = patch(call, acme, created["id"], {"op": "replace", "path": f"{ACME}:costCenter", "value": "9"})
    assert "office.building" in scim_error(touched, 400, "invalidValue")["detail"]


def test_a_forced_sub_attribute_removal_drops_that_sub_attribute_only(call, acme, declare) -> None:
    created = create(call, acme, acme_user(office={"floor": 3, "building": "B"},
                                           clearances=[{"value": "a", "level": 1}, {"value": "b"}]))
    attributes = copy.deepcopy(DECLARATION["schema"]["attributes"])
    for attribute in attributes:
        if attribute["name"] in ("office", "clearances"):
            attribute["subAttributes"] = [s for s in attribute["subAttributes"] if s["name"] not in ("floor", "level")]
    declare(acme.idp_id, declaration(attributes=attributes), force=True, status=200)
    shown = call("GET", f"{acme.base}/Users/{created['id']}", token=acme.token).body[ACME]
    assert shown["office"] == {"building": "B"} and shown["clearances"] == [{"value": "a"}, {"value": "b"}]


def test_a_replace_may_not_change_the_urns_spelling(admin, acme) -> None:
    result = admin("PUT", extension_path(acme.idp_id, ACME.upper()), declaration(schema={
        **DECLARATION["schema"], "id": ACME.upper()}))
    assert result.status == 400 and "keeps its spelling" in result.body["error"]["message"]


def test_projection_tells_apart_urns_that_prefix_one_another_as_text(call, tenant, declare) -> None:
    first, second = "urn:acme:user", "urn:acme:user2"
    declare(tenant.idp_id, declaration(schema={"id": first, "name": "a", "attributes": [{"name": "x"}]}), urn=first)
    declare(tenant.idp_id, declaration(schema={"id": second, "name": "b", "attributes": [{"name": "y"}]}), urn=second)
    created = create(call, tenant, {"userName": "p@contoso.com", first: {"x": "1"}, second: {"y": "2"}})
    base = f"{tenant.base}/Users/{created['id']}"
    only = call("GET", f"{base}?attributes={quote(second + ':y')}", token=tenant.token).body
    assert only.get(second) == {"y": "2"} and first not in only
    without = call("GET", f"{base}?excludedAttributes={quote(second)}", token=tenant.token).body
    assert second not in without and without[first] == {"x": "1"}


@pytest.mark.parametrize("urn", [
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0",  # a prefix of a URN the service serves
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",  # Entra's spelling of the enterprise URN
    "urn:acme:a+b", "urn:acme:f(x)", "urn:acme:a,b", "urn:acme:a[0]",  # what a filter or `attributes` reads apart
])
def test_urns_that_would_be_read_as_something_else_are_refused(admin, tenant, urn) -> None:
    result = admin("PUT", extension_path(tenant.idp_id, urn), declaration(schema={
        "id": urn, "name": "x", "attributes": [{"name": "a"}]}))
    assert result.status == 400 and "schema.id" in result.body["error"]["message"], result.body


@pytest.mark.parametrize("sub", [{"mutability": "immutable"}, {"returned": "request"}, {"returned": "always"}])
def test_a_sub_attribute_takes_its_attributes_mutability_and_returned(admin, tenant, sub) -> None:
    body = declaration(attributes=[{"name": "o", "type": "complex", "subAttributes": [{"name": "b", **sub}]}])
    result = admin("PUT", extension_path(tenant.idp_id), body)
    assert result.status == 400 and "takes its attribute's" in result.body["error"]["message"]


@pytest.mark.parametrize("change", [{"required": "yes"}, {"multiValued": "true"}, {"caseExact": 1}])
def test_a_characteristic_of_the_wrong_json_type_is_refused(admin, tenant, change) -> None:
    result = admin("PUT", extension_path(tenant.idp_id), declaration(attributes=[{"name": "a", **change}]))
    assert result.status == 400, result.body


def test_a_value_filter_on_a_simple_multi_valued_attribute(call, acme) -> None:
    created = create(call, acme, acme_user(skills=["Go", "SQL", "Rust"]))
    removed = patch(call, acme, created["id"], {"op": "remove", "path": f'{ACME}:skills[value eq "SQL"]'})
    assert removed.status == 200 and removed.body[ACME]["skills"] == ["Go", "Rust"]
    replaced = patch(call, acme, created["id"], {"op": "replace", "path": f'{ACME}:skills[value eq "Go"]',
                                                 "value": "Zig"})
    assert replaced.body[ACME]["skills"] == ["Zig", "Rust"]
    case_exact = patch(call, acme, created["id"], {"op": "remove", "path": f'{ACME}:skills[value eq "rust"]'})
    assert case_exact.body[ACME]["skills"] == ["Zig", "Rust"]  # declared caseExact
    found = call("GET", f"{acme.base}/Users?filter={quote(ACME + ':skills[value eq \"Zig\"]')}", token=acme.token)
    assert [r["id"] for r in found.body["Resources"]] == [created["id"]]
