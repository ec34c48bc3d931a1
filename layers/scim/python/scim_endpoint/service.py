"""Queries over a tenant's resources: SCIM rules from `scim`, data from `store`."""

from __future__ import annotations

from itertools import islice

from .scim import filter as scim_filter
from .scim.listing import list_response
from .scim.paging import ListQuery
from .scim.projection import project
from .scim.representation import representation
from .scim.resource_types import ResourceType
from .store import Store, Stored

MAX_ID_BYTES = 256


def search(store: Store, idp_id: str, resource_type: ResourceType, query: ListQuery, tenant_url: str) -> dict:
    """A ListResponse page of the tenant's resources that match the query's filter.

    Equality on `id` or a unique attribute (alone or joined with `and`) is answered from keys in one read;
    any other filter is evaluated over the tenant's resources, read with Query (bounded by the store).
    """
    expr = query.filter
    lookup = _key_lookup(expr, resource_type) if expr is not None else None
    if lookup is not None:
        found = _lookup(store, idp_id, resource_type, *lookup)
        candidates = [found] if found is not None else []
    elif expr is None and query.count == 0:
        return list_response([], total_results=store.count(idp_id, resource_type.name), start_index=query.start_index)
    else:
        candidates = store.scan_tenant(idp_id, resource_type.name)

    def wanted(stored: Stored) -> bool:
        if expr is None:
            return True
        shown = _show(resource_type, stored, tenant_url)
        return scim_filter.matches(expr, shown, resource_type.is_case_exact)

    matching = [stored for stored in candidates if wanted(stored)]
    start = query.start_index - 1
    page = list(islice(matching, start, start + query.count))
    resources = [
        project(_show(resource_type, s, tenant_url), query.attributes, query.excluded_attributes) for s in page
    ]
    return list_response(resources, total_results=len(matching), start_index=query.start_index)


def _show(resource_type: ResourceType, stored: Stored, tenant_url: str) -> dict:
    return representation(
        resource_type, stored.id, stored.attributes, stored.created, stored.last_modified, stored.version,
        tenant_url,
    )


def _key_lookup(expr: scim_filter.Filter, resource_type: ResourceType) -> tuple[str, str] | None:
    """(attribute, value) of an `eq` on `id` or a unique attribute that the whole filter requires, or None."""
    if isinstance(expr, scim_filter.And):
        return _key_lookup(expr.left, resource_type) or _key_lookup(expr.right, resource_type)
    if (
        isinstance(expr, scim_filter.Compare)
        and expr.op == "eq"
        and expr.path.sub_attr is None
        and expr.path.schema is None
        and expr.value is not None
        and not isinstance(expr.value, bool)
    ):
        value = expr.value if isinstance(expr.value, str) else expr.raw
        if expr.path.attr.lower() == "id":
            return "id", value
        attribute = resource_type.unique_attribute(expr.path.attr)
        if attribute is not None:
            return attribute, value
    return None


def _lookup(store: Store, idp_id: str, resource_type: ResourceType, attribute: str, value: str) -> Stored | None:
    if attribute == "id":
        if len(value.encode()) > MAX_ID_BYTES:
            return None  # not an id this service could have given out
        return store.get(idp_id, resource_type.name, value)
    return store.find_unique(idp_id, resource_type.name, attribute, resource_type.value_key(attribute, value))
