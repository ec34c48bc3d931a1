"""PATCH paths (RFC 7644 §3.5.2's PATH grammar) resolved against a resource type's definitions: what an operation
acts on, before any operation looks at a value.

`attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, each optionally qualified by a schema URN — the core
schema's, or an extension's (`urn:…:enterprise:2.0:User:manager`, an IdP's own `urn:…:acme:2.0:User:costCenter`).
A bare extension URN names the whole extension.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import filter as scim_filter
from . import schemas
from .definitions import Attribute
from .errors import InvalidFilter, InvalidPath
from .resource_types import ResourceType


@dataclass(frozen=True)
class Target:
    """Where an operation acts: an attribute (under an extension's URN or not), optionally filtered and/or narrowed
    to a sub-attribute."""

    definition: Attribute
    extension: str | None = None
    filter: scim_filter.Filter | None = None
    sub: Attribute | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def label(self) -> str:
        return f"{self.name}.{self.sub.name}" if self.sub else self.name

    @property
    def read_only(self) -> bool:
        return self.definition.read_only or (self.sub is not None and self.sub.read_only)


@dataclass(frozen=True)
class _Parts:
    attribute: str
    value_filter: scim_filter.Filter | None = None
    sub: str | None = None


def parse_path(resource_type: ResourceType, text: str) -> Target | None:
    """A PATCH path resolved against the resource type; None for a bare extension URN (see `whole_extension`)."""
    parts = _split_filter(text.strip())
    extension, attribute_text = _split_urn(resource_type, parts.attribute)
    if attribute_text == "":
        if parts.value_filter is not None or parts.sub is not None:
            raise InvalidPath("A schema URN path takes no filter.")
        return None
    name, _, dotted_sub = attribute_text.partition(".")
    if dotted_sub and parts.sub is not None:
        raise InvalidPath("A path names at most one sub-attribute.")
    sub_text = dotted_sub or parts.sub
    definition, extension = _definition(resource_type, extension, name)
    if parts.value_filter is not None and not definition.multi_valued and not definition.complex:
        raise InvalidPath(f"'{definition.name}' is single-valued; it takes no value filter.")
    sub = None
    if sub_text is not None:
        sub = definition.sub(sub_text)
        if sub is None:
            raise InvalidPath(f"'{definition.name}' has no sub-attribute '{sub_text}'.")
    return Target(definition, extension, parts.value_filter, sub)


def whole_extension(resource_type: ResourceType, path: str) -> str:
    """The URN of the extension a path that names a whole extension names."""
    extension, rest = _split_urn(resource_type, path.strip())
    if extension is None or rest:
        raise InvalidPath("The path names no extension of this resource.")
    return extension


def _split_filter(text: str) -> _Parts:
    """`attr[filter].sub` into its attribute text, its value filter and the sub-attribute after the filter."""
    if "[" not in text:
        return _Parts(text)
    start = text.index("[")
    end = _closing_bracket(text, start)
    try:
        value_filter = scim_filter.parse(text[start + 1 : end])
    except InvalidFilter as error:
        raise InvalidPath(f"The path's value filter is not valid: {error.detail}") from None
    rest = text[end + 1 :]
    if rest and (not rest.startswith(".") or len(rest) < 2):
        raise InvalidPath("Only '.subAttribute' may follow a value filter in a path.")
    return _Parts(text[:start], value_filter, rest[1:] or None)


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
    """(extension URN or None, the rest) for a possibly URN-qualified attribute path. The longest URN that prefixes
    the path wins, so no extension hides another whose URN starts with its own."""
    lowered = text.lower()
    for urn in sorted(resource_type.extension_urns, key=len, reverse=True):
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


def _definition(resource_type: ResourceType, extension: str | None, name: str) -> tuple[Attribute, str | None]:
    if extension is not None:
        definition = resource_type.extension(extension).schema.attribute(name)  # type: ignore[union-attr]
        if definition is None:
            raise InvalidPath(f"{extension} has no attribute '{name}'.")
        return definition, extension
    definition = resource_type.core.attribute(name) or schemas.COMMON.attribute(name)
    if definition is not None:
        return definition, None
    found = resource_type.unqualified(name)  # an enterprise attribute named without its URN (Entra)
    if found is not None:
        return found.schema.attribute(name), found.urn  # type: ignore[return-value]
    raise InvalidPath(f"A {resource_type.name} has no attribute '{name}'.")
