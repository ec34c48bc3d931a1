"""Generated queries: filters from a small grammar (value paths, `and`/`or`/`not`, brackets, any case), long and
deep ones, and garbage; the list parameters `startIndex`, `count`, `attributes`, `excludedAttributes` with values of
every kind (thousands of digits included); SearchRequest bodies. Each value may hold a lone surrogate, which no URL
can carry, so those go into the event as API Gateway would hand them over."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import (GROUPS, MISSING, SHARES, USERS, expect, fuzz_settings, has_surrogate, unreadable,
                                url_segment)
from tests.fuzz.strategies import any_filter, key_filters, query_parameters, search_bodies, with_surrogate

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


@st.composite
def listed_filters(draw: st.DrawFn) -> tuple[str, str, bool]:
    """(collection, filter, whether to hand it over as an event parameter rather than in a URL)."""
    kind = draw(st.sampled_from(["user", "group"]))
    text = draw(st.one_of(any_filter(kind), any_filter(kind), any_filter(kind), with_surrogate(any_filter(kind)),
                          st.builds(lambda v: f'id eq "{GROUPS[0]}" and members eq "{v}"',
                                    st.sampled_from([*USERS, MISSING, "", " ", "x" * 1100, "a\\\"b"]))))
    return ("/Users" if kind == "user" else "/Groups"), text, draw(st.booleans())


def test_filters(make_fuzz) -> None:
    """A list with only a generated filter: a ListResponse, or 400 invalidFilter; nothing else."""
    fuzz = make_fuzz("filters")

    @fuzz_settings(SHARES["filters"])
    @given(listed=listed_filters(), name=st.sampled_from(["filter", "filter", "Filter", "FILTER"]))
    def run(listed: tuple[str, str, bool], name: str) -> None:
        path, text, as_parameter = listed
        if as_parameter or has_surrogate(text):
            result = fuzz.send("GET", path, params={name: text})
        else:
            result = fuzz.send("GET", path, query=f"{name}={url_segment(text)}")
        if has_surrogate(text):
            expect(result, 400, "invalidFilter", "a filter holding a lone surrogate")
        assert result.status in (200, 400), result.body
        if result.status == 400:
            expect(result, 400, "invalidFilter", "a list whose only parameter is its filter")

    run()
    fuzz.assert_sent_share()


@st.composite
def key_lookups(draw: st.DrawFn) -> tuple[str, str, str]:
    """(method, path, filter): a filter answered from keys, in a query string or a SearchRequest."""
    kind = draw(st.sampled_from(["user", "group"]))
    text = draw(key_filters(kind))
    collection = "/Users" if kind == "user" else "/Groups"
    return draw(st.sampled_from(["GET", "POST"])), collection, text


def test_key_filters(make_fuzz) -> None:
    """Equality on ids, unique values and members (what the service reads DynamoDB keys for): a ListResponse, or
    400 invalidFilter; nothing else."""
    fuzz = make_fuzz("key_filters")

    @fuzz_settings(SHARES["key_filters"])
    @given(lookup=key_lookups(), as_parameter=st.booleans())
    def run(lookup: tuple[str, str, str], as_parameter: bool) -> None:
        method, collection, text = lookup
        if method == "POST":
            result = fuzz.send("POST", f"{collection}/.search", body={"filter": text})
        elif as_parameter or has_surrogate(text):
            result = fuzz.send("GET", collection, params={"filter": text})
        else:
            result = fuzz.send("GET", collection, query=f"filter={url_segment(text)}")
        assert result.status in (200, 400), result.body
        if result.status == 400:
            expect(result, 400, "invalidFilter", "a search whose only parameter is its filter")

    run()
    fuzz.assert_sent_share()


# Routes that read query parameters, each with the parameters checked at the edge (all routes check them).
PARAMETER_ROUTES = [("GET", "/Users", "user"), ("GET", "/Groups", "group"), ("GET", f"/Users/{USERS[0]}", "user"),
                    ("GET", f"/Groups/{GROUPS[0]}", "group"), ("GET", "/ServiceProviderConfig", "user"),
                    ("GET", "/Schemas", "user"), ("GET", f"/Users/{MISSING}", "user"),
                    ("DELETE", f"/Users/{MISSING}", "user"), ("GET", "/ResourceTypes/User", "user")]


@st.composite
def routed_parameters(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    method, path, kind = draw(st.sampled_from(PARAMETER_ROUTES))
    params = draw(query_parameters(kind))
    if params and draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(sorted(params)))
        params[name] = draw(with_surrogate(st.just(params[name])))
    return method, path, params


def _names(raw: str) -> list[str]:
    return [name.strip() for name in raw.replace("+", " ").split(",") if name.strip()]


def test_query_parameters(make_fuzz) -> None:
    fuzz = make_fuzz("query_parameters")

    @fuzz_settings(SHARES["query_parameters"])
    @given(routed=routed_parameters())
    def run(routed: tuple[str, str, dict[str, str]]) -> None:
        method, path, params = routed
        result = fuzz.send(method, path, params=params)
        in_filter = any(has_surrogate(v) for k, v in params.items() if k.lower() == "filter")
        elsewhere = any(has_surrogate(v) for k, v in params.items() if k.lower() != "filter") or any(
            has_surrogate(k) for k in params)
        if in_filter and not elsewhere:
            expect(result, 400, "invalidFilter", "a filter holding a lone surrogate")
        elif elsewhere and not in_filter:
            expect(result, 400, "invalidValue", "a query parameter holding a lone surrogate")
        elif in_filter:
            assert result.status == 400 and result.body["scimType"] in ("invalidFilter", "invalidValue"), result.body
        named = {k.lower(): v for k, v in params.items()}
        if path in ("/Users", "/Groups") and set(named) <= {"startindex", "count"} and all(
                _WHOLE_NUMBER.fullmatch(v) for v in named.values()):
            # RFC 7644 §3.4.2.4: any whole number is clamped, however many digits it has.
            expect(result, 200, None, "whole numbers for startIndex and count")
        if path in ("/Users", "/Groups") and named and set(named) <= {"attributes", "excludedattributes"} and all(
                not has_surrogate(v) and len(_names(v)) <= 100 and all(len(n) <= 256 for n in _names(v))
                for v in named.values()):
            expect(result, 200, None, "a projection within the documented limits")

    run()
    fuzz.assert_sent_share()


SEARCH_ROUTES = [("/Users/.search", "user"), ("/Groups/.search", "group"), ("/.search", "user")]


def test_search_bodies(make_fuzz) -> None:
    fuzz = make_fuzz("search_bodies")

    @fuzz_settings(SHARES["search_bodies"])
    @given(route=st.sampled_from(SEARCH_ROUTES), data=st.data())
    def run(route: tuple[str, str], data: Any) -> None:
        path, kind = route
        body = data.draw(search_bodies(kind))
        raw = json.dumps(body).encode()
        result = fuzz.send("POST", path, raw=raw)
        if unreadable(raw) or not isinstance(body, dict):
            expect(result, 400, "invalidSyntax", "a search request that is not a readable JSON object")

    run()
    fuzz.assert_sent_share()
