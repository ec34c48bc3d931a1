"""The management API's errors: an HTTP status, a stable machine-readable `code`, and a message for a person (never a
token, never a user's data). Rendered as `{"error": {"code", "message"}}` by the admin edge (`admin_api.py`)."""

from __future__ import annotations


class ManagementError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidRequest(ManagementError):
    status, code = 400, "invalid_request"


class Forbidden(ManagementError):
    status, code = 403, "forbidden"


class NotFound(ManagementError):
    status, code = 404, "not_found"


class Conflict(ManagementError):
    status, code = 409, "conflict"


class Busy(ManagementError):
    """Another change of the same IdP's keys is under way: retry (429 with Retry-After)."""

    status, code = 429, "busy"

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": "1"})


class Throttled(ManagementError):
    """A dependency (DynamoDB) kept throttling: retry (429 with Retry-After)."""

    status, code = 429, "throttled"

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class Unavailable(ManagementError):
    status, code = 503, "unavailable"

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class Internal(ManagementError):
    """A bug or an unexpected failure: 500, with nothing of its cause (the log has it)."""

    status, code = 500, "internal_error"
