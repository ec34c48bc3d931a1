"""The Users use cases: create, get, search, replace, patch, delete (the same operations as Groups), over the store
and the memberships (a user's read-only `groups`, and leaving every group when deleted)."""

from __future__ import annotations

from typing import Any

from .. import observability
from ..scim import patch as scim_patch
from ..scim.filter import Filter
from ..scim.paging import ListQuery
from ..scim.projection import returns
from ..scim.resource_types import USER
from ..scim.validation import normalize
from ..scope import RequestScope
from ..store import Stored
from ..store.interface import MAX_TRANSACTION_ACTIONS, StoreInterface
from . import common
from .common import Shown
from .memberships import Memberships


class Users:
    resource_type = USER

    def __init__(self, store: StoreInterface, memberships: Memberships):
        self._store = store
        self._memberships = memberships

    @property
    def store(self) -> StoreInterface:
        return self._store

    def create(self, scope: RequestScope, body: Any) -> Shown:
        created = common.create(self._store, scope, scope.types.user, normalize(scope.types.user, body))
        observability.count("UsersCreated")
        observability.record_change("User", created.body["id"], None, created.body)
        return created

    def get(self, scope: RequestScope, user_id: str) -> Shown:
        """A user; with its direct groups (two more calls: the inverse index and the groups) unless the projection
        leaves them out. Lists and filters do not carry `groups`: that would cost two calls per user
        (docs/groups.md)."""
        with_groups = returns("groups", scope.projection.attributes, scope.projection.excluded)
        found = common.get(self._store, scope, scope.types.user, user_id, versioned=not with_groups)
        if not with_groups:
            return found
        return common.with_attribute(found, "groups", self._memberships.groups_of(scope, user_id))

    def search(self, scope: RequestScope, query: ListQuery) -> dict:
        return common.search(self._store, scope, self.listed(scope, query), query)

    def completion(self, scope: RequestScope, query: ListQuery) -> common.Enrich | None:
        """Lists show a user's item only: its `groups` would cost two calls per user (docs/groups.md)."""
        return None

    def listed(self, scope: RequestScope, query: ListQuery) -> common.Listed:
        """Users as a list: a search's, by index or cursor, on its own or beside groups."""
        return common.Listed(scope.types.user, None, self.completion(scope, query))

    def matching(self, scope: RequestScope, expr: Filter | None):
        return common.matching(self._store, scope, scope.types.user, expr)

    def replace(self, scope: RequestScope, user_id: str, body: Any) -> Shown:
        """PUT: the user becomes what was sent (read-only attributes aside; a password not sent is kept)."""
        attributes = normalize(scope.types.user, body)
        password = attributes.pop("password", None)

        def compute(current: Stored) -> tuple[dict, str | None]:
            kept = common.replacing(scope.types.user, current, attributes)
            return kept, common.hash_password(password) if password is not None else current.password

        return _counted(common.change(self._store, scope, scope.types.user, user_id, compute))

    def patch(self, scope: RequestScope, user_id: str, body: Any) -> Shown:
        def compute(current: Stored) -> tuple[dict, str | None]:
            attributes = scim_patch.apply(scope.types.user, common.show(scope, scope.types.user, current), body)
            password = attributes.pop("password", None)
            return attributes, common.hash_password(password) if password is not None else current.password

        return _counted(common.change(self._store, scope, scope.types.user, user_id, compute))

    def delete(self, scope: RequestScope, user_id: str) -> None:
        """The user, its guards and its memberships go in one transaction, conditional on the version read (so a
        412 or a lost race leaves the user and every membership as they were). The memberships are those the inverse
        index shows, as many as fit; the others, and any the eventually consistent index did not show yet, are
        deleted by the cleanup function when the stream reports the user's removal (docs/groups.md)."""

        def memberships_of(current: Stored) -> list[str]:
            room = MAX_TRANSACTION_ACTIONS - 1 - len(common.held_keys(scope.types.user, current))
            return self._memberships.group_ids_of(scope, user_id)[:room]

        common.delete(self._store, scope, scope.types.user, user_id, memberships_of)
        observability.count("UsersDeleted")
        observability.record_change("User", user_id, None, None)


def _counted(shown: Shown) -> Shown:
    """Count a change that wrote something, and a disable or re-enable (Entra disables by `active: false`)."""
    if shown.previous is not None:
        observability.count("UsersUpdated")
        observability.record_change("User", shown.body["id"], shown.previous, shown.body)
        was_active, is_active = shown.previous.get("active") is not False, shown.body.get("active") is not False
        if was_active and not is_active:
            observability.count("UsersDeactivated")
        elif is_active and not was_active:
            observability.count("UsersReactivated")
    return shown
