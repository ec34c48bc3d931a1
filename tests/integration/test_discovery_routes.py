"""The discovery routes (RFC 7644 §4; docs/entra.md §2.2) through the real handler and template routes."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from scim_endpoint.scim.schemas import ENTERPRISE_USER, GROUP, USER
from tests.conftest import Tenant

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
STAGE = "dev"
# API Gateway's default endpoint for a REST API: what its request context names when no base URL is configured.
EXECUTE_API = "abc123xyz0.execute-api.eu-west-1.amazonaws.com"


@pytest.fixture
def get(call, tenant: Tenant):
    """GET a discovery path of the tenant, as API Gateway's default endpoint would send it (host and stage)."""

    def send(path: str, **kwargs):
        headers = {"Host": EXECUTE_API, **kwargs.pop("headers", {})}
        stage = kwargs.pop("stage", STAGE)
        return call("GET", f"{tenant.base}{path}", headers, token=tenant.token, stage=stage, **kwargs)

    return send


@pytest.fixture
def base(tenant: Tenant) -> str:
    """The Tenant URL: from the configured public base URL (tests/conftest.py)."""
    return tenant.url


def ok(result) -> dict:
    status, headers, body = result
    assert status == 200, body
    assert headers["content-type"].split(";")[0] == "application/scim+json"
    return body


def not_found(result) -> dict:
    status, headers, body = result
    assert status == 404, body
    assert headers["content-type"].split(";")[0] == "application/scim+json"
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "404"
    assert body["detail"]
    return body


def test_service_provider_config(get, base: str) -> None:
    body = ok(get("/ServiceProviderConfig"))
    assert body["schemas"] == [SERVICE_PROVIDER_CONFIG]
    assert body["meta"] == {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"}
    assert [scheme["type"] for scheme in body["authenticationSchemes"]] == ["oauthbearertoken", "oauthbearertoken"]
    assert "https://scim.test/v1/oauth2/token" in body["authenticationSchemes"][1]["description"]
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert isinstance(body[feature]["supported"], bool)
    assert body["filter"]["supported"] is True  # the Test Connection lookups are filters


def test_resource_types(get, base: str) -> None:
    body = ok(get("/ResourceTypes"))
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 2 == len(body["Resources"])
    by_id = {resource["id"]: resource for resource in body["Resources"]}
    assert set(by_id) == {"User", "Group"}
    for type_id, resource in by_id.items():
        assert resource["schemas"] == [RESOURCE_TYPE]
        assert resource["meta"] == {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{type_id}"}
    assert by_id["User"]["endpoint"] == "/Users" and by_id["User"]["schema"] == USER
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_USER, "required": False}]
    assert by_id["Group"]["endpoint"] == "/Groups" and by_id["Group"]["schema"] == GROUP


@pytest.mark.parametrize("asked", ["User", "user", "USER"])
def test_resource_type_user(get, base: str, asked: str) -> None:
    body = ok(get(f"/ResourceTypes/{asked}"))
    assert body["id"] == "User"
    assert body["schemas"] == [RESOURCE_TYPE]
    assert body["endpoint"] == "/Users"
    assert body["meta"]["location"] == f"{base}/ResourceTypes/User"


def test_resource_type_group(get, base: str) -> None:
    body = ok(get("/ResourceTypes/Group"))
    assert body["id"] == "Group"
    assert body["meta"]["location"] == f"{base}/ResourceTypes/Group"


@pytest.mark.parametrize("asked", ["Nope", "Users", "Userx", quote(USER, safe="")])
def test_unknown_resource_type_is_a_scim_404(get, asked: str) -> None:
    not_found(get(f"/ResourceTypes/{asked}"))


def test_schemas_is_a_list_response_of_three(get, base: str) -> None:
    body = ok(get("/Schemas"))
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 3 == len(body["Resources"])
    assert body["itemsPerPage"] == 3 and body["startIndex"] == 1
    assert {schema["id"] for schema in body["Resources"]} == {USER, ENTERPRISE_USER, GROUP}
    for schema in body["Resources"]:
        assert schema["schemas"] == [SCHEMA]
        assert schema["meta"] == {"resourceType": "Schema", "location": f"{base}/Schemas/{schema['id']}"}
        assert schema["attributes"]


