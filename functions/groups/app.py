"""The Groups endpoint: /v1/scim/{idpId}/Groups and /Groups/{id}.

Routes are written relative to the Tenant URL; each receives the request scope (IdP, key, Tenant URL, projection)
that the edge built, and calls the Groups use cases with it.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from scim_endpoint import api
from scim_endpoint.resources import group_resources
from scim_endpoint.scim.paging import parse_search_request
from scim_endpoint.scope import RequestScope

app = api.create_app()
Scope = Annotated[RequestScope, Depends(api.request_scope)]


@app.get("/Groups")
def list_groups(scope: Scope):
    return api.scim_response(group_resources().search(scope, scope.list_query))


@app.post("/Groups/.search")
def search_groups(scope: Scope):
    return api.scim_response(group_resources().search(scope, parse_search_request(api.json_body(app))))


@app.post("/Groups")
def create_group(scope: Scope):
    return api.resource_response(scope, group_resources().create(scope, api.json_body(app)), status=201)


@app.get("/Groups/<id>")
def get_group(id: str, scope: Scope):
    return api.resource_response(scope, group_resources().get(scope, id))


@app.put("/Groups/<id>")
def replace_group(id: str, scope: Scope):
    return api.resource_response(scope, group_resources().replace(scope, id, api.json_body(app)))


@app.patch("/Groups/<id>")
def patch_group(id: str, scope: Scope):
    group_resources().patch(scope, id, api.json_body(app))
    return api.no_content()


@app.delete("/Groups/<id>")
def delete_group(id: str, scope: Scope):
    group_resources().delete(scope, id)
    return api.no_content()


lambda_handler = api.lambda_handler_for(app)
