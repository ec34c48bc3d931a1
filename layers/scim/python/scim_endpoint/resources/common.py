"""What every resource type's use cases share: SCIM rules from `scim`, data from the store, the request's scope.

Every change is one read and one conditional transaction, retried when it loses a race (`retry.py`), so no change
is lost and none is a 500. Nothing here knows a resource type by name: what is particular to users and groups is in
`users.py` and `groups.py`, over `memberships.py`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any

from ..scim import filter as scim_filter
from ..scim.errors import NotFound, NotModified, PreconditionFailed
from ..scim.listing import fill_page, list_response
from ..scim.paging import ListQuery
from ..scim.projection import project
from ..scim.representation import etag, etag_matches, representation
from ..scim.extensions import conform
from ..scim.resource_types import ResourceType, qualify_extensions
from ..scim.validation import keep_immutable
from ..scope import RequestScope
from ..store import MemberWrites, Stored
from ..store.interface import StoreInterface
from .retry import retried


@dataclass(frozen=True)
class Shown:
    """A resource as a response shows it, with its version for the ETag header, and after a change that wrote
    something, the attributes it had before (for the metrics of what changed)."""

    body: dict
    version: int
    previous: dict | None = None


# --- reading ----------------------------------------------------------------------------------------------------


def show(scope: RequestScope, resource_type: ResourceType, stored: Stored) -> dict:
    return representation(
        resource_type, stored.id, stored.attributes, stored.created, stored.last_modified, stored.version,
        scope.tenant_url,
    )


def shown(scope: RequestScope, resource_type: ResourceType, stored: Stored) -> Shown:
    return Shown(show(scope, resource_type, stored), stored.version)


def read(store: StoreInterface, scope: RequestScope, resource_type: ResourceType, resource_id: str) -> Stored:
    stored = store.resources.get(scope.idp_id, resource_type.name, resource_id)
    if stored is None:
        raise NotFound(f"{resource_type.name} {resource_id} not found.")
    return stored


def get(store: StoreInterface, scope: RequestScope, resource_type: ResourceType, resource_id: str,
        versioned: bool = True) -> Shown:
    """GET of one resource; 304 when `If-None-Match` names its version, unless the response carries what the version
    does not follow (`versioned` False: a group's members, a user's groups)."""
    stored = read(store, scope, resource_type, resource_id)
    if versioned and etag_matches(scope.if_none_match, stored.version):
        raise NotModified("The resource has not changed.", headers={"ETag": etag(stored.version)})
    return shown(scope, resource_type, stored)


def with_attribute(found: Shown, name: str, value: list[dict]) -> Shown:
    """`found` with an attribute kept apart from the resource's item (a user's `groups`, a group's `members`)."""
    return Shown(placed(found.body, name, value), found.version, found.previous) if value else found


def placed(body: dict, name: str, value: Any) -> dict:
    """`body` with `name` set to `value` (what it held before dropped), before `meta` as its own attributes are."""
    rest = {key: held for key, held in body.items() if key not in (name, "meta")}
    return {**rest, name: value, **({"meta": body["meta"]} if "meta" in body else {})}


# --- lists and filters --------------------------------------------------------------------------------------------

Enrich = Callable[[dict], dict]


def matching(
    store: StoreInterface, scope: RequestScope, resource_type: ResourceType, expr: scim_filter.Filter | None,
    enrich: Enrich | None = None,
) -> Iterator[dict]:
    """The tenant's resources of a type that match `expr`, shown. Equality on `id` or a unique attribute (alone or
    joined with `and`) is answered from keys in one read; any other filter is evaluated over the tenant's resources,
    read with Query (bounded by the store). `enrich` adds what the filter needs that the resource's item lacks."""
    expr = qualify_extensions(expr, resource_type) if expr is not None else None
    lookup = _key_lookup(expr, resource_type) if expr is not None else None
    if lookup is not None:
        found = _lookup(store, scope.idp_id, resource_type, lookup)
        candidates: Iterable[Stored] = [found] if found is not None else []
    else:
        candidates = store.resources.scan_tenant(scope.idp_id, resource_type.name)
    for stored in candidates:
        resource = show(scope, resource_type, stored)
        if enrich is not None:
            resource = enrich(resource)
        if expr is None or scim_filter.matches(expr, resource, resource_type.is_case_exact):
            yield resource


