"""The discovery endpoints of RFC 7644 §4: /ServiceProviderConfig, /ResourceTypes and /Schemas, for one tenant.

`base_url` is the Tenant URL the IdP was given (e.g. `https://api.example.com/dev/v1/scim/<idp>`); every `location`
is built from it. Each call returns fresh dicts, so callers may change what they get. What /ResourceTypes and
/Schemas list is the IdP's `ResourceTypes`: the core definitions, and the extensions that IdP declared.
"""

from __future__ import annotations

from typing import Any

from .errors import NotFound
from .listing import list_response
from .cursors import CURSOR_TIMEOUT_SECONDS
from .paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from .definitions import Schema
from .resource_types import ResourceTypes

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
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

def service_provider_config(base_url: str) -> dict[str, Any]:
    """The ServiceProviderConfig (RFC 7643 §5). No `documentationUri`: there is none to point to, and null is
    not sent."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": PATCH_SUPPORTED},
        "bulk": {"supported": BULK_SUPPORTED, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": FILTER_SUPPORTED, "maxResults": MAX_RESULTS},
        # RFC 9865: both methods; index paging stays the default (what Entra and every client before it use).
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_PAGE_SIZE,
            "maxPageSize": MAX_PAGE_SIZE,
            "cursorTimeout": CURSOR_TIMEOUT_SECONDS,
        },
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


def list_resource_types(types: ResourceTypes, base_url: str) -> dict[str, Any]:
    """GET /ResourceTypes: a ListResponse of every resource type (with the IdP's own extensions)."""
    return list_response([resource_type.to_scim(_base(base_url)) for resource_type in types.all])


def get_resource_type(types: ResourceTypes, resource_type_id: str, base_url: str) -> dict[str, Any]:
    """GET /ResourceTypes/{id}; NotFound for an id this service does not have."""
    resource_type = types.get(resource_type_id)
    if resource_type is None:
        known = ", ".join(t.name for t in types.all)
        raise NotFound(f"Resource type '{resource_type_id}' not found; this service has: {known}.")
    return resource_type.to_scim(_base(base_url))


def list_schemas(types: ResourceTypes, base_url: str) -> dict[str, Any]:
    """GET /Schemas: a ListResponse of every schema the IdP is served (Entra: "Must return a list response")."""
    return list_response([_schema(schema, _base(base_url)) for schema in types.schemas])


def get_schema(types: ResourceTypes, schema_id: str, base_url: str) -> dict[str, Any]:
    """GET /Schemas/{urn}; NotFound for a URN this IdP is not served."""
    schema = types.schema(schema_id)
    if schema is None:
        known = ", ".join(s.id for s in types.schemas)
        raise NotFound(f"Schema '{schema_id}' not found; this service has: {known}.")
    return _schema(schema, _base(base_url))


def _schema(schema: Schema, base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        **schema.to_scim(),
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{schema.id}"},
    }


def _base(base_url: str) -> str:
    # The Tenant URL comes without a trailing slash; tolerate one rather than emit "//Schemas".
    return base_url.rstrip("/")
