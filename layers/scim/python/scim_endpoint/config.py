"""Settings read once from the environment the template (or the local server) gives each function."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    secrets_prefix: str
    # How long a container trusts its cached copy of an IdP's keys: the upper bound on how long a revoked
    # key keeps working.
    secrets_cache_ttl_seconds: float = 60.0
    # A token whose key is not in the cache forces a re-read of the IdP's secret (so new keys work at once),
    # but at most this often per IdP, so a flood of made-up tokens cannot hammer Secrets Manager.
    secrets_miss_refresh_seconds: float = 1.0


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@cache
def settings() -> Settings:
    """The process-wide settings; a missing required variable fails the cold start, not a request."""
    missing = [name for name in ("TABLE_NAME", "SECRETS_PREFIX") if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
    return Settings(
        table_name=os.environ["TABLE_NAME"],
        secrets_prefix=os.environ["SECRETS_PREFIX"],
        secrets_cache_ttl_seconds=_number("SECRETS_CACHE_TTL_SECONDS", 60.0),
        secrets_miss_refresh_seconds=_number("SECRETS_MISS_REFRESH_SECONDS", 1.0),
    )
