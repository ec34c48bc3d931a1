"""What every resource type's use cases share: SCIM rules from `scim`, data from the store, the request's scope.

Every change is one read and one conditional transaction, retried when it loses a race (`retry.py`), so no change
is lost and none is a 500. Nothing here knows a resource type by name: what is particular to users and groups is in
`users.py` and `groups.py`, over `memberships.py`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any

from ..scim import cursors
from ..scim import filter as scim_filter
from ..scim.errors import NotFound, NotModified, PreconditionFailed
from ..scim.listing import (
    LIST_ENVELOPE_BYTES, LIST_RESPONSE_SCHEMA, MAX_RESPONSE_BYTES, fill_page, list_response, to_json, too_large,
    wire_size,
)
from ..scim.paging import ListQuery
from ..scim.projection import project
from ..scim.representation import etag, etag_matches, representation
from ..scim.extensions import conform
from ..scim.resource_types import ResourceType, qualify_extensions
from ..scim.validation import keep_immutable
from ..scope import RequestScope
from ..store import MemberWrites, Stored
from ..store.interface import StoreInterface
from ..tenants import signing_keys
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


def search(store: StoreInterface, scope: RequestScope, listed: Listed, query: ListQuery) -> dict:
    """A ListResponse page of the tenant's resources of one type that match the query's filter, by index or by
    cursor. `listed.enrich` adds what the filter needs; `listed.complete` what the response shows beyond the
    resource's item (only for the resources on the page)."""
    if query.cursor is not None:
        return cursor_page(store, scope, [listed], query, listed.resource_type.endpoint)
    resource_type, enrich, complete = listed.resource_type, listed.enrich, listed.complete
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


# --- cursor pages (RFC 9865) ---------------------------------------------------------------------------------------

# An evaluated filter reads the tenant's resources in Queries of CURSOR_BATCH, at most CURSOR_EXAMINED a page (three
# Queries): a page may hold fewer than `count` matches, with a nextCursor, as RFC 9865 allows. A filter that reads
# more for each resource (a group's members) examines at most CURSOR_ENRICHED a page.
CURSOR_BATCH = 500
CURSOR_EXAMINED = 3 * CURSOR_BATCH
CURSOR_ENRICHED = 100


@dataclass(frozen=True)
class Listed:
    """One resource type of a list: what its filter needs (`enrich`), what its page shows beyond the item
    (`complete`)."""

    resource_type: ResourceType
    enrich: Enrich | None = None
    complete: Enrich | None = None


def cursor_page(store: StoreInterface, scope: RequestScope, lists: list[Listed], query: ListQuery,
                endpoint: str) -> dict:
    """A page by cursor: read on from where the cursor says, in id order, one Query for a list without a filter
    (a bounded few for an evaluated one; one read for a lookup by key), so a page costs the same at any depth. No
    `totalResults` (RFC 9865 lets a cursor page leave it out: counting would read the whole list on every page)."""
    bound = cursors.binding(scope.idp_id, endpoint, query)
    names = tuple(listed.resource_type.name for listed in lists)
    keys = signing_keys()
    position = cursors.decode(query.cursor, bound, time.time(), keys.get, names) if query.cursor else \
        cursors.Position(names[0])
    page = _CursorPage(store, scope, query)
    if query.count > 0:
        start = names.index(position.resource_type)
        for listed in lists[start:]:
            after = position.after if listed.resource_type.name == position.resource_type else None
            if page.read(listed, after):
                break
    body = {"schemas": [LIST_RESPONSE_SCHEMA], "itemsPerPage": len(page.resources)}
    if page.next is not None:
        kid, key = keys.signing()
        body["nextCursor"] = cursors.encode(page.next, bound, time.time(), kid, key)
    body["Resources"] = page.resources
    return body


def _prepared(scope: RequestScope, listed: Listed, query: ListQuery, resource: dict) -> dict:
    if listed.complete is not None:
        resource = listed.complete(resource)
    return project(resource, query.attributes, query.excluded_attributes, scope.types)


