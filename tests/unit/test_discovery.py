"""The discovery endpoints (RFC 7644 §4; RFC 7643 §5, §6, §7)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from scim_endpoint.scim import discovery, paging
from scim_endpoint.scim.errors import NotFound
from scim_endpoint.scim import schemas
from scim_endpoint.scim.resource_types import CORE
from scim_endpoint.scim.schemas import ENTERPRISE_USER, GROUP, USER
from tests.support import nones

BASE = "https://api.example.com/dev/v1/scim/0f8d6c1e-idp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

OUTPUTS: dict[str, Callable[[], dict[str, Any]]] = {
    "ServiceProviderConfig": lambda: discovery.service_provider_config(BASE),
    "ResourceTypes": lambda: discovery.list_resource_types(CORE, BASE),
    "ResourceTypes/User": lambda: discovery.get_resource_type(CORE, "User", BASE),
    "ResourceTypes/Group": lambda: discovery.get_resource_type(CORE, "Group", BASE),
    "Schemas": lambda: discovery.list_schemas(CORE, BASE),
    "Schemas/User": lambda: discovery.get_schema(CORE, USER, BASE),
    "Schemas/EnterpriseUser": lambda: discovery.get_schema(CORE, ENTERPRISE_USER, BASE),
    "Schemas/Group": lambda: discovery.get_schema(CORE, GROUP, BASE),
}


def first_container(value: Any) -> tuple[Any, Any] | None:
    """Some nested dict or list and a key into it, to mutate."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                return first_container(item) or (value, key)
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)) and item:
                return first_container(item) or (value, index)
    return None


# --- properties of every output ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OUTPUTS)
def test_no_none_anywhere(name: str) -> None:
    assert nones(OUTPUTS[name]()) == []


@pytest.mark.parametrize("name", OUTPUTS)
def test_json_serialisable(name: str) -> None:
    output = OUTPUTS[name]()
    assert json.loads(json.dumps(output, allow_nan=False)) == output


@pytest.mark.parametrize("name", OUTPUTS)
def test_each_call_returns_independent_data(name: str) -> None:
    first = OUTPUTS[name]()
    pristine = copy.deepcopy(first)
    # Change the top level and something deep inside.
    first["schemas"].append("urn:example:changed")
    container, key = first_container(first)
    container[key] = "changed"
    first.clear()
    assert OUTPUTS[name]() == pristine


def test_mutating_outputs_leaves_the_schema_constants_alone() -> None:
    before = [schema.to_scim() for schema in schemas.SCHEMAS.values()]
    for resource in discovery.list_schemas(CORE, BASE)["Resources"]:
        for attribute in resource["attributes"]:
            attribute["required"] = "changed"
            for sub in attribute.get("subAttributes", []):
                sub.clear()
    attributes = discovery.get_schema(CORE, USER, BASE)["attributes"]
    emails = next(attribute for attribute in attributes if attribute["name"] == "emails")
    emails["subAttributes"][2]["canonicalValues"].append("changed")
    assert [schema.to_scim() for schema in schemas.SCHEMAS.values()] == before


@pytest.mark.parametrize("base", [BASE, BASE + "/"])
def test_locations_are_built_from_the_base_url(base: str) -> None:
    assert discovery.service_provider_config(base)["meta"]["location"] == f"{BASE}/ServiceProviderConfig"
    assert discovery.get_resource_type(CORE, "Group", base)["meta"]["location"] == f"{BASE}/ResourceTypes/Group"
    assert discovery.get_schema(CORE, GROUP, base)["meta"]["location"] == f"{BASE}/Schemas/{GROUP}"


def test_locations_follow_the_tenant() -> None:
    other = "https://scim.example.org/prod/v1/scim/another-idp"
    assert discovery.list_resource_types(CORE, other)["Resources"][0]["meta"]["location"] == f"{other}/ResourceTypes/User"
    assert discovery.list_schemas(CORE, other)["Resources"][0]["meta"]["location"] == f"{other}/Schemas/{USER}"


# --- ServiceProviderConfig (RFC 7643 §5) -------------------------------------------------------------------------


