"""Checking a resource a client sent against the published schemas, and bringing it to one canonical form.

The canonical form: attribute names spelled as in the schema (clients may use any case), extension attributes under
their schema URN, `null`s dropped (RFC 7643 §2.5: null is "unassigned"), read-only attributes dropped (clients echo
back what they read), booleans as booleans (Entra sends "True"/"False"). String values are kept exactly as sent, so
what a client reads back equals what it wrote. Anything the schemas do not know is a 400, never silently lost.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any, Callable

from .definitions import Attribute, Schema
from .errors import InvalidFilter, InvalidSyntax, InvalidValue, Mutability, PayloadTooLarge, ScimError
from .resource_types import ResourceType

# Limits (docs/limits.md): far above what Entra sends, far below what would hurt DynamoDB (400 KB items, each
# resource also copied into its uniqueness guards) or Lambda.
MAX_BODY_BYTES = 1024 * 1024
MAX_STRING_LENGTH = 16 * 1024
MAX_UNIQUE_VALUE_LENGTH = 1024
MAX_VALUES_PER_ATTRIBUTE = 100
MAX_RESOURCE_BYTES = 100 * 1024


# JSON nested deeper than this is refused before anything looks at it: a SCIM resource is at most four levels deep
# (a PatchOp's value holding an extension holding a complex multi-valued attribute), and a parser or walker handed
# 10,000 nested arrays would exhaust the stack.
MAX_JSON_DEPTH = 32
# Attributes that name a resource (and hold uniqueness): no C0 control character (NUL included) or DEL may appear
# in them; such a value is never a name, and NUL in particular is cut short by many systems the SaaS feeds.
_NAMING_ATTRIBUTES = ("userName", "externalId", "displayName")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_json(body: str | bytes | None) -> Any:
    """The request body as JSON: 413 over 1 MiB; 400 invalidSyntax when it is not JSON, nests deeper than
    MAX_JSON_DEPTH, holds a string that is not Unicode text (a lone UTF-16 surrogate such as "\\ud800"), or names
    one attribute twice in an object (`userName` and `USERNAME`: SCIM names ignore case, so neither can win)."""
    if body is None or body == "" or body == b"":
        raise InvalidSyntax("The request has no body; a JSON object is required.")
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        value = json.loads(body, object_pairs_hook=_json_object, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidSyntax(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntax("The request body is not valid JSON.") from None
    _check_tree(value)
    return value


def _no_constant(name: str) -> Any:
    """`NaN`, `Infinity` and `-Infinity` are not JSON (RFC 8259 §6), though Python's parser takes them."""
    raise ValueError(name)


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    names: set[str] = set()
    for name, _ in pairs:
        folded = name.lower()
        if folded in names:
            raise InvalidSyntax("An object names one attribute twice (names ignore case in SCIM).")
        names.add(folded)
    return dict(pairs)


def _check_tree(value: Any) -> None:
    """Depth and text of every key and string of a parsed body, without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _unicode(item, InvalidSyntax)
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise InvalidSyntax(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
            if isinstance(item, dict):
                for key, element in item.items():
                    _unicode(key, InvalidSyntax)
                    pending.append((element, depth + 1))
            else:
                pending.extend((element, depth + 1) for element in item)


def _unicode(text: str, error: type[ScimError]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise error("The request holds text that is not valid Unicode (a lone UTF-16 surrogate).") from None


def check_text(value: str, where: str, filter_text: bool = False) -> None:
    """A query parameter or header value must be Unicode text: 400 invalidFilter for a filter, else invalidValue."""
    _unicode(value, InvalidFilter if filter_text else InvalidValue)


def check_schemas(resource_type: ResourceType, value: Any) -> None:
    """`schemas` must name the resource's core schema, and otherwise only URIs this service accepts."""
    if value is None:
        return  # absent: the endpoint says what the resource is
    if not isinstance(value, list) or not all(isinstance(urn, str) for urn in value):
        raise InvalidSyntax("'schemas' must be a list of schema URIs.")
    unknown = [urn for urn in value if urn.lower() not in resource_type.accepted_schemas]
    if unknown:
        raise InvalidValue(f"Unsupported schema(s): {', '.join(unknown)}.")
    if value and resource_type.schema.lower() not in {urn.lower() for urn in value}:
        raise InvalidValue(f"'schemas' must include {resource_type.schema}.")


