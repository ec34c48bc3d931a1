"""The Users endpoint: /v1/scim/{idpId}/Users and /Users/{id}; also the root /.search over all resource types.

Routes are written relative to the Tenant URL; each receives the request scope (IdP, key, Tenant URL, projection)
that the edge built, and calls the Users use cases (or the root search) with it.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from scim_endpoint import api
from scim_endpoint.resources import search, user_resources
from scim_endpoint.scim.paging import parse_search_request
from scim_endpoint.scope import RequestScope

app = api.create_app()
Scope = Annotated[RequestScope, Depends(api.request_scope)]


@app.get("/Users")
def list_users(scope: Scope):
    return api.scim_response(user_resources().search(scope, scope.list_query))


@app.post("/Users/.search")
def search_users(scope: Scope):
    return api.scim_response(user_resources().search(scope, parse_search_request(api.json_body(app))))


@app.post("/.search")
def search_all(scope: Scope):
    return api.scim_response(search.search_all(scope, parse_search_request(api.json_body(app))))


@app.post("/Users")
def create_user(scope: Scope):
    return api.resource_response(scope, user_resources().create(scope, api.json_body(app)), status=201)


@app.get("/Users/<id>")
def get_user(id: str, scope: Scope):
    return api.resource_response(scope, user_resources().get(scope, id))


@app.put("/Users/<id>")
def replace_user(id: str, scope: Scope):
    return api.resource_response(scope, user_resources().replace(scope, id, api.json_body(app)))


@app.patch("/Users/<id>")
def patch_user(id: str, scope: Scope):
    return api.resource_response(scope, user_resources().patch(scope, id, api.json_body(app)))


@app.delete("/Users/<id>")
def delete_user(id: str, scope: Scope):
    user_resources().delete(scope, id)
    return api.no_content()


lambda_handler = api.lambda_handler_for(app)
