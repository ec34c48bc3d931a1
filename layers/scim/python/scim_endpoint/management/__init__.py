"""The management use cases: what the SaaS product's backend does through the management API (functions/admin/),
and what the background jobs do (functions/jobs/).

- `idps`: an IdP's lifecycle: create, list, read, rename, and delete (every key stops at once; all its data is then
  erased in the background, resumably: `erasure`);
- `keys`: its API keys: create (with an optional expiry), list (with when each was last used), revoke; and its
  allow-list of source networks;
- `access`: admitting a SCIM request: the token (Secrets Manager, cached), then the IdP's state and the revision of
  its keys (the registry, one read), then the key's last use (at most one write per key per container per minute);
- `export`: the IdP's users, groups and memberships as JSON Lines, inline or written to S3;
- `activity`: the changes asked of an IdP, from the log lines.

The use cases reach AWS only through the store (DynamoDB), `tenants` (Secrets Manager), `jobs` (SQS),
`export_bucket` (S3) and `activity_log` (CloudWatch Logs), each built lazily by `Services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from ..config import Settings


@dataclass
class Services:
    """What the management use cases work with, each made on first use."""

    store: Any  # store.DynamoStore (or the tests' equivalent): resources, memberships, registry
    directory: Any  # tenants.TenantDirectory
    settings: Settings

    def tenant_url(self, idp_id: str) -> str:
        return f"{self.settings.public_base_url}/v1/scim/{idp_id}"

    def token_endpoint(self) -> str:
        return f"{self.settings.public_base_url}/v1/oauth2/token"

    @cached_property
    def jobs(self) -> Any:
        from ..jobs import job_queue

        return job_queue()

    @cached_property
    def exports(self) -> Any:
        from ..export_bucket import export_bucket

        return export_bucket()

    @cached_property
    def event_bus(self) -> Any:
        from ..event_bus import event_bus

        return event_bus()

    @cached_property
    def events_dead_letters(self) -> Any:
        from ..jobs import events_dead_letters

        return events_dead_letters()

    @property
    def activity(self) -> Any:
        from ..activity_log import activity_source

        return activity_source()


@cache
def services() -> Services:
    """The container's services, built on first use from the settings."""
    from ..config import settings
    from ..store import store
    from ..tenants import TenantDirectory, secretsmanager_client

    return Services(store(), TenantDirectory(secretsmanager_client(), settings().secrets_prefix), settings())
