"""The management API's request and response bodies: pydantic models, which both validate what comes in and make
the OpenAPI document (docs/management-api.openapi.json) that a product's backend generates its client from.

Field names are snake_case, times ISO 8601 in UTC with a `Z`; a field a response does not have is left out, never
null (except the cursor of a last page).
"""

from __future__ import annotations

from datetime import timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..auth.privileges import ALL as ALL_PRIVILEGES
from ..events.models import Event
from ..scim.extensions import ExtensionDeclaration
from ..scope import is_idp_id
from ..tenants import MAX_ALLOWED_NETWORKS, now_text, parse_networks, parse_time

# What a customer types in the console: room for a company's name, bounded so a row stays small.
MAX_NAME = 200
MAX_DESCRIPTION = 1000
MAX_PAGE = 100


class _In(BaseModel):
    """A request body: unknown fields are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _printable(value: str | None) -> str | None:
    if value is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("control characters are not allowed")
    return value


def _networks(value: list[str] | None) -> list[str] | None:
    if value is not None:
        parse_networks(value)
    return value


class IdpCreate(_In):
    name: str = Field(min_length=1, max_length=MAX_NAME, description="The customer's name for this IdP connection.")
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    idp_id: str | None = Field(default=None, description="Choose the IdP ID (1-64 letters, digits, '-' or '_'); "
                                                         "default: a random UUID. An id is never reused.")

    _name = field_validator("name", "description")(_printable)

    @field_validator("idp_id")
    @classmethod
    def _idp_id(cls, value: str | None) -> str | None:
        if value is not None and not is_idp_id(value):
            raise ValueError("an IdP ID is 1-64 letters, digits, '-' or '_', starting with a letter or digit")
        return value


class IdpUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    allowed_networks: list[str] | None = Field(
        default=None, max_length=MAX_ALLOWED_NETWORKS,
        description="The source networks (CIDR) the IdP's requests must come from; [] for any address.")

    _name = field_validator("name", "description")(_printable)
    _allowed = field_validator("allowed_networks")(_networks)


class Erasure(BaseModel):
    """How far the erasure of a deleted IdP has gone."""

    phase: Literal["waiting", "erasing", "finishing"]
    items_deleted: int
    started: str


class Idp(BaseModel):
    idp_id: str
    name: str
    description: str
    created: str
    state: Literal["active", "deleting"]
    tenant_url: str
    allowed_networks: list[str] = Field(default_factory=list)
    erasure: Erasure | None = None


class IdpPage(BaseModel):
    idps: list[Idp]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class KeyCreate(_In):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    privileges: list[Literal[tuple(ALL_PRIVILEGES)]] = Field(  # type: ignore[valid-type]
        min_length=1, description="users:read, users:write, groups:read, groups:write (write implies read).")
    expires_at: str | None = Field(default=None, description="ISO 8601 with an offset (e.g. 2027-01-01T00:00:00Z); "
                                                             "from then on the key answers 401. Must be in the future.")

    _name = field_validator("name", "description")(_printable)

    @field_validator("expires_at")
    @classmethod
    def _expires(cls, value: str | None) -> str | None:
        """Kept in UTC (as every time here): an offset that takes it past year 9999 is refused, not a 500."""
        if value is None:
            return None
        try:
            return now_text(parse_time(value).astimezone(timezone.utc))
        except OverflowError:
            raise ValueError("a time after the year 9999") from None


class Key(BaseModel):
    """An API key as an admin sees it: never its token, nor the token's digest."""

    id: str
    name: str
    description: str
    privileges: list[str]
    created: str
    expires_at: str | None = None
    revoked: str | None = None
    last_used_at: str | None = Field(default=None, description="Accurate to a minute per container "
                                                               "(docs/management-api.md).")


class KeyCreated(Key):
    idp_id: str
    tenant_url: str
    token: str = Field(description="The Secret Token for Entra: shown this once, stored nowhere.")


class KeyList(BaseModel):
    keys: list[Key]


class ClientCreate(KeyCreate):
    """An OAuth client: the same fields as a key (its privileges are what its tokens may be granted)."""


class Client(BaseModel):
    """An OAuth client as an admin sees it: never its secret, nor the secret's digest."""

    client_id: str
    name: str
    description: str
    privileges: list[str]
    created: str
    expires_at: str | None = None
    revoked: str | None = None


class ClientCreated(Client):
    idp_id: str
    tenant_url: str
    token_endpoint: str = Field(description="Where the client gets its access tokens (POST, client credentials).")
    client_secret: str = Field(description="Shown this once, stored nowhere (only a hash of it is kept).")


class ClientList(BaseModel):
    clients: list[Client]


class ExportStarted(BaseModel):
    export_id: str
    state: Literal["running"]
    created: str


class ExportCounts(BaseModel):
    users: int
    groups: int
    memberships: int


class Export(BaseModel):
    export_id: str
    state: Literal["running", "ready", "failed"]
    created: str
    finished: str | None = None
    counts: ExportCounts | None = None
    bytes: int | None = None
    url: str | None = Field(default=None, description="A pre-signed GET of the JSON Lines file, once ready.")
    url_expires_at: str | None = None


class ActivityRecord(BaseModel):
    """One change asked of the IdP: through SCIM (by an API key) or through this API (by an IAM principal)."""

    model_config = ConfigDict(extra="allow")

    timestamp: str
    kind: Literal["scim", "management"]
    status: int


class Activity(BaseModel):
    records: list[ActivityRecord]


class EventPage(BaseModel):
    """Events of an IdP, oldest first, and where to go on."""

    events: list[Event]
    next: str | None = Field(description="Pass as `after` for the events that follow (also when this page is "
                                         "empty); null only before the IdP has any event.")


class ExtensionList(BaseModel):
    """An IdP's schema extensions, each as declared (docs/extensions.md), in the order /Schemas lists them."""

    extensions: list[ExtensionDeclaration]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
