"""The Groups use cases: create, get, search, replace, patch, delete (the same operations as Users). A group's item
holds its attributes; its members are items of their own (`memberships.py`), so adding or removing one member,
renaming, reading a group without its members, and checking one membership cost the same in a group of 100,000
members as in an empty one. Membership changes do not change the group's `meta.version`: concurrent member changes
never conflict with each other (docs/groups.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import observability
from ..scim import membership
from ..scim import patch as scim_patch
from ..scim.filter import Filter
from ..scim.paging import ListQuery
from ..scim.projection import returns
from ..scim.resource_types import GROUP
from ..scim.validation import normalize
from ..scope import RequestScope
from ..store import Store, Stored
from . import common
from .common import Shown
from .memberships import Memberships, member_filter_ids

# Above this many additions in one request, users are checked up front (BatchGetItem) so that an unknown one
# changes nothing; below it, each transaction checks its own users.
_CHECKED_IN_TRANSACTION = 49


class Groups:
    resource_type = GROUP

    def __init__(self, store: Store, memberships: Memberships):
        self._store = store
        self._memberships = memberships

    def create(self, scope: RequestScope, body: Any) -> Shown:
        members = _members_in(body)
        attributes = normalize(GROUP, _without_members(body))
        checked = len(members) > _CHECKED_IN_TRANSACTION
        if checked:
            self._memberships.check_users(scope, members)
        created = common.create(self._store, scope, GROUP, attributes)
        if members:
            try:
                self._memberships.change(scope, created.body["id"], members, [], checked)
            except Exception:
                # Nothing of the group may stay (an unknown member, or DynamoDB failing us): take it back first.
                common.delete(self._store, dataclasses.replace(scope, if_match=None), GROUP, created.body["id"])
                raise
        observability.count("GroupsCreated")
        observability.record_change("Group", created.body["id"], None, created.body)
        return self._with_members(scope, created) if members else created

    def get(self, scope: RequestScope, group_id: str) -> Shown:
        """A group; with its members (one Query) unless the projection leaves them out."""
        found = common.get(self._store, scope, GROUP, group_id)
        if not returns("members", scope.projection.attributes, scope.projection.excluded):
            return found
        return self._with_members(scope, found)

    def search(self, scope: RequestScope, query: ListQuery) -> dict:
        """A ListResponse of groups; each carries its members unless they are excluded (Entra always excludes them),
        read only for the groups that make the page."""
        complete = None
        if returns("members", query.attributes, query.excluded_attributes):
            def complete(resource: dict) -> dict:
                members = self._memberships.members(scope, resource["id"])
                return {**resource, "members": members} if members else resource
        return common.search(self._store, scope, GROUP, query, enrich=self._enrich_for(scope, query.filter),
                             complete=complete)

    def matching(self, scope: RequestScope, expr: Filter | None):
        return common.matching(self._store, scope, GROUP, expr, self._enrich_for(scope, expr))

    def _enrich_for(self, scope: RequestScope, expr: Filter | None):
        """What a filter on members needs: the members it asks about, read for each candidate group (Entra's
        membership check `id eq "g" and members eq "u"` costs one GetItem more)."""
        if expr is None or member_filter_ids(expr) == []:
            return None
        return lambda resource: {**resource, "members": self._memberships.for_filter(scope, resource["id"], expr)}

    def replace(self, scope: RequestScope, group_id: str, body: Any) -> Shown:
        """PUT: the attributes and the member list become what was sent."""
        members = _members_in(body)
        attributes = normalize(GROUP, _without_members(body))
        self._memberships.check_users(scope, members)
        replaced = _counted(common.change(self._store, scope, GROUP, group_id, lambda current: (attributes, None)))
        wanted = {m["value"] for m in members}
        removes = [user_id for user_id in self._memberships.member_ids(scope, group_id) if user_id not in wanted]
        self._memberships.change(scope, group_id, members, removes, checked=True)
        return self._with_members(scope, replaced)

    def patch(self, scope: RequestScope, group_id: str, body: Any) -> None:
        """PATCH, answered 204 (as Entra's documentation recommends for groups): operations on the group's attributes
        (one conditional write, as for users), then on its members.

        Everything is checked before anything is written: attribute operations are applied to a copy and validated,
        and when members are added together with attribute changes, or more than one transaction's worth of them, the
        users are checked up front. A member-only PATCH is one transaction per 49 additions or 99 removals, and no
        read.
        """
        attributes_patch, plan = membership.split(GROUP, body)
        if not plan:
            _counted(self._patch_attributes(scope, group_id, attributes_patch))
            return
        if attributes_patch is not None or scope.if_match is not None:
            current = common.read(self._store, scope, GROUP, group_id)
            common.check_if_match(scope.if_match, current.version)
            if attributes_patch is not None:
                # raises before anything is written
                scim_patch.apply(GROUP, common.show(scope, GROUP, current), attributes_patch)
        adds, removes = plan.resolve(lambda: self._memberships.members(scope, group_id, limit=None))
        checked = bool(adds) and (attributes_patch is not None or len(adds) > _CHECKED_IN_TRANSACTION)
        if checked:
            self._memberships.check_users(scope, adds)
        if attributes_patch is not None:
            _counted(self._patch_attributes(scope, group_id, attributes_patch))
        if not adds and not removes:
            common.read(self._store, scope, GROUP, group_id)  # nothing to write, but the group must exist
            return
        self._memberships.change(scope, group_id, adds, removes, checked)

    def _patch_attributes(self, scope: RequestScope, group_id: str, operations: Any) -> Shown:
        def compute(current: Stored) -> tuple[dict, str | None]:
            return scim_patch.apply(GROUP, common.show(scope, GROUP, current), operations), None

        return common.change(self._store, scope, GROUP, group_id, compute)

    def delete(self, scope: RequestScope, group_id: str) -> None:
        """The group and its guards go in one transaction: from then on it is gone for every reader. Its member items
        are deleted by the cleanup function, which the table's stream runs on the group's removal (docs/groups.md)."""
        common.delete(self._store, scope, GROUP, group_id)
        observability.count("GroupsDeleted")
        observability.record_change("Group", group_id, None, None)

    def _with_members(self, scope: RequestScope, found: Shown) -> Shown:
        return common.with_attribute(found, "members", self._memberships.members(scope, found.body["id"]))


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


def _counted(shown: Shown) -> Shown:
    if shown.previous is not None:
        observability.count("GroupsUpdated")
        observability.record_change("Group", shown.body["id"], shown.previous, shown.body)
        if shown.previous.get("displayName") != shown.body.get("displayName"):
            observability.count("GroupsRenamed")
    return shown