def search(
    store: StoreInterface, scope: RequestScope, resource_type: ResourceType, query: ListQuery,
    enrich: Enrich | None = None, complete: Enrich | None = None,
) -> dict:
    """A ListResponse page of the tenant's resources that match the query's filter. `enrich` adds what the filter
    needs; `complete` what the response shows beyond the resource's item (only for the resources on the page)."""
    if query.filter is None:
        # No filter: count with a COUNT query, and read only up to the end of the page asked for.
        total = store.resources.count(scope.idp_id, resource_type.name)
        if query.start_index > total:
            return list_response([], total_results=total, start_index=query.start_index)
        candidates = matching(store, scope, resource_type, None)
        return page(scope, candidates, query, total=total, complete=complete)
    return page(scope, list(matching(store, scope, resource_type, query.filter, enrich)), query, complete=complete)


def page(
    scope: RequestScope, matches: Iterable[dict], query: ListQuery, total: int | None = None,
    complete: Enrich | None = None,
) -> dict:
    """The page of `matches` the query asks for (`total`: when `matches` is a stream read only up to the page),
    within the response byte budget."""

    def prepare(resource: dict) -> dict:
        if complete is not None:
            resource = complete(resource)
        return project(resource, query.attributes, query.excluded_attributes, scope.types)

    start = query.start_index - 1
    resources = fill_page(islice(matches, start, None), query.count, prepare) if query.count else []
    total_results = total if total is not None else len(matches)  # type: ignore[arg-type]
    return list_response(resources, total_results=total_results, start_index=query.start_index)


class _KeyLookup(scim_filter.Visitor):
    """An `eq` on `id` or a unique attribute that the whole filter requires, or None."""

    def __init__(self, resource_type: ResourceType):
        self.resource_type = resource_type

    def and_(self, node: scim_filter.And) -> scim_filter.Compare | None:
        return self.visit(node.left) or self.visit(node.right)

    def compare(self, node: scim_filter.Compare) -> scim_filter.Compare | None:
        path = node.path
        keyed = path.attr.lower() == "id" or self.resource_type.unique_attribute(path.attr) is not None
        plain = path.sub_attr is None and path.schema is None
        value = node.value is not None and not isinstance(node.value, bool)
        return node if node.op == "eq" and keyed and plain and value else None


def _key_lookup(expr: scim_filter.Filter, resource_type: ResourceType) -> scim_filter.Compare | None:
    return _KeyLookup(resource_type).visit(expr)


def _lookup(store: StoreInterface, idp_id: str, resource_type: ResourceType, expr: scim_filter.Compare) -> Stored | None:
    """The resource the equality names, trying each reading of the value (see `Compare.spaced`)."""
    for reading in expr.readings():
        value = reading.value if isinstance(reading.value, str) else reading.raw
        if expr.path.attr.lower() == "id":
            found = store.resources.get(idp_id, resource_type.name, value)
        else:
            attribute = resource_type.unique_attribute(expr.path.attr)
            key = resource_type.value_key(attribute, value)
            found = store.resources.find_unique(idp_id, resource_type.name, attribute, key)
            legacy = resource_type.legacy_value_key(attribute, value)
            if found is None and legacy != key:  # only where the two ways differ (precomposed, decomposed…)
                found = store.resources.find_unique(idp_id, resource_type.name, attribute, legacy)
        if found is not None:
            return found
    return None


# --- changes ----------------------------------------------------------------------------------------------------

# A change: from the resource as stored, its new attributes and password hash.
Change = Callable[[Stored], "tuple[dict, str | None]"]


def new_resource(attributes: dict) -> Stored:
    """A resource about to be created (attributes in canonical form; a password is kept as its hash)."""
    attributes = dict(attributes)
    password = attributes.pop("password", None)
    now = timestamp()
    return Stored(str(uuid.uuid4()), attributes, now, now, 1, hash_password(password))


