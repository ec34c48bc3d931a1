"""PATCH operations on a group's `members`, read as changes to a set of user ids (pure: no AWS here).

Members are kept as one item per member, not inside the group, so a PATCH on a group is split in two: operations
on the group's own attributes (applied by `patch`), and a `MemberPlan` of additions and removals. Both Entra
dialects read right (docs/entra.md §2.8): `Add members` with several values; `Remove` with
`path: "members"` **and a value list removes only those members**; `Remove` of `members[value eq "id"]`; `Remove`
of `members` without a value empties the group; `Replace` of `members` sets the list; a scalar member value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import filter as scim_filter
from . import schemas
from .errors import InvalidPath, InvalidValue, Mutability, ScimError
from .listing import escaped_size
from .patch import PATCH_OP_SCHEMA, fields, operations_of
from .paths import Target, parse_path
from .resource_types import ResourceType
from .validation import attribute_value

MEMBERS = "members"
# What one member may carry beyond its user id, in bytes as a response carries them (`listing.escaped_size`): a
# group's members are returned together (MAX_MEMBERS_RETURNED of them), and even the largest members allowed must fit
# the response budget. Entra sends only `value`.
MAX_MEMBER_DISPLAY = 256
MAX_MEMBER_REF = 256


@dataclass
class MemberPlan:
    """The member operations of one PATCH, in order; `resolve` turns them into additions and removals."""

    steps: list[tuple[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.steps)

    @property
    def needs_current_members(self) -> bool:
        """Whether resolving needs the group's members (emptying it, or removing by a filter other than ids)."""
        return any(kind in ("clear", "remove_matching") for kind, _ in self.steps)

    @property
    def additions(self) -> int:
        return sum(len(arg) for kind, arg in self.steps if kind == "add")

    def resolve(self, current: Callable[[], list[dict]]) -> tuple[list[dict], list[str]]:
        """(members to add, user ids to remove). `current()` gives the group's members, called at most once."""
        return _Resolution(current).run(self.steps)


class _Resolution:
    """The members' end state after a plan's steps: user id -> member added, or None for removed."""

    def __init__(self, current: Callable[[], list[dict]]):
        self._current = current
        self._loaded: list[dict] | None = None
        self.state: dict[str, dict | None] = {}
        self.cleared = False

    def members_now(self) -> list[dict]:
        if self._loaded is None:
            self._loaded = self._current()
        return self._loaded

    def run(self, steps: list[tuple[str, Any]]) -> tuple[list[dict], list[str]]:
        for kind, arg in steps:
            getattr(self, kind)(arg)
        removes = [user_id for user_id, member in self.state.items() if member is None]
        if self.cleared:
            removes = [m["value"] for m in self.members_now() if self.state.get(m["value"]) is None]
        return [member for member in self.state.values() if member is not None], removes

    def add(self, members: list[dict]) -> None:
        self.state.update((member["value"], member) for member in members)

    def remove(self, user_ids: list[str]) -> None:
        self.state.update((user_id, None) for user_id in user_ids)

    def clear(self, _: Any) -> None:
        self.cleared, self.state = True, {}

    def remove_matching(self, expr: scim_filter.Filter) -> None:
        candidates = ([] if self.cleared else self.members_now()) + [m for m in self.state.values() if m]
        for member in candidates:
            if scim_filter.matches(expr, member, _members_case_exact):
                self.state[member["value"]] = None


def _members_case_exact(path: scim_filter.AttrPath) -> bool:
    return path.attr.lower() in ("value", "$ref")


def split(resource_type: ResourceType, body: Any) -> tuple[dict | None, MemberPlan]:
    """(a PatchOp of the operations on the group's own attributes, or None; the plan for its members)."""
    plan = MemberPlan()
    others: list[dict] = []
    # The operations as sent go on to `patch.apply` (which reads them again), the parsed ones say what they do.
    operations = operations_of(body)
    sent_operations = next(v for k, v in body.items() if k.lower() == "operations")
    for operation, sent in zip(operations, sent_operations):
        rest = _split_one(resource_type, plan, operation, sent)
        if rest is not None:
            others.append(rest)
    attributes = {"schemas": [PATCH_OP_SCHEMA], "Operations": others} if others else None
    return attributes, plan