def test_service_provider_config_advertises_only_what_is_implemented() -> None:
    config = discovery.service_provider_config(BASE)
    assert config["schemas"] == [SERVICE_PROVIDER_CONFIG]
    assert config["patch"] == {"supported": True}
    assert config["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    assert config["filter"] == {"supported": True, "maxResults": 100}
    assert config["changePassword"] == {"supported": True}
    assert config["sort"] == {"supported": False}
    assert config["etag"] == {"supported": True}
    assert config["meta"] == {"resourceType": "ServiceProviderConfig", "location": f"{BASE}/ServiceProviderConfig"}
    assert "documentationUri" not in config


def test_filter_max_results_is_the_page_size_limit() -> None:
    assert discovery.service_provider_config(BASE)["filter"]["maxResults"] == paging.MAX_PAGE_SIZE


def test_authentication_schemes_are_the_api_key_and_oauth_with_its_token_endpoint() -> None:
    schemes = discovery.service_provider_config(BASE)["authenticationSchemes"]
    assert [(s["type"], s["name"], s["specUri"], s.get("primary")) for s in schemes] == [
        ("oauthbearertoken", "API key (bearer token)", "https://www.rfc-editor.org/info/rfc6750", True),
        ("oauthbearertoken", "OAuth 2.0 client credentials", "https://www.rfc-editor.org/info/rfc6749", None),
    ]
    token_endpoint = BASE.rsplit("/v1/scim/", 1)[0] + "/v1/oauth2/token"
    assert token_endpoint in schemes[1]["description"] and BASE.endswith("/v1/scim/" + BASE.rsplit("/", 1)[1])


# --- ResourceTypes (RFC 7643 §6) ---------------------------------------------------------------------------------


def test_list_resource_types_is_a_list_response() -> None:
    response = discovery.list_resource_types(CORE, BASE)
    assert response["schemas"] == [LIST_RESPONSE]
    assert (response["totalResults"], response["startIndex"], response["itemsPerPage"]) == (2, 1, 2)
    # User first: the reference Postman collection reads Resources[0].endpoint as "/Users".
    assert [resource["id"] for resource in response["Resources"]] == ["User", "Group"]


def test_user_resource_type() -> None:
    assert discovery.get_resource_type(CORE, "User", BASE) == {
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/User"},
    }


def test_group_resource_type() -> None:
    assert discovery.get_resource_type(CORE, "Group", BASE) == {
        "schemas": [RESOURCE_TYPE],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP,
        "meta": {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/Group"},
    }


def test_listed_resource_types_equal_the_single_ones() -> None:
    for resource in discovery.list_resource_types(CORE, BASE)["Resources"]:
        assert discovery.get_resource_type(CORE, resource["id"], BASE) == resource


@pytest.mark.parametrize("asked, canonical", [("user", "User"), ("USER", "User"), ("gRoUp", "Group")])
def test_resource_type_id_matches_ignoring_case(asked: str, canonical: str) -> None:
    resource_type = discovery.get_resource_type(CORE, asked, BASE)
    assert resource_type["id"] == canonical
    assert resource_type["meta"]["location"] == f"{BASE}/ResourceTypes/{canonical}"


@pytest.mark.parametrize("unknown", ["Users", "Device", "", "User "])
def test_unknown_resource_type_is_not_found(unknown: str) -> None:
    with pytest.raises(NotFound) as raised:
        discovery.get_resource_type(CORE, unknown, BASE)
    assert raised.value.status == 404
    body = raised.value.to_body()
    assert body["status"] == "404"
    assert f"'{unknown}'" in body["detail"]


def test_resource_types_reference_served_schemas() -> None:
    served = {resource["id"] for resource in discovery.list_schemas(CORE, BASE)["Resources"]}
    for resource_type in discovery.list_resource_types(CORE, BASE)["Resources"]:
        assert resource_type["schema"] in served
        discovery.get_schema(CORE, resource_type["schema"], BASE)
        for extension in resource_type.get("schemaExtensions", []):
            assert extension["schema"] in served
            assert isinstance(extension["required"], bool)


# --- Schemas (RFC 7643 §7, §8.7.1) -------------------------------------------------------------------------------


def test_list_schemas_is_a_list_response_of_all_three() -> None:
    response = discovery.list_schemas(CORE, BASE)
    assert response["schemas"] == [LIST_RESPONSE]
    assert (response["totalResults"], response["startIndex"], response["itemsPerPage"]) == (3, 1, 3)
    assert [resource["id"] for resource in response["Resources"]] == [USER, ENTERPRISE_USER, GROUP]


@pytest.mark.parametrize(
    "constant", [schema.to_scim() for schema in schemas.SCHEMAS.values()], ids=["User", "EnterpriseUser", "Group"]
)
def test_schema_representation(constant: dict[str, Any]) -> None:
    schema = discovery.get_schema(CORE, constant["id"], BASE)
    assert schema["schemas"] == [SCHEMA]
    assert schema["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{constant['id']}"}
    assert {key: value for key, value in schema.items() if key not in ("schemas", "meta")} == constant


def test_listed_schemas_equal_the_single_ones() -> None:
    for resource in discovery.list_schemas(CORE, BASE)["Resources"]:
        assert discovery.get_schema(CORE, resource["id"], BASE) == resource


def test_schema_id_matches_ignoring_case() -> None:
    schema = discovery.get_schema(CORE, ENTERPRISE_USER.upper(), BASE)
    assert schema["id"] == ENTERPRISE_USER
    assert schema["meta"]["location"] == f"{BASE}/Schemas/{ENTERPRISE_USER}"


@pytest.mark.parametrize(
    "unknown",
    [
        "urn:ietf:params:scim:schemas:core:2.0:Device",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        "User",
        "",
    ],
)
def test_unknown_schema_is_not_found(unknown: str) -> None:
    with pytest.raises(NotFound) as raised:
        discovery.get_schema(CORE, unknown, BASE)
    assert raised.value.status == 404
    assert raised.value.to_body()["status"] == "404"
    assert f"'{unknown}'" in raised.value.detail
