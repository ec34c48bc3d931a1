"""`attributes` and `excludedAttributes` (RFC 7644 §3.9): which attributes a response carries, and the `returned`
characteristic (RFC 7643 §7) of an IdP's own extension attributes: `always` ones whatever is asked, `request` ones
only when `attributes` names them."""

from __future__ import annotations

from typing import Any

from .resource_types import ResourceTypes

# Returned whatever the client asks (RFC 7643 §3.1, §7: `returned: always`).
ALWAYS_RETURNED = frozenset({"id", "schemas"})

# (extension URN or None, attribute, sub-attribute or None)
Name = tuple[str | None, str, str | None]


def project(resource: dict, attributes: tuple[str, ...] = (), excluded: tuple[str, ...] = (),
            types: ResourceTypes | None = None) -> dict:
    """A copy of `resource` with only the requested attributes, or without the excluded ones.

    Names may be `attr`, `attr.sub`, or URN-qualified (`urn:…:User:name.givenName`, `urn:…:enterprise:2.0:User`),
    in any case. `attributes` wins when both are given, as RFC 7644 §3.9 leaves it to the service. `types`: the
    IdP's resource types, whose `returned` characteristics then apply.
    """
    if attributes:
        out = _keep(resource, [_split(name, resource) for name in attributes])
    elif excluded:
        out = _drop(resource, [_split(name, resource) for name in excluded])
    else:
        out = resource
    resource_type = types.get(str((resource.get("meta") or {}).get("resourceType", ""))) if types else None
    if resource_type is None or not (resource_type.returned_always or resource_type.returned_on_request):
        return out
    return _returned(resource, out, bool(attributes), resource_type.returned_always,
                     resource_type.returned_on_request)


def _split(name: str, resource: dict) -> Name:
    """(extension URN or None, attribute, sub-attribute or None), matching the resource's extension keys."""
    lowered = name.lower()
    # The longest extension key the name is, or starts with followed by ':' (no URN hides another it prefixes).
    for key in sorted((k for k in resource if k.startswith("urn:")), key=len, reverse=True):
        if lowered == key.lower():
            return None, key, None
        if lowered.startswith(key.lower() + ":"):
            attr, _, sub = name[len(key) + 1 :].partition(".")
            return key, attr, sub or None
    if lowered.startswith("urn:"):
        name = name.rsplit(":", 1)[-1]  # the core schema's own URN prefix
    attr, _, sub = name.partition(".")
    return None, attr, sub or None


def _matching_key(obj: dict, name: str) -> str | None:
    lowered = name.lower()
    return next((key for key in obj if key.lower() == lowered), None)


def _keep(resource: dict, wanted: list[Name]) -> dict:
    out = {key: value for key, value in resource.items() if key in ALWAYS_RETURNED}
    for urn, attr, sub in wanted:
        source, target = resource, out
        if urn is not None:
            source = resource.get(urn)
            if not isinstance(source, dict):
                continue
            target = out.setdefault(urn, {})
        key = _matching_key(source, attr)
        if key is not None:
            _keep_one(source[key], target, key, sub)
    return out


def _keep_one(value: Any, target: dict, key: str, sub: str | None) -> None:
    """Put an attribute (or one sub-attribute of it) into `target`."""
    if sub is None:
        target[key] = value
    elif isinstance(value, dict):
        sub_key = _matching_key(value, sub)
        if sub_key is not None:
            target.setdefault(key, {})[sub_key] = value[sub_key]
    elif isinstance(value, list) and target.get(key) is not value:  # not when the whole attribute is kept already
        elements = [element for element in value if isinstance(element, dict)]
        kept = target.get(key)
        if not isinstance(kept, list):
            kept = [{} for _ in elements]
        # Merge with sub-attributes already kept (`emails.value,emails.type`), element by element.
        target[key] = [
            {**before, **{k: v for k, v in element.items() if k.lower() == sub.lower()}}
            for before, element in zip(kept, elements)
        ]


def _drop(resource: dict, unwanted: list[Name]) -> dict:
    out = dict(resource)
    for urn, attr, sub in unwanted:
        target = out
        if urn is not None:
            if not isinstance(out.get(urn), dict):
                continue
            target = out[urn] = dict(out[urn])
        key = _matching_key(target, attr)
        if key is None or (target is out and key in ALWAYS_RETURNED):
            continue
        if sub is None:
            del target[key]
        else:
            target[key] = _without(target[key], sub)
    return out


def _without(value: Any, sub: str) -> Any:
    """The attribute without one sub-attribute (in each of its values, for a multi-valued one)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.lower() != sub.lower()}
    if isinstance(value, list):
        return [_without(element, sub) if isinstance(element, dict) else element for element in value]
    return value


def _returned(resource: dict, out: dict, asked: bool, always: tuple[tuple[str, str], ...],
              on_request: tuple[tuple[str, str], ...]) -> dict:
    """`out` with the extension attributes marked `returned: always` put back, and without those marked `request`
    unless the client asked for attributes by name (then `_keep` kept only what it named)."""
    out = {key: dict(value) if key.startswith("urn:") and isinstance(value, dict) else value
           for key, value in out.items()}
    for urn, name in always:
        source = resource.get(urn)
        if isinstance(source, dict) and name in source:
            out.setdefault(urn, {})[name] = source[name]
    for urn, name in () if asked else on_request:
        if isinstance(out.get(urn), dict):
            out[urn].pop(name, None)
    return _without_emptied(out, {urn for urn, _ in always + on_request})


def _without_emptied(out: dict, urns: set[str]) -> dict:
    """An extension left with no attribute is not shown, nor named in `schemas` (RFC 7643 §3)."""
    emptied = {urn for urn in urns if out.get(urn) == {}}
    for urn in emptied:
        del out[urn]
    if emptied and isinstance(out.get("schemas"), list):
        out["schemas"] = [schema for schema in out["schemas"] if schema not in emptied]
    return out


def returns(name: str, attributes: tuple[str, ...] = (), excluded: tuple[str, ...] = ()) -> bool:
    """Whether a response trimmed by these parameters carries the top-level attribute `name` (e.g. whether a GET
    must read a user's `groups` or a group's `members`, which are kept apart from the resource)."""
    names = {entry.lower().rsplit(":", 1)[-1].split(".", 1)[0] for entry in (attributes or excluded)}
    return (name in names) if attributes else (name not in names)
