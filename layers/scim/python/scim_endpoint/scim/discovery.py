"""The discovery endpoints of RFC 7644 §4: /ServiceProviderConfig, /ResourceTypes and /Schemas, for one tenant.

`base_url` is the Tenant URL the IdP was given (e.g. `https://api.example.com/dev/v1/scim/<idp>`); every `location`
is built from it. Each call returns fresh dicts, so callers may change what they get.
"""

from __future__ import annotations

from typing import Any

from .errors import NotFound
from .listing import list_response
from .paging import MAX_PAGE_SIZE
from .schemas import ENTERPRISE_USER, GROUP, SCHEMAS, USER

# What ServiceProviderConfig advertises. These must say only what the service really does: each one is switched on
# by the change that implements the feature, never ahead of it (Entra and the validator act on what is advertised).
PATCH_SUPPORTED = True
BULK_SUPPORTED = False
FILTER_SUPPORTED = True
MAX_RESULTS = MAX_PAGE_SIZE
CHANGE_PASSWORD_SUPPORTED = True
SORT_SUPPORTED = False
ETAG_SUPPORTED = True

SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# RFC 7643 §6, in the order /ResourceTypes lists them.
_RESOURCE_TYPES: dict[str, dict[str, Any]] = {
    "User": {
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
    },
    "Group": {
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP,
    },
}

# The RFC makes ids case-sensitive; matching them case-insensitively is lenient and safe, as no two differ only in case.
_RESOURCE_TYPE_IDS = {type_id.lower(): type_id for type_id in _RESOURCE_TYPES}
_SCHEMA_IDS = {urn.lower(): urn for urn in SCHEMAS}


def service_provider_config(base_url: str) -> dict[str, Any]:
    """The ServiceProviderConfig (RFC 7643 §5). No `documentationUri`: there is none to point to, and null is
    not sent."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": PATCH_SUPPORTED},
        "bulk": {"supported": BULK_SUPPORTED, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": FILTER_SUPPORTED, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": CHANGE_PASSWORD_SUPPORTED},
        "sort": {"supported": SORT_SUPPORTED},
        "etag": {"supported": ETAG_SUPPORTED},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "API key (bearer token)",
                "description": "An API key created for this IdP (its Secret Token), sent as a bearer token.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            },
            {
                "type": "oauthbearertoken",
                "name": "OAuth 2.0 client credentials",
                "description": "An access token from the token endpoint "
                               f"{token_endpoint(base_url)} (client credentials grant, with an OAuth client "
                               "created for this IdP), sent as a bearer token.",
                "specUri": "https://www.rfc-editor.org/info/rfc6749",
            },
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{_base(base_url)}/ServiceProviderConfig"},
    }


def token_endpoint(tenant_url: str) -> str:
    """The OAuth token endpoint beside a Tenant URL (`<base>/v1/scim/<IdP ID>` -> `<base>/v1/oauth2/token`)."""
    return f"{tenant_url.rsplit('/v1/scim/', 1)[0]}/v1/oauth2/token"


def list_resource_types(base_url: str) -> dict[str, Any]:
    """GET /ResourceTypes: a ListResponse of every resource type."""
    base = _base(base_url)
    return list_response([_resource_type(type_id, base) for type_id in _RESOURCE_TYPES])


def get_resource_type(resource_type_id: str, base_url: str) -> dict[str, Any]:
    """GET /ResourceTypes/{id}; NotFound for an id this service does not have."""
    type_id = _RESOURCE_TYPE_IDS.get(resource_type_id.lower())
    if type_id is None:
        known = ", ".join(_RESOURCE_TYPES)
        raise NotFound(f"Resource type '{resource_type_id}' not found; this service has: {known}.")
    return _resource_type(type_id, _base(base_url))


def list_schemas(base_url: str) -> dict[str, Any]:
    """GET /Schemas: a ListResponse of every schema (Entra: "Must return a list response")."""
    base = _base(base_url)
    return list_response([_schema(urn, base) for urn in SCHEMAS])


def get_schema(schema_id: str, base_url: str) -> dict[str, Any]:
    """GET /Schemas/{urn}; NotFound for a URN this service does not serve."""
    urn = _SCHEMA_IDS.get(schema_id.lower())
    if urn is None:
        known = ", ".join(SCHEMAS)
        raise NotFound(f"Schema '{schema_id}' not found; this service has: {known}.")
    return _schema(urn, _base(base_url))


def _resource_type(type_id: str, base: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        **_copy(_RESOURCE_TYPES[type_id]),
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{type_id}"},
    }


def _schema(urn: str, base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        **_copy(SCHEMAS[urn]),
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
    }


def _base(base_url: str) -> str:
    # The Tenant URL comes without a trailing slash; tolerate one rather than emit "//Schemas".
    return base_url.rstrip("/")


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data; cheaper than copy.deepcopy, which keeps a memo for shared objects."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
