"""What the Users endpoint does beyond what every resource does (`service`): the read-only `groups` attribute, and
leaving every group when deleted."""

from __future__ import annotations

from typing import Any

from . import groups, observability, service
from .scim.resource_types import USER
from .store import Store


def create(store: Store, idp_id: str, body: Any, tenant_url: str) -> service.Shown:
    created = service.create(store, idp_id, USER, body, tenant_url)
    observability.count("UsersCreated")
    observability.record_change("User", created.body["id"], None, created.body)
    return created



def replace(store: Store, idp_id: str, user_id: str, body: Any, tenant_url: str, if_match: str | None):
    return _counted(service.replace(store, idp_id, USER, user_id, body, tenant_url, if_match))


def patch(store: Store, idp_id: str, user_id: str, body: Any, tenant_url: str, if_match: str | None):
    return _counted(service.patch(store, idp_id, USER, user_id, body, tenant_url, if_match))


def _counted(shown: service.Shown) -> service.Shown:
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



def get(
    store: Store, idp_id: str, user_id: str, tenant_url: str, if_none_match: str | None, with_groups: bool
) -> service.Shown:
    """A user; with its direct groups (two more calls: the inverse index and the groups) unless they are not
    wanted. Lists and filters do not carry `groups`: that would cost two calls per user (docs/groups.md)."""
    shown = service.get(store, idp_id, USER, user_id, tenant_url, if_none_match)
    if not with_groups:
        return shown
    member_of = groups.user_groups(store, idp_id, user_id, tenant_url)
    if not member_of:
        return shown
    body = dict(shown.body)
    meta = body.pop("meta")
    return service.Shown({**body, "groups": member_of, "meta": meta}, shown.version)


def delete(store: Store, idp_id: str, user_id: str, if_match: str | None) -> None:
    """Leave every group, then go. Leaving first means a failure part-way leaves a user who still exists (a retry
    finishes the job), never a member who does not; a membership added in between is swept by the cleanup
    function when the user's item goes (docs/groups.md)."""
    service.delete(store, idp_id, USER, user_id, if_match,
                   before=lambda current: store.delete_memberships_of(idp_id, user_id))
    observability.count("UsersDeleted")
    observability.record_change("User", user_id, None, None)
