"""The Groups use cases: create, get, search, replace, patch, delete (the same operations as Users). A group's item
holds its attributes; its members are items of their own (`memberships.py`), so adding or removing one member,
renaming, reading a group without its members, and checking one membership cost the same in a group of 100,000
members as in an empty one. Membership changes do not change the group's `meta.version`: concurrent member changes
never conflict with each other (docs/groups.md).

A change of a group's attributes and members (PUT, or a PATCH with both) reads the group once, applies the change
once, and commits: in one transaction when it fits (all or nothing), else its members in steps, each conditional on
the version read, and its own attributes last, so a failure leaves the group's attributes unchanged and a retry of
the same request finishes the job (docs/groups.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .. import observability
from ..scim import membership
from ..scim import patch as scim_patch
from ..scim.errors import InvalidValue, PreconditionFailed
from ..scim.filter import Filter
from ..scim.paging import ListQuery
from ..scim.projection import returns
from ..scim.resource_types import GROUP
from ..scim.validation import normalize
from ..scope import RequestScope
from ..store import MemberWrites, Stored, UnknownMember
from ..store.interface import StoreInterface
from . import common
from .common import Shown
from .memberships import Memberships, count_member_changes, fits, member_filter_ids
from .retry import retried

# What a change computes from the group as read: its new attributes, and the members to add and to remove.
Attributes = Callable[[Stored], dict]
MemberChanges = Callable[[Stored], "tuple[list[dict], list[str]]"]


class Groups:
    resource_type = GROUP

    def __init__(self, store: StoreInterface, memberships: Memberships):
        self._store = store
        self._memberships = memberships

    @property
    def store(self) -> StoreInterface:
        return self._store

    def create(self, scope: RequestScope, body: Any) -> Shown:
        members = _members_in(body)
        attributes = normalize(scope.types.group, _without_members(body))
        stored = common.new_resource(attributes)
        keys = common.unique_keys(scope.types.group, stored.attributes)
        writes = MemberWrites(stored.id, members, [], group_checked=True)
        if fits(writes, also=self._store.resources.create_size(keys)):
            try:
                retried(scope, "the group", lambda: self._store.resources.create(
                    scope.idp_id, scope.types.group.name, stored, keys, writes if members else None))
            except UnknownMember as error:
                raise InvalidValue(f"Member {error.user_id} is not a user of this tenant.") from None
            count_member_changes(stored.id, members, [])
        else:
            # Too many members for one transaction: the group, then its members in steps; if they fail, nothing of
            # the group may stay (its member items go with it, by the stream's cleanup).
            self._memberships.check_users(scope, members)
            retried(scope, "the group",
                    lambda: self._store.resources.create(scope.idp_id, scope.types.group.name, stored, keys))
            try:
                self._memberships.write_steps(scope, stored.id, members, [], group_version=None)
            except Exception:
                self._undo_create(scope, stored.id)
                raise
        created = common.shown(scope, scope.types.group, stored)
        observability.count("GroupsCreated")
        observability.record_change("Group", created.body["id"], None, created.body)
        return self._with_members(scope, created) if members else created

    def get(self, scope: RequestScope, group_id: str) -> Shown:
        """A group; with its members (one Query) unless the projection leaves them out."""
        with_members = returns("members", scope.projection.attributes, scope.projection.excluded)
        found = common.get(self._store, scope, scope.types.group, group_id, versioned=not with_members)
        if not with_members:
            return found
        return self._with_members(scope, found)

    def search(self, scope: RequestScope, query: ListQuery) -> dict:
        """A ListResponse of groups; each carries its members unless they are excluded (Entra always excludes them),
        read only for the groups that make the page."""
        return common.search(self._store, scope, self.listed(scope, query), query)

    def completion(self, scope: RequestScope, query: ListQuery) -> common.Enrich | None:
        """What a list shows of a group beyond its item: all its members, unless the query leaves them out; never
        just the few a filter on members read (`_enrich_for`)."""
        if not returns("members", query.attributes, query.excluded_attributes):
            return None

        def with_members(resource: dict) -> dict:
            members = self._memberships.members(scope, resource["id"])
            if members:
                return common.placed(resource, "members", members)
            return {key: value for key, value in resource.items() if key != "members"}

        return with_members

    def matching(self, scope: RequestScope, expr: Filter | None):
        return common.matching(self._store, scope, scope.types.group, expr, self._enrich_for(scope, expr))

    def listed(self, scope: RequestScope, query: ListQuery) -> common.Listed:
        """Groups as a list: a search's, by index or cursor, on its own or beside users."""
        return common.Listed(scope.types.group, self._enrich_for(scope, query.filter), self.completion(scope, query))

    def _enrich_for(self, scope: RequestScope, expr: Filter | None):
        """What a filter on members needs: the members it asks about, read for each candidate group (Entra's
        membership check `id eq "g" and members eq "u"` costs one GetItem more)."""
        if expr is None or member_filter_ids(expr) == []:
            return None
        return lambda resource: {**resource, "members": self._memberships.for_filter(scope, resource["id"], expr)}

    def replace(self, scope: RequestScope, group_id: str, body: Any) -> Shown:
        """PUT: the attributes and the member list become what was sent."""
        wanted = {member["value"]: member for member in _members_in(body)}
        attributes = normalize(scope.types.group, _without_members(body))

        def member_changes(current: Stored) -> tuple[list[dict], list[str]]:
            now = {m["value"]: m for m in self._memberships.members(scope, group_id, limit=None)}
            return [m for user_id, m in wanted.items() if now.get(user_id) != m], [u for u in now if u not in wanted]

        replaced = _counted(self._change(
            scope, group_id, lambda current: common.replacing(scope.types.group, current, attributes), member_changes))
        return self._with_members(scope, replaced)

    def patch(self, scope: RequestScope, group_id: str, body: Any) -> None:
        """PATCH, answered 204 (as Entra's documentation recommends for groups). Everything is checked before anything
        is written (the operations are parsed and validated first). Operations on the group's own attributes only: one
        read and one conditional write, as for users. On members only (Entra's usual PATCH): no read, one transaction
        per 49 additions or 99 removals, each checking the group and the users it adds. Both: one read, then
        `_change`."""
        attributes_patch, plan = membership.split(scope.types.group, body)
        if not plan:
            _counted(self._change(scope, group_id, _patched(scope, attributes_patch), _no_member_changes))
            return
        if attributes_patch is None and scope.if_match is None:
            self._change_members(scope, group_id, plan)
            return
        attributes_of = _patched(scope, attributes_patch) if attributes_patch is not None else _unchanged
        _counted(self._change(scope, group_id, attributes_of,
                              lambda current: plan.resolve(lambda: self._memberships.members(scope, group_id, None))))

    def delete(self, scope: RequestScope, group_id: str) -> None:
        """The group and its guards go in one transaction: from then on it is gone for every reader. Its member items
        are deleted by the cleanup function, which the table's stream runs on the group's removal (docs/groups.md)."""
        common.delete(self._store, scope, scope.types.group, group_id)
        observability.count("GroupsDeleted")
        observability.record_change("Group", group_id, None, None)

    # -- committing a change -------------------------------------------------------------------------------------

    def _change_members(self, scope: RequestScope, group_id: str, plan: membership.MemberPlan) -> None:
        """Members only, without reading the group: each transaction checks that it exists."""
        adds, removes = plan.resolve(lambda: self._memberships.members(scope, group_id, limit=None))
        writes = MemberWrites(group_id, adds, removes)
        if not adds and not removes:
            common.read(self._store, scope, scope.types.group, group_id)  # nothing to write, but the group must exist
        elif fits(writes):
            retried(scope, "the group's members", lambda: self._memberships.write(scope, writes))
        else:
            self._memberships.check_users(scope, adds)
            self._memberships.write_steps(scope, group_id, adds, removes, group_version=None)

    def _change(self, scope: RequestScope, group_id: str, attributes_of: Attributes,
                member_changes: MemberChanges) -> Shown:
        """One read, the change computed once, then one transaction when it fits; else the members in steps (each
        conditional on the version read) and the attributes last. Retried on a lost race; with If-Match a 412 that
        says what was written."""
        steps_written = False

        def precondition_failed() -> PreconditionFailed:
            detail = "The group changed since the version in If-Match."
            if steps_written:
                detail += " Some of its member changes were written; its own attributes were not."
            return PreconditionFailed(detail)

        def attempt() -> Shown:
            current = common.read(self._store, scope, scope.types.group, group_id)
            common.check_if_match(scope.if_match, current.version)
            new = common.changed(current, attributes_of(current), current.password)
            adds, removes = member_changes(current)
            keys = common.held_keys(scope.types.group, current)
            new_keys = common.unique_keys(scope.types.group, new.attributes) if new is not None else keys
            if new is not None:
                writes = MemberWrites(group_id, adds, removes, group_checked=True)
                if fits(writes, also=self._store.resources.update_size(keys, new_keys)):
                    try:
                        self._store.resources.update(scope.idp_id, scope.types.group.name, current, new, keys, new_keys,
                                                     writes if adds or removes else None)
                    except UnknownMember as error:
                        raise InvalidValue(f"Member {error.user_id} is not a user of this tenant.") from None
                    count_member_changes(group_id, adds, removes)
                    return Shown(common.show(scope, scope.types.group, new), new.version, previous=current.attributes)
            elif not adds and not removes:
                return common.shown(scope, scope.types.group, current)  # nothing changes: no write, same version
            else:
                writes = MemberWrites(group_id, adds, removes, group_version=current.version)
                if fits(writes):
                    self._memberships.write(scope, writes)
                    return common.shown(scope, scope.types.group, current)
            # Too large for one transaction: the members in steps, each conditional on the version read, then the
            # group's own attributes, conditional on it too. A failure leaves the attributes as they were.
            self._memberships.check_users(scope, adds)

            def step_written() -> None:
                nonlocal steps_written
                steps_written = True

            self._memberships.write_steps(scope, group_id, adds, removes, current.version, step_written)
            if new is None:
                return common.shown(scope, scope.types.group, current)
            self._store.resources.update(scope.idp_id, scope.types.group.name, current, new, keys, new_keys)
            return Shown(common.show(scope, scope.types.group, new), new.version, previous=current.attributes)

        return retried(scope, "the group", attempt, precondition_failed)

    def _undo_create(self, scope: RequestScope, group_id: str) -> None:
        """Delete a group whose members could not all be written. Should that fail too (the table throttling past the
        SDK's retries), the client still gets the first error, and the group stays with the members written so far:
        a retried POST is then 409, and a lookup by displayName (Entra's, before it creates) finds it to PATCH."""
        try:
            common.delete(self._store, dataclasses.replace(scope, if_match=None), scope.types.group, group_id)
        except Exception:
            observability.logger.exception("a group whose members failed could not be deleted again",
                                           extra={"resource_id": group_id})

    def _with_members(self, scope: RequestScope, found: Shown) -> Shown:
        return common.with_attribute(found, "members", self._memberships.members(scope, found.body["id"]))


def _patched(scope: RequestScope, operations: Any) -> Attributes:
    group = scope.types.group
    return lambda current: scim_patch.apply(group, common.show(scope, group, current), operations)


def _unchanged(current: Stored) -> dict:
    return current.attributes


def _no_member_changes(current: Stored) -> tuple[list[dict], list[str]]:
    return [], []


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
