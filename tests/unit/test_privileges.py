"""Key privileges: read or write on Users and Groups, write implying read."""

from __future__ import annotations

import pytest

from scim_endpoint.auth.privileges import ALL, allows, normalize, required_level


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


@pytest.mark.parametrize(
    "method, level",
    [
        ("GET", "read"),
        ("get", "read"),
        ("HEAD", "read"),
        ("POST", "write"),
        ("PUT", "write"),
        ("PATCH", "write"),
        ("patch", "write"),
        ("DELETE", "write"),
        ("OPTIONS", "write"),
    ],
)
def test_required_level(method: str, level: str) -> None:
    assert required_level(method) == level
