"""Every method on every path of the route table (including methods a path does not have), under the tenant's IdP
segment or another one, with a read-write key, a read-only key, no key or a malformed header, and conditional
headers of any text."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scim_endpoint.auth import privileges
from tests.fuzz.harness import GROUPS, METHODS, MISSING, SHARES, USERS, expect, fuzz_settings, has_surrogate
from tests.fuzz.strategies import (IDP_SEGMENTS, PATH_TEMPLATES, TEXT, json_values, patch_bodies, path_ids,
                                   resources, with_surrogate)

# Mostly one of the tenant's keys, so that most requests get past authentication.
TOKENS = st.integers(0, 9).flatmap(lambda n: st.sampled_from(["rw", "ro"]) if n < 7 else st.one_of(
    st.none(), st.sampled_from(["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer scim_0000000000000000_" + "A" * 43,
                                "Bearer scim_zz_short", "Bearer\tscim_"]), TEXT.map(lambda t: f"Bearer {t}")))
IDPS = st.integers(0, 9).flatmap(lambda n: st.none() if n < 8 else IDP_SEGMENTS)
CONDITIONAL = st.lists(st.tuples(st.sampled_from(["If-Match", "If-None-Match", "if-match"]), st.one_of(
    st.sampled_from(['W/"1"', '"1"', "*", 'W/"2", W/"1"', "", 'W/"999"']), TEXT, with_surrogate())), max_size=2,
    unique_by=lambda header: header[0].lower())


ETAGS = st.sampled_from(['W/"1"', 'W/"2"', '"1"', "*", 'W/"1", W/"2"', 'W/"0"', "W/1"])


@st.composite
def conditional_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A read or a change of a seeded resource (or a missing one) with If-Match or If-None-Match naming its version
    (every seeded resource is at version 1), another, or any."""
    kind, targets = draw(st.sampled_from([("user", [*USERS, USERS[0], MISSING]), ("group", [*GROUPS, MISSING])]))
    method = draw(st.sampled_from(["GET", "GET", "PUT", "PATCH", "DELETE"]))
    header = draw(st.sampled_from(["If-None-Match", "If-Match"]) if method == "GET" else st.just("If-Match"))
    body = None
    if method == "PUT":
        body = draw(st.one_of(resources(kind), st.just(
            {"userName": "renamed@contoso.com"} if kind == "user" else {"displayName": "Renamed"})))
    elif method == "PATCH":
        body = draw(patch_bodies(kind))
    target = draw(st.sampled_from(targets))
    query = None
    if method == "GET" and draw(st.integers(0, 3)):  # mostly without what the version does not follow
        query = "excludedAttributes=" + ("groups" if kind == "user" else "members")
    return {"method": method, "path": f"/{'Users' if kind == 'user' else 'Groups'}/{target}", "query": query,
            "idp": None,
            "token": "rw", "headers": [(header, draw(ETAGS))], "body": body, "seeded": target != MISSING}


def names_version_1(header: str) -> bool:
    """RFC 7232's weak comparison of an If-Match / If-None-Match list with `W/"1"` (every seeded resource's)."""
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == '"1"' for tag in header.split(","))


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 3)) == 0:
        return draw(conditional_requests())
    template = draw(st.sampled_from(PATH_TEMPLATES))
    path = template.replace("{id}", draw(path_ids())) if "{id}" in template else template
    return {
        "method": draw(st.sampled_from(METHODS)),
        "path": path,
        "idp": draw(IDPS),
        "token": draw(TOKENS),
        "headers": draw(CONDITIONAL),
        "body": draw(st.one_of(st.none(), st.just({}), resources("user"), resources("group"),
                               json_values(max_leaves=4))),
    }


def test_routes(make_fuzz) -> None:
    fuzz = make_fuzz("routes")

    @fuzz_settings(SHARES["routes"])
    @given(request=requests())
    def run(request: dict[str, Any]) -> None:
        method = request["method"]
        result = fuzz.send(method, request["path"], body=request["body"], headers=request["headers"],
                           token=request["token"], idp_segment=request["idp"], query=request.get("query"))
        # The route API Gateway matched (`/Users/.search` is not `/Users/{id}`, though `.search` may be an id).
        template = result.event["resource"].removeprefix("/v1/scim/{idpId}")
        if request["idp"] is not None or request["token"] not in ("rw", "ro"):
            # The tenant's own id in canonical form, and one of its keys, before anything else.
            expect(result, 401, None, "another IdP segment, or no valid key")
            return
        assert result.status != 401, result.body  # and with both, never 401
        allowed = privileges.methods_of(template)
        if method not in allowed:
            expect(result, 405, None, "a method the path does not have")
            assert result.headers["allow"] == ", ".join(allowed), result.headers
            return
        privilege = privileges.rule_for(method, template).privilege
        if request["token"] == "ro" and privilege.endswith(":write"):
            expect(result, 403, None, "a read-only key writing")
            return
        if any(has_surrogate(value) for _, value in request["headers"]):
            expect(result, 400, "invalidValue", "an If-Match or If-None-Match holding a lone surrogate")
        if request.get("seeded"):
            (header, value), = request["headers"]
            if method == "GET" and header == "If-None-Match":
                versioned = request["query"] is not None  # else it carries groups or members: never 304
                expect(result, 304 if names_version_1(value) and versioned else 200, None,
                       "a read naming the version or not")
            elif method == "DELETE":
                expect(result, 204 if names_version_1(value) else 412, None, "a deletion naming the version or not")

    run()
    fuzz.assert_sent_share()
