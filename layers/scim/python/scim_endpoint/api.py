"""The HTTP edge every SCIM function shares: the request scope, the route table's privileges, SCIM error rendering,
bounded responses, and the Lambda entry point.

A request reaches a route's handler only through `authenticate`, which
1. reads the IdP id once, from the path as API Gateway gives it, and accepts only its canonical form (401 otherwise,
   before any store or key store access);
2. admits the request (`management.access`): the bearer token against that IdP's keys, then the IdP's state and
   the revision of its keys in the registry (a deleted IdP, a revoked or expired key: 401 from the next request);
3. looks the route up in the route table (`auth.privileges.ROUTES`) by method and by the route template API Gateway
   matched, refusing (403) a route the table does not name or a key without the privilege;
4. builds the immutable `RequestScope` the handler receives through `Depends(request_scope)`.

Errors are rendered here and only here: a `ScimError` becomes its SCIM error body; anything else is logged with
its stack trace and answered with a plain 500 SCIM error, so no trace ever reaches a client.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Request, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths

from . import observability, snapstart
from .auth import access_tokens, privileges, tokens
from .config import settings
from .observability import logger, metrics, tracer
from .scim.errors import Forbidden, InternalError, MethodNotAllowed, NotFound, ScimError, Unauthorized
from .scim.listing import fits, to_json, too_large
from .scim.paging import parse_list_query, projection_parameters
from .scim.projection import project
from .scim.representation import etag
from .scim.validation import check_text, parse_json
from .scope import Projection, RequestScope, is_idp_id
from .management.access import admit_access_token, admit_request
from .tenants import KeyStoreUnavailable, key_cache

SCIM_CONTENT_TYPE = "application/scim+json"
# Every SCIM route lives under the Tenant URL: API Gateway's resource template, and the path prefix the resolver
# strips before matching its routes (so no route handler can take the IdP id from the path).
TENANT_ROUTE = "/v1/scim/{idpId}"
# Behind a custom domain with a base path mapping, API Gateway's `path` starts with the base path: the Tenant URL's
# prefix is the first `/v1/scim/<IdP id>` in the path, whatever comes before it.
_TENANT_PATH = re.compile(r"^(?:/[^/]+)*?/v1/scim/[^/]+")


def scim_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A SCIM body; a single resource that would pass the response byte budget is refused (lists keep under it by
    returning fewer resources: `scim.listing`)."""
    text = to_json(body)
    if not fits(text):
        raise too_large()
    return Response(status_code=status, content_type=SCIM_CONTENT_TYPE, body=text, headers=headers)


def error_response(error: ScimError) -> Response:
    if error.status == 304:  # Not Modified carries no body
        return Response(status_code=304, headers=error.headers)
    return Response(status_code=error.status, content_type=SCIM_CONTENT_TYPE, body=to_json(error.to_body()),
                    headers=error.headers)


