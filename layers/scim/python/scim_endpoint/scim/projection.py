"""`attributes` and `excludedAttributes` (RFC 7644 §3.9): which attributes a response carries."""

from __future__ import annotations

# Returned whatever the client asks (RFC 7643 §3.1, §7: `returned: always`).
ALWAYS_RETURNED = frozenset({"id", "schemas"})


def project(resource: dict, attributes: tuple[str, ...] = (), excluded: tuple[str, ...] = ()) -> dict:
    """A copy of `resource` with only the requested attributes, or without the excluded ones.

    Names may be `attr`, `attr.sub`, or URN-qualified (`urn:…:User:name.givenName`, `urn:…:enterprise:2.0:User`),
    in any case. `attributes` wins when both are given, as RFC 7644 §3.9 leaves it to the service.
    """
    if attributes:
        return _keep(resource, [_split(name, resource) for name in attributes])
    if excluded:
        return _drop(resource, [_split(name, resource) for name in excluded])
    return resource


def _split(name: str, resource: dict) -> tuple[str | None, str, str | None]:
    """(extension URN or None, attribute, sub-attribute or None), matching the resource's extension keys."""
    lowered = name.lower()
    for key in resource:
        if key.startswith("urn:") and lowered.startswith(key.lower()):
            rest = name[len(key) :].lstrip(":")
            if not rest:
                return None, key, None
            attr, _, sub = rest.partition(".")
            return key, attr, sub or None
    if lowered.startswith("urn:"):
        name = name.rsplit(":", 1)[-1]  # the core schema's own URN prefix
    attr, _, sub = name.partition(".")
    return None, attr, sub or None


def _matching_key(obj: dict, name: str) -> str | None:
    lowered = name.lower()
    return next((key for key in obj if key.lower() == lowered), None)


def _keep(resource: dict, wanted: list[tuple[str | None, str, str | None]]) -> dict:
    out = {key: value for key, value in resource.items() if key in ALWAYS_RETURNED}
    for urn, attr, sub in wanted:
        source, target = resource, out
        if urn is not None:
            source = resource.get(urn)
            if not isinstance(source, dict):
                continue
            target = out.setdefault(urn, {})
        key = _matching_key(source, attr)
        if key is None:
            continue
        value = source[key]
        if sub is None:
            target[key] = value
        elif isinstance(value, dict):
            sub_key = _matching_key(value, sub)
            if sub_key is not None:
                target.setdefault(key, {})[sub_key] = value[sub_key]
        elif isinstance(value, list):
            kept = target.get(key)
            if kept is value:
                continue  # the whole attribute is already asked for
            elements = [element for element in value if isinstance(element, dict)]
            if not isinstance(kept, list):
                kept = [{} for _ in elements]
            # Merge with sub-attributes already kept (`emails.value,emails.type`), element by element.
            target[key] = [
                {**before, **{k: v for k, v in element.items() if k.lower() == sub.lower()}}
                for before, element in zip(kept, elements)
            ]
    return out


def _drop(resource: dict, unwanted: list[tuple[str | None, str, str | None]]) -> dict:
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
        elif isinstance(target[key], dict):
            target[key] = {k: v for k, v in target[key].items() if k.lower() != sub.lower()}
        elif isinstance(target[key], list):
            target[key] = [
                {k: v for k, v in e.items() if k.lower() != sub.lower()} if isinstance(e, dict) else e
                for e in target[key]
            ]
    return out


def returns(name: str, attributes: tuple[str, ...] = (), excluded: tuple[str, ...] = ()) -> bool:
    """Whether a response trimmed by these parameters carries the top-level attribute `name` (e.g. whether a GET
    must read a user's `groups` or a group's `members`, which are kept apart from the resource)."""
    names = {entry.lower().rsplit(":", 1)[-1].split(".", 1)[0] for entry in (attributes or excluded)}
    return (name in names) if attributes else (name not in names)
