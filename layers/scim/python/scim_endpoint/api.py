"""What every function shares around its routes: authentication, SCIM error rendering, the Lambda entry point.

Errors are rendered here and only here: a `ScimError` becomes its SCIM error body; anything else is logged with
its stack trace and answered with a plain 500 SCIM error, so no trace ever reaches a client.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any, Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths

from .auth import privileges, tokens
from . import observability
from .observability import logger, metrics, tracer
from .scim.errors import Forbidden, InternalError, NotFound, ScimError
from .scim.paging import projection_parameters
from .scim.projection import project
from .scim.representation import etag
from .scim.resource_types import ResourceType
from .scim.validation import parse_json
from .store import calls_made
from .tenants import KeyStoreUnavailable, Principal, key_cache

SCIM_CONTENT_TYPE = "application/scim+json"
# The first path segment under the Tenant URL, and the privilege family it needs.
_RESOURCES = {"Users": "users", "Groups": "groups"}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # DynamoDB numbers
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def scim_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=SCIM_CONTENT_TYPE, body=to_json(body), headers=headers)


def error_response(error: ScimError) -> Response:
    if error.status == 304:  # Not Modified carries no body
        return Response(status_code=304, headers=error.headers)
    return scim_response(error.to_body(), status=error.status, headers=error.headers)


def resource_response(app: APIGatewayRestResolver, shown: Any, status: int = 200) -> Response:
    """A single resource, with its ETag (and Location when created), trimmed by `attributes`/`excludedAttributes`."""
    attributes, excluded = projection_parameters(query_parameters(app))
    headers = {"ETag": etag(shown.version)}
    if status == 201:
        headers["Location"] = shown.body["meta"]["location"]
    return scim_response(project(shown.body, attributes, excluded), status=status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def json_body(app: APIGatewayRestResolver) -> Any:
    event = app.current_event
    body = event.body
    if body is not None and event.is_base64_encoded:
        import base64

        body = base64.b64decode(body)
    return parse_json(body)


def header(app: APIGatewayRestResolver, name: str) -> str | None:
    return app.current_event.headers.get(name)  # Powertools matches header names case-insensitively


class _Resolver(APIGatewayRestResolver):
    """Powertools keeps the event being resolved on `BaseRouter`, a class every resolver of the process shares; the
    local server runs several containers of a function as threads of one process, so one request could read
    another's body, headers or path. Each resolver keeps its own (a container serves one request at a time)."""

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        self.current_event = self._to_proxy_event(event)
        self.lambda_context = context
        return super().resolve(event, context)


def create_app() -> APIGatewayRestResolver:
    """A resolver whose every route first authenticates the caller and checks the key's privilege.

    Under `/Users` the key needs read (GET, `.search`) or write (anything else) on Users, under `/Groups` on Groups;
    any valid key of the IdP may read the discovery endpoints, and the root `/.search` shows only what it may read.
    """
    app = _Resolver(serializer=to_json)

    def authenticate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        event = app.current_event
        idp_id = (event.path_parameters or {}).get("idpId", "")
        logger.append_keys(idp_id=idp_id)  # from the URL, so failed authentications say which tenant
        token = tokens.bearer_token(event.headers.get("Authorization"))
        principal = key_cache().authenticate(idp_id, token)
        logger.append_keys(key_id=principal.key_id)
        resource = _RESOURCES.get(event.path.removeprefix(f"/v1/scim/{idp_id}/").split("/", 1)[0])
        if resource is not None:
            level = "read" if event.path.endswith("/.search") else privileges.required_level(event.http_method)
            if not privileges.allows(principal.privileges, resource, level):
                raise Forbidden(f"This API key may not {level} {resource.capitalize()}.")
        app.append_context(principal=principal)
        return next_middleware(app)

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


def principal(app: APIGatewayRestResolver) -> Principal:
    return app.context["principal"]


def readable(app: APIGatewayRestResolver, resource_types: list[ResourceType]) -> list[ResourceType]:
    """The resource types the caller's key may read; 403 when none."""
    granted = principal(app).privileges
    allowed = [rt for rt in resource_types if privileges.allows(granted, _RESOURCES[rt.endpoint.lstrip("/")], "read")]
    if not allowed:
        raise Forbidden("This API key may not read Users or Groups.")
    return allowed


def tenant_url(app: APIGatewayRestResolver) -> str:
    """The Tenant URL the client called, as it called it (host, stage, base path), for `meta.location`."""
    event = app.current_event
    headers = event.headers
    host = headers.get("Host") or event.request_context.domain_name or "localhost"
    proto = headers.get("X-Forwarded-Proto") or "https"
    full_path = event.request_context.path or event.path
    prefix = full_path[: len(full_path) - len(event.path)] if full_path.endswith(event.path) else ""
    idp_id = (event.path_parameters or {}).get("idpId", "")
    return f"{proto}://{host}{prefix}/v1/scim/{idp_id}"


def query_parameters(app: APIGatewayRestResolver) -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


_TENANT_PREFIX = "/v1/scim/{idpId}"


def _scim_type(response: dict) -> str | None:
    try:
        return json.loads(response.get("body") or "{}").get("scimType")
    except ValueError:
        return None


def lambda_handler_for(app: APIGatewayRestResolver) -> Callable[[dict, Any], dict]:
    """The Lambda entry point of a function: the same decorators for all, and one log line per request."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict, context: Any) -> dict:
        started = time.perf_counter()
        calls_before = calls_made()
        response = app.resolve(event, context)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        status = response["statusCode"]
        operation = f"{event.get('httpMethod')} {event.get('resource', '').removeprefix(_TENANT_PREFIX)}"
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
            "dynamodb_calls": calls_made() - calls_before,
            "duration_ms": elapsed_ms,
        }
        logger.info("request handled", extra={k: v for k, v in fields.items() if v is not None})
        return response

    return handler
