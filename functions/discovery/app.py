"""Service discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and /Schemas under the Tenant URL."""

from urllib.parse import unquote

from scim_endpoint import api
from scim_endpoint.scim import discovery

app = api.create_app()


@app.get("/v1/scim/<idp_id>/ServiceProviderConfig")
def service_provider_config(idp_id: str):
    return api.scim_response(discovery.service_provider_config(api.tenant_url(app)))


@app.get("/v1/scim/<idp_id>/ResourceTypes")
def resource_types(idp_id: str):
    return api.scim_response(discovery.list_resource_types(api.tenant_url(app)))


@app.get("/v1/scim/<idp_id>/ResourceTypes/<resource_type_id>")
def resource_type(idp_id: str, resource_type_id: str):
    # The resolver captures ids from the path as sent (API Gateway keeps it percent-encoded): decode them.
    return api.scim_response(discovery.get_resource_type(unquote(resource_type_id), api.tenant_url(app)))


@app.get("/v1/scim/<idp_id>/Schemas")
def schemas(idp_id: str):
    return api.scim_response(discovery.list_schemas(api.tenant_url(app)))


@app.get("/v1/scim/<idp_id>/Schemas/<schema_id>")
def schema(idp_id: str, schema_id: str):
    return api.scim_response(discovery.get_schema(unquote(schema_id), api.tenant_url(app)))


lambda_handler = api.lambda_handler_for(app)
