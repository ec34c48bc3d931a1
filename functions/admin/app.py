"""The management API (/admin/v1), for the SaaS product's backend: IdPs, their API keys and OAuth clients, their schema
extensions, their data's export and erasure, their activity and change events. Authorized by AWS IAM (SigV4) at API Gateway; every request is audited (admin_api.py).

Request and response bodies are the pydantic models of `scim_endpoint.management.models`, which validate them and
make the OpenAPI document (docs/management-api.openapi.json; `make openapi` writes it again).
"""

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from scim_endpoint import admin_api
from scim_endpoint.scim.extensions import ExtensionDeclaration
from scim_endpoint.management import export, feed, services
from scim_endpoint.management.extensions import Extensions
from scim_endpoint.management.idps import Idps
from scim_endpoint.management.keys import Keys
from scim_endpoint.management.models import (
    MAX_PAGE, Activity, Client, ClientCreate, ClientCreated, ClientList, ErrorBody, EventPage, Export, ExportStarted,
    Idp, IdpCreate, IdpPage, IdpUpdate, Key,
    KeyCreate, KeyCreated, KeyList, ExtensionList,
)

app = admin_api.create_app()

ERRORS = {status: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
          for status, text in ((400, "Invalid request"), (403, "Not an IAM principal allowed to call it"),
                               (404, "No such IdP, key or export"), (409, "The IdP exists, or is being deleted"),
                               (429, "Another change of the IdP's keys is under way (Retry-After)"),
                               (503, "A dependency is unavailable (Retry-After)"))}


def responses(status: int, model: type, description: str) -> dict:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}, **ERRORS}


@app.post("/admin/v1/idps", responses=responses(201, Idp, "The IdP, with its Tenant URL"))
def create_idp(body: Annotated[IdpCreate, Body()]):
    created = Idps(services()).create(body)
    admin_api.about_idp(created.idp_id)
    return admin_api.json_response(created, status=201)


@app.get("/admin/v1/idps", responses=responses(200, IdpPage, "A page of IdPs, in order of creation"))
def list_idps(limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
              cursor: Annotated[str | None, Query(max_length=2048)] = None):
    page = Idps(services()).page(limit, cursor)
    # The cursor is there on every page, null on the last one.
    return admin_api.json_response({**page.model_dump(exclude_none=True), "next_cursor": page.next_cursor})


@app.get("/admin/v1/idps/<idp>", responses=responses(200, Idp, "The IdP (while deleting: the erasure's progress)"))
def get_idp(idp: str):
    return admin_api.json_response(Idps(services()).get(idp))


@app.patch("/admin/v1/idps/<idp>", responses=responses(200, Idp, "The IdP as changed"))
def update_idp(idp: str, body: Annotated[IdpUpdate, Body()]):
    return admin_api.json_response(Idps(services()).update(idp, body))


@app.delete("/admin/v1/idps/<idp>",
            responses=responses(202, Idp, "Deleting: no request of the IdP is admitted any more; its data is erased "
                                          "in the background (GET shows the progress, then 404)"))
def delete_idp(idp: str):
    return admin_api.json_response(Idps(services()).delete(idp), status=202)


@app.post("/admin/v1/idps/<idp>/keys",
          responses=responses(201, KeyCreated, "The key, with its Secret Token (shown this once)"))
def create_key(idp: str, body: Annotated[KeyCreate, Body()]):
    return admin_api.json_response(Keys(services()).create(idp, body), status=201)


@app.get("/admin/v1/idps/<idp>/keys", responses=responses(200, KeyList, "The IdP's keys (never a token)"))
def list_keys(idp: str):
    return admin_api.json_response(Keys(services()).list(idp))


@app.delete("/admin/v1/idps/<idp>/keys/<key>",
            responses=responses(200, Key, "The key, revoked: it answers 401 from the next request on"))
def revoke_key(idp: str, key: str):
    return admin_api.json_response(Keys(services()).revoke(idp, key))


@app.post("/admin/v1/idps/<idp>/clients",
          responses=responses(201, ClientCreated, "The OAuth client, with its secret (shown this once)"))
def create_client(idp: str, body: Annotated[ClientCreate, Body()]):
    return admin_api.json_response(Keys(services()).create_client(idp, body), status=201)