def normalize(resource_type: ResourceType, body: Any, untouched: frozenset[str] = frozenset()) -> dict:
    """The canonical form of a whole resource sent with POST or PUT (or produced by a PATCH). `untouched`: URNs of
    extensions a PATCH left as they were, kept as read and not judged again (a declaration that has since made
    something required applies to what is written next, not to what the PATCH does not touch)."""
    if not isinstance(body, dict):
        raise InvalidSyntax(f"A {resource_type.name} must be a JSON object.")
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in untouched:
            out[key] = value
        else:
            _take(resource_type, out, key, value)
    _check_required(resource_type, out, untouched)
    for name in _NAMING_ATTRIBUTES:
        if isinstance(out.get(name), str) and _CONTROL.search(out[name]):
            raise InvalidValue(f"'{name}' may not hold control characters.")
    if len(json.dumps(out, default=str)) > MAX_RESOURCE_BYTES:
        raise PayloadTooLarge(f"The {resource_type.name} is larger than {MAX_RESOURCE_BYTES} bytes.")
    return out


def _take(resource_type: ResourceType, out: dict, key: str, value: Any) -> None:
    """One member of a resource sent, into `out` in canonical form."""
    lowered = key.lower()
    if lowered == "schemas":
        check_schemas(resource_type, value)
    elif lowered in ("id", "meta") or value is None:
        return  # read-only common attributes are echoed back by clients; null means unassigned
    elif lowered == "externalid":
        out["externalId"] = _string(value, "externalId", MAX_UNIQUE_VALUE_LENGTH)
    elif (extension := resource_type.extension(key)) is not None:
        _merge_extension(out, extension.urn, _extension(extension.schema, value))
    elif (definition := resource_type.core.attribute(key)) is not None:
        if not definition.read_only:
            _merge(out, definition.name, attribute_value(definition, value, definition.name))
    elif (extension := resource_type.unqualified(key)) is not None:
        # Old Entra sends enterprise attributes at the top level (the tutorial's Example 2, docs/entra.md §2.3).
        _merge_extension(out, extension.urn, _extension(extension.schema, {key: value}))
    else:
        raise InvalidSyntax(f"Unknown attribute '{key}' for a {resource_type.name}.")


def keep_immutable(resource_type: ResourceType, before: dict, after: dict, replacing: bool) -> dict:
    """`after`, checked against `before` for the attributes that are immutable (RFC 7644 §3.5.1: once set, a value
    sent must match it). A replace (PUT) that leaves one out keeps it; a PATCH that changes or removes one is a 400."""
    for urn, name in resource_type.immutable:
        old, new = _at(before, urn, name), _at(after, urn, name)
        if old is None or old == new:
            continue
        if new is None and replacing:
            after = {**after, urn: {**after.get(urn, {}), name: old}} if urn else {**after, name: old}
            continue
        raise Mutability(f"'{name}' is immutable: it keeps the value it was first given.")
    return after


def _at(attributes: dict, urn: str | None, name: str) -> Any:
    container = attributes.get(urn) if urn else attributes
    return container.get(name) if isinstance(container, dict) else None


def _merge(out: dict, name: str, value: Any) -> None:
    """Set `name` to a value that is not unassigned."""
    if value is not None:
        out[name] = value


def _merge_extension(out: dict, urn: str, values: dict) -> None:
    """Add an extension's attributes to those already taken (old Entra may send some at the top level)."""
    if values:
        out.setdefault(urn, {}).update(values)


def _check_required(resource_type: ResourceType, out: dict, untouched: frozenset[str]) -> None:
    """Required attributes (RFC 7643 §7), and required extensions (§6: the resource MUST include the extension and
    its required attributes)."""
    _require(resource_type.core.attributes, out, "")
    for extension in resource_type.extensions:
        if extension.urn in untouched:
            continue
        values = out.get(extension.urn)
        if values is None and extension.required:
            raise InvalidValue(f"A {resource_type.name} requires the extension {extension.urn}.")
        if values is not None:
            _require(extension.schema.attributes, values, f"{extension.urn}:")


def _require(definitions: tuple[Attribute, ...], values: dict, prefix: str) -> None:
    for definition in definitions:
        if definition.required and values.get(definition.name) in (None, ""):
            raise InvalidValue(f"'{prefix}{definition.name}' is required.")


