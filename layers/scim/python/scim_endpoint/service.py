"""What the endpoints do with a tenant's resources: SCIM rules from `scim`, data from `store`.

Every change is conditional on the version it read. A client that sent `If-Match` gets 412 when its version is
stale; without `If-Match`, a lost race (another change landed between our read and our write) is retried here,
on the fresh version, so no change is lost and none is a 500.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from itertools import islice
from typing import Any

from .scim import filter as scim_filter
from .scim import patch as scim_patch
from .scim.errors import NotFound, NotModified, PreconditionFailed, Throttled
from .scim.filter import AttrPath, Compare, Filter, walk
from .scim.listing import list_response
from .scim.paging import ListQuery
from .scim.projection import project
from .scim.representation import etag_matches, representation
from .scim.resource_types import ResourceType, qualify_extensions
from .scim.validation import normalize
from .store import Store, Stored, VersionConflict

# Attempts at a change that keeps losing races to other writers before the client is told to retry (429).
MAX_ATTEMPTS = 8
# Before another attempt, a random wait of up to this, doubled at each loss (capped), so that writers who lost to
# each other do not collide again at once: without it, one of ten simultaneous writers can lose eight times.
RETRY_BASE_SECONDS = 0.005
RETRY_MAX_SECONDS = 0.2

# Members read to evaluate a filter on a group's members other than by id (e.g. `members.display co "x"`).
MAX_MEMBERS_EVALUATED = 10_000


def search(store: Store, idp_id: str, resource_type: ResourceType, query: ListQuery, tenant_url: str) -> dict:
    """A ListResponse page of the tenant's resources that match the query's filter.

    Equality on `id` or a unique attribute (alone or joined with `and`) is answered from keys in one read;
    any other filter is evaluated over the tenant's resources, read with Query (bounded by the store).
    """
    if query.filter is None:
        # No filter: count with a COUNT query, and read only up to the end of the page asked for.
        shown = (_show(resource_type, stored, tenant_url) for stored in store.scan_tenant(idp_id, resource_type.name))
        return _page(shown, query, total=store.count(idp_id, resource_type.name))
    return _page(_matching(store, idp_id, resource_type, query.filter, tenant_url), query)


def search_all(
    store: Store, idp_id: str, resource_types: list[ResourceType], query: ListQuery, tenant_url: str
) -> dict:
    """`POST /.search` at the Tenant URL (RFC 7644 §3.4.3): the matches of every resource type, one after another."""
    matching = [r for rt in resource_types for r in _matching(store, idp_id, rt, query.filter, tenant_url)]
    return _page(matching, query)


def _matching(
    store: Store, idp_id: str, resource_type: ResourceType, expr: scim_filter.Filter | None, tenant_url: str
) -> list[dict]:
    expr = qualify_extensions(expr, resource_type) if expr is not None else None
    lookup = _key_lookup(expr, resource_type) if expr is not None else None
    if lookup is not None:
        found = _lookup(store, idp_id, resource_type, lookup)
        candidates = [found] if found is not None else []
    else:
        candidates = store.scan_tenant(idp_id, resource_type.name)
    shown = (_show(resource_type, stored, tenant_url) for stored in candidates)
    if expr is not None and resource_type.name == "Group" and member_filter_ids(expr) != []:
        # Members are items of their own: fetch what the filter asks of them (Entra's membership check
        # `id eq "g" and members eq "u"` costs one GetItem more).
        shown = ({**r, "members": members_for_filter(store, idp_id, r["id"], expr)} for r in shown)
    return [r for r in shown if expr is None or scim_filter.matches(expr, r, resource_type.is_case_exact)]


def _page(matching: Iterable[dict], query: ListQuery, total: int | None = None) -> dict:
    """The page of `matching` the query asks for; `total` when `matching` is a stream read only up to the page."""
    start = query.start_index - 1
    page = list(islice(matching, start, start + query.count)) if query.count else []
    resources = [project(r, query.attributes, query.excluded_attributes) for r in page]
    total_results = total if total is not None else len(matching)
    return list_response(resources, total_results=total_results, start_index=query.start_index)


def member_filter_ids(expr: Filter) -> list[str] | None:
    """The user ids a filter compares `members` (or `members.value`) with by `eq`, or None when it asks anything
    else of members (then the members must be read)."""
    ids: list[str] = []
    other = False
    for node in walk(expr):
        path = getattr(node, "path", None)
        if not isinstance(path, AttrPath) or path.attr.lower() != "members":
            continue
        if isinstance(node, Compare) and node.op == "eq" and (path.sub_attr or "value").lower() == "value":
            ids.extend(reading.value for reading in node.readings() if isinstance(reading.value, str))
        else:
            other = True
    return None if other else ids


def members_for_filter(store: Store, idp_id: str, group_id: str, expr: Filter) -> list[dict]:
    """Enough of a group's members to evaluate `expr`: the asked-for ones by GetItem, or all of them."""
    ids = member_filter_ids(expr)
    if ids is None:
        return store.members(idp_id, group_id, MAX_MEMBERS_EVALUATED)
    return [m for m in (store.get_member(idp_id, group_id, user_id) for user_id in ids) if m is not None]


