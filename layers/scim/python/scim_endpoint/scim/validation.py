"""Checking a resource a client sent against the published schemas, and bringing it to one canonical form.

The canonical form: attribute names spelled as in the schema (clients may use any case), extension attributes under
their schema URN, `null`s dropped (RFC 7643 §2.5: null is "unassigned"), read-only attributes dropped (clients echo
back what they read), booleans as booleans (Entra sends "True"/"False"). String values are kept exactly as sent, so
what a client reads back equals what it wrote. Anything the schemas do not know is a 400, never silently lost.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import schemas
from .errors import InvalidFilter, InvalidSyntax, InvalidValue, PayloadTooLarge, ScimError
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
        value = json.loads(body, object_pairs_hook=_json_object)
    except RecursionError:
        raise InvalidSyntax(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntax("The request body is not valid JSON.") from None
    _check_tree(value)
    return value


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


def _lookup(definitions: dict[str, dict], name: str) -> dict | None:
    return definitions.get(name.lower())


def _extension_key(resource_type: ResourceType, key: str) -> str | None:
    lowered = key.lower()
    return next((urn for urn in resource_type.extensions if urn.lower() == lowered), None)


def check_schemas(resource_type: ResourceType, value: Any) -> None:
    """`schemas` must name the resource's core schema, and otherwise only URIs this service accepts."""
    if value is None:
        return  # absent: the endpoint says what the resource is
    if not isinstance(value, list) or not all(isinstance(urn, str) for urn in value):
        raise InvalidSyntax("'schemas' must be a list of schema URIs.")
    accepted = {urn.lower() for urn in resource_type.accepted_schemas}
    unknown = [urn for urn in value if urn.lower() not in accepted]
    if unknown:
        raise InvalidValue(f"Unsupported schema(s): {', '.join(unknown)}.")
    if value and resource_type.schema.lower() not in {urn.lower() for urn in value}:
        raise InvalidValue(f"'schemas' must include {resource_type.schema}.")


def normalize(resource_type: ResourceType, body: Any) -> dict:
    """The canonical form of a whole resource sent with POST or PUT (or produced by a PATCH)."""
    if not isinstance(body, dict):
        raise InvalidSyntax(f"A {resource_type.name} must be a JSON object.")
    core = schemas.attribute_definitions(resource_type.schema)
    out: dict[str, Any] = {}
    for key, value in body.items():
        lowered = key.lower()
        if lowered == "schemas":
            check_schemas(resource_type, value)
            continue
        if lowered in ("id", "meta") or value is None:
            continue  # read-only common attributes are echoed back by clients; null means unassigned
        if lowered == "externalid":
            out["externalId"] = _string(value, "externalId", MAX_UNIQUE_VALUE_LENGTH)
            continue
        extension = _extension_key(resource_type, key)
        if extension is not None:
            attributes = _extension(extension, value)
            if attributes:
                out.setdefault(extension, {}).update(attributes)
            continue
        definition = _lookup(core, key)
        if definition is None:
            # Old Entra sends enterprise attributes at the top level (the tutorial's Example 2, docs/entra.md §2.3).
            extension = _owning_extension(resource_type, key)
            if extension is None:
                raise InvalidSyntax(f"Unknown attribute '{key}' for a {resource_type.name}.")
            attributes = _extension(extension, {key: value})
            if attributes:
                out.setdefault(extension, {}).update(attributes)
            continue
        if definition["mutability"] == "readOnly":
            continue
        normalized = attribute_value(definition, value, definition["name"])
        if normalized is not None:
            out[definition["name"]] = normalized
    for definition in core.values():
        if definition["required"] and out.get(definition["name"]) in (None, ""):
            raise InvalidValue(f"'{definition['name']}' is required.")
    for name in _NAMING_ATTRIBUTES:
        if isinstance(out.get(name), str) and _CONTROL.search(out[name]):
            raise InvalidValue(f"'{name}' may not hold control characters.")
    if len(json.dumps(out, default=str)) > MAX_RESOURCE_BYTES:
        raise PayloadTooLarge(f"The {resource_type.name} is larger than {MAX_RESOURCE_BYTES} bytes.")
    return out


def _owning_extension(resource_type: ResourceType, name: str) -> str | None:
    return next((urn for urn in resource_type.extensions if _lookup(schemas.attribute_definitions(urn), name)), None)


def _extension(urn: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise InvalidSyntax(f"'{urn}' must be a JSON object of its attributes.")
    definitions = schemas.attribute_definitions(urn)
    out = {}
    for key, item in value.items():
        if item is None:
            continue
        definition = _lookup(definitions, key)
        if definition is None:
            raise InvalidSyntax(f"Unknown attribute '{key}' in {urn}.")
        if definition["mutability"] == "readOnly":
            continue
        normalized = attribute_value(definition, item, definition["name"])
        if normalized is not None:
            out[definition["name"]] = normalized
    return out


def attribute_value(definition: dict, value: Any, where: str) -> Any:
    """One attribute's value in canonical form, or None when it amounts to unassigned."""
    if value is None:
        return None
    if definition["multiValued"]:
        elements = value if isinstance(value, list) else [value]
        if len(elements) > MAX_VALUES_PER_ATTRIBUTE:
            raise InvalidValue(f"'{where}' has more than {MAX_VALUES_PER_ATTRIBUTE} values.")
        kept = [v for v in (_single(definition, e, where) for e in elements if e is not None) if v is not None]
        return kept or None
    if isinstance(value, list) and definition["type"] == "complex" and definition["name"] == "manager":
        # Entra adds `manager` as a one-element array (docs/entra.md §2.5).
        value = value[0] if value else None
        if value is None:
            return None  # `[]` is unassigned, as for any list; `_complex` would refuse None as not an object
    return _single(definition, value, where)


def _single(definition: dict, value: Any, where: str) -> Any:
    kind = definition["type"]
    if kind == "complex":
        return _complex(definition, value, where)
    if value is None:
        return None
    if kind == "boolean":
        return _boolean(value, where)
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValue(f"'{where}' must be a number.")
        return value
    limit = MAX_UNIQUE_VALUE_LENGTH if definition.get("uniqueness", "none") != "none" else MAX_STRING_LENGTH
    return _string(value, where, limit)


def _complex(definition: dict, value: Any, where: str) -> dict | None:
    if isinstance(value, str) and definition["name"] == "manager":
        value = {"value": value}  # Entra may send the manager as a bare id
    if not isinstance(value, dict):
        raise InvalidValue(f"'{where}' must be a JSON object.")
    subs = {sub["name"].lower(): sub for sub in definition.get("subAttributes", [])}
    out = {}
    for key, item in value.items():
        sub = subs.get(key.lower())
        if sub is None:
            raise InvalidSyntax(f"Unknown sub-attribute '{key}' of '{where}'.")
        if item is None or (sub["mutability"] == "readOnly" and definition["name"] == "manager"):
            continue  # `"$ref": null` (Entra); the manager's displayName is ours to fill, not the client's
        normalized = _single(sub, item, f"{where}.{sub['name']}")
        if normalized is not None:
            out[sub["name"]] = normalized
    if definition["name"] == "manager" and out.get("value") == "":
        return None  # `{"value": ""}` is how the Microsoft SCIM Validator removes a manager
    return out or None


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"'{where}' must be true or false.")


def _string(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"'{where}' must be a string.")
    if len(value) > limit:
        raise InvalidValue(f"'{where}' is longer than {limit} characters.")
    return value
