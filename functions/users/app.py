"""The Users endpoint: /v1/scim/{idpId}/Users and /Users/{id}; also the root /.search over all resource types."""

from scim_endpoint import api, service, users
from scim_endpoint.scim.paging import parse_list_query, parse_search_request, projection_parameters
from scim_endpoint.scim.projection import returns
from scim_endpoint.scim.resource_types import GROUP, USER
from scim_endpoint.store import store

app = api.create_app()


@app.get("/v1/scim/<idp_id>/Users")
def list_users(idp_id: str):
    query = parse_list_query(api.query_parameters(app))
    return api.scim_response(service.search(store(), idp_id, USER, query, api.tenant_url(app)))


@app.post("/v1/scim/<idp_id>/Users/.search")
def search_users(idp_id: str):
    query = parse_search_request(api.json_body(app))
    return api.scim_response(service.search(store(), idp_id, USER, query, api.tenant_url(app)))


@app.post("/v1/scim/<idp_id>/.search")
def search_all(idp_id: str):
    query = parse_search_request(api.json_body(app))
    resource_types = api.readable(app, [USER, GROUP])
    return api.scim_response(service.search_all(store(), idp_id, resource_types, query, api.tenant_url(app)))


@app.post("/v1/scim/<idp_id>/Users")
def create_user(idp_id: str):
    created = users.create(store(), idp_id, api.json_body(app), api.tenant_url(app))
    return api.resource_response(app, created, status=201)


@app.get("/v1/scim/<idp_id>/Users/<user_id>")
def get_user(idp_id: str, user_id: str):
    with_groups = returns("groups", *projection_parameters(api.query_parameters(app)))
    found = users.get(store(), idp_id, user_id, api.tenant_url(app), api.header(app, "If-None-Match"), with_groups)
    return api.resource_response(app, found)


@app.put("/v1/scim/<idp_id>/Users/<user_id>")
def replace_user(idp_id: str, user_id: str):
    replaced = users.replace(
        store(), idp_id, user_id, api.json_body(app), api.tenant_url(app), api.header(app, "If-Match")
    )
    return api.resource_response(app, replaced)


@app.patch("/v1/scim/<idp_id>/Users/<user_id>")
def patch_user(idp_id: str, user_id: str):
    patched = users.patch(
        store(), idp_id, user_id, api.json_body(app), api.tenant_url(app), api.header(app, "If-Match")
    )
    return api.resource_response(app, patched)


@app.delete("/v1/scim/<idp_id>/Users/<user_id>")
def delete_user(idp_id: str, user_id: str):
    users.delete(store(), idp_id, user_id, api.header(app, "If-Match"))
    return api.no_content()


lambda_handler = api.lambda_handler_for(app)
