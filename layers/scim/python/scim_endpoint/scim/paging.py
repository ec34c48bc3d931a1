"""List parameters of RFC 7644 §3.4.2: filter, startIndex, count, attributes, excludedAttributes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidSyntax, InvalidValue
from .filter import Filter, parse

# The page size when the client gives no `count`, and the most one page holds; larger counts are clamped
# (RFC 7644 §3.4.2.4 lets the service return fewer than asked). ServiceProviderConfig advertises MAX_PAGE_SIZE.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
_INTEGER = re.compile(r"^[+-]?[0-9]{1,9}$")


@dataclass(frozen=True)
class ListQuery:
    filter: Filter | None = None
    start_index: int = 1
    count: int = DEFAULT_PAGE_SIZE
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()


def parse_list_query(params: dict[str, str]) -> ListQuery:
    """Read the list parameters from a query string (names matched case-insensitively; unknown ones ignored,
    as Entra may pass through flags such as `aadOptscim062020`)."""
    named = {key.lower(): value for key, value in params.items()}
    filter_text = named.get("filter")
    return ListQuery(
        filter=parse(filter_text) if filter_text is not None else None,
        # RFC 7644 §3.4.2.4: a startIndex below 1 means 1, a negative count means 0.
        start_index=max(1, _integer(named, "startindex", 1)),
        count=min(MAX_PAGE_SIZE, max(0, _integer(named, "count", DEFAULT_PAGE_SIZE))),
        attributes=_names(named.get("attributes")),
        excluded_attributes=_names(named.get("excludedattributes")),
    )


def projection_parameters(params: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`attributes` and `excludedAttributes`, which every response carrying resources honours (RFC 7644 §3.9)."""
    named = {key.lower(): value for key, value in params.items()}
    return _names(named.get("attributes")), _names(named.get("excludedattributes"))


SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def parse_search_request(body: Any) -> ListQuery:
    """The body of `POST /.search` (RFC 7644 §3.4.3): the list parameters as JSON."""
    if not isinstance(body, dict):
        raise InvalidSyntax("A search request must be a JSON object.")
    named = {key.lower(): value for key, value in body.items()}
    declared = named.get("schemas")
    if declared is not None and SEARCH_REQUEST_SCHEMA.lower() not in [str(s).lower() for s in declared or []]:
        raise InvalidValue(f"'schemas' must be [\"{SEARCH_REQUEST_SCHEMA}\"].")
    params: dict[str, str] = {}
    for key in ("filter", "startindex", "count", "attributes", "excludedattributes"):
        value = named.get(key)
        if value is None:
            continue
        if key in ("attributes", "excludedattributes") and isinstance(value, list):
            value = ",".join(str(name) for name in value)
        elif key in ("startindex", "count") and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise InvalidValue(f"'{key}' has the wrong type.")
        params[key] = value
    return parse_list_query(params)


def _integer(named: dict[str, str], key: str, default: int) -> int:
    raw = named.get(key)
    if raw is None or raw.strip() == "":
        return default
    if not _INTEGER.match(raw.strip()):
        raise InvalidValue(f"'{key}' must be an integer.")
    return int(raw.strip())


def _names(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(name.strip() for name in raw.replace("+", " ").split(",") if name.strip())
