"""Schema definitions as typed data (RFC 7643 §2, §7): an attribute's characteristics, a schema, and their RFC 7643
§7 JSON form, which /Schemas serves.

Definitions are frozen, so one definition is shared by every request and every IdP without a copy. Entra's quirks
are declared on the attribute they concern (`Dialect`), never found by testing an attribute's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

# RFC 7643 §2.2 / §7: the only values these characteristics may take.
TYPES = ("string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary")
MUTABILITY = ("readOnly", "readWrite", "immutable", "writeOnly")
RETURNED = ("always", "never", "default", "request")
UNIQUENESS = ("none", "server", "global")


@dataclass(frozen=True)
class Dialect:
    """How Entra (and the Microsoft SCIM Validator) treat one attribute beyond RFC 7643.

    `single_reference`: a complex attribute whose sub-attributes describe one other resource (the enterprise
    `manager`). Entra sends it as an object, a one-element array or a bare id; `{"value": ""}` removes it; a new value
    replaces it whole (a stale `$ref` would point at the previous resource); its read-only sub-attributes are ours to
    fill, so a client's are dropped rather than refused.
    """

    single_reference: bool = False


PLAIN = Dialect()


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7). `case_exact` defaults as §2.3.6 and §2.3.7 say: binary and reference
    values are case-exact."""

    name: str
    description: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool | None = None
    canonical_values: tuple[str, ...] | None = None
    reference_types: tuple[str, ...] | None = None
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    sub_attributes: tuple[Attribute, ...] | None = None
    dialect: Dialect = field(default=PLAIN, compare=False)

    def __post_init__(self) -> None:
        if self.case_exact is None:
            object.__setattr__(self, "case_exact", self.type in ("binary", "reference"))

    @property
    def complex(self) -> bool:
        return self.type == "complex"

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    @cached_property
    def _subs(self) -> dict[str, Attribute]:
        return {sub.name.lower(): sub for sub in self.sub_attributes or ()}

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute named `name` in any case (RFC 7643 §2.1), or None."""
        return self._subs.get(name.lower())

    @cached_property
    def _single(self) -> Attribute:
        return replace(self, multi_valued=False) if self.multi_valued else self

    def single(self) -> Attribute:
        """This definition for one element of a multi-valued attribute."""
        return self._single

    def to_scim(self) -> dict[str, Any]:
        """The RFC 7643 §7 form: every characteristic written out, optional ones left out rather than null."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
        }
        if self.canonical_values is not None:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types is not None:
            out["referenceTypes"] = list(self.reference_types)
        out["mutability"] = self.mutability
        out["returned"] = self.returned
        out["uniqueness"] = self.uniqueness
        if self.sub_attributes is not None:
            out["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        return out


@dataclass(frozen=True)
class Schema:
    """A schema (RFC 7643 §7): its URN, name, description and top-level attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        return {attribute.name.lower(): attribute for attribute in self.attributes}

    def attribute(self, name: str) -> Attribute | None:
        """The top-level attribute named `name` in any case, or None."""
        return self._by_name.get(name.lower())

    def to_scim(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attribute.to_scim() for attribute in self.attributes],
        }


@dataclass(frozen=True)
class SchemaExtension:
    """A schema extension of a resource type (RFC 7643 §6 `schemaExtensions`). `unqualified` is an Entra dialect
    flag: its attributes are also found by bare name (old Entra sends enterprise attributes at the top level, and
    checks a manager with `manager eq "…"`)."""

    schema: Schema
    required: bool = False
    unqualified: bool = False

    @property
    def urn(self) -> str:
        return self.schema.id
