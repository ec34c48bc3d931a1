"""Settings read once from the environment the template (or the local server) gives each function."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Settings(BaseModel):
    """The functions' configuration; a missing or malformed value fails the cold start, never a request."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    secrets_prefix: str = Field(min_length=1)
    # How long a container trusts its cached copy of an IdP's keys: the upper bound on how long a revoked
    # key keeps working.
    secrets_cache_ttl_seconds: float = Field(default=60.0, ge=0)
    # A token whose key is not in the cache forces a re-read of the IdP's secret (so new keys work at once),
    # but at most this often per IdP, so a flood of made-up tokens cannot hammer Secrets Manager.
    secrets_miss_refresh_seconds: float = Field(default=1.0, ge=0)
    # Where clients reach the API (scheme, host and any base path, no trailing slash), e.g.
    # `https://scim.example.com`: Tenant URLs, and so every `meta.location`, are built from it. Empty: from API
    # Gateway's request context (its domain name, and the stage on the default execute-api endpoint).
    public_base_url: str = ""
    # How long after a user's deletion the stream's consumer reads the user's memberships from the eventually
    # consistent inverse index; None: the store's INDEX_SETTLE_SECONDS; 0 where the index is consistent (moto).
    index_settle_seconds: float | None = Field(default=None, ge=0, le=60)
    # How often one container records that a key was used (its `last_used_at`): at most one write per key per
    # container per interval, never one per request.
    key_use_interval_seconds: float = Field(default=60.0, ge=0)
    # The management side (the admin and jobs functions): the jobs queue, the export bucket, the log groups an IdP's
    # activity is read from (comma-separated), and how long an erasure waits after the IdP stops being admitted
    # before it reads the table (longer than any request that was admitted just before can run).
    jobs_queue_url: str = ""
    export_bucket: str = ""
    activity_log_groups: str = ""
    erasure_grace_seconds: float = Field(default=60.0, ge=0, le=900)
    # The events' side (the stream's events consumer): the bus, how long each IdP's feed keeps an event, and where
    # events EventBridge keeps refusing go.
    event_bus_name: str = ""
    event_retention_days: int = Field(default=30, ge=1, le=365)
    events_dead_letter_queue_url: str = ""
    # The Secrets Manager secret (name or ARN) holding the keys OAuth access tokens are signed with.
    token_signing_secret: str = ""

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


# Environment variable -> setting.
_ENVIRONMENT = {
    "TABLE_NAME": "table_name",
    "SECRETS_PREFIX": "secrets_prefix",
    "SECRETS_CACHE_TTL_SECONDS": "secrets_cache_ttl_seconds",
    "SECRETS_MISS_REFRESH_SECONDS": "secrets_miss_refresh_seconds",
    "PUBLIC_BASE_URL": "public_base_url",
    "INDEX_SETTLE_SECONDS": "index_settle_seconds",
    "KEY_USE_INTERVAL_SECONDS": "key_use_interval_seconds",
    "JOBS_QUEUE_URL": "jobs_queue_url",
    "EXPORT_BUCKET": "export_bucket",
    "ACTIVITY_LOG_GROUPS": "activity_log_groups",
    "ERASURE_GRACE_SECONDS": "erasure_grace_seconds",
    "EVENT_BUS_NAME": "event_bus_name",
    "EVENT_RETENTION_DAYS": "event_retention_days",
    "EVENTS_DEAD_LETTER_QUEUE_URL": "events_dead_letter_queue_url",
    "TOKEN_SIGNING_SECRET": "token_signing_secret",
}


@cache
def settings() -> Settings:
    """The process-wide settings."""
    given = {field: os.environ[name] for name, field in _ENVIRONMENT.items() if os.environ.get(name, "") != ""}
    try:
        return Settings.model_validate(given)
    except ValidationError as error:
        problems = "; ".join(
            f"{next(n for n, f in _ENVIRONMENT.items() if f == e['loc'][0])}: {e['msg']}" for e in error.errors()
        )
        raise RuntimeError(f"invalid environment: {problems}") from None