@pytest.mark.parametrize(
    "asked",
    [ENTERPRISE_USER, ENTERPRISE_USER.lower(), quote(ENTERPRISE_USER, safe="")],
    ids=["urn", "lower", "encoded"],
)
def test_enterprise_user_schema(get, base: str, asked: str) -> None:
    body = ok(get(f"/Schemas/{asked}"))
    assert body["id"] == ENTERPRISE_USER
    assert body["schemas"] == [SCHEMA]
    assert body["meta"]["location"] == f"{base}/Schemas/{ENTERPRISE_USER}"
    names = {attribute["name"] for attribute in body["attributes"]}
    assert {"employeeNumber", "department", "manager"} <= names


@pytest.mark.parametrize("urn", [USER, GROUP])
def test_core_schemas(get, base: str, urn: str) -> None:
    body = ok(get(f"/Schemas/{urn}"))
    assert body["id"] == urn
    assert body["meta"]["location"] == f"{base}/Schemas/{urn}"


@pytest.mark.parametrize(
    "asked", ["urn:ietf:params:scim:schemas:core:2.0:Nope", "User", "nope", ENTERPRISE_USER + "x"]
)
def test_unknown_schema_is_a_scim_404(get, asked: str) -> None:
    not_found(get(f"/Schemas/{asked}"))


# --- meta.location: the configured Tenant URL, never the client's headers ------------------------------------


@pytest.mark.parametrize("headers", [
    {"Host": "attacker.example", "X-Forwarded-Proto": "http"},
    {"Host": "attacker.example:8443", "X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"},
])
def test_location_ignores_the_clients_host_and_forwarded_headers(get, tenant: Tenant, headers) -> None:
    """A client's `Host` or `X-Forwarded-Proto` used to end up in every meta.location; only configuration does now."""
    body = ok(get("/ServiceProviderConfig", headers=headers))
    assert body["meta"]["location"] == f"{tenant.url}/ServiceProviderConfig"
    assert "attacker" not in json.dumps(body) and "evil" not in json.dumps(body)


def _without_base_url(call, tenant: Tenant, monkeypatch, domain: str, stage: str | None, headers: dict | None = None):
    """GET /ServiceProviderConfig with no public base URL configured, API Gateway's request context naming `domain`
    (the `call` helper derives it from Host, as API Gateway's context matches the host it was reached on)."""
    from scim_endpoint import config

    monkeypatch.delenv("PUBLIC_BASE_URL")
    config.settings.cache_clear()
    return ok(call("GET", f"{tenant.base}/ServiceProviderConfig", {"Host": domain, **(headers or {})},
                   token=tenant.token, stage=stage))


def test_without_a_base_url_the_default_endpoint_names_its_stage(call, tenant: Tenant, monkeypatch) -> None:
    body = _without_base_url(call, tenant, monkeypatch, EXECUTE_API, STAGE, {"X-Forwarded-Proto": "http"})
    assert body["meta"]["location"] == (
        f"https://{EXECUTE_API}/{STAGE}/v1/scim/{tenant.idp_id}/ServiceProviderConfig"
    )


def test_without_a_base_url_a_custom_domain_is_served_at_its_root(call, tenant: Tenant, monkeypatch) -> None:
    body = _without_base_url(call, tenant, monkeypatch, "scim.contoso.test", STAGE)
    assert body["meta"]["location"] == f"https://scim.contoso.test/v1/scim/{tenant.idp_id}/ServiceProviderConfig"


def test_location_names_the_callers_idp(call, tenant: Tenant, make_tenant) -> None:
    other = make_tenant()
    for who in (tenant, other):
        body = ok(call("GET", f"{who.base}/ResourceTypes/User", token=who.token, stage=STAGE))
        assert body["meta"]["location"] == f"{who.url}/ResourceTypes/User"


def test_each_response_is_fresh(get) -> None:
    """Two requests give equal bodies: nothing a handler changed leaks into the next answer."""
    assert ok(get("/Schemas")) == ok(get("/Schemas"))
    assert ok(get("/ResourceTypes")) == ok(get("/ResourceTypes"))
