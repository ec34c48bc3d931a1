"""Upgrading a stack's data (`scim-admin upgrade`, `scim-admin migrate-guards`).

`migrate` moves the uniqueness guards of resources written by an earlier version to the keys this version makes.
Guard keys of `userName` and group `displayName` compare canonical caseless forms (NFC, case-folded, NFC again); an
earlier version case-folded only, and did not record the keys in the resource. Such a resource still works: its
guards are found under the old keys (`resources.common.held_keys`), a lookup falls back to the old key, and its next
change moves them. Until then, two names that differ only by Unicode normalization (a precomposed and a decomposed
"Zoë") could both be taken. This rewrites every resource whose guards are not yet under the current keys — one
conditional transaction each, as a change would — so the uniqueness rule holds for all of them at once.

`adopt_idps` writes the registry item of every IdP made before the registry existed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from scim_endpoint.resources import common
from scim_endpoint.scim.errors import Conflict
from scim_endpoint.scim.resource_types import GROUP, USER
from scim_endpoint.store import Contention, VersionConflict


@dataclass
class Migration:
    examined: int = 0
    moved: int = 0
    conflicts: list[str] = field(default_factory=list)  # "<idp> <type> <id>": a name another resource holds now
    retried: int = 0

    def as_dict(self) -> dict:
        return {"examined": self.examined, "moved": self.moved, "conflicts": self.conflicts}


def migrate(store: Any) -> Migration:
    result = Migration()
    for idp_id, kind, stored in store.resources.all_resources():
        result.examined += 1
        resource_type = USER if kind == "User" else GROUP
        for _ in range(3):  # a lost race: read it again
            wanted = common.unique_keys(resource_type, stored.attributes)
            if stored.guards == wanted:
                break
            new = dataclasses.replace(stored, version=stored.version + 1, last_modified=common.timestamp())
            try:
                store.resources.update(idp_id, kind, stored, new, common.held_keys(resource_type, stored), wanted)
                result.moved += 1
                break
            except Conflict:
                result.conflicts.append(f"{idp_id} {kind} {stored.id}")
                break
            except (VersionConflict, Contention):
                result.retried += 1
                fresh = store.resources.get(idp_id, kind, stored.id)
                if fresh is None:
                    break
                stored = fresh
    return result


def adopt_idps(store: Any, directory: Any) -> list[str]:
    """Write the registry item of every IdP that has a secret and no item yet (made before the registry): what its
    first request would do, for all of them at once, so the management API lists them all. Returns their ids."""
    from scim_endpoint.management.access import adopt

    adopted = []
    for idp_id in directory.idp_ids():
        if store.registry.get(idp_id) is None and adopt(store.registry, directory, idp_id) is not None:
            adopted.append(idp_id)
    return adopted
