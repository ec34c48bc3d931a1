"""The change events the product receives (on its EventBridge bus, and in each IdP's feed): pydantic models, from
which the JSON Schema is made (docs/events.schema.json, and the stack's schema registry: `make schemas`).

One event per committed change. `id` is the same on every delivery of the change (de-duplicate on it); `sequence`
orders the changes of one resource (and of one group's memberships) as they committed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_TYPES = (
    "user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted",
    "group.created", "group.updated", "group.deleted",
    "group.member_added", "group.member_removed",
    "idp.created", "idp.deleted",
    "key.created", "key.revoked",
    "client.created", "client.revoked",
)
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
# EventBridge's: what `source` says of every event of this service (rules select on it and on `detail-type`).
SOURCE = "scim-endpoint"


class EventResource(BaseModel):
    """What changed: its type and id, and the names a person recognises it by."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["User", "Group", "Idp", "Key", "Client"]
    id: str
    externalId: str | None = None
    userName: str | None = None
    displayName: str | None = None


class EventMember(BaseModel):
    """A membership: the group and the user, each with its id and name (when they could be read)."""

    model_config = ConfigDict(extra="forbid")

    group_id: str
    group_displayName: str | None = None
    user_id: str
    user_userName: str | None = None


class EventKey(BaseModel):
    """An API key, or an OAuth client (for `client.*` events, `id` is the client id): never a token or a secret."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    privileges: list[str] = Field(default_factory=list)
    expires_at: str | None = None
    revoked: str | None = None


class Event(BaseModel):
    """One committed provisioning change."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable across redeliveries: de-duplicate on it.")
    type: EventType  # type: ignore[valid-type]
    idp_id: str
    occurred_at: str = Field(description="When the change committed (ISO 8601, UTC), to the second or better.")
    sequence: str = Field(description="Orders the changes of one resource (and of one group's memberships).")
    resource: EventResource
    changed_attributes: list[str] = Field(
        default_factory=list, description="For an update: the names of the attributes that changed (an extension's "
                                          "as <urn>:<attribute>); never their values.")
    data: dict | None = Field(
        default=None, description="The resource's SCIM representation after the change (before it, for a deletion); "
                                  "a group's never carries its members; never a password hash. Left out when it "
                                  "would make the event too large (data_omitted).")
    data_omitted: bool | None = None
    member: EventMember | None = None
    key: EventKey | None = None