@app.get("/admin/v1/idps/<idp>/clients", responses=responses(200, ClientList, "The IdP's OAuth clients (never a "
                                                                              "secret)"))
def list_clients(idp: str):
    return admin_api.json_response(Keys(services()).list_clients(idp))


@app.delete("/admin/v1/idps/<idp>/clients/<client>",
            responses=responses(200, Client, "The client, revoked: no token from now on, and its tokens refused "
                                             "from the next request"))
def revoke_client(idp: str, client: str):
    return admin_api.json_response(Keys(services()).revoke_client(idp, client))


@app.get("/admin/v1/idps/<idp>/export", responses={
    200: {"description": "The IdP's users, groups and memberships as JSON Lines (when they fit one response; "
                         "otherwise 400 export_too_large: use POST .../exports)",
          "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}, **ERRORS})
def export_idp(idp: str):
    found = services()
    Idps(found).active(idp)
    body = export.inline(found, idp)
    if body is None:
        raise export.too_large(idp)
    return Response(status_code=200, content_type="application/x-ndjson", body=body)


@app.post("/admin/v1/idps/<idp>/exports",
          responses=responses(202, ExportStarted, "The export, running in the background"))
def start_export(idp: str):
    found = services()
    Idps(found).active(idp)
    return admin_api.json_response(export.start(found, idp), status=202)


@app.get("/admin/v1/idps/<idp>/exports/<export_id>",
         responses=responses(200, Export, "The export; once ready, a pre-signed URL of its JSON Lines"))
def get_export(idp: str, export_id: str):
    found = services()
    Idps(found).get(idp)
    return admin_api.json_response(export.status(found, idp, export_id))


@app.get("/admin/v1/idps/<idp>/activity",
         responses=responses(200, Activity, "The changes asked of the IdP, newest first"))
def get_activity(idp: str, hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 50):
    found = services()
    Idps(found).get(idp)
    return admin_api.json_response(Activity(records=found.activity.records(idp, hours, limit)))


@app.get("/admin/v1/idps/<idp>/events",
         responses=responses(200, EventPage, "The IdP's change events after the cursor, oldest first"))
def get_events(idp: str, after: Annotated[str | None, Query(max_length=512)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    found = services()
    Idps(found).get(idp)
    result = feed.page(found, idp, after, limit)
    # The cursor is there on every page (null only before the IdP has any event); events as they were published.
    return admin_api.json_response({"events": [e.model_dump(exclude_none=True) for e in result.events],
                                    "next": result.next})


@app.get("/admin/v1/idps/<idp>/extensions",
         responses=responses(200, ExtensionList, "The IdP's schema extensions (custom attributes), as declared"))
def list_extensions(idp: str):
    return admin_api.json_response({"extensions": Extensions(services()).list(idp)})


# The resolver captures a URN from the path as sent (API Gateway keeps it percent-encoded): decoded before use.
@app.get("/admin/v1/idps/<idp>/extensions/<schema>",
         responses=responses(200, ExtensionDeclaration, "The extension, as declared"))
def get_extension(idp: str, schema: str):
    return admin_api.json_response(Extensions(services()).get(idp, unquote(schema)))


@app.put("/admin/v1/idps/<idp>/extensions/<schema>",
         responses=responses(200, ExtensionDeclaration, "The extension, as now declared (201 when created); 409 when "
                                                        "the change drops values stored resources hold, unless forced"))
def set_extension(idp: str, schema: str, body: Annotated[ExtensionDeclaration, Body()],
                  force: Annotated[bool, Query(description="Drop the values of removed or retyped attributes that "
                                                           "stored resources hold")] = False):
    declared, created = Extensions(services()).set(idp, unquote(schema), body, force)
    return admin_api.json_response(declared, status=201 if created else 200)


@app.delete("/admin/v1/idps/<idp>/extensions/<schema>",
            responses={204: {"description": "Deleted; 409 while stored resources hold its values, unless forced"},
                       **ERRORS})
def delete_extension(idp: str, schema: str,
                     force: Annotated[bool, Query(description="Drop the values stored resources hold")] = False):
    Extensions(services()).delete(idp, unquote(schema), force)
    return Response(status_code=204)


lambda_handler = admin_api.lambda_handler_for(app)
