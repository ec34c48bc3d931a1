"""The resource types this service serves (RFC 7643 §6), built from the schema definitions, and how each one's
values are resolved, compared and kept unique.

`CORE` holds User and Group as every IdP has them; an IdP that declared extensions of its own gets a `ResourceTypes`
with them added (`with_extensions`), and everything below the request edge reads its resource types from there, so
no request ever sees another IdP's extensions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from . import filter as scim_filter
from . import schemas
from .definitions import Attribute, Schema, SchemaExtension
from .filter import AttrPath

USER_SCHEMA = schemas.USER
ENTERPRISE_USER_SCHEMA = schemas.ENTERPRISE_USER
GROUP_SCHEMA = schemas.GROUP

# DynamoDB keys hold at most 2048 bytes; longer unique values are keyed by their digest instead.
_MAX_KEY_VALUE_BYTES = 512

RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    description: str
    core: Schema
    # Attributes unique per tenant: name -> whether the uniqueness ignores case (RFC 7643 caseExact false).
    unique: dict[str, bool]
    # Schema extensions whose attributes the resource may carry, under the extension's URN.
    extensions: tuple[SchemaExtension, ...] = ()
    # URIs a client may list in `schemas` beyond the resource's own and its extensions': what Entra is known to send.
    aliases: frozenset[str] = frozenset()

    @property
    def schema(self) -> str:
        """The URN of the resource's core schema."""
        return self.core.id

    @cached_property
    def accepted_schemas(self) -> frozenset[str]:
        """What `schemas` may name, in lower case (URIs compare ignoring case here)."""
        return frozenset(urn.lower() for urn in (self.schema, *self.extension_urns, *self.aliases))

    @cached_property
    def extension_urns(self) -> tuple[str, ...]:
        return tuple(extension.urn for extension in self.extensions)

    @cached_property
    def _extensions(self) -> dict[str, SchemaExtension]:
        return {extension.urn.lower(): extension for extension in self.extensions}

    @cached_property
    def returned_always(self) -> tuple[tuple[str, str], ...]:
        """(URN, attribute) of the extension attributes returned whatever `attributes`/`excludedAttributes` say."""
        return self._returned("always")

    @cached_property
    def returned_on_request(self) -> tuple[tuple[str, str], ...]:
        """(URN, attribute) of the extension attributes returned only when `attributes` names them."""
        return self._returned("request")

    @cached_property
    def immutable(self) -> tuple[tuple[str | None, str], ...]:
        """(URN or None for the core schema, attribute) of the attributes that keep the value they are first given."""
        core = tuple((None, a.name) for a in self.core.attributes if a.mutability == "immutable")
        return core + tuple((e.urn, a.name) for e in self.extensions for a in e.schema.attributes
                            if a.mutability == "immutable")

    def _returned(self, returned: str) -> tuple[tuple[str, str], ...]:
        return tuple((e.urn, a.name) for e in self.extensions for a in e.schema.attributes if a.returned == returned)

    def extension(self, urn: str) -> SchemaExtension | None:
        """The extension whose URN this is, in any case, or None."""
        return self._extensions.get(urn.lower())

    def unqualified(self, name: str) -> SchemaExtension | None:
        """The extension an attribute named without its URN belongs to: only extensions Entra names that way."""
        return next((e for e in self.extensions if e.unqualified and e.schema.attribute(name)), None)

    def attribute(self, path: AttrPath) -> Attribute | None:
        """The definition a filter or projection path names (its sub-attribute's, when it names one), or None."""
        if path.schema is not None:
            extension = self.extension(path.schema)
            top = extension.schema.attribute(path.attr) if extension is not None else None
        else:
            top = self.core.attribute(path.attr) or schemas.COMMON.attribute(path.attr)
            if top is None and (extension := self.unqualified(path.attr)) is not None:
                top = extension.schema.attribute(path.attr)
        if top is None or path.sub_attr is None:
            return top
        if not top.complex and path.sub_attr.lower() == "value":
            return top  # a simple multi-valued attribute's `value` is the value itself (`skills[value eq "Go"]`)
        return top.sub(path.sub_attr)

    def is_case_exact(self, path: AttrPath) -> bool:
        definition = self.attribute(path)
        return bool(definition is not None and definition.case_exact)

    def with_extensions(self, extensions: Iterable[SchemaExtension]) -> ResourceType:
        return replace(self, extensions=self.extensions + tuple(extensions))

    def unique_attribute(self, name: str) -> str | None:
        """The canonical spelling of a unique attribute named in any case, or None."""
        lowered = name.lower()
        return next((attr for attr in self.unique if attr.lower() == lowered), None)

    def value_key(self, attribute: str, value: str) -> str:
        """How a unique value is written into its guard's key. An attribute that ignores case compares canonical
        caseless forms (NFC, case-folded, NFC again: Unicode's canonical caseless match), so "Zoë" typed precomposed
        or with a combining diaeresis, in any case, is one name (as filters compare them). The value itself is
        stored as sent."""
        return _keyed(scim_filter.caseless(value) if self.unique[attribute] else value)

    def legacy_value_key(self, attribute: str, value: str) -> str:
        """The key an earlier version wrote (case-folded only, without Unicode normalization): what guards written
        before keys were recorded in their resource are found under (`scim-admin migrate-guards` moves them)."""
        return _keyed(value.casefold() if self.unique[attribute] else value)

    def to_scim(self, base: str) -> dict[str, Any]:
        """Its RFC 7643 §6 representation, for /ResourceTypes."""
        body: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema,
        }
        if self.extensions:
            body["schemaExtensions"] = [{"schema": e.urn, "required": e.required} for e in self.extensions]
        body["meta"] = {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{self.name}"}
        return body


def _keyed(key: str) -> str:
    """DynamoDB keys hold at most 2,048 bytes: a long value is keyed by its digest."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest() if len(key.encode()) > _MAX_KEY_VALUE_BYTES else key


USER = ResourceType(
    name="User",
    endpoint="/Users",
    description="User Account",
    core=schemas.USER_SCHEMA,
    unique={"userName": True, "externalId": False},
    extensions=(SchemaExtension(schemas.ENTERPRISE_USER_SCHEMA, required=False, unqualified=True),),
    # Entra's documentation sends the enterprise URN without its last colon (docs/entra.md §2.3).
    aliases=frozenset({"urn:ietf:params:scim:schemas:extension:enterprise:2.0User"}),
)

GROUP = ResourceType(
    name="Group",
    endpoint="/Groups",
    description="Group",
    core=schemas.GROUP_SCHEMA,
    unique={"displayName": True, "externalId": False},
    aliases=frozenset({"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"}),  # Entra's create
)


@dataclass(frozen=True)
class ResourceTypes:
    """The resource types one IdP is served, in the order /ResourceTypes lists them."""

    user: ResourceType = USER
    group: ResourceType = GROUP

    @cached_property
    def all(self) -> tuple[ResourceType, ...]:
        return (self.user, self.group)

    def get(self, name: str) -> ResourceType | None:
        """The resource type with this id (RFC ids are case-sensitive; matching them ignoring case is lenient and
        safe, as no two differ only in case)."""
        return next((t for t in self.all if t.name.lower() == name.lower()), None)

    @cached_property
    def schemas(self) -> tuple[Schema, ...]:
        """Every schema, in the order /Schemas lists them: the core ones first, then the IdP's own."""
        core = tuple(schemas.SCHEMAS.values())
        own = tuple(e.schema for t in self.all for e in t.extensions if e.schema not in core)
        return core + own

    def schema(self, urn: str) -> Schema | None:
        return next((s for s in self.schemas if s.id.lower() == urn.lower()), None)

    def with_extensions(self, user: Iterable[SchemaExtension], group: Iterable[SchemaExtension]) -> ResourceTypes:
        return ResourceTypes(self.user.with_extensions(user), self.group.with_extensions(group))


CORE = ResourceTypes()


class _Qualify(scim_filter.Rewrite):
    def __init__(self, resource_type: ResourceType):
        self.resource_type = resource_type

    def path(self, path: AttrPath) -> AttrPath:
        if path.schema is not None or self.resource_type.core.attribute(path.attr) or schemas.COMMON.attribute(
                path.attr):
            return path
        extension = self.resource_type.unqualified(path.attr)
        return replace(path, schema=extension.urn) if extension is not None else path


def qualify_extensions(expr: scim_filter.Filter, resource_type: ResourceType) -> scim_filter.Filter:
    """The filter with extension attributes named without their URN given it, as the resource keeps them under it:
    Entra checks a manager with `id eq "…" and manager eq "…"` (docs/entra.md §2.5)."""
    return _Qualify(resource_type).visit(expr)
