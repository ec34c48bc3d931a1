"""Service discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and /Schemas under the Tenant URL."""

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Depends

from scim_endpoint import api
from scim_endpoint.scim import discovery
from scim_endpoint.scope import RequestScope

app = api.create_app()
Scope = Annotated[RequestScope, Depends(api.request_scope)]


@app.get("/ServiceProviderConfig")
def service_provider_config(scope: Scope):
    return api.scim_response(discovery.service_provider_config(scope.tenant_url))


@app.get("/ResourceTypes")
def resource_types(scope: Scope):
    return api.scim_response(discovery.list_resource_types(scope.types, scope.tenant_url))


@app.get("/ResourceTypes/<id>")
def resource_type(id: str, scope: Scope):
    # The resolver captures ids from the path as sent (API Gateway keeps it percent-encoded): decode them.
    return api.scim_response(discovery.get_resource_type(scope.types, unquote(id), scope.tenant_url))


@app.get("/Schemas")
def schemas(scope: Scope):
    return api.scim_response(discovery.list_schemas(scope.types, scope.tenant_url))


@app.get("/Schemas/<id>")
def schema(id: str, scope: Scope):
    return api.scim_response(discovery.get_schema(scope.types, unquote(id), scope.tenant_url))


lambda_handler = api.lambda_handler_for(app)
