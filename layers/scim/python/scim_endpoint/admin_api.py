"""The management API's edge: who is calling (the IAM principal API Gateway's AWS_IAM authorizer verified), request
validation from the routes' pydantic models, errors as `{"error": {"code", "message"}}`, and one audit line per
request.

API Gateway lets a request through only when it is signed (SigV4) by an IAM principal allowed to invoke the route
(the stack's `ManagementApiAccessPolicy`); a SCIM bearer token never is. The edge still refuses (403) a request
whose context names no IAM principal: a route published without the authorizer fails closed.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from . import observability
from .management.activity import MANAGEMENT_ACTION
from .management.errors import Forbidden, Internal, ManagementError, NotFound, Throttled, Unavailable
from .observability import logger, metrics, tracer
from .scim.errors import ServiceUnavailable
from .scim.errors import Throttled as ScimThrottled

JSON = "application/json"
PREFIX = "/admin/v1"
# What each route does, for the audit line (method, route template) -> action.
ACTIONS = {
    ("POST", "/admin/v1/idps"): "idp.create",
    ("GET", "/admin/v1/idps"): "idp.list",
    ("GET", "/admin/v1/idps/{idp}"): "idp.read",
    ("PATCH", "/admin/v1/idps/{idp}"): "idp.update",
    ("DELETE", "/admin/v1/idps/{idp}"): "idp.delete",
    ("POST", "/admin/v1/idps/{idp}/keys"): "key.create",
    ("GET", "/admin/v1/idps/{idp}/keys"): "key.list",
    ("DELETE", "/admin/v1/idps/{idp}/keys/{key}"): "key.revoke",
    ("POST", "/admin/v1/idps/{idp}/clients"): "client.create",
    ("GET", "/admin/v1/idps/{idp}/clients"): "client.list",
    ("DELETE", "/admin/v1/idps/{idp}/clients/{client}"): "client.revoke",
    ("GET", "/admin/v1/idps/{idp}/export"): "idp.export",
    ("POST", "/admin/v1/idps/{idp}/exports"): "export.start",
    ("GET", "/admin/v1/idps/{idp}/exports/{export_id}"): "export.read",
    ("GET", "/admin/v1/idps/{idp}/activity"): "activity.read",
    ("GET", "/admin/v1/idps/{idp}/events"): "events.read",
    ("GET", "/admin/v1/idps/{idp}/extensions"): "extension.list",
    ("GET", "/admin/v1/idps/{idp}/extensions/{schema}"): "extension.read",
    ("PUT", "/admin/v1/idps/{idp}/extensions/{schema}"): "extension.set",
    ("DELETE", "/admin/v1/idps/{idp}/extensions/{schema}"): "extension.delete",
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = body.model_dump_json(exclude_none=True) if hasattr(body, "model_dump_json") else json.dumps(
        body, separators=(",", ":"))
    return Response(status_code=status, content_type=JSON, body=text, headers=headers)


def error_response(error: ManagementError) -> Response:
    return Response(status_code=error.status, content_type=JSON, body=json.dumps(error.body(), separators=(",", ":")),
                    headers=error.headers or None)


def about_idp(idp_id: str) -> None:
    """Name the IdP the request concerns in its audit line (for a route whose path does not: a creation)."""
    logger.append_keys(idp_id=idp_id)


def caller(app: APIGatewayRestResolver) -> str:
    """The IAM principal that signed the request (its ARN), as API Gateway's authorizer verified it."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or ""


def create_app() -> APIGatewayRestResolver:
    """A resolver for the management routes (full paths, as template.yaml declares them), with request validation
    from the handlers' pydantic annotations and the OpenAPI document they make."""
    app = APIGatewayRestResolver(enable_validation=True)
    app.use(middlewares=[require_iam_principal])

    @app.exception_handler(ManagementError)
    def handle_management_error(error: ManagementError) -> Response:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def handle_invalid(error: RequestValidationError) -> Response:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body") or "the body"
        message = str(problem.get("msg", "invalid"))
        if message.lower().startswith("value error, "):
            message = message[len("value error, "):]
        # The field and what is wrong with it, never the value sent (it may be a token or a person's name).
        return error_response(ManagementError(f"{where}: {message}", "invalid_request"))

    @app.exception_handler(ServiceUnavailable)
    def handle_unavailable(error: ServiceUnavailable) -> Response:
        logger.warning("management request failed", extra={"detail": error.detail})
        return error_response(Unavailable(error.detail, _retry_after(error)))

    @app.exception_handler(ScimThrottled)
    def handle_throttled(error: ScimThrottled) -> Response:
        logger.warning("management request throttled", extra={"detail": error.detail})
        return error_response(Throttled(error.detail, _retry_after(error)))

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        # An AWS service failed (after the SDK's retries): say so, and that a retry may succeed. Told by the SDK's
        # module, not by importing it here (the AWS modules are its only importers).
        if type(error).__module__.startswith("botocore"):
            response = getattr(error, "response", None)
            code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
            logger.exception("management request failed on an AWS call", extra={"aws_error": code or
                                                                                 type(error).__name__})
            if "Throttl" in code or code in ("ProvisionedThroughputExceededException", "RequestLimitExceeded",
                                             "TooManyRequestsException"):
                return error_response(Throttled("An AWS service is throttling requests; retry."))
            return error_response(Unavailable("An AWS service failed; retry."))
        logger.exception("unhandled error")
        return error_response(Internal("Internal error."))

    @app.not_found
    def handle_not_found(error: Exception) -> Response:
        return error_response(NotFound("No such management route."))

    return app


def require_iam_principal(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    principal = caller(app)
    if not principal:
        raise Forbidden("The management API answers only requests signed by an IAM principal (SigV4).")
    logger.append_keys(principal=principal)
    idp_id = (app.current_event.path_parameters or {}).get("idp")
    if idp_id:
        logger.append_keys(idp_id=idp_id)
    return next_middleware(app)


def lambda_handler_for(app: APIGatewayRestResolver) -> Callable[[dict, Any], dict]:
    """The admin function's entry point: one audit line per request (who, what, which IdP, the outcome)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics
    def handler(event: dict, context: Any) -> dict:
        started = time.perf_counter()
        response = app.resolve(event, context)
        status = response["statusCode"]
        action = ACTIONS.get((str(event.get("httpMethod")), str(event.get("resource"))), "unknown")
        fields = {
            "action": action,
            "key_id": (event.get("pathParameters") or {}).get("key") or (event.get("pathParameters") or {}).get(
                "client"),
            "status": status,
            "error_code": _error_code(response) if status >= 400 else None,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        # Never a token (a created key's is in the response body, which is not logged), never a body.
        logger.info(MANAGEMENT_ACTION, extra={k: v for k, v in fields.items() if v is not None})
        if status >= 500:
            observability.count("ServerErrors")
        return response

    return handler


def _error_code(response: dict) -> str | None:
    try:
        return json.loads(response.get("body") or "{}").get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None


def _retry_after(error: Exception) -> int:
    try:
        return max(1, int(getattr(error, "headers", {}).get("Retry-After", "1")))
    except ValueError:
        return 1
