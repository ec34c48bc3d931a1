"""Key privileges: read or write on Users and Groups, write implying read."""

from __future__ import annotations

import pytest

from scim_endpoint.auth.privileges import ALL, ANY_KEY, ROUTES, allows, grants, normalize, rule_for


def test_all_privileges() -> None:
    assert ALL == ("users:read", "users:write", "groups:read", "groups:write")


@pytest.mark.parametrize(
    "given, expected",
    [
        (["users:read"], ["users:read"]),
        (["users:write"], ["users:write"]),
        # Write implies read: the read collapses into the write.
        (["users:read", "users:write"], ["users:write"]),
        (["users:write", "users:read"], ["users:write"]),
        (["groups:read", "groups:write", "users:read"], ["users:read", "groups:write"]),
        (list(ALL), ["users:write", "groups:write"]),
        # Case and surrounding spaces do not matter; duplicates collapse; the order is ALL's.
        (["USERS:Write", " Groups:READ "], ["users:write", "groups:read"]),
        (["groups:read", "users:read"], ["users:read", "groups:read"]),
        (["users:read", "USERS:READ", "users:read"], ["users:read"]),
        (("groups:write",), ["groups:write"]),
    ],
)
def test_normalize(given: list[str], expected: list[str]) -> None:
    assert normalize(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        ["users:admin"],
        ["users"],
        ["read"],
        ["users:read", "schemas:read"],
        ["users:read,groups:read"],
        ["users.read"],
        ["*"],
        [""],
        [" "],
    ],
)
def test_normalize_rejects_unknown(given: list[str]) -> None:
    with pytest.raises(ValueError, match="unknown privilege"):
        normalize(given)


@pytest.mark.parametrize("given", [[], ()])
def test_normalize_rejects_empty(given: list[str]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        normalize(given)


# granted -> what it allows, as (resource, level) pairs; everything else is refused.
MATRIX = {
    ("users:read",): {("users", "read")},
    ("users:write",): {("users", "read"), ("users", "write")},
    ("groups:read",): {("groups", "read")},
    ("groups:write",): {("groups", "read"), ("groups", "write")},
    ("users:read", "groups:read"): {("users", "read"), ("groups", "read")},
    ("users:write", "groups:read"): {("users", "read"), ("users", "write"), ("groups", "read")},
    ("users:write", "groups:write"): {("users", "read"), ("users", "write"), ("groups", "read"), ("groups", "write")},
    (): set(),
}


@pytest.mark.parametrize("granted", MATRIX, ids=lambda g: ",".join(g) or "nothing")
@pytest.mark.parametrize("resource", ["users", "groups"])
@pytest.mark.parametrize("level", ["read", "write"])
def test_allows(granted: tuple[str, ...], resource: str, level: str) -> None:
    assert allows(granted, resource, level) is ((resource, level) in MATRIX[granted])
    assert allows(list(granted), resource, level) is ((resource, level) in MATRIX[granted])


@pytest.mark.parametrize("granted", MATRIX, ids=lambda g: ",".join(g) or "nothing")
@pytest.mark.parametrize("privilege", [*ALL, ANY_KEY])
def test_grants(granted: tuple[str, ...], privilege: str) -> None:
    """What a route asks of a key: ANY_KEY is any valid key; otherwise what `allows` says."""
    if privilege == ANY_KEY:
        assert grants(granted, privilege)
    else:
        resource, level = privilege.split(":")
        assert grants(granted, privilege) is ((resource, level) in MATRIX[granted])


@pytest.mark.parametrize(
    "method, route, privilege",
    [
        ("GET", "/Users", "users:read"),
        ("POST", "/Users", "users:write"),
        # A search is a read, whatever its method: the table says so by name, not by how the path ends.
        ("POST", "/Users/.search", "users:read"),
        ("GET", "/Users/{id}", "users:read"),
        ("PUT", "/Users/{id}", "users:write"),
        ("PATCH", "/Users/{id}", "users:write"),
        ("DELETE", "/Users/{id}", "users:write"),
        ("GET", "/Groups", "groups:read"),
        ("POST", "/Groups", "groups:write"),
        ("POST", "/Groups/.search", "groups:read"),
        ("GET", "/Groups/{id}", "groups:read"),
        ("PUT", "/Groups/{id}", "groups:write"),
        ("PATCH", "/Groups/{id}", "groups:write"),
        ("DELETE", "/Groups/{id}", "groups:write"),
        ("POST", "/.search", ANY_KEY),
        ("GET", "/ServiceProviderConfig", ANY_KEY),
        ("GET", "/Schemas/{id}", ANY_KEY),
        ("get", "/Users", "users:read"),  # methods in any case
    ],
)
def test_route_table(method: str, route: str, privilege: str) -> None:
    assert rule_for(method, route).privilege == privilege


@pytest.mark.parametrize(
    "method, route",
    [
        ("GET", "/Users/.search"),  # a search is a POST
        ("PUT", "/Users/.search"),
        ("DELETE", "/Users"),
        ("HEAD", "/Users"),
        ("OPTIONS", "/Users/{id}"),
        ("POST", "/Users/{id}"),
        ("GET", "/Bulk"),
        ("GET", "/Users/{id}/"),
        ("GET", "/users"),  # route templates are exact
        ("GET", ""),
    ],
)
def test_routes_the_table_does_not_name_have_no_rule(method: str, route: str) -> None:
    """The middleware refuses (403) a route without a rule: nothing is allowed by default."""
    assert rule_for(method, route) is None


def test_only_list_routes_read_list_parameters() -> None:
    assert {key for key, rule in ROUTES.items() if rule.lists} == {("GET", "/Users"), ("GET", "/Groups")}
