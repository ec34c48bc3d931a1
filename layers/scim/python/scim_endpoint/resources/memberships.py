"""Group memberships, the one thing users and groups share: users read their `groups` here and leave their groups
here; groups read and change their `members` here. Neither `users.py` nor `groups.py` imports the other.

Writing a change of members: every transaction that adds a membership checks, in that transaction, that each user
exists and that the group exists (or is still at the version its writer read), so no membership of a missing user or
group is ever written. A change that fits one transaction is all or nothing. A larger one is written in steps
(`steps`): its users are checked up front, so an unknown user is a 400 before anything is written; additions come
before removals; and a user deleted between the check and its step is left out (as if deleted just after being
added). Every step is idempotent, so a request that failed part-way finishes when it is retried.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .. import observability
from ..scim.errors import InvalidValue, NotFound
from ..scim.filter import AttrPath, Compare, Filter, walk
from ..scope import RequestScope
from ..store import GroupGone, MemberWrites, UnknownMember
from ..store.interface import MAX_TRANSACTION_ACTIONS, StoreInterface
from .retry import retried

# Members one response carries at most; a larger group is read with excludedAttributes=members (docs/groups.md).
# Chosen so that a group at this count, with the largest members and attributes allowed, fits the response budget.
MAX_MEMBERS_RETURNED = 5_000
# Members read to evaluate a filter on a group's members other than by id (e.g. `members.display co "x"`).
MAX_MEMBERS_EVALUATED = 10_000


class Memberships:
    def __init__(self, store: StoreInterface):
        self._store = store

    # -- a group's members -------------------------------------------------------------------------------------

    def members(self, scope: RequestScope, group_id: str, limit: int | None = MAX_MEMBERS_RETURNED) -> list[dict]:
        """A group's members in a stable order (by user id); 400 tooMany beyond `limit`."""
        return self._store.memberships.members(scope.idp_id, group_id, limit)

    def for_filter(self, scope: RequestScope, group_id: str, expr: Filter) -> list[dict]:
        """Enough of a group's members to evaluate `expr`: the asked-for ones by GetItem, or all of them."""
        ids = member_filter_ids(expr)
        if ids is None:
            return self._store.memberships.members(scope.idp_id, group_id, MAX_MEMBERS_EVALUATED)
        found = (self._store.memberships.get_member(scope.idp_id, group_id, user_id) for user_id in ids)
        return [member for member in found if member is not None]

    def check_users(self, scope: RequestScope, members: list[dict]) -> None:
        """400 unless every member is a user of the tenant (BatchGetItem of their keys)."""
        ids = [m["value"] for m in members]
        found = self._store.resources.existing(scope.idp_id, "User", ids) if ids else set()
        missing = [user_id for user_id in ids if user_id not in found]
        if missing:
            raise InvalidValue(f"Member {missing[0]} is not a user of this tenant.")

    def write(self, scope: RequestScope, writes: MemberWrites) -> None:
        """One transaction of member writes, all or nothing; an unknown user is a 400, a missing group a 404. A lost
        race on the group's version is the caller's to handle (it re-reads)."""
        try:
            self._store.memberships.write(scope.idp_id, writes)
        except UnknownMember as error:
            raise InvalidValue(f"Member {error.user_id} is not a user of this tenant.") from None
        except GroupGone:
            raise NotFound(f"Group {writes.group_id} not found.") from None
        count_member_changes(writes.group_id, writes.adds, writes.removes)

    def write_steps(self, scope: RequestScope, group_id: str, adds: list[dict], removes: list[str],
                    group_version: int | None, written: Callable[[], None] = lambda: None) -> None:
        """A change too large for one transaction, in steps (`steps`), each retried on contention; the users to add
        must have been checked (`check_users`). A user deleted since is left out of its step. A lost race on the
        group's version (`VersionConflict`) is the caller's: it reads the group again. `written()` is called after
        each step."""
        for step in steps(group_id, adds, removes, group_version):
            self._write_step(scope, step)
            written()
        count_member_changes(group_id, adds, removes)

    def _write_step(self, scope: RequestScope, step: MemberWrites) -> None:
        def attempt() -> None:
            nonlocal step
            while step.adds or step.removes:
                try:
                    self._store.memberships.write(scope.idp_id, step)
                    return
                except UnknownMember as error:
                    # Checked up front, so deleted since: its membership would be deleted with it anyway.
                    step = dataclasses.replace(step, adds=[m for m in step.adds if m["value"] != error.user_id])
                except GroupGone:
                    raise NotFound(f"Group {step.group_id} not found.") from None

        retried(scope, "the group's members", attempt, own_read=False)

    # -- a user's groups ---------------------------------------------------------------------------------------

    def groups_of(self, scope: RequestScope, user_id: str) -> list[dict]:
        """A user's direct groups for `User.groups`: the inverse index, then the groups themselves (which also drops
        memberships of a group deleted a moment ago, before the cleanup reached them)."""
        group_ids = self._store.memberships.groups_of(scope.idp_id, user_id)
        groups = self._store.resources.get_many(scope.idp_id, "Group", group_ids) if group_ids else {}
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

    def group_ids_of(self, scope: RequestScope, user_id: str) -> list[str]:
        """The groups a user is in, as the inverse index shows them (eventually consistent)."""
        return self._store.memberships.groups_of(scope.idp_id, user_id)


def fits(writes: MemberWrites, also: int = 0) -> bool:
    """Whether these writes, with `also` other actions, fit one transaction."""
    return writes.size() + also <= MAX_TRANSACTION_ACTIONS


def steps(group_id: str, adds: list[dict], removes: list[str], group_version: int | None) -> list[MemberWrites]:
    """The transactions of a large change: additions first (49 a step: each with its user's check), then removals
    (99 a step), each step checking the group (present, or at `group_version`). Additions go first so that no
    member is removed by a request that then fails on an addition."""
    per_step_adds = (MAX_TRANSACTION_ACTIONS - 1) // 2
    per_step_removes = MAX_TRANSACTION_ACTIONS - 1
    result = [MemberWrites(group_id, adds[i : i + per_step_adds], [], group_version)
              for i in range(0, len(adds), per_step_adds)]
    result += [MemberWrites(group_id, [], removes[i : i + per_step_removes], group_version)
               for i in range(0, len(removes), per_step_removes)]
    return result


def count_member_changes(group_id: str, adds: list[dict], removes: list[str]) -> None:
    observability.count("MembersAdded", len(adds))
    observability.count("MembersRemoved", len(removes))
    observability.record_members(group_id, len(adds), len(removes))


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
