"""List parameters of RFC 7644 §3.4.2: filter, startIndex, count, attributes, excludedAttributes; in a query string,
or in the body of `POST /.search` (a SearchRequest, §3.4.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .errors import InvalidCursor, InvalidSyntax, InvalidValue, validation_problem
from .filter import Filter, parse

# The page size when the client gives no `count`, and the most one page holds; larger counts are clamped
# (RFC 7644 §3.4.2.4 lets the service return fewer than asked). ServiceProviderConfig advertises MAX_PAGE_SIZE.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
# A startIndex past this is clamped to it: no list is that long, and the number stays a plain integer however many
# digits the client sent.
MAX_START_INDEX = 1_000_000_000
# `attributes`/`excludedAttributes`: at most this many names, each at most this long (a name is at most an
# extension URN, an attribute and a sub-attribute).
MAX_PROJECTED_NAMES = 100
MAX_NAME_LENGTH = 256
_INTEGER = re.compile(r"^[+-]?[0-9]+$")

SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class ListQuery:
    filter: Filter | None = None
    start_index: int = 1
    count: int = DEFAULT_PAGE_SIZE
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()
    # RFC 9865: None pages by index (`startIndex`, the default); "" asks for the first page by cursor, anything else
    # is a `nextCursor` given earlier.
    cursor: str | None = None


def parse_list_query(params: dict[str, str]) -> ListQuery:
    """Read the list parameters from a query string (names matched case-insensitively; unknown ones ignored,
    as Entra may pass through flags such as `aadOptscim062020`)."""
    named = {key.lower(): value for key, value in params.items()}
    filter_text = named.get("filter")
    attributes, excluded = projection_parameters(params)
    cursor = named.get("cursor")
    if cursor is not None and named.get("startindex", "").strip():
        raise InvalidValue("Page either by index (startIndex) or by cursor (cursor), not both.")
    return ListQuery(
        cursor=cursor.strip() if cursor is not None else None,
        filter=parse(filter_text) if filter_text is not None else None,
        # RFC 7644 §3.4.2.4: a startIndex below 1 means 1, a negative count means 0, a count above the maximum
        # means the maximum.
        start_index=min(MAX_START_INDEX, max(1, _integer(named, "startindex", 1))),
        count=min(MAX_PAGE_SIZE, max(0, _integer(named, "count", DEFAULT_PAGE_SIZE))),
        attributes=attributes,
        excluded_attributes=excluded,
    )


def projection_parameters(params: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`attributes` and `excludedAttributes`, which every response carrying resources honours (RFC 7644 §3.9)."""
    named = {key.lower(): value for key, value in params.items()}
    return _names(named.get("attributes"), "attributes"), _names(named.get("excludedattributes"), "excludedAttributes")


class SearchRequest(BaseModel):
    """The body of `POST /.search`. Member names ignore case (Entra and others send `startIndex` as `startindex`);
    `attributes` may be a list or a comma-separated string; numbers may come as JSON numbers or digit strings."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schemas: list[str] | None = None
    filter: str | None = None
    startindex: int | str | None = None
    count: int | str | None = None
    cursor: str | None = None
    attributes: list[str] | str | None = None
    excludedattributes: list[str] | str | None = None

    @model_validator(mode="before")
    @classmethod
    def _names_ignore_case(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a search request must be a JSON object")
        return {str(key).lower(): value for key, value in data.items()}

    @field_validator("schemas")
    @classmethod
    def _declares_search_request(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and SEARCH_REQUEST_SCHEMA.lower() not in [urn.lower() for urn in value]:
            raise ValueError(f'must be ["{SEARCH_REQUEST_SCHEMA}"]')
        return value

    @field_validator("startindex", "count", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, str, type(None))):
            raise ValueError("must be an integer")
        return value


def parse_search_request(body: Any) -> ListQuery:
    """The list parameters of a SearchRequest body, read as the query string's are."""
    cursor = next((v for k, v in body.items() if str(k).lower() == "cursor"), None) if isinstance(body, dict) else None
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidCursor("'cursor' is a string: empty for the first page, then the nextCursor of the previous one.")
    try:
        request = SearchRequest.model_validate(body)
    except ValidationError as error:
        where, what = validation_problem(error)
        # The value's name and what is wrong with it, never the value itself.
        raise (InvalidValue if where else InvalidSyntax)(
            f"Invalid search request: '{where or 'the body'}' {what}."
        ) from None
    params: dict[str, str] = {}
    for key in ("filter", "startindex", "count", "attributes", "excludedattributes", "cursor"):
        value = getattr(request, key)
        if value is None:
            continue
        params[key] = ",".join(value) if isinstance(value, list) else str(value)
    return parse_list_query(params)


def _integer(named: dict[str, str], key: str, default: int) -> int:
    raw = named.get(key)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not _INTEGER.match(text):
        raise InvalidValue(f"'{key}' must be an integer.")
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > len(str(MAX_START_INDEX)):  # beyond every bound: clamped by the caller, never parsed whole
        return -MAX_START_INDEX * 10 if text.startswith("-") else MAX_START_INDEX * 10
    return int(text)


def _names(raw: str | None, parameter: str) -> tuple[str, ...]:
    if not raw:
        return ()
    names = tuple(name.strip() for name in raw.replace("+", " ").split(",") if name.strip())
    if len(names) > MAX_PROJECTED_NAMES:
        raise InvalidValue(f"'{parameter}' may name at most {MAX_PROJECTED_NAMES} attributes.")
    if any(len(name) > MAX_NAME_LENGTH for name in names):
        raise InvalidValue(f"'{parameter}' names an attribute longer than {MAX_NAME_LENGTH} characters.")
    return names