def _show(resource_type: ResourceType, stored: Stored, tenant_url: str) -> dict:
    return representation(
        resource_type, stored.id, stored.attributes, stored.created, stored.last_modified, stored.version,
        tenant_url,
    )


def _key_lookup(expr: scim_filter.Filter, resource_type: ResourceType) -> scim_filter.Compare | None:
    """An `eq` on `id` or a unique attribute that the whole filter requires, or None."""
    if isinstance(expr, scim_filter.And):
        return _key_lookup(expr.left, resource_type) or _key_lookup(expr.right, resource_type)
    if (
        isinstance(expr, scim_filter.Compare)
        and expr.op == "eq"
        and expr.path.sub_attr is None
        and expr.path.schema is None
        and expr.value is not None
        and not isinstance(expr.value, bool)
        and (expr.path.attr.lower() == "id" or resource_type.unique_attribute(expr.path.attr))
    ):
        return expr
    return None


def _lookup(store: Store, idp_id: str, resource_type: ResourceType, expr: scim_filter.Compare) -> Stored | None:
    """The resource the equality names, trying each reading of the value (see `Compare.spaced`)."""
    for reading in expr.readings():
        value = reading.value if isinstance(reading.value, str) else reading.raw
        if expr.path.attr.lower() == "id":
            found = store.get(idp_id, resource_type.name, value)
        else:
            attribute = resource_type.unique_attribute(expr.path.attr)
            found = store.find_unique(
                idp_id, resource_type.name, attribute, resource_type.value_key(attribute, value)
            )
        if found is not None:
            return found
    return None


