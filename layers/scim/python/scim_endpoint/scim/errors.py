"""SCIM errors (RFC 7644 §3.12), raised anywhere and rendered in one place (`scim_endpoint.api`)."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """An error the client should see, with its HTTP status and optional `scimType`."""

    status: int = 400
    scim_type: str | None = None

    def __init__(self, detail: str, *, scim_type: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        if scim_type is not None:
            self.scim_type = scim_type
        self.headers = headers or {}

    def to_body(self) -> dict:
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class BadRequest(ScimError):
    status = 400


class InvalidFilter(BadRequest):
    scim_type = "invalidFilter"


class InvalidValue(BadRequest):
    scim_type = "invalidValue"


class InvalidSyntax(BadRequest):
    scim_type = "invalidSyntax"


class InvalidPath(BadRequest):
    scim_type = "invalidPath"


class InvalidCursor(BadRequest):
    """RFC 9865: a cursor this service did not give for this query (or no cursor at all)."""

    scim_type = "invalidCursor"


class ExpiredCursor(BadRequest):
    """RFC 9865: a cursor older than the cursor timeout ServiceProviderConfig advertises."""

    scim_type = "expiredCursor"


class NoTarget(BadRequest):
    scim_type = "noTarget"


class Mutability(BadRequest):
    scim_type = "mutability"


class NotModified(ScimError):
    """304 for a conditional GET whose ETag still matches (RFC 7644 §3.14); it has no body."""

    status = 304


class Unauthorized(ScimError):
    """401: the bearer token is missing, malformed, unknown or revoked."""

    status = 401

    def __init__(self, detail: str = "Authentication failed: a valid bearer token is required."):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="SCIM"'})


class Forbidden(ScimError):
    status = 403


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    """405: the path exists, but not with this method; `Allow` names the methods it has."""

    status = 405

    def __init__(self, detail: str, allowed: list[str]):
        super().__init__(detail, headers={"Allow": ", ".join(allowed)})


class Conflict(ScimError):
    status = 409
    scim_type = "uniqueness"


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class TooMany(ScimError):
    """400 tooMany: the query would return or scan more than the service allows (RFC 7644 §3.12)."""

    status = 400
    scim_type = "tooMany"


class Throttled(ScimError):
    status = 429

    def __init__(self, detail: str = "Too many requests; retry later.", retry_after: int = 5):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ScimError):
    """503: a dependency (Secrets Manager, DynamoDB) cannot be reached; the client should retry."""

    status = 503

    def __init__(self, detail: str = "The service is temporarily unavailable; retry later.", retry_after: int = 10):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class InternalError(ScimError):
    status = 500

    def __init__(self, detail: str = "An unexpected error occurred; it has been logged."):
        super().__init__(detail)


def validation_problem(error: Any) -> tuple[str, str]:
    """(where, what is wrong) of a pydantic ValidationError's first problem, for a 400's detail: the field's dotted
    location (empty for the body itself) and pydantic's message, without its "Value error, " prefix and with a
    lower-case first letter (not lower-cased throughout: it may name a schema URN). Never the value itself."""
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    message = problem["msg"]
    if message.lower().startswith("value error, "):
        message = message[len("value error, "):]
    return where, message[:1].lower() + message[1:]