def _split_one(resource_type: ResourceType, plan: MemberPlan, operation: Any, sent: Any) -> Any:
    """Plan what one operation does to members; what it does to anything else, as an operation for `patch.apply`."""
    op, path, value = fields(operation)
    if path is None or (isinstance(path, str) and not path.strip()):
        # A path-less remove names no target (RFC 7644 §3.5.2.2): `patch.apply` answers it noTarget, members or not.
        return _split_pathless(resource_type, plan, op, value, sent) if isinstance(value, dict) and op != "remove" \
            else sent
    target = parse_path(resource_type, path) if isinstance(path, str) else None
    if target is None or target.name != MEMBERS:
        return sent
    _plan_target(plan, op, target, value)
    return None


def _split_pathless(resource_type: ResourceType, plan: MemberPlan, op: str, value: dict, sent: Any) -> Any:
    """Each key is a path: `members` in any case or under the core schema's URN (which would otherwise be applied to
    the group's own item, as members no user check ever saw)."""
    targets = {k: t for k in value if (t := _members_target(resource_type, k)) is not None}
    if not targets:
        return sent
    for key, target in targets.items():
        _plan_target(plan, op, target, value[key])
    rest = {k: v for k, v in value.items() if k not in targets}
    return {"op": op, "value": rest} if rest else None


def _members_target(resource_type: ResourceType, key: str) -> Target | None:
    """The target of a path-less value's key when it names `members`, else None (`patch.apply` judges the rest)."""
    if MEMBERS not in key.lower():
        return None
    try:
        target = parse_path(resource_type, key)
    except ScimError:
        return None
    return target if target is not None and target.name == MEMBERS else None


def _plan_target(plan: MemberPlan, op: str, target: Target, value: Any) -> None:
    if target.sub is not None:
        raise Mutability("A member's sub-attributes cannot be changed; remove the member and add it again.")
    _plan(plan, op, target.filter, value)


def _plan(plan: MemberPlan, op: str, value_filter: scim_filter.Filter | None, value: Any) -> None:
    if op == "remove":
        if value_filter is not None:
            ids = _ids_of(value_filter)
            plan.steps.append(("remove", ids) if ids is not None else ("remove_matching", value_filter))
        elif value is None:
            plan.steps.append(("clear", None))
        else:
            # Entra: `Remove` with a value list removes only those members, never the whole group.
            plan.steps.append(("remove", [m["value"] for m in members_of(value)]))
        return
    if value_filter is not None:
        raise InvalidPath("Add or replace members with the path 'members' and the members as its value.")
    if op == "replace":
        plan.steps.append(("clear", None))
    if value is not None:
        plan.steps.append(("add", members_of(value)))


class _IdsOf(scim_filter.Visitor):
    """The user ids of `value eq "…"` (joined by `or`), or None for any other filter."""

    def or_(self, node: scim_filter.Or) -> list[str] | None:
        left, right = self.visit(node.left), self.visit(node.right)
        return left + right if left is not None and right is not None else None

    def compare(self, node: scim_filter.Compare) -> list[str] | None:
        path = node.path
        wanted = node.op == "eq" and path.attr.lower() == "value" and path.sub_attr is None
        return [node.value] if wanted and isinstance(node.value, str) else None


def _ids_of(expr: scim_filter.Filter) -> list[str] | None:
    return _IdsOf().visit(expr)


_MEMBER = schemas.GROUP_SCHEMA.attribute(MEMBERS).single()  # type: ignore[union-attr]


def members_of(value: Any) -> list[dict]:
    """Member objects in canonical form: each needs a `value` (a user id); a bare id is taken as one (Entra)."""
    elements = value if isinstance(value, list) else [value]
    return [_member(element) for element in elements if element is not None]


def _member(element: Any) -> dict:
    if isinstance(element, str):
        element = {"value": element}
    if isinstance(element, dict):
        # A member is a user id; what else a client adds is not ours to refuse (the reference code's Postman tests
        # send `displayName`: docs/entra.md §8).
        element = {k: v for k, v in element.items() if _MEMBER.sub(k) is not None}
    member = attribute_value(_MEMBER, element, MEMBERS)
    # `{}` or `{"$ref": null}` names no user: refused, not skipped (a removal must say whom it removes).
    if member is None or not isinstance(member.get("value"), str) or not member["value"]:
        raise InvalidValue("Each member needs a 'value': the id of a user.")
    if str(member.get("type", "User")).lower() != "user":
        raise InvalidValue("Groups hold users only: a member's 'type' must be 'User'.")
    if escaped_size(member.get("display", "")) > MAX_MEMBER_DISPLAY \
            or escaped_size(member.get("$ref", "")) > MAX_MEMBER_REF:
        raise InvalidValue(
            f"A member's 'display' and '$ref' are at most {MAX_MEMBER_DISPLAY} and {MAX_MEMBER_REF} bytes once "
            "escaped in JSON (a character outside ASCII takes 6)."
        )
    return member
