"""The Groups endpoint: /v1/scim/{idpId}/Groups."""

from scim_endpoint import api, service
from scim_endpoint.scim.paging import parse_list_query
from scim_endpoint.scim.resource_types import GROUP
from scim_endpoint.store import store

app = api.create_app()


@app.get("/v1/scim/<idp_id>/Groups")
def list_groups(idp_id: str):
    query = parse_list_query(api.query_parameters(app))
    return api.scim_response(service.search(store(), idp_id, GROUP, query, api.tenant_url(app)))


lambda_handler = api.lambda_handler_for(app)