# --- single resources ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A resource as a response shows it, with its version for the ETag header, and after a change that wrote
    something, the attributes it had before (for the metrics of what changed)."""

    body: dict
    version: int
    previous: dict | None = None


def create(store: Store, idp_id: str, resource_type: ResourceType, body: Any, tenant_url: str) -> Shown:
    attributes = normalize(resource_type, body)
    password = attributes.pop("password", None)
    now = timestamp()
    stored = Stored(str(uuid.uuid4()), attributes, now, now, 1, hash_password(password))
    store.create(idp_id, resource_type.name, stored, unique_keys(resource_type, attributes))
    return _shown(resource_type, stored, tenant_url)


def get(
    store: Store, idp_id: str, resource_type: ResourceType, resource_id: str, tenant_url: str,
    if_none_match: str | None = None,
) -> Shown:
    stored = _read(store, idp_id, resource_type, resource_id)
    if etag_matches(if_none_match, stored.version):
        raise NotModified("The resource has not changed.", headers={"ETag": f'W/"{stored.version}"'})
    return _shown(resource_type, stored, tenant_url)


def replace(
    store: Store, idp_id: str, resource_type: ResourceType, resource_id: str, body: Any, tenant_url: str,
    if_match: str | None = None,
) -> Shown:
    """PUT: the resource becomes what was sent (read-only attributes aside; a password not sent is kept)."""
    attributes = normalize(resource_type, body)
    password = attributes.pop("password", None)

    def change(current: Stored) -> tuple[dict, str | None]:
        return attributes, hash_password(password) if password is not None else current.password

    return _change(store, idp_id, resource_type, resource_id, tenant_url, if_match, change)


def patch(
    store: Store, idp_id: str, resource_type: ResourceType, resource_id: str, body: Any, tenant_url: str,
    if_match: str | None = None,
) -> Shown:
    def change(current: Stored) -> tuple[dict, str | None]:
        shown = _show(resource_type, current, tenant_url)
        attributes = scim_patch.apply(resource_type, shown, body)
        password = attributes.pop("password", None)
        return attributes, hash_password(password) if password is not None else current.password

    return _change(store, idp_id, resource_type, resource_id, tenant_url, if_match, change)


def delete(
    store: Store, idp_id: str, resource_type: ResourceType, resource_id: str, if_match: str | None,
    before: Callable[[Stored], None] | None = None,
) -> None:
    """Delete a resource and its guards; `before(current)` runs once it is read and its If-Match checked."""
    for attempt in range(MAX_ATTEMPTS):
        current = _read(store, idp_id, resource_type, resource_id)
        check_if_match(if_match, current.version)
        if before is not None:
            before(current)
        try:
            store.delete(idp_id, resource_type.name, current, unique_keys(resource_type, current.attributes))
            return
        except VersionConflict:
            if if_match is not None:
                raise PreconditionFailed("The resource changed since the version in If-Match.") from None
            back_off(attempt)
    raise Throttled("The resource is changing too often to delete now; retry.", retry_after=1)


def _change(store, idp_id, resource_type, resource_id, tenant_url, if_match, change) -> Shown:
    for attempt in range(MAX_ATTEMPTS):
        current = _read(store, idp_id, resource_type, resource_id)
        check_if_match(if_match, current.version)
        attributes, password = change(current)
        if attributes == current.attributes and password == current.password:
            return _shown(resource_type, current, tenant_url)  # nothing changes: no write, same version
        new = Stored(current.id, attributes, current.created, timestamp(), current.version + 1, password)
        try:
            store.update(
                idp_id, resource_type.name, current, new,
                unique_keys(resource_type, current.attributes), unique_keys(resource_type, attributes),
            )
            return Shown(_show(resource_type, new, tenant_url), new.version, previous=current.attributes)
        except VersionConflict:
            if if_match is not None:
                raise PreconditionFailed("The resource changed since the version in If-Match.") from None
            back_off(attempt)
    raise Throttled("The resource is changing too often to update now; retry.", retry_after=1)


def back_off(attempt: int) -> None:
    if attempt + 1 < MAX_ATTEMPTS:
        time.sleep(random.uniform(0, min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**attempt)))


def _read(store: Store, idp_id: str, resource_type: ResourceType, resource_id: str) -> Stored:
    stored = store.get(idp_id, resource_type.name, resource_id)
    if stored is None:
        raise NotFound(f"{resource_type.name} {resource_id} not found.")
    return stored


def check_if_match(if_match: str | None, version: int) -> None:
    if if_match is not None and not etag_matches(if_match, version):
        raise PreconditionFailed(f"The resource is at version W/\"{version}\", not the one in If-Match.")


def _shown(resource_type: ResourceType, stored: Stored, tenant_url: str) -> Shown:
    return Shown(_show(resource_type, stored, tenant_url), stored.version)


def unique_keys(resource_type: ResourceType, attributes: dict) -> dict[str, str]:
    """The guard key of each unique value the resource has."""
    return {
        attribute: resource_type.value_key(attribute, attributes[attribute])
        for attribute in resource_type.unique
        if isinstance(attributes.get(attribute), str) and attributes[attribute] != ""
    }


def timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_password(password: str | None) -> str | None:
    """A salted scrypt hash (RFC 7643 §4.1.1: the password is write-only and never kept in clear text)."""
    if password is None:
        return None
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"