class _CursorPage:
    """The resources of one cursor page, read on until `count` are taken (and one more match shows a next page),
    the response budget is spent, or the examination budget is; `next` is where the next page starts."""

    def __init__(self, store: StoreInterface, scope: RequestScope, query: ListQuery):
        self._store, self._scope, self._query = store, scope, query
        self.resources: list[dict] = []
        self.next: cursors.Position | None = None
        self._size = LIST_ENVELOPE_BYTES
        self._examined = 0

    def read(self, listed: Listed, after: str | None) -> bool:
        """Read one resource type's list from just after `after`; True when the page is complete."""
        resource_type, query = listed.resource_type, self._query
        expr = qualify_extensions(query.filter, resource_type) if query.filter is not None else None
        if expr is not None and _RequiredUnknown(resource_type).visit(expr) is not None:
            return False  # the filter requires an attribute this type does not have (`userName` of a group)
        if expr is not None and _key_lookup(expr, resource_type) is not None:
            return self._lookup(listed, after)
        # Without a filter every resource read is taken: one Query of count + 1 says whether a next page exists.
        batch = query.count + 1 if expr is None else min(CURSOR_BATCH, self._budget(listed))
        seen = after
        for stored in self._store.resources.after(self._scope.idp_id, resource_type.name, after, batch):
            self._examined += 1
            resource = self._matching(listed, expr, stored)
            if resource is not None and not self._take(listed, resource):
                self.next = cursors.Position(resource_type.name, seen)  # from just before this match
                return True
            seen = stored.id
            if self._examined >= self._budget(listed):
                self.next = cursors.Position(resource_type.name, seen)
                return True
        return False

    def _budget(self, listed: Listed) -> int:
        return CURSOR_EXAMINED if listed.enrich is None else CURSOR_ENRICHED

    def _lookup(self, listed: Listed, after: str | None) -> bool:
        """A lookup by key: one read, at most one match, never read again once a page has shown it."""
        if after is not None:
            return False
        for resource in matching(self._store, self._scope, listed.resource_type, self._query.filter, listed.enrich):
            if not self._take(listed, resource):
                self.next = cursors.Position(listed.resource_type.name, None)
                return True
        return False

    def _matching(self, listed: Listed, expr: scim_filter.Filter | None, stored: Stored) -> dict | None:
        resource = show(self._scope, listed.resource_type, stored)
        if expr is None:
            return resource
        if listed.enrich is not None:
            resource = listed.enrich(resource)
        return resource if scim_filter.matches(expr, resource, listed.resource_type.is_case_exact) else None

    def _take(self, listed: Listed, resource: dict) -> bool:
        """Add a resource to the page if there is room: `count`, and the response budget (the first must fit: else
        400 tooMany)."""
        if len(self.resources) == self._query.count:
            return False
        prepared = _prepared(self._scope, listed, self._query, resource)
        size = self._size + wire_size(to_json(prepared)) + 1
        if size > MAX_RESPONSE_BYTES:
            if not self.resources:
                raise too_large()
            return False
        self._size = size
        self.resources.append(prepared)
        return True


class _RequiredUnknown(scim_filter.Visitor):
    """A comparison the whole filter requires on an attribute the resource type does not have (then nothing of that
    type matches), or None."""

    def __init__(self, resource_type: ResourceType):
        self.resource_type = resource_type

    def and_(self, node: scim_filter.And) -> scim_filter.Filter | None:
        return self.visit(node.left) or self.visit(node.right)

    def compare(self, node: scim_filter.Compare) -> scim_filter.Filter | None:
        return node if node.op != "ne" and self.resource_type.attribute(node.path) is None else None

    def present(self, node: scim_filter.Present) -> scim_filter.Filter | None:
        return node if self.resource_type.attribute(node.path) is None else None


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
