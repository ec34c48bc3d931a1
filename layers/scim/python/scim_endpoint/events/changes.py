"""Which event a committed change is (pure: what it needs to know beyond the change, it asks `Lookup`).

- A user or group: INSERT is `*.created`; REMOVE `*.deleted` (its representation before); MODIFY `*.updated`, with
  the names of the attributes that changed, or for a user whose `active` went true -> false `user.deactivated`
  (false -> true: `user.reactivated`). A MODIFY that changed no attribute (bookkeeping) is no event.
- A membership: INSERT `group.member_added`, REMOVE `group.member_removed` — when its group and its user both
  exist: a membership written for a user or group deleted a moment later, and the memberships a deletion takes with
  it, make no event of their own (`user.deleted`/`group.deleted` say it).
- An IdP: INSERT `idp.created`; active -> deleting `idp.deleted` (from then on it admits no request; its data is
  erased after). A key: INSERT `key.created`; `revoked` set `key.revoked`; an OAuth client likewise
  (`client.created`, `client.revoked`).
- The removals of a deleted IdP's erasure make no events (`idp.deleted` said it); the changes from before it,
  however late they are handled, still do.
- Anything else (guards, the feed, exports, locks, a key's last use) is no event.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

from ..observability import changed_attributes
from ..scim.representation import representation
from ..scim.resource_types import GROUP, USER
from ..store.stream import CLIENT, IDP, KEY, MEMBERSHIP, RESOURCE, Change
from .models import Event, EventKey, EventMember, EventResource

# EventBridge takes 256 KB per entry, envelope included: an event's JSON stays under this, else its `data` is left
# out (a resource is at most 100 KB of JSON; escaped for the envelope it could pass it).
MAX_EVENT_BYTES = 200 * 1024


class Lookup(Protocol):
    def existing(self, idp_id: str, resource_type: str, ids: list[str]) -> dict[str, dict]: ...
    def erasing_since(self, idp_id: str) -> float | None: ...


def event_of(change: Change, lookup: Lookup, tenant_url: Callable[[str], str]) -> Event | None:
    since = lookup.erasing_since(change.idp_id) if change.event_name == "REMOVE" else None
    # The erasure begins once no request admitted before the IdP's deletion can still run: every removal from then
    # on is the erasure's. (The stream's time is rounded down to the second.)
    if since is not None and change.written_at >= math.floor(since):
        return None
    if change.kind == RESOURCE:
        return _resource_event(change, tenant_url)
    if change.kind == MEMBERSHIP:
        return _member_event(change, lookup)
    if change.kind == IDP:
        return _idp_event(change)
    if change.kind in (KEY, CLIENT):
        return _key_event(change, "key" if change.kind == KEY else "client")
    return None


def _base(change: Change, type_: str, resource: EventResource, **fields) -> Event:
    occurred = datetime.fromtimestamp(change.written_at, timezone.utc)
    event = Event(id=change.event_id, type=type_, idp_id=change.idp_id,
                  occurred_at=occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                  sequence=change.sequence, resource=resource, **fields)
    if event.data is not None and len(event.model_dump_json(exclude_none=True)) > MAX_EVENT_BYTES:
        event = event.model_copy(update={"data": None, "data_omitted": True})
    return event


def _resource_event(change: Change, tenant_url: Callable[[str], str]) -> Event | None:
    resource_type = USER if change.resource_type == "User" else GROUP
    kind = "user" if resource_type is USER else "group"
    old, new = change.stored(change.old), change.stored(change.new)
    shown = {}
    for name, stored in (("old", old), ("new", new)):
        if stored is not None:
            shown[name] = representation(resource_type, stored.id, stored.attributes, stored.created,
                                         stored.last_modified, stored.version, tenant_url(change.idp_id),
                                         as_declared=False)
    current = shown.get("new") or shown.get("old") or {}
    ref = EventResource(type=resource_type.name, id=change.item_id, externalId=current.get("externalId"),
                        userName=current.get("userName") if kind == "user" else None,
                        displayName=current.get("displayName"))
    if change.event_name == "INSERT":
        return _base(change, f"{kind}.created", ref, data=shown.get("new"))
    if change.event_name == "REMOVE":
        return _base(change, f"{kind}.deleted", ref, data=shown.get("old"))
    names = changed_attributes(old.attributes, new.attributes) if old and new else []
    if old and new and (old.password or None) != (new.password or None):
        names.append("password")  # that it changed; never the hash
    if not names:
        return None  # bookkeeping (a guard moved, a version bumped): no attribute changed
    type_ = f"{kind}.updated"
    if kind == "user":
        was, now = old.attributes.get("active"), new.attributes.get("active")
        if was is not False and now is False:
            type_ = "user.deactivated"
        elif was is False and now is not False:
            type_ = "user.reactivated"
    return _base(change, type_, ref, data=shown.get("new"), changed_attributes=names)


def _member_event(change: Change, lookup: Lookup) -> Event | None:
    if change.event_name not in ("INSERT", "REMOVE"):
        return None
    groups = lookup.existing(change.idp_id, "Group", [change.group_id])
    users = lookup.existing(change.idp_id, "User", [change.item_id])
    group, user = groups.get(change.group_id), users.get(change.item_id)
    if group is None or user is None:
        return None  # went with its group's or user's deletion, or written just before it
    member = EventMember(group_id=change.group_id, group_displayName=group.get("displayName"),
                         user_id=change.item_id, user_userName=user.get("userName"))
    ref = EventResource(type="Group", id=change.group_id, externalId=group.get("externalId"),
                        displayName=group.get("displayName"))
    type_ = "group.member_added" if change.event_name == "INSERT" else "group.member_removed"
    return _base(change, type_, ref, member=member)


def _idp_event(change: Change) -> Event | None:
    old_state = (change.old or {}).get("state")
    new_state = (change.new or {}).get("state")
    image = change.new or change.old or {}
    ref = EventResource(type="Idp", id=change.idp_id, displayName=image.get("name") or None)
    if change.event_name == "INSERT" and new_state == "active":
        return _base(change, "idp.created", ref)
    if change.event_name == "MODIFY" and old_state == "active" and new_state == "deleting":
        return _base(change, "idp.deleted", ref)
    return None


def _key_event(change: Change, kind: str) -> Event | None:
    new, old = change.new or {}, change.old or {}
    key = EventKey(id=change.item_id, name=new.get("name") or old.get("name"),
              privileges=list(new.get("privileges") or old.get("privileges") or []),
              expires_at=new.get("expires_at") or old.get("expires_at"), revoked=new.get("revoked"))
    ref = EventResource(type="Key" if kind == "key" else "Client", id=change.item_id, displayName=key.name)
    if change.event_name == "INSERT":
        return _base(change, f"{kind}.created", ref, key=key)
    if change.event_name == "MODIFY" and new.get("revoked") and not old.get("revoked"):
        return _base(change, f"{kind}.revoked", ref, key=key)
    return None


def detail(event: Event) -> str:
    """The event as EventBridge's `detail` and the feed keep it: JSON without empty fields."""
    return event.model_dump_json(exclude_none=True)

