"""PATCH (RFC 7644 §3.5.2) applied to a resource, all or nothing, with both of Entra's dialects.

Beyond the RFC, as Entra and the Microsoft SCIM Validator send it (docs/entra.md §2.5, §2.8, §4): operation names
in any case; path-less values whose keys are paths (`"name.givenName"`, URN-qualified extension attributes);
`"True"`/`"False"` strings; `replace`/`add` on `emails[type eq "work"].value` creating the entry when there is none;
`remove` on a multi-valued attribute with a value list removing only those values; the manager as an object, a
one-element array or a bare id, and removed with `{"value": ""}` or `manager[value eq "…"]`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import filter as scim_filter
from . import schemas
from .errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, validation_problem
from .resource_types import ResourceType
from .validation import attribute_value, normalize

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 1000
OPERATIONS = ("add", "replace", "remove")

# Common attributes (RFC 7643 §3.1) are in no schema's attribute list; `externalId` is the only writable one.
_COMMON = {
    "externalid": {"name": "externalId", "type": "string", "multiValued": False, "mutability": "readWrite"},
    "id": {"name": "id", "type": "string", "multiValued": False, "mutability": "readOnly"},
    # With its sub-attributes, so that `meta.created` is refused as read-only rather than as an unknown path.
    "meta": {
        "name": "meta", "type": "complex", "multiValued": False, "mutability": "readOnly",
        "subAttributes": [
            {"name": name, "type": "string", "multiValued": False, "mutability": "readOnly"}
            for name in ("resourceType", "created", "lastModified", "location", "version")
        ],
    },
    "schemas": {"name": "schemas", "type": "string", "multiValued": True, "mutability": "readOnly"},
}


@dataclass(frozen=True)
class Target:
    """Where an operation acts: an attribute (under an extension's URN or not), optionally filtered and/or narrowed
    to a sub-attribute."""

    definition: dict
    extension: str | None = None
    filter: scim_filter.Filter | None = None
    sub: dict | None = None

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def label(self) -> str:
        return f"{self.name}.{self.sub['name']}" if self.sub else self.name


def apply(resource_type: ResourceType, current: dict, body: Any) -> dict:
    """The resource after the PatchOp `body`, in canonical form (see `validation.normalize`).

    `current` is the resource as clients see it (with `id` and `meta`), so that "setting" a read-only attribute to
    its current value can be told apart from changing it. Raises a ScimError and changes nothing on any failure.
    """
    operations = operations_of(body)
    working = copy.deepcopy(current)
    for operation in operations:
        op, path, value = fields(operation)
        if path is None or (isinstance(path, str) and path.strip() == ""):
            if op == "remove":
                raise NoTarget("A remove operation needs a path.")
            _pathless(resource_type, working, op, value)
        else:
            if not isinstance(path, str):
                raise InvalidPath("'path' must be a string.")
            target = parse_path(resource_type, path)
            if target is None:  # the whole extension, e.g. `urn:...:enterprise:2.0:User`
                extension = _whole_extension(resource_type, path)
                _pathless(resource_type, working, op, value, extension, remove_all=op == "remove")
            else:
                _operate(resource_type, working, op, target, value)
    return normalize(resource_type, working)


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


# --- paths ---------------------------------------------------------------------------------------------------


def parse_path(resource_type: ResourceType, text: str) -> Target | None:
    """A PATCH path (RFC 7644 §3.5.2 PATH grammar), resolved against the schemas; None for a bare extension URN."""
    text = text.strip()
    value_filter = None
    sub_text = None
    if "[" in text:
        start = text.index("[")
        end = _closing_bracket(text, start)
        try:
            value_filter = scim_filter.parse(text[start + 1 : end])
        except InvalidFilter as error:
            raise InvalidPath(f"The path's value filter is not valid: {error.detail}") from None
        rest = text[end + 1 :]
        if rest:
            if not rest.startswith(".") or len(rest) < 2:
                raise InvalidPath("Only '.subAttribute' may follow a value filter in a path.")
            sub_text = rest[1:]
        text = text[:start]
    extension, attribute_text = _split_urn(resource_type, text)
    if attribute_text == "":
        if value_filter is not None or sub_text is not None:
            raise InvalidPath("A schema URN path takes no filter.")
        return None
    name, _, dotted_sub = attribute_text.partition(".")
    if dotted_sub:
        if sub_text is not None:
            raise InvalidPath("A path names at most one sub-attribute.")
        sub_text = dotted_sub
    definition, extension = _definition(resource_type, extension, name)
    if value_filter is not None and not definition["multiValued"] and definition["type"] != "complex":
        raise InvalidPath(f"'{definition['name']}' is single-valued; it takes no value filter.")
    sub = None
    if sub_text is not None:
        subs = {s["name"].lower(): s for s in definition.get("subAttributes", [])}
        sub = subs.get(sub_text.lower())
        if sub is None:
            raise InvalidPath(f"'{definition['name']}' has no sub-attribute '{sub_text}'.")
    return Target(definition, extension, value_filter, sub)


def _closing_bracket(text: str, start: int) -> int:
    quoted = False
    escaped = False
    for index in range(start + 1, len(text)):
        char = text[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "]" and not quoted:
            return index
    raise InvalidPath("The path's value filter has no closing ']'.")


def _split_urn(resource_type: ResourceType, text: str) -> tuple[str | None, str]:
    """(extension URN or None, the rest) for a possibly URN-qualified attribute path."""
    lowered = text.lower()
    for urn in resource_type.extensions:
        if lowered == urn.lower():
            return urn, ""
        if lowered.startswith(urn.lower() + ":"):
            return urn, text[len(urn) + 1 :]
    core = resource_type.schema.lower() + ":"
    if lowered.startswith(core):
        return None, text[len(core) :]
    if lowered.startswith("urn:"):
        raise InvalidPath(f"The path names a schema this {resource_type.name} does not have.")
    return None, text


def _whole_extension(resource_type: ResourceType, path: str) -> str:
    extension, _ = _split_urn(resource_type, path)
    return extension


def _definition(resource_type: ResourceType, extension: str | None, name: str) -> tuple[dict, str | None]:
    if extension is not None:
        definition = schemas.attribute_definitions(extension).get(name.lower())
        if definition is None:
            raise InvalidPath(f"{extension} has no attribute '{name}'.")
        return definition, extension
    definition = schemas.attribute_definitions(resource_type.schema).get(name.lower()) or _COMMON.get(name.lower())
    if definition is not None:
        return definition, None
    for urn in resource_type.extensions:  # an extension attribute named without its URN
        definition = schemas.attribute_definitions(urn).get(name.lower())
        if definition is not None:
            return definition, urn
    raise InvalidPath(f"A {resource_type.name} has no attribute '{name}'.")


# --- operations ----------------------------------------------------------------------------------------------


def _pathless(
    resource_type: ResourceType, working: dict, op: str, value: Any, extension: str | None = None,
    remove_all: bool = False,
) -> None:
    """An operation without a path (or on a whole extension): each key of the value object is a path."""
    if remove_all:
        working.pop(extension, None)
        return
    if value is None:
        return  # nothing to add or replace
    if not isinstance(value, dict):
        raise InvalidValue("An operation without a path needs a JSON object value.")
    for key, item in value.items():
        if key.lower() == "schemas":
            continue  # describes the value, not something to change
        if extension is None:
            target = parse_path(resource_type, key)
            if target is None:  # {"urn:...:enterprise:2.0:User": {...}}
                _pathless(resource_type, working, op, item, _whole_extension(resource_type, key))
                continue
        else:
            target = parse_path(resource_type, f"{extension}:{key}")
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
    if target.definition["mutability"] == "readOnly" or (target.sub and target.sub["mutability"] == "readOnly"):
        _read_only(working, op, target, value)
        return
    if op == "remove" or (op == "replace" and value is None and target.filter is None):
        _remove(resource_type, working, target, value if op == "remove" else None)
        return
    if value is None:
        return  # null adds nothing (RFC 7643 §2.5: null is unassigned)
    container = _container(working, target, create=True)
    definition = target.definition
    if target.filter is not None:
        _set_filtered(resource_type, container, op, target, value)
    elif definition["multiValued"]:
        if target.sub is not None:
            raise InvalidPath(f"Name which '{target.name}' value to change with a filter: {target.name}[...].")
        incoming = attribute_value(definition, value, target.name) or []
        if op == "replace":
            container[target.name] = incoming
        else:
            added = list(container.get(target.name) or [])
            for v in incoming:  # one by one: a value sent twice in one add is added once
                if v not in added:
                    added.append(v)
            if any(isinstance(v, dict) and v.get("primary") is True for v in incoming):
                added = _demote_primaries(added, keep=[i for i, v in enumerate(added) if v in incoming])
            container[target.name] = added
    elif definition["type"] == "complex":
        current = container.get(target.name)
        current = dict(current) if isinstance(current, dict) else {}
        manager = definition["name"] == "manager"
        if target.sub is not None:
            if manager and target.sub["name"] == "value" and current.get("value") != value:
                current.pop("$ref", None)  # another manager: the old $ref would point at the previous one
            current[target.sub["name"]] = value
        else:
            incoming = attribute_value(definition, value, target.name)
            if manager:
                # Its sub-attributes name one user, so a new manager replaces the old one whole (no stale $ref);
                # replacing it with a value amounting to nothing, e.g. the validator's {"value": ""}, removes it.
                current = incoming or ({} if op == "replace" else current)
            elif incoming:
                # RFC 7644 §3.5.2.1/3: sub-attributes not in the value are left as they are (so a value holding only
                # nulls changes nothing, rather than emptying the attribute).
                current.update(incoming)
        container[target.name] = current or None
    else:
        container[target.name] = value


def _set_filtered(resource_type: ResourceType, container: dict, op: str, target: Target, value: Any) -> None:
    current = container.get(target.name)
    if not target.definition["multiValued"]:
        raise InvalidPath(f"'{target.name}' is single-valued; only remove takes a value filter on it.")
    elements = list(current) if isinstance(current, list) else []
    matched = [i for i, e in enumerate(elements) if _matches(resource_type, target, e)]
    created = not matched
    if created:
        # Entra adds `emails[type eq "work"].value` when there is no work e-mail yet: build the entry the filter
        # describes (only possible when the filter is equalities joined by `and`).
        entry = _entry_from_filter(target)
        if entry is None:
            raise NoTarget(f"No value of '{target.name}' matches the path's filter.")
        elements.append(entry)
        matched = [len(elements) - 1]
    for index in matched:
        element = dict(elements[index]) if isinstance(elements[index], dict) else {}
        if target.sub is not None:
            element[target.sub["name"]] = value
        elif isinstance(value, dict):
            # A replace replaces the matching values whole; an entry just built from the filter keeps what the
            # filter says of it (else `replace emails[type eq "work"]` would make an e-mail without a type).
            element = {**element, **value} if op == "add" or created else dict(value)
        else:
            raise InvalidValue(f"The value for '{target.name}[...]' must be a JSON object.")
        elements[index] = element
    # A value this operation made primary (or built primary from the filter) leaves no other value primary.
    sets_primary = target.sub["name"] == "primary" if target.sub else _get_ci(value, "primary") is not None
    if (created or sets_primary) and any(_is_true(_get_ci(elements[i], "primary")) for i in matched):
        elements = _demote_primaries(elements, keep=matched)
    container[target.name] = elements


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
        if isinstance(current, list):
            kept = []
            for element in current:
                if not _matches(resource_type, target, element):
                    kept.append(element)
                elif target.sub is not None and isinstance(element, dict):
                    kept.append({k: v for k, v in element.items() if k != target.sub["name"]})
            container[target.name] = kept or None
        elif isinstance(current, dict) and _matches(resource_type, target, current):
            # `manager[value eq "…"]` on the single-valued manager
            container[target.name] = None if target.sub is None else {
                k: v for k, v in current.items() if k != target.sub["name"]
            }
        return
    if target.sub is not None:
        if isinstance(current, list):
            container[target.name] = [
                {k: v for k, v in e.items() if k != target.sub["name"]} if isinstance(e, dict) else e for e in current
            ]
        elif isinstance(current, dict):
            container[target.name] = {k: v for k, v in current.items() if k != target.sub["name"]} or None
        return
    if value is not None and isinstance(current, list):
        # Entra: `remove` on `members` (or `emails`) with a value list removes those values, never all of them.
        wanted = value if isinstance(value, list) else [value]
        container[target.name] = [e for e in current if not any(_same_value(e, w) for w in wanted)] or None
        return
    container[target.name] = None


def _same_value(element: Any, wanted: Any) -> bool:
    if isinstance(element, dict) and isinstance(wanted, dict):
        given = {k.lower(): v for k, v in wanted.items() if v is not None}
        have = {k.lower(): v for k, v in element.items()}
        return bool(given) and all(have.get(k) == v for k, v in given.items())
    return element == wanted


def _matches(resource_type: ResourceType, target: Target, element: Any) -> bool:
    if not isinstance(element, dict):
        return False
    parent = scim_filter.AttrPath(target.name)
    return scim_filter.matches(
        target.filter, element, lambda path: resource_type.is_case_exact(scim_filter.AttrPath(parent.attr, path.attr))
    )


def _entry_from_filter(target: Target) -> dict | None:
    entry: dict[str, Any] = {}

    def collect(expr: scim_filter.Filter) -> bool:
        if isinstance(expr, scim_filter.And):
            return collect(expr.left) and collect(expr.right)
        if isinstance(expr, scim_filter.Compare) and expr.op == "eq" and expr.path.sub_attr is None:
            subs = {s["name"].lower(): s["name"] for s in target.definition.get("subAttributes", [])}
            name = subs.get(expr.path.attr.lower())
            if name is None:
                return False
            entry[name] = expr.value
            return True
        return False

    return entry if collect(target.filter) else None


def _read_only(working: dict, op: str, target: Target, value: Any) -> None:
    """Read-only attributes may only be "set" to what they already are (clients echo back what they read)."""
    container = _container(working, target, create=False) or {}
    current = container.get(target.name)
    if target.sub is not None and isinstance(current, dict):
        current = current.get(target.sub["name"])
    if op != "remove" and target.filter is None and (value == current or value is None):
        return
    raise Mutability(f"'{target.label}' is read-only.")
