"""The SCIM ListResponse (RFC 7644 §3.4.2)."""

from __future__ import annotations

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def list_response(resources: list[dict], *, total_results: int | None = None, start_index: int = 1) -> dict:
    """A ListResponse page: `resources` is the page, `total_results` the size of the whole result set."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources) if total_results is None else total_results,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