def resource_response(scope: RequestScope, shown: Any, status: int = 200) -> Response:
    """A single resource, with its ETag (and Location when created), trimmed by `attributes`/`excludedAttributes`."""
    headers = {"ETag": etag(shown.version)}
    if status == 201:
        headers["Location"] = shown.body["meta"]["location"]
    body = project(shown.body, scope.projection.attributes, scope.projection.excluded, scope.types)
    return scim_response(body, status=status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def json_body(app: APIGatewayRestResolver) -> Any:
    """The request body as JSON, checked by `validation.parse_json` (size, depth, text, duplicate names)."""
    event = app.current_event
    body = event.body
    if body is not None and event.is_base64_encoded:
        body = base64.b64decode(body)
    return parse_json(body)


def request_scope(request: Request) -> RequestScope:
    """The scope `authenticate` built for this request: what route handlers declare with `Depends(request_scope)`."""
    return request.context["scope"]


def create_app() -> APIGatewayRestResolver:
    """A resolver whose every route first goes through `authenticate`; its routes are written relative to the
    Tenant URL (`/Users/<id>`), with template.yaml's parameter names."""
    app = APIGatewayRestResolver(serializer=to_json, strip_prefixes=[_TENANT_PATH])
    app.use(middlewares=[authenticate])

    @app.exception_handler(ScimError)
    def handle_scim_error(error: ScimError) -> Response:
        if isinstance(error, KeyStoreUnavailable):
            observability.count("KeyStoreUnavailable")
        if error.status >= 500:
            logger.warning("request failed", extra={"status": error.status, "detail": error.detail})
        return error_response(error)

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(InternalError())

    @app.not_found
    def handle_not_found(error: Exception) -> Response:
        return error_response(NotFound("No such SCIM endpoint."))

    return app


def authenticate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    event = app.current_event
    idp_id = _idp_id(event)
    logger.append_keys(idp_id=idp_id)  # canonical by now, so failed authentications say which tenant
    bearer = tokens.bearer_value(event.headers.get("Authorization"))
    source_ip = event.request_context.identity.source_ip
    try:
        if bearer is not None and access_tokens.looks_like_jwt(bearer):
            principal = admit_access_token(idp_id, bearer, base_url(event), tenant_url(event, idp_id), source_ip)
        else:
            principal = admit_request(idp_id, tokens.parse_token(bearer) if bearer else None, source_ip)
    except Unauthorized as refused:
        if bearer is not None:  # RFC 6750 §3.1: a token was presented, and it is no good here
            refused.headers["WWW-Authenticate"] = 'Bearer realm="SCIM", error="invalid_token"'
        raise
    logger.append_keys(key_id=principal.key_id)

    # The resolver's route (relative to the Tenant URL: "/Users/{id}"; for a path it has no route for, the path):
    # the handler about to run must be the one for the route API Gateway matched, and the table must name it.
    route = app.request.route
    rule = privileges.rule_for(event.http_method, route)
    if rule is None or event.resource != TENANT_ROUTE + route:
        # API Gateway sends every other method of a known path here (template.yaml: `Method: any`): 405, naming
        # the methods the path has, as HTTP says.
        allowed = privileges.methods_of(str(event.resource or "").removeprefix(TENANT_ROUTE))
        if allowed and str(event.resource).startswith(TENANT_ROUTE):
            raise MethodNotAllowed(f"{event.http_method} is not supported here.", allowed)
        raise Forbidden("This route is not open to API keys.")
    if not privileges.grants(principal.privileges, rule.privilege):
        resource, _, level = rule.privilege.partition(":")
        if principal.access_token:  # RFC 6750 §3.1: the scope the request needs
            raise Forbidden(f"This access token's scope does not allow to {level} {resource.capitalize()}.",
                            headers={"WWW-Authenticate": f'Bearer realm="SCIM", error="insufficient_scope", '
                                                         f'scope="{rule.privilege}"'})
        raise Forbidden(f"This API key may not {level} {resource.capitalize()}.")

    parameters = _query_parameters(event)
    attributes, excluded = projection_parameters(parameters)
    app.append_context(
        scope=RequestScope(
            idp_id=idp_id,
            principal=principal,
            tenant_url=tenant_url(event, idp_id),
            route=route,
            privilege=rule.privilege,
            projection=Projection(attributes, excluded),
            list_query=parse_list_query(parameters) if rule.lists else None,
            if_match=_header(event, "If-Match"),
            if_none_match=_header(event, "If-None-Match"),
            types=key_cache().types(idp_id),
        )
    )
    return next_middleware(app)


def _idp_id(event: Any) -> str:
    """The IdP id of the path: API Gateway's (decoded) path parameter, which must also be, character for character,
    the path's own segment, and an IdP id's canonical form. `/v1/scim/%64…/Users` names no IdP. The segment is
    counted from the end, as the route template (`resource`) has it: a base path before it is the custom domain's."""
    idp_id = (event.path_parameters or {}).get("idpId") or ""
    segments = (event.path or "").split("/")
    after = len(str(event.resource or "").split("/")) - 1 - TENANT_ROUTE.count("/")  # segments after the IdP's
    position = len(segments) - 1 - after
    if not is_idp_id(idp_id) or position < 3 or segments[position] != idp_id or segments[position - 2:position] != [
            "v1", "scim"]:
        raise Unauthorized()
    return idp_id


def tenant_url(event: Any, idp_id: str) -> str:
    """The IdP's Tenant URL (see base_url)."""
    return f"{base_url(event)}/v1/scim/{idp_id}"


def base_url(event: Any) -> str:
    """Where clients reach the API: the configured public base URL, or else API Gateway's request context (its
    domain name, plus the stage on the default execute-api endpoint). Never from the client's headers."""
    base = settings().public_base_url
    if not base:
        context = event.request_context
        domain = context.domain_name
        stage_prefix = f"/{context.stage}" if domain.endswith(".amazonaws.com") and context.stage else ""
        base = f"https://{domain}{stage_prefix}"
    return base


def _query_parameters(event: Any) -> dict[str, str]:
    parameters = dict(event.query_string_parameters or {})
    for name, value in parameters.items():
        check_text(value, name, filter_text=name.lower() == "filter")
        check_text(name, "a query parameter name")
    return parameters


def _header(event: Any, name: str) -> str | None:
    value = event.headers.get(name)  # Powertools matches header names case-insensitively
    if value is not None:
        check_text(value, name)
    return value


def _scim_type(response: dict) -> str | None:
    try:
        return json.loads(response.get("body") or "{}").get("scimType")
    except ValueError:
        return None


def lambda_handler_for(app: APIGatewayRestResolver) -> Callable[[dict, Any], dict]:
    """The Lambda entry point of a function: the same decorators for all, and one log line per request.

    Tracing never captures a response or an error: both may hold personal data (users' records), and X-Ray keeps them.
    Under SnapStart, the environment restored from a snapshot makes its own AWS clients (`snapstart`).
    """
    snapstart.register()

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict, context: Any) -> dict:
        started = time.perf_counter()
        calls_before = observability.dynamodb_calls()
        response = app.resolve(event, context)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        status = response["statusCode"]
        operation = f"{event.get('httpMethod')} {str(event.get('resource', '')).removeprefix(TENANT_ROUTE)}"
        observability.count_outcome(status)
        observability.operation_latency(operation, elapsed_ms)
        # One line per request: who (idp_id, key_id from the middleware), what, the outcome, and the cost; never
        # a token, a header, a filter or a body (they may hold personal data).
        fields = {
            "http_method": event.get("httpMethod"),
            "route": event.get("resource"),
            "operation": operation,
            "status": status,
            "scim_type": _scim_type(response) if status >= 400 else None,
            "dynamodb_calls": observability.dynamodb_calls() - calls_before,
            "duration_ms": elapsed_ms,
        }
        logger.info("request handled", extra={k: v for k, v in fields.items() if v is not None})
        return response

    return handler
