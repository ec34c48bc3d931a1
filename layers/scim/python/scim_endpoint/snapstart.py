"""Lambda SnapStart: the API functions start from a snapshot of an initialized environment (imports done, settings
read, the AWS SDK's service models loaded), taken when a version is published (template.yaml).

One snapshot becomes many environments, so nothing that must differ between them, or that does not survive a pause,
may be taken from it (docs/performance.md):
- the AWS clients, with their connection pools and the credentials they were made with, and everything built over
  them (the store, the key cache, the signing keys, the management services): forgotten after a restore, made again
  on first use;
- the `random` module's state: seeded again. (Tokens, ids and salts come from `secrets` and `uuid4`, which read the
  operating system's randomness on every call, and so differ in every environment anyway.)

The hooks come from the Lambda runtime's `snapshot_restore_py`; outside Lambda (the local server, the tests) there is
no such module, and nothing is registered.
"""

from __future__ import annotations

import random
from typing import Any


def register() -> bool:
    """Register the hooks with the runtime; False where there is no SnapStart runtime."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot  # type: ignore
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True


def before_snapshot() -> None:
    """Load the AWS SDK's models of the services every API function calls (DynamoDB, Secrets Manager), so a restored
    environment makes its clients without reading them. No client is made and no credentials are read here: both
    would be this environment's, shared by every restored one."""
    from . import store, tenants

    store.preload_sdk_model()
    tenants.preload_sdk_model()


def after_restore() -> None:
    """Forget what a restored environment must make for itself."""
    random.seed()
    for made in _made_once():
        made.cache_clear()


def _made_once() -> list[Any]:
    """The functions that build, once per process, something holding an AWS client."""
    from . import event_bus, export_bucket, jobs, resources, store, tenants
    from .management import access, services

    return [store.store, tenants.key_cache, tenants.signing_keys, services, access.key_uses, jobs.job_queue,
            jobs.events_dead_letters, export_bucket.export_bucket, event_bus.event_bus, resources._memberships,
            resources.user_resources, resources.group_resources]