def _extension(schema: Schema, value: Any) -> dict:
    if not isinstance(value, dict):
        raise InvalidSyntax(f"'{schema.id}' must be a JSON object of its attributes.")
    out: dict[str, Any] = {}
    for key, item in value.items():
        definition = schema.attribute(key)
        if definition is None:
            raise InvalidSyntax(f"Unknown attribute '{key}' in {schema.id}.")
        if item is not None and not definition.read_only:
            _merge(out, definition.name, attribute_value(definition, item, definition.name))
    return out


def attribute_value(definition: Attribute, value: Any, where: str) -> Any:
    """One attribute's value in canonical form, or None when it amounts to unassigned."""
    if value is None:
        return None
    if definition.multi_valued:
        elements = value if isinstance(value, list) else [value]
        if len(elements) > MAX_VALUES_PER_ATTRIBUTE:
            raise InvalidValue(f"'{where}' has more than {MAX_VALUES_PER_ATTRIBUTE} values.")
        kept = [v for v in (_single(definition, e, where) for e in elements if e is not None) if v is not None]
        return kept or None
    if isinstance(value, list) and definition.dialect.single_reference:
        # Entra adds `manager` as a one-element array (docs/entra.md §2.5); `[]` is unassigned, as for any list.
        if not value:
            return None
        value = value[0]
    return _single(definition, value, where)


def _single(definition: Attribute, value: Any, where: str) -> Any:
    if value is None:
        return None
    return _KINDS.get(definition.type, _text)(definition, value, where)


def _complex(definition: Attribute, value: Any, where: str) -> dict | None:
    reference = definition.dialect.single_reference
    if isinstance(value, str) and reference:
        value = {"value": value}  # Entra may send the manager as a bare id
    if not isinstance(value, dict):
        raise InvalidValue(f"'{where}' must be a JSON object.")
    out = {}
    for key, item in value.items():
        sub = definition.sub(key)
        if sub is None:
            raise InvalidSyntax(f"Unknown sub-attribute '{key}' of '{where}'.")
        if sub.read_only and reference:
            continue  # the manager's displayName is ours to fill, not the client's
        _merge(out, sub.name, _single(sub, item, f"{where}.{sub.name}"))
    if reference and out.get("value") == "":
        return None  # `{"value": ""}` is how the Microsoft SCIM Validator removes a manager
    if out:
        _require(definition.sub_attributes or (), out, f"{where}.")
    return out or None


def _boolean(definition: Attribute, value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"'{where}' must be true or false.")


# What a number may be: what DynamoDB keeps exactly (38 significant digits; magnitudes 1e-130 to under 1e126).
MAX_INTEGER = 10**38 - 1
_DECIMAL_RANGE = (1e-130, 1e126)


def _integer(definition: Attribute, value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"'{where}' must be an integer.")
    if abs(value) > MAX_INTEGER:
        raise InvalidValue(f"'{where}' has more than 38 digits.")
    return value


def _decimal(definition: Attribute, value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue(f"'{where}' must be a number.")
    if isinstance(value, int):
        return _integer(definition, value, where)
    low, high = _DECIMAL_RANGE
    if not math.isfinite(value) or (value != 0 and not low <= abs(value) < high):
        raise InvalidValue(f"'{where}' must be a number between 1e-130 and 1e126 in magnitude, or 0.")
    return value


# xsd:dateTime as RFC 7643 §2.3.5 has it, with its offset from UTC (a time without one names no instant).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def _date_time(definition: Attribute, value: Any, where: str) -> str:
    text = _string(value, where, MAX_STRING_LENGTH)
    try:
        valid = _DATE_TIME.fullmatch(text) is not None and datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        valid = False
    if not valid:
        raise InvalidValue(f"'{where}' must be a date and time such as 2026-01-31T09:30:00Z.")
    return text


def _text(definition: Attribute, value: Any, where: str) -> str:
    limit = MAX_UNIQUE_VALUE_LENGTH if definition.uniqueness != "none" else MAX_STRING_LENGTH
    return _string(value, where, limit)


_KINDS: dict[str, Callable[[Attribute, Any, str], Any]] = {
    "complex": _complex, "boolean": _boolean, "integer": _integer, "decimal": _decimal, "dateTime": _date_time,
}


def _string(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"'{where}' must be a string.")
    if len(value) > limit:
        raise InvalidValue(f"'{where}' is longer than {limit} characters.")
    return value
