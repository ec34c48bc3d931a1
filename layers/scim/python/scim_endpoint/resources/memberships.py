"""Group memberships, the one thing users and groups share: each member is an item keyed by group and user, with an
inverse index (GSI1) for a user's groups (docs/groups.md). Users read their `groups` here and leave their groups
here; groups read and change their `members` here. Neither `users.py` nor `groups.py` imports the other.
"""

from __future__ import annotations

from .. import observability
from ..scim.errors import InvalidValue, NotFound, Throttled
from ..scim.filter import AttrPath, Compare, Filter, walk
from ..scope import RequestScope
from ..store import GroupGone, Store, UnknownMember, VersionConflict
from . import common

# Members one response carries at most; a larger group is read with excludedAttributes=members (docs/groups.md).
MAX_MEMBERS_RETURNED = 10_000
# Members read to evaluate a filter on a group's members other than by id (e.g. `members.display co "x"`).
MAX_MEMBERS_EVALUATED = 10_000


class Memberships:
    def __init__(self, store: Store):
        self._store = store

    # -- a group's members -------------------------------------------------------------------------------------

    def members(self, scope: RequestScope, group_id: str, limit: int | None = MAX_MEMBERS_RETURNED) -> list[dict]:
        """A group's members in a stable order (by user id); 400 tooMany beyond `limit`."""
        return self._store.members(scope.idp_id, group_id, limit)

    def member_ids(self, scope: RequestScope, group_id: str) -> list[str]:
        return list(self._store.member_ids(scope.idp_id, group_id))

    def for_filter(self, scope: RequestScope, group_id: str, expr: Filter) -> list[dict]:
        """Enough of a group's members to evaluate `expr`: the asked-for ones by GetItem, or all of them."""
        ids = member_filter_ids(expr)
        if ids is None:
            return self._store.members(scope.idp_id, group_id, MAX_MEMBERS_EVALUATED)
        found = (self._store.get_member(scope.idp_id, group_id, user_id) for user_id in ids)
        return [member for member in found if member is not None]

    def change(
        self, scope: RequestScope, group_id: str, adds: list[dict], removes: list[str], checked: bool
    ) -> None:
        """Write membership changes (idempotent, so a lost race writes the whole change again). `checked`: the
        users were checked up front; else each transaction checks its own."""
        if not adds and not removes:
            return
        for attempt in range(common.MAX_ATTEMPTS):
            try:
                self._store.change_members(scope.idp_id, group_id, adds, removes, check_users=not checked)
                observability.count("MembersAdded", len(adds))
                observability.count("MembersRemoved", len(removes))
                observability.record_members(group_id, len(adds), len(removes))
                return
            except UnknownMember as error:
                raise InvalidValue(f"Member {error.user_id} is not a user of this tenant.") from None
            except GroupGone:
                raise NotFound(f"Group {group_id} not found.") from None
            except VersionConflict:
                # Another transaction held the group's or a user's item (TransactionConflict: concurrent PATCHes of
                # one group, a user being changed). Member writes are idempotent, so the whole change is written again.
                common.back_off(attempt)
        raise Throttled("The group's members are changing too often to change now; retry.", retry_after=1)

    def check_users(self, scope: RequestScope, members: list[dict]) -> None:
        """400 unless every member is a user of the tenant (BatchGetItem of their keys)."""
        ids = [m["value"] for m in members]
        found = self._store.existing(scope.idp_id, "User", ids) if ids else set()
        missing = [user_id for user_id in ids if user_id not in found]
        if missing:
            raise InvalidValue(f"Member {missing[0]} is not a user of this tenant.")

    # -- a user's groups ---------------------------------------------------------------------------------------

    def groups_of(self, scope: RequestScope, user_id: str) -> list[dict]:
        """A user's direct groups for `User.groups`: the inverse index, then the groups themselves (which also drops
        memberships of a group deleted a moment ago, before the cleanup reached them)."""
        group_ids = self._store.groups_of(scope.idp_id, user_id)
        groups = self._store.get_many(scope.idp_id, "Group", group_ids) if group_ids else {}
        return [
            {
                "value": group_id,
                "$ref": f"{scope.tenant_url}/Groups/{group_id}",
                "display": groups[group_id].attributes.get("displayName", ""),
                "type": "direct",
            }
            for group_id in group_ids
            if group_id in groups
        ]

    def leave_all(self, scope: RequestScope, user_id: str) -> None:
        """Remove a user from every group."""
        self._store.delete_memberships_of(scope.idp_id, user_id)


def member_filter_ids(expr: Filter) -> list[str] | None:
    """The user ids a filter compares `members` (or `members.value`) with by `eq`, or None when it asks anything
    else of members (then the members must be read)."""
    ids: list[str] = []
    other = False
    for node in walk(expr):
        path = getattr(node, "path", None)
        if not isinstance(path, AttrPath) or path.attr.lower() != "members":
            continue
        if isinstance(node, Compare) and node.op == "eq" and (path.sub_attr or "value").lower() == "value":
            ids.extend(reading.value for reading in node.readings() if isinstance(reading.value, str))
        else:
            other = True
    return None if other else ids
