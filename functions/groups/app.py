"""The Groups endpoint: /v1/scim/{idpId}/Groups and /v1/scim/{idpId}/Groups/{id}."""

from scim_endpoint import api, groups, service
from scim_endpoint.scim.paging import parse_list_query, parse_search_request, projection_parameters
from scim_endpoint.scim.projection import returns
from scim_endpoint.scim.resource_types import GROUP
from scim_endpoint.store import store

app = api.create_app()


@app.get("/v1/scim/<idp_id>/Groups")
def list_groups(idp_id: str):
    query = parse_list_query(api.query_parameters(app))
    return api.scim_response(groups.search(store(), idp_id, query, api.tenant_url(app)))


@app.post("/v1/scim/<idp_id>/Groups/.search")
def search_groups(idp_id: str):
    query = parse_search_request(api.json_body(app))
    return api.scim_response(groups.search(store(), idp_id, query, api.tenant_url(app)))


@app.post("/v1/scim/<idp_id>/Groups")
def create_group(idp_id: str):
    created = groups.create(store(), idp_id, api.json_body(app), api.tenant_url(app))
    return api.resource_response(app, created, status=201)


@app.get("/v1/scim/<idp_id>/Groups/<group_id>")
def get_group(idp_id: str, group_id: str):
    found = service.get(store(), idp_id, GROUP, group_id, api.tenant_url(app), api.header(app, "If-None-Match"))
    if returns("members", *projection_parameters(api.query_parameters(app))):
        found = groups.with_members(store(), idp_id, found)
    return api.resource_response(app, found)


@app.put("/v1/scim/<idp_id>/Groups/<group_id>")
def replace_group(idp_id: str, group_id: str):
    replaced = groups.replace(
        store(), idp_id, group_id, api.json_body(app), api.tenant_url(app), api.header(app, "If-Match")
    )
    return api.resource_response(app, replaced)


@app.patch("/v1/scim/<idp_id>/Groups/<group_id>")
def patch_group(idp_id: str, group_id: str):
    groups.patch(store(), idp_id, group_id, api.json_body(app), api.tenant_url(app), api.header(app, "If-Match"))
    return api.no_content()


@app.delete("/v1/scim/<idp_id>/Groups/<group_id>")
def delete_group(idp_id: str, group_id: str):
    groups.delete(store(), idp_id, group_id, api.header(app, "If-Match"))
    return api.no_content()


lambda_handler = api.lambda_handler_for(app)
