"""What the Groups endpoint does beyond what every resource does (`service`): members, kept as items of their own.

A group's item holds its attributes; each member is an item keyed by group and user, with an inverse index (GSI1)
for a user's groups. So adding or removing one member, renaming, reading a group without its members, and checking
one membership cost the same in a group of 100,000 members as in an empty one. Membership changes do not change the
group's `meta.version`: concurrent member changes never conflict with each other (docs/groups.md).
"""

from __future__ import annotations

from typing import Any

from . import observability, service
from .scim import membership
from .scim import patch as scim_patch
from .scim.paging import ListQuery
from .scim.projection import returns
from .scim.errors import InvalidValue, NotFound, Throttled
from .scim.resource_types import GROUP
from .store import GroupGone, Store, UnknownMember, VersionConflict

# Members one response carries at most; a larger group is read with excludedAttributes=members (docs/groups.md).
MAX_MEMBERS_RETURNED = 10_000
# Above this many additions in one request, users are checked up front (BatchGetItem) so that an unknown one
# changes nothing; below it, each transaction checks its own users.
_CHECKED_IN_TRANSACTION = 49



def search(store: Store, idp_id: str, query: ListQuery, tenant_url: str) -> dict:
    """A ListResponse of groups; each carries its members unless they are excluded (Entra always excludes them)."""
    page = service.search(store, idp_id, GROUP, query, tenant_url)
    if returns("members", query.attributes, query.excluded_attributes):
        for resource in page["Resources"]:
            members = store.members(idp_id, resource["id"], MAX_MEMBERS_RETURNED)
            if members:
                resource["members"] = members
    return page


def with_members(store: Store, idp_id: str, shown: service.Shown) -> service.Shown:
    members = store.members(idp_id, shown.body["id"], MAX_MEMBERS_RETURNED)
    if not members:
        return shown
    body = dict(shown.body)
    meta = body.pop("meta")
    return service.Shown({**body, "members": members, "meta": meta}, shown.version)


def create(store: Store, idp_id: str, body: Any, tenant_url: str) -> service.Shown:
    members = _members_in(body)
    checked = len(members) > _CHECKED_IN_TRANSACTION
    if checked:
        _check_users(store, idp_id, members)
    created = service.create(store, idp_id, GROUP, _without_members(body), tenant_url)
    if members:
        try:
            _change_members(store, idp_id, created.body["id"], members, [], checked)
        except Exception:
            # Nothing of the group may stay (an unknown member, or DynamoDB failing us): take it back first.
            service.delete(store, idp_id, GROUP, created.body["id"], None)
            raise
    observability.count("GroupsCreated")
    observability.record_change("Group", created.body["id"], None, created.body)
    return with_members(store, idp_id, created) if members else created


def replace(
    store: Store, idp_id: str, group_id: str, body: Any, tenant_url: str, if_match: str | None
) -> service.Shown:
    """PUT: the attributes and the member list become what was sent."""
    members = _members_in(body)
    _check_users(store, idp_id, members)
    replaced = _counted(
        service.replace(store, idp_id, GROUP, group_id, _without_members(body), tenant_url, if_match)
    )
    wanted = {m["value"] for m in members}
    removes = [user_id for user_id in store.member_ids(idp_id, group_id) if user_id not in wanted]
    _change_members(store, idp_id, group_id, members, removes, checked=True)
    return with_members(store, idp_id, replaced)


