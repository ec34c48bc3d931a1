"""The SCIM ListResponse (RFC 7644 §3.4.2), and the byte budget every response keeps to.

A response body travels as a JSON string inside the proxy response Lambda returns to API Gateway, where quotes,
backslashes and non-ASCII characters take more bytes than in the body itself; Lambda refuses a response over 6 MB.
So responses are measured as they travel (`wire_size`, the worst case: every non-ASCII character escaped), and
kept under MAX_RESPONSE_BYTES: a list returns fewer resources than asked for rather than pass it (RFC 7644 §3.4.2.4
allows fewer), and a single resource that would pass it alone is refused with 400 tooMany.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from .errors import TooMany

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
# What a ListResponse takes beyond its resources (schemas, counts, brackets), generously.
LIST_ENVELOPE_BYTES = 512


def to_json(body: Any) -> str:
    # DynamoDB's numbers arrive as JSON's (ints and floats: `store.table.plain`), so nothing here needs a default.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def wire_size(text: str) -> int:
    """The bytes a response body takes in the proxy response Lambda sends (escaped, ASCII only: the worst case)."""
    return len(json.dumps(text))


def escaped_size(text: str) -> int:
    """The bytes a string value takes in the proxy response: 1 for most ASCII, 4 for a quote or backslash, 6 for
    another character (12 outside the BMP)."""
    return wire_size(to_json(text)) - 6  # less the quotes around it, escaped twice


def fits(text: str) -> bool:
    """Whether a response body of this text keeps to the byte budget."""
    return wire_size(text) <= MAX_RESPONSE_BYTES


def too_large() -> TooMany:
    return TooMany(
        f"The response would be larger than {MAX_RESPONSE_BYTES} bytes; ask for less (a group's members can be left "
        "out with excludedAttributes=members, and one membership checked with filter=id eq \"…\" and members eq \"…\")."
    )


def list_response(resources: list[dict], *, total_results: int | None = None, start_index: int = 1) -> dict:
    """A ListResponse page: `resources` is the page, `total_results` the size of the whole result set."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources) if total_results is None else total_results,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def fill_page(candidates: Iterable[dict], count: int, prepare: Callable[[dict], dict]) -> list[dict]:
    """Up to `count` of `candidates`, each `prepare`d (read what it lacks, trimmed to the projection), while the page
    stays under the byte budget. Candidates are consumed lazily, so what does not fit is never read."""
    page: list[dict] = []
    size = LIST_ENVELOPE_BYTES
    for candidate in candidates:
        if len(page) == count:
            break
        resource = prepare(candidate)
        size += wire_size(to_json(resource)) + 1
        if size > MAX_RESPONSE_BYTES:
            if not page:
                raise too_large()  # the first resource alone passes the budget: fewer than one cannot be shown
            break
        page.append(resource)
    return page