def create(store: StoreInterface, scope: RequestScope, resource_type: ResourceType, attributes: dict,
           members: MemberWrites | None = None) -> Shown:
    """Write a new resource (and for a group its first members, in the same transaction); 409 when a unique value
    is taken."""
    stored = new_resource(attributes)
    keys = unique_keys(resource_type, stored.attributes)
    retried(scope, f"the {resource_type.name.lower()}",
            lambda: store.resources.create(scope.idp_id, resource_type.name, stored, keys, members))
    return shown(scope, resource_type, stored)


def replacing(resource_type: ResourceType, current: Stored, attributes: dict) -> dict:
    """What a PUT of `attributes` makes of `current`: immutable values it leaves out are kept (one it changes is a
    400, `validation.keep_immutable`)."""
    return keep_immutable(resource_type, conform(resource_type, current.attributes), attributes, replacing=True)


def changed(current: Stored, attributes: dict, password: str | None) -> Stored | None:
    """The next version of `current` with these attributes, or None when nothing would change."""
    if attributes == current.attributes and password == current.password:
        return None
    return Stored(current.id, attributes, current.created, timestamp(), current.version + 1, password)


def change(
    store: StoreInterface, scope: RequestScope, resource_type: ResourceType, resource_id: str, compute: Change,
) -> Shown:
    """Read, `compute` the new state, write it conditionally on the version read; retried when the race is lost."""

    def attempt() -> Shown:
        current = read(store, scope, resource_type, resource_id)
        check_if_match(scope.if_match, current.version)
        new = changed(current, *compute(current))
        if new is None:
            return shown(scope, resource_type, current)  # nothing changes: no write, same version
        store.resources.update(
            scope.idp_id, resource_type.name, current, new,
            held_keys(resource_type, current), unique_keys(resource_type, new.attributes),
        )
        return Shown(show(scope, resource_type, new), new.version, previous=current.attributes)

    return retried(scope, f"the {resource_type.name.lower()}", attempt)


def delete(
    store: StoreInterface, scope: RequestScope, resource_type: ResourceType, resource_id: str,
    memberships_of: Callable[[Stored], list[str]] | None = None,
) -> None:
    """Delete a resource and its guards, conditionally on the version read (If-Match honoured) — and, for a user,
    the memberships `memberships_of(current)` names, in the same transaction."""

    def attempt() -> None:
        current = read(store, scope, resource_type, resource_id)
        check_if_match(scope.if_match, current.version)
        groups = memberships_of(current) if memberships_of is not None else []
        store.resources.delete(scope.idp_id, resource_type.name, current,
                               held_keys(resource_type, current), groups)

    retried(scope, f"the {resource_type.name.lower()}", attempt)


def check_if_match(if_match: str | None, version: int) -> None:
    if if_match is not None and not etag_matches(if_match, version):
        raise PreconditionFailed(f"The resource is at version {etag(version)}, not the one in If-Match.")


def unique_keys(resource_type: ResourceType, attributes: dict) -> dict[str, str]:
    """The guard key of each unique value the resource has (what a write of these attributes takes)."""
    return {
        attribute: resource_type.value_key(attribute, attributes[attribute])
        for attribute in resource_type.unique
        if isinstance(attributes.get(attribute), str) and attributes[attribute] != ""
    }


def held_keys(resource_type: ResourceType, stored: Stored) -> dict[str, str]:
    """The guard keys a stored resource holds: as recorded in it, or for one written before keys were recorded, as
    that version made them (so its guards are found, moved and deleted, never stranded)."""
    if stored.guards is not None:
        return dict(stored.guards)
    return {
        attribute: resource_type.legacy_value_key(attribute, stored.attributes[attribute])
        for attribute in resource_type.unique
        if isinstance(stored.attributes.get(attribute), str) and stored.attributes[attribute] != ""
    }


def timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_password(password: Any) -> str | None:
    """A salted scrypt hash (RFC 7643 §4.1.1: the password is write-only and never kept in clear text)."""
    if password is None:
        return None
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(str(password).encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"
