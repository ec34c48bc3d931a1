"""Generated bodies for creating and replacing users and groups: any JSON, Entra's requests with mutated fields, and
bytes that are not (readable) JSON at all."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import GROUPS, MISSING, SHARES, USERS, expect, fuzz_settings, unreadable
from tests.fuzz.strategies import (GROUP_CREATES, USER_CREATES, deeply_nested, json_values, mutated, raw_bodies,
                                   resources, values_for)

USER_WRITES = [("POST", "/Users"), ("PUT", f"/Users/{USERS[0]}"), ("PUT", f"/Users/{USERS[2]}"),
               ("PUT", f"/Users/{MISSING}")]
GROUP_WRITES = [("POST", "/Groups"), ("PUT", f"/Groups/{GROUPS[0]}"), ("PUT", f"/Groups/{GROUPS[1]}"),
                ("PUT", f"/Groups/{MISSING}")]
# Every route that reads a body: each reads it first, so an unreadable one is always the answer's reason.
BODY_ROUTES = [*USER_WRITES, *GROUP_WRITES, ("PATCH", f"/Users/{USERS[0]}"), ("PATCH", f"/Groups/{GROUPS[0]}"),
               ("POST", "/Users/.search"), ("POST", "/Groups/.search"), ("POST", "/.search")]


def bodies(kind: str, seeds: list[dict]) -> st.SearchStrategy:
    return st.one_of(resources(kind), resources(kind), resources(kind), resources(kind),
                     mutated(seeds, values_for(kind)), mutated(seeds, values_for(kind)), json_values(), deeply_nested())


def test_user_bodies(make_fuzz) -> None:
    fuzz = make_fuzz("user_bodies")

    @fuzz_settings(SHARES["user_bodies"])
    @given(route=st.sampled_from(USER_WRITES), body=bodies("user", USER_CREATES))
    def run(route: tuple[str, str], body) -> None:
        raw = json.dumps(body).encode()
        result = fuzz.send(*route, raw=raw)
        if unreadable(raw):
            expect(result, 400, "invalidSyntax", "an unreadable body")
        elif not isinstance(body, dict):
            expect(result, 400, "invalidSyntax", "a resource that is not an object")

    run()
    fuzz.assert_sent_share()


def test_group_bodies(make_fuzz) -> None:
    fuzz = make_fuzz("group_bodies")

    @fuzz_settings(SHARES["group_bodies"])
    @given(route=st.sampled_from(GROUP_WRITES), body=bodies("group", GROUP_CREATES))
    def run(route: tuple[str, str], body) -> None:
        raw = json.dumps(body).encode()
        result = fuzz.send(*route, raw=raw)
        if unreadable(raw):
            expect(result, 400, "invalidSyntax", "an unreadable body")
        elif not isinstance(body, dict):
            expect(result, 400, "invalidSyntax", "a resource that is not an object")

    run()
    fuzz.assert_sent_share()


def test_raw_bodies(make_fuzz) -> None:
    """Bytes json.dumps would never write, to every route that reads a body."""
    fuzz = make_fuzz("raw_bodies")

    @fuzz_settings(SHARES["raw_bodies"])
    @given(route=st.sampled_from(BODY_ROUTES), raw=raw_bodies())
    def run(route: tuple[str, str], raw: bytes) -> None:
        result = fuzz.send(*route, raw=raw)
        if unreadable(raw):
            expect(result, 400, "invalidSyntax", "an unreadable body")

    run()
    fuzz.assert_sent_share()
