"""PATCH (RFC 7644 §3.5.2) applied to a resource, all or nothing, with both of Entra's dialects.

Beyond the RFC, as Entra and the Microsoft SCIM Validator send it (docs/entra.md §2.5, §2.8, §4): operation names
in any case; path-less values whose keys are paths (`"name.givenName"`, URN-qualified extension attributes);
`"True"`/`"False"` strings; `replace`/`add` on `emails[type eq "work"].value` creating the entry when there is none;
`remove` on a multi-valued attribute with a value list removing only those values; the manager as an object, a
one-element array or a bare id, and removed with `{"value": ""}` or `manager[value eq "…"]`.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import filter as scim_filter
from .errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, validation_problem
from .paths import Target, parse_path, whole_extension
from .resource_types import ResourceType
from .validation import attribute_value, keep_immutable, normalize

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 1000
OPERATIONS = ("add", "replace", "remove")

def apply(resource_type: ResourceType, current: dict, body: Any) -> dict:
    """The resource after the PatchOp `body`, in canonical form (see `validation.normalize`).

    `current` is the resource as clients see it (with `id` and `meta`), so that "setting" a read-only attribute to
    its current value can be told apart from changing it. Raises a ScimError and changes nothing on any failure.
    """
    working = copy.deepcopy(current)
    for operation in operations_of(body):
        _apply_one(resource_type, working, *fields(operation))
    untouched = frozenset(urn for urn in resource_type.extension_urns if working.get(urn) == current.get(urn))
    return keep_immutable(resource_type, current, normalize(resource_type, working, untouched), replacing=False)


def _apply_one(resource_type: ResourceType, working: dict, op: str, path: Any, value: Any) -> None:
    if path is None or (isinstance(path, str) and path.strip() == ""):
        if op == "remove":
            raise NoTarget("A remove operation needs a path.")
        _pathless(resource_type, working, op, value)
        return
    if not isinstance(path, str):
        raise InvalidPath("'path' must be a string.")
    target = parse_path(resource_type, path)
    if target is None:  # the whole extension, e.g. `urn:...:enterprise:2.0:User`
        extension = whole_extension(resource_type, path)
        if op == "remove":
            working.pop(extension, None)
        else:
            _pathless(resource_type, working, op, value, extension)
        return
    _operate(resource_type, working, op, target, value)


class PatchOperation(BaseModel):
    """One operation of a PatchOp (RFC 7644 §3.5.2), member names in any case; `op` as Entra sends it (`Replace`)
    is read in lower case. `path` and `value` are judged by what acts on them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    op: str
    path: Any = None
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _names_ignore_case(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("each operation must be a JSON object")
        return {str(key).lower(): value for key, value in data.items()}

    @field_validator("op", mode="before")
    @classmethod
    def _known_op(cls, value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in OPERATIONS:
            raise ValueError("must be add, replace or remove")
        return value.lower()


class PatchRequest(BaseModel):
    """The PatchOp envelope: `schemas` (when sent) names the PatchOp message; 1 to MAX_OPERATIONS operations."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schemas: list[str] | None = None
    operations: list[PatchOperation] = Field(min_length=1, max_length=MAX_OPERATIONS)

    @model_validator(mode="before")
    @classmethod
    def _names_ignore_case(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a PATCH body must be a JSON object (a PatchOp)")
        return {str(key).lower(): value for key, value in data.items()}

    @field_validator("schemas")
    @classmethod
    def _declares_patch_op(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and PATCH_OP_SCHEMA.lower() not in [urn.lower() for urn in value]:
            raise ValueError(f'must be ["{PATCH_OP_SCHEMA}"]')
        return value


def operations_of(body: Any) -> list[PatchOperation]:
    """The operations of a PatchOp body; 400 saying what is wrong with the envelope (never echoing values):
    `invalidValue` for `schemas` and for too many operations, `invalidSyntax` for anything else."""
    try:
        return list(PatchRequest.model_validate(body).operations)
    except ValidationError as error:
        where, what = validation_problem(error)
        message = f"Invalid PatchOp: '{where}' {what}." if where else f"Invalid PatchOp: {what}."
        if where.split(".")[0] == "schemas" or error.errors()[0]["type"] == "too_long":
            raise InvalidValue(message) from None
        raise InvalidSyntax(message) from None


def fields(operation: PatchOperation) -> tuple[str, Any, Any]:
    return operation.op, operation.path, operation.value


# --- operations ----------------------------------------------------------------------------------------------
#
# An operation is dispatched by what it does (set or remove) and by the shape of its target: a value filter, a
# multi-valued attribute, a complex one (plain, or one naming a single resource, Entra's manager), a simple one.


def _pathless(resource_type: ResourceType, working: dict, op: str, value: Any, extension: str | None = None) -> None:
    """An operation without a path (or on a whole extension): each key of the value object is a path."""
    if value is None:
        return  # nothing to add or replace
    if not isinstance(value, dict):
        raise InvalidValue("An operation without a path needs a JSON object value.")
    for key, item in value.items():
        if key.lower() == "schemas":
            continue  # describes the value, not something to change
        target = parse_path(resource_type, key if extension is None else f"{extension}:{key}")
        if target is None and extension is not None:
            raise InvalidPath(f"{extension} has no attribute '{key}'.")
        if target is None:  # {"urn:...:enterprise:2.0:User": {...}}: that extension's attributes
            _pathless(resource_type, working, op, item, whole_extension(resource_type, key))
        else:
            _operate(resource_type, working, op, target, item)


def _container(working: dict, target: Target, create: bool) -> dict | None:
    if target.extension is None:
        return working
    existing = working.get(target.extension)
    if isinstance(existing, dict):
        return existing
    if not create:
        return None
    working[target.extension] = {}
    return working[target.extension]


def _operate(resource_type: ResourceType, working: dict, op: str, target: Target, value: Any) -> None:
    if target.read_only:
        _read_only(working, op, target, value)
    elif op == "remove" or (op == "replace" and value is None and target.filter is None):
        _remove(resource_type, working, target, value if op == "remove" else None)
    elif value is not None:  # null adds nothing (RFC 7643 §2.5: null is unassigned)
        container = _container(working, target, create=True)
        _SETTERS[_shape(target)](resource_type, container, op, target, value)


def _shape(target: Target) -> str:
    definition = target.definition
    if target.filter is not None:
        return "filtered"
    if definition.multi_valued:
        return "multi"
    if definition.dialect.single_reference:
        return "reference"
    return "complex" if definition.complex else "simple"


def _set_simple(resource_type: ResourceType, container: dict, op: str, target: Target, value: Any) -> None:
    container[target.name] = value


def _set_multi(resource_type: ResourceType, container: dict, op: str, target: Target, value: Any) -> None:
    if target.sub is not None:
        raise InvalidPath(f"Name which '{target.name}' value to change with a filter: {target.name}[...].")
    incoming = attribute_value(target.definition, value, target.name) or []
    if op == "replace":
        container[target.name] = incoming
        return
    added = list(container.get(target.name) or [])
    for element in incoming:  # one by one: a value sent twice in one add is added once
        if element not in added:
            added.append(element)
    if any(isinstance(v, dict) and v.get("primary") is True for v in incoming):
        added = _demote_primaries(added, keep=[i for i, v in enumerate(added) if v in incoming])
    container[target.name] = added


def _current_complex(container: dict, target: Target) -> dict:
    current = container.get(target.name)
    return dict(current) if isinstance(current, dict) else {}


def _set_complex(resource_type: ResourceType, container: dict, op: str, target: Target, value: Any) -> None:
    current = _current_complex(container, target)
    if target.sub is not None:
        current[target.sub.name] = value
    else:
        # RFC 7644 §3.5.2.1/3: sub-attributes not in the value are left as they are (so a value holding only nulls
        # changes nothing, rather than emptying the attribute).
        current.update(attribute_value(target.definition, value, target.name) or {})
    container[target.name] = current or None


def _set_reference(resource_type: ResourceType, container: dict, op: str, target: Target, value: Any) -> None:
    """A complex attribute naming one resource (Entra's manager): its sub-attributes name one resource, so a new one
    replaces the old whole (no stale `$ref`); replacing it with a value amounting to nothing, e.g. the validator's
    `{"value": ""}`, removes it."""
    current = _current_complex(container, target)
    if target.sub is not None:
        if target.sub.name == "value" and current.get("value") != value:
            current.pop("$ref", None)  # another resource: the old $ref would point at the previous one
        current[target.sub.name] = value
    else:
        current = attribute_value(target.definition, value, target.name) or ({} if op == "replace" else current)
    container[target.name] = current or None


def _set_filtered(resource_type: ResourceType, container: dict, op: str, target: Target, value: Any) -> None:
    if not target.definition.multi_valued:
        raise InvalidPath(f"'{target.name}' is single-valued; only remove takes a value filter on it.")
    current = container.get(target.name)
    elements = list(current) if isinstance(current, list) else []
    matched = [i for i, e in enumerate(elements) if _matches(resource_type, target, e)]
    created = not matched
    if created:
        # Entra adds `emails[type eq "work"].value` when there is no work e-mail yet: build the entry the filter
        # describes (only possible when the filter is equalities joined by `and`).
        entry = _EntryOf(target).visit(target.filter)  # type: ignore[arg-type]
        if entry is None:
            raise NoTarget(f"No value of '{target.name}' matches the path's filter.")
        elements.append(entry)
        matched = [len(elements) - 1]
    for index in matched:
        elements[index] = _set_element(elements[index], op, target, value, created)
    # A value this operation made primary (or built primary from the filter) leaves no other value primary.
    sets_primary = target.sub.name == "primary" if target.sub else _get_ci(value, "primary") is not None
    if (created or sets_primary) and any(_is_true(_get_ci(elements[i], "primary")) for i in matched):
        elements = _demote_primaries(elements, keep=matched)
    container[target.name] = elements


def _set_element(element: Any, op: str, target: Target, value: Any, created: bool) -> Any:
    if not target.definition.complex:
        return value  # `skills[value eq "Go"]` names a value of a simple multi-valued attribute: it becomes `value`
    element = dict(element) if isinstance(element, dict) else {}
    if target.sub is not None:
        element[target.sub.name] = value
        return element
    if not isinstance(value, dict):
        raise InvalidValue(f"The value for '{target.name}[...]' must be a JSON object.")
    # A replace replaces the matching values whole; an entry just built from the filter keeps what the filter says
    # of it (else `replace emails[type eq "work"]` would make an e-mail without a type).
    return {**element, **value} if op == "add" or created else dict(value)


_SETTERS: dict[str, Callable[[ResourceType, dict, str, Target, Any], None]] = {
    "filtered": _set_filtered, "multi": _set_multi, "reference": _set_reference, "complex": _set_complex,
    "simple": _set_simple,
}


def _demote_primaries(elements: list, keep: list[int]) -> list:
    """RFC 7644 §3.5.2: setting one value's `primary` to true sets it to false on every other value."""
    return [
        {**e, **{k: False for k in e if k.lower() == "primary"}} if i not in keep and isinstance(e, dict) else e
        for i, e in enumerate(elements)
    ]


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _get_ci(element: Any, name: str) -> Any:
    # Values set by this PATCH are not normalized yet: `{"Primary": "True"}` is possible.
    if not isinstance(element, dict):
        return None
    return next((v for k, v in element.items() if k.lower() == name), None)


def _remove(resource_type: ResourceType, working: dict, target: Target, value: Any) -> None:
    container = _container(working, target, create=False)
    if container is None or container.get(target.name) is None:
        return  # removing what is not there changes nothing
    current = container[target.name]
    if target.filter is not None:
        remaining = _remove_matching(resource_type, target, current)
    elif target.sub is not None:
        remaining = _without_sub(current, target.sub.name)
    elif value is not None and isinstance(current, list):
        # Entra: `remove` on `members` (or `emails`) with a value list removes those values, never all of them.
        wanted = value if isinstance(value, list) else [value]
        remaining = [e for e in current if not any(_same_value(e, w) for w in wanted)] or None
    else:
        remaining = None
    container[target.name] = remaining


def _remove_matching(resource_type: ResourceType, target: Target, current: Any) -> Any:
    """What is left of an attribute once the values its filter matches (or their sub-attribute) are removed."""
    if isinstance(current, list):
        kept = []
        for element in current:
            if not _matches(resource_type, target, element):
                kept.append(element)
            elif target.sub is not None and isinstance(element, dict):
                kept.append(_drop(element, target.sub.name))
        return kept or None
    if isinstance(current, dict) and _matches(resource_type, target, current):
        # `manager[value eq "…"]` on the single-valued manager
        return None if target.sub is None else _without_sub(current, target.sub.name)
    return current


def _without_sub(current: Any, sub: str) -> Any:
    """The attribute without sub-attribute `sub` (in each value, for a multi-valued one)."""
    if isinstance(current, list):
        return [_drop(e, sub) if isinstance(e, dict) else e for e in current]
    if isinstance(current, dict):
        return _drop(current, sub) or None
    return current


def _drop(element: dict, name: str) -> dict:
    return {k: v for k, v in element.items() if k != name}


def _same_value(element: Any, wanted: Any) -> bool:
    if isinstance(element, dict) and isinstance(wanted, dict):
        given = {k.lower(): v for k, v in wanted.items() if v is not None}
        have = {k.lower(): v for k, v in element.items()}
        return bool(given) and all(have.get(k) == v for k, v in given.items())
    return element == wanted


def _matches(resource_type: ResourceType, target: Target, element: Any) -> bool:
    if not target.definition.complex:
        element = {"value": element}  # a simple multi-valued attribute's `value` is the value itself (RFC 7644 §3.5.2)
    if not isinstance(element, dict):
        return False
    parent = scim_filter.AttrPath(target.name, schema=target.extension)
    return scim_filter.matches(
        target.filter, element,  # type: ignore[arg-type]
        lambda path: resource_type.is_case_exact(scim_filter.AttrPath(parent.attr, path.attr, parent.schema)),
    )


class _EntryOf(scim_filter.Visitor):
    """The value a filter of equalities on sub-attributes joined by `and` describes, or None for any other filter."""

    def __init__(self, target: Target):
        self.target = target

    def and_(self, node: scim_filter.And) -> dict | None:
        left, right = self.visit(node.left), self.visit(node.right)
        return {**left, **right} if left is not None and right is not None else None

    def compare(self, node: scim_filter.Compare) -> dict | None:
        sub = self.target.definition.sub(node.path.attr)
        if node.op != "eq" or node.path.sub_attr is not None or sub is None:
            return None
        return {sub.name: node.value}


def _read_only(working: dict, op: str, target: Target, value: Any) -> None:
    """Read-only attributes may only be "set" to what they already are (clients echo back what they read)."""
    container = _container(working, target, create=False) or {}
    current = container.get(target.name)
    if target.sub is not None and isinstance(current, dict):
        current = current.get(target.sub.name)
    if op != "remove" and target.filter is None and (value == current or value is None):
        return
    raise Mutability(f"'{target.label}' is read-only.")