def patch(store: Store, idp_id: str, group_id: str, body: Any, tenant_url: str, if_match: str | None) -> None:
    """PATCH, answered 204 (as Entra's documentation recommends for groups): operations on the group's attributes
    (one conditional write, as for users), then on its members.

    Everything is checked before anything is written: attribute operations are applied to a copy and validated,
    and when members are added together with attribute changes, or more than one transaction's worth of them, the
    users are checked up front. A member-only PATCH is one transaction per 49 additions or 99 removals, and no read.
    """
    attributes_patch, plan = membership.split(GROUP, body)
    if not plan:
        _counted(service.patch(store, idp_id, GROUP, group_id, attributes_patch, tenant_url, if_match))
        return
    if attributes_patch is not None or if_match is not None:
        current = service.get(store, idp_id, GROUP, group_id, tenant_url)
        service.check_if_match(if_match, current.version)
        if attributes_patch is not None:
            scim_patch.apply(GROUP, current.body, attributes_patch)  # raises before anything is written
    adds, removes = plan.resolve(lambda: store.members(idp_id, group_id, limit=None))
    checked = bool(adds) and (attributes_patch is not None or len(adds) > _CHECKED_IN_TRANSACTION)
    if checked:
        _check_users(store, idp_id, adds)
    if attributes_patch is not None:
        _counted(service.patch(store, idp_id, GROUP, group_id, attributes_patch, tenant_url, if_match))
    if not adds and not removes:
        service.get(store, idp_id, GROUP, group_id, tenant_url)  # nothing to write, but the group must exist
        return
    _change_members(store, idp_id, group_id, adds, removes, checked)


def _change_members(
    store: Store, idp_id: str, group_id: str, adds: list[dict], removes: list[str], checked: bool
) -> None:
    if not adds and not removes:
        return
    for attempt in range(service.MAX_ATTEMPTS):
        try:
            store.change_members(idp_id, group_id, adds, removes, check_users=not checked)
            observability.count("MembersAdded", len(adds))
            observability.count("MembersRemoved", len(removes))
            observability.record_members(group_id, len(adds), len(removes))
            return
        except UnknownMember as error:
            raise InvalidValue(f"Member {error.user_id} is not a user of this tenant.") from None
        except GroupGone:
            raise NotFound(f"Group {group_id} not found.") from None
        except VersionConflict:
            # Another transaction held the group's or a user's item (TransactionConflict: concurrent PATCHes of one
            # group, a user being changed). Member writes are idempotent, so the whole change is written again.
            service.back_off(attempt)
    raise Throttled("The group's members are changing too often to change now; retry.", retry_after=1)


def _check_users(store: Store, idp_id: str, members: list[dict]) -> None:
    ids = [m["value"] for m in members]
    found = store.existing(idp_id, "User", ids) if ids else set()
    missing = [user_id for user_id in ids if user_id not in found]
    if missing:
        raise InvalidValue(f"Member {missing[0]} is not a user of this tenant.")


def _members_in(body: Any) -> list[dict]:
    if not isinstance(body, dict):
        return []
    key = next((k for k in body if k.lower() == membership.MEMBERS), None)
    members = membership.members_of(body[key]) if key is not None and body[key] is not None else []
    # A user listed twice is one member (and DynamoDB refuses two writes of one item in a transaction).
    return list({member["value"]: member for member in members}.values())


def _without_members(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {k: v for k, v in body.items() if k.lower() != membership.MEMBERS}


def delete(store: Store, idp_id: str, group_id: str, if_match: str | None) -> None:
    """The group and its guards go in one transaction: from then on it is gone for every reader. Its member items
    are deleted by the cleanup function, which the table's stream runs on the group's removal (docs/groups.md)."""
    service.delete(store, idp_id, GROUP, group_id, if_match)
    observability.count("GroupsDeleted")
    observability.record_change("Group", group_id, None, None)


def _counted(shown: service.Shown) -> service.Shown:
    if shown.previous is not None:
        observability.count("GroupsUpdated")
        observability.record_change("Group", shown.body["id"], shown.previous, shown.body)
        if shown.previous.get("displayName") != shown.body.get("displayName"):
            observability.count("GroupsRenamed")
    return shown


def user_groups(store: Store, idp_id: str, user_id: str, tenant_url: str) -> list[dict]:
    """A user's direct groups for `User.groups`: the inverse index, then the groups themselves (which also drops
    memberships of a group deleted a moment ago, before the cleanup reached them)."""
    group_ids = store.groups_of(idp_id, user_id)
    groups = store.get_many(idp_id, "Group", group_ids) if group_ids else {}
    return [
        {
            "value": group_id,
            "$ref": f"{tenant_url}/Groups/{group_id}",
            "display": groups[group_id].attributes.get("displayName", ""),
            "type": "direct",
        }
        for group_id in group_ids
        if group_id in groups
    ]
