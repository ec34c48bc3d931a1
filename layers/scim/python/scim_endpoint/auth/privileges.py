"""Key privileges, as the admin console grants them (read or write on Users and on Groups; write implies read), and
the route table that says which privilege each SCIM route needs.

The table is the only place a route's privilege is decided: the middleware looks the route up by method and route
template (as API Gateway matched it) before the route's handler runs, and a route the table does not name is
refused. So a privilege never depends on how a path happens to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RESOURCES = ("users", "groups")
LEVELS = ("read", "write")
ALL = tuple(f"{resource}:{level}" for resource in RESOURCES for level in LEVELS)

# What a route may ask of a key: one of ALL, or ANY_KEY (any valid key of the IdP: discovery, and the root
# `/.search`, which shows only the resource types the key may read).
ANY_KEY = "any"
Privilege = Literal["users:read", "users:write", "groups:read", "groups:write", "any"]


@dataclass(frozen=True)
class RouteRule:
    privilege: Privilege
    # Whether the route's query string holds list parameters (filter, startIndex, count: RFC 7644 §3.4.2).
    lists: bool = False


# (method, route under the Tenant URL, with template.yaml's parameter names) -> rule. Every route of template.yaml
# under /v1/scim/{idpId} is here, and nothing else (tests/template/test_template.py holds the two in step).
ROUTES: dict[tuple[str, str], RouteRule] = {
    ("GET", "/Users"): RouteRule("users:read", lists=True),
    ("POST", "/Users"): RouteRule("users:write"),
    ("POST", "/Users/.search"): RouteRule("users:read"),
    ("GET", "/Users/{id}"): RouteRule("users:read"),
    ("PUT", "/Users/{id}"): RouteRule("users:write"),
    ("PATCH", "/Users/{id}"): RouteRule("users:write"),
    ("DELETE", "/Users/{id}"): RouteRule("users:write"),
    ("GET", "/Groups"): RouteRule("groups:read", lists=True),
    ("POST", "/Groups"): RouteRule("groups:write"),
    ("POST", "/Groups/.search"): RouteRule("groups:read"),
    ("GET", "/Groups/{id}"): RouteRule("groups:read"),
    ("PUT", "/Groups/{id}"): RouteRule("groups:write"),
    ("PATCH", "/Groups/{id}"): RouteRule("groups:write"),
    ("DELETE", "/Groups/{id}"): RouteRule("groups:write"),
    ("POST", "/.search"): RouteRule(ANY_KEY),
    ("GET", "/ServiceProviderConfig"): RouteRule(ANY_KEY),
    ("GET", "/ResourceTypes"): RouteRule(ANY_KEY),
    ("GET", "/ResourceTypes/{id}"): RouteRule(ANY_KEY),
    ("GET", "/Schemas"): RouteRule(ANY_KEY),
    ("GET", "/Schemas/{id}"): RouteRule(ANY_KEY),
}


def rule_for(method: str, route: str) -> RouteRule | None:
    """The rule of a route, or None when the table does not name it (the caller refuses the request)."""
    return ROUTES.get((method.upper(), route))


def methods_of(route: str) -> list[str]:
    """The methods the table opens on a route template (for a 405's `Allow` header); empty for an unknown route."""
    return sorted(method for method, template in ROUTES if template == route)


def normalize(privileges: list[str] | tuple[str, ...]) -> list[str]:
    """Validate privileges like `users:write`, dropping reads that a write already implies."""
    wanted = {p.strip().lower() for p in privileges}
    unknown = sorted(wanted - set(ALL))
    if unknown:
        raise ValueError(f"unknown privilege(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    if not wanted:
        raise ValueError("a key needs at least one privilege")
    return [p for p in ALL if p in wanted and not (p.endswith(":read") and p.replace(":read", ":write") in wanted)]


def allows(granted: tuple[str, ...] | list[str], resource: str, level: str) -> bool:
    """Whether a key with `granted` may `level` (read or write) the `resource` (users or groups)."""
    if f"{resource}:write" in granted:
        return True
    return level == "read" and f"{resource}:read" in granted


def grants(granted: tuple[str, ...] | list[str], privilege: Privilege) -> bool:
    """Whether a key with `granted` holds what a route asks (`ANY_KEY`: any valid key does)."""
    if privilege == ANY_KEY:
        return True
    resource, _, level = privilege.partition(":")
    return allows(granted, resource, level)
