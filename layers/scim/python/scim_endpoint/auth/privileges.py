"""Key privileges, as the admin console grants them: read or write on Users and on Groups; write implies read."""

from __future__ import annotations

RESOURCES = ("users", "groups")
LEVELS = ("read", "write")
ALL = tuple(f"{resource}:{level}" for resource in RESOURCES for level in LEVELS)


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


def required_level(method: str) -> str:
    """GET and the POST of `/.search` read; every other method writes."""
    return "read" if method.upper() in ("GET", "HEAD") else "write"
