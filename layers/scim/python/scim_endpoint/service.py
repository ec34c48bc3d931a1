"""Queries over a tenant's resources: SCIM rules from `scim`, data from `store`."""

from __future__ import annotations

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
        found = _lookup(store, idp_id, resource_type, lookup)
        candidates = [found] if found is not None else []
    elif expr is None and query.count == 0:
        return list_response([], total_results=store.count(idp_id, resource_type.name), start_index=query.start_index)
    else:
        candidates = store.scan_tenant(idp_id, resource_type.name)

    shown = (_show(resource_type, stored, tenant_url) for stored in candidates)
    matching = [r for r in shown if expr is None or scim_filter.matches(expr, r, resource_type.is_case_exact)]
    start = query.start_index - 1
    page = matching[start : start + query.count]
    resources = [project(r, query.attributes, query.excluded_attributes) for r in page]
    return list_response(resources, total_results=len(matching), start_index=query.start_index)


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
            # An over-long id is not one this service gave out; DynamoDB would refuse the key.
            found = store.get(idp_id, resource_type.name, value) if len(value.encode()) <= MAX_ID_BYTES else None
        else:
            attribute = resource_type.unique_attribute(expr.path.attr)
            found = store.find_unique(
                idp_id, resource_type.name, attribute, resource_type.value_key(attribute, value)
            )
        if found is not None:
            return found
    return None
