"""Schema extensions an IdP declares for itself (custom attributes: Entra's and Okta's attribute mappings), in the
SCIM schema language (RFC 7643 §7): checked, compiled to definitions, and compared when they change (pure).

A declaration is `{"resourceType": "User" | "Group", "required": bool, "schema": <an RFC 7643 §7 Schema>}`. What this
service supports of the schema language, and its limits, are in docs/extensions.md; anything else is refused with a
message saying what and where, never silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import schemas
from .definitions import Attribute, Schema, SchemaExtension
from .errors import ScimError
from .resource_types import CORE, ResourceType, ResourceTypes
from .validation import attribute_value

# Limits (docs/extensions.md). An IdP's extensions live in its secret beside its keys (Secrets Manager holds 64 KB),
# and every request of the IdP carries them compiled: small enough for both.
MAX_EXTENSIONS = 10
MAX_ATTRIBUTES = 100  # per extension, sub-attributes counted
MAX_SUB_ATTRIBUTES = 20
MAX_CANONICAL_VALUES = 100
MAX_TOTAL_BYTES = 24 * 1024  # all of an IdP's declarations, as stored
MAX_URN_LENGTH = 200
MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 1000

SUPPORTED_TYPES = ("string", "boolean", "integer", "decimal", "dateTime", "reference", "complex")

# RFC 8141's shape (`urn:<NID>:<NSS>`), narrowed to characters no filter, PATCH path, `attributes` list or URL reads
# otherwise (`+` is a space in a query string, `(`, `)`, `[`, `]` are a filter's, `,` separates `attributes`).
_URN = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9._:-]+", re.IGNORECASE)
# RFC 7643 §2.1 ATTRNAME; a reference sub-attribute may be `$ref` (RFC 7643 §2.4).
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# URNs of SCIM itself: the core schemas and messages are never an IdP's to declare.
_RESERVED_PREFIXES = ("urn:ietf:params:scim:schemas:core:", "urn:ietf:params:scim:api:")
_COMMON = ("id", "externalid", "meta", "schemas")


class _Strict(BaseModel):
    # strict: `"required": "yes"` is a mistake to point out, not a true to guess.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


class AttributeDeclaration(_Strict):
    """An attribute of a declared schema (RFC 7643 §7), with the characteristics this service supports."""

    name: str = Field(max_length=MAX_NAME_LENGTH)
    type: str = "string"
    multi_valued: bool = Field(default=False, alias="multiValued")
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    required: bool = False
    case_exact: bool = Field(default=False, alias="caseExact")
    canonical_values: list[str] | None = Field(default=None, alias="canonicalValues", max_length=MAX_CANONICAL_VALUES)
    reference_types: list[str] | None = Field(default=None, alias="referenceTypes", max_length=10)
    mutability: Literal["readWrite", "immutable"] = "readWrite"
    returned: Literal["default", "always", "request"] = "default"
    uniqueness: Literal["none"] = "none"
    sub_attributes: list[AttributeDeclaration] | None = Field(default=None, alias="subAttributes",
                                                              max_length=MAX_SUB_ATTRIBUTES)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value != "$ref" and not _ATTRIBUTE_NAME.fullmatch(value):
            raise ValueError("an attribute name starts with a letter, then letters, digits, '_' or '-' "
                             "(RFC 7643 §2.1)")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in SUPPORTED_TYPES:
            raise ValueError(f"unknown type {value!r}; one of: {', '.join(SUPPORTED_TYPES)}")
        return value

    @field_validator("canonical_values", "reference_types")
    @classmethod
    def _short_texts(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not item or len(item) > 256 for item in value):
            raise ValueError("each value is 1 to 256 characters")
        return value

    @model_validator(mode="after")
    def _shape(self) -> AttributeDeclaration:
        if self.complex != (self.sub_attributes is not None and len(self.sub_attributes) > 0):
            raise ValueError(f"'{self.name}': a complex attribute has sub-attributes, and only a complex one does")
        if self.name == "$ref" and self.type != "reference":
            raise ValueError("'$ref' is a reference")
        if self.reference_types is not None and self.type != "reference":
            raise ValueError(f"'{self.name}': referenceTypes is for references only")
        for sub in self.sub_attributes or ():
            if sub.complex or sub.multi_valued:
                # RFC 7643 §2.3.8 for complex; single-valued sub-attributes keep PATCH paths one filter deep.
                raise ValueError(f"'{self.name}.{sub.name}': a sub-attribute is neither complex nor multi-valued")
            if (sub.mutability, sub.returned) != ("readWrite", "default"):
                raise ValueError(f"'{self.name}.{sub.name}': a sub-attribute takes its attribute's mutability and "
                                 "returned; declare them on the attribute")
        _unique_names(self.sub_attributes or (), f"'{self.name}'")
        return self

    @property
    def complex(self) -> bool:
        return self.type == "complex"

    def count(self) -> int:
        return 1 + len(self.sub_attributes or ())

    def definition(self) -> Attribute:
        return Attribute(
            self.name, self.description or self.name, type=self.type, multi_valued=self.multi_valued,
            required=self.required,
            # RFC 7643 §2.3.7: a reference is case-exact whatever the declaration says.
            case_exact=self.case_exact or self.type == "reference",
            canonical_values=tuple(self.canonical_values) if self.canonical_values is not None else None,
            reference_types=tuple(self.reference_types) if self.reference_types is not None else None,
            mutability=self.mutability, returned=self.returned, uniqueness=self.uniqueness,
            sub_attributes=tuple(sub.definition() for sub in self.sub_attributes) if self.sub_attributes else None,
        )


class SchemaDeclaration(_Strict):
    """An RFC 7643 §7 Schema. `schemas` and `meta`, as GET /Schemas/{urn} shows them, may be sent back and are
    ignored."""

    id: str = Field(max_length=MAX_URN_LENGTH, description="The extension's URN, e.g. "
                                                           "urn:ietf:params:scim:schemas:extension:acme:2.0:User")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    attributes: list[AttributeDeclaration] = Field(min_length=1, max_length=MAX_ATTRIBUTES)
    schemas: list[str] | None = None
    meta: dict[str, Any] | None = None

    @field_validator("id")
    @classmethod
    def _urn(cls, value: str) -> str:
        if not _URN.fullmatch(value) or value.endswith(":"):
            raise ValueError("not a URN (urn:<namespace>:<name>, e.g. urn:ietf:params:scim:schemas:extension:"
                             "acme:2.0:User)")
        lowered = value.lower()
        served = [urn.lower() for urn in (*schemas.SCHEMAS, *CORE.user.aliases, *CORE.group.aliases)]
        clash = [urn for urn in served if urn == lowered or urn.startswith(lowered + ":")
                 or lowered.startswith(urn + ":")]
        if lowered.startswith(_RESERVED_PREFIXES) or clash:
            raise ValueError("this URN is SCIM's own or one this service serves; declare the extension under a URN "
                             "of your own")
        return value

    @model_validator(mode="after")
    def _attributes(self) -> SchemaDeclaration:
        _unique_names(self.attributes, "the schema")
        if sum(attribute.count() for attribute in self.attributes) > MAX_ATTRIBUTES:
            raise ValueError(f"an extension has at most {MAX_ATTRIBUTES} attributes, sub-attributes counted")
        return self


class ExtensionDeclaration(_Strict):
    """An IdP's schema extension: the resource type it extends, whether that resource type requires it, and the
    schema."""

    resource_type: Literal["User", "Group"] = Field(alias="resourceType")
    required: bool = Field(default=False, description="Whether every resource of the type must carry the "
                                                      "extension (and its required attributes).")
    schema_: SchemaDeclaration = Field(alias="schema")

    @model_validator(mode="after")
    def _no_clash(self) -> ExtensionDeclaration:
        served = CORE.get(self.resource_type)  # one of the two, by the Literal above
        for attribute in self.schema_.attributes:
            if served.core.attribute(attribute.name) is not None or attribute.name.lower() in _COMMON:
                raise ValueError(f"'{attribute.name}' is a core attribute of a {self.resource_type}; name the "
                                 "extension's attribute otherwise")
        return self

    @property
    def urn(self) -> str:
        return self.schema_.id

    def document(self) -> dict[str, Any]:
        """As stored and as the management API shows it: the declaration in the SCIM schema language."""
        return {"resourceType": self.resource_type, "required": self.required,
                "schema": {"id": self.urn, "name": self.schema_.name, "description": self.schema_.description,
                           "attributes": [a.model_dump(by_alias=True, exclude_none=True)
                                          for a in self.schema_.attributes]}}

    def extension(self) -> SchemaExtension:
        schema = Schema(self.urn, self.schema_.name, self.schema_.description or self.schema_.name,
                        tuple(attribute.definition() for attribute in self.schema_.attributes))
        return SchemaExtension(schema, required=self.required)


def _unique_names(attributes: Iterable[AttributeDeclaration], where: str) -> None:
    seen: set[str] = set()
    for attribute in attributes:
        if attribute.name.lower() in seen:
            raise ValueError(f"{where} names '{attribute.name}' twice (names ignore case)")
        seen.add(attribute.name.lower())


class InvalidExtension(ValueError):
    """A declaration this service cannot serve; the message says what and where (never a stored value)."""


def parse(document: Any) -> ExtensionDeclaration:
    """A declaration from its JSON form; InvalidExtension saying what is wrong."""
    try:
        return ExtensionDeclaration.model_validate(document)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ()))
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        raise InvalidExtension(f"{where}: {message}" if where else message) from None


def check_set(declarations: list[ExtensionDeclaration]) -> None:
    """An IdP's extensions together: within the limits, and no URN equal to, or a prefix of, another's (a path
    `urn:a:b:c:x` must name one attribute of one extension)."""
    if len(declarations) > MAX_EXTENSIONS:
        raise InvalidExtension(f"an IdP has at most {MAX_EXTENSIONS} extensions")
    urns = [declaration.urn.lower() for declaration in declarations]
    for urn in urns:
        if urns.count(urn) > 1 or any(other.startswith(urn + ":") for other in urns):
            raise InvalidExtension(f"the URN {urn} is taken, or a prefix of another extension's URN")
    size = len(json.dumps([declaration.document() for declaration in declarations], separators=(",", ":")))
    if size > MAX_TOTAL_BYTES:
        raise InvalidExtension(f"an IdP's extensions take at most {MAX_TOTAL_BYTES} bytes together (these take "
                               f"{size})")


def resource_types(documents: Iterable[dict[str, Any]]) -> ResourceTypes:
    """The resource types an IdP with these stored declarations is served (CORE for none)."""
    declarations = [ExtensionDeclaration.model_validate(document) for document in documents]
    if not declarations:
        return CORE
    return CORE.with_extensions(
        user=[d.extension() for d in declarations if d.resource_type == "User"],
        group=[d.extension() for d in declarations if d.resource_type == "Group"],
    )


# --- changing an extension ---------------------------------------------------------------------------------------


def dropped(old: ExtensionDeclaration | None, new: ExtensionDeclaration | None) -> list[str]:
    """The attributes of `old` whose stored values `new` would no longer accept: removed, or retyped (type,
    multiValued, or a sub-attribute removed or retyped). Every one of them, for deleting an extension."""
    if old is None:
        return []
    kept = {a.name.lower(): a for a in new.schema_.attributes} if new is not None else {}
    if new is not None and new.resource_type != old.resource_type:
        kept = {}
    return [a.name for a in old.schema_.attributes if not _compatible(a, kept.get(a.name.lower()))]


def _compatible(old: AttributeDeclaration, new: AttributeDeclaration | None) -> bool:
    if new is None or (old.type, old.multi_valued) != (new.type, new.multi_valued):
        return False
    subs = {sub.name.lower(): sub for sub in new.sub_attributes or ()}
    return all(_compatible(sub, subs.get(sub.name.lower())) for sub in old.sub_attributes or ())


def uses(urn: str, names: list[str], attributes: dict[str, Any]) -> bool:
    """Whether a stored resource holds a value of any of these attributes of the extension `urn`."""
    values = next((v for k, v in attributes.items() if k.lower() == urn.lower()), None)
    if not isinstance(values, dict):
        return False
    wanted = {name.lower() for name in names}
    return any(key.lower() in wanted and value not in (None, [], {}) for key, value in values.items())


def conform(resource_type: ResourceType, attributes: dict[str, Any]) -> dict[str, Any]:
    """A stored resource's attributes as its IdP's extensions are now declared: the values of an extension deleted,
    or of an attribute removed or retyped since they were written (a change forced past them), are left out. They
    are gone from the store when the resource is next written. Values of the core schemas are never touched."""
    extensions = [key for key in attributes if key.lower().startswith("urn:") and key.lower() not in _SERVED]
    if not extensions:
        return attributes
    out = dict(attributes)
    for key in extensions:
        extension = resource_type.extension(key)
        kept = _conforming(extension.schema, out[key]) if extension is not None else {}
        if kept:
            out[key] = kept
        else:
            del out[key]
    return out


_SERVED = frozenset(urn.lower() for urn in schemas.SCHEMAS)


def _conforming(schema: Schema, values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        return {}
    kept = {name: _conforming_value(definition, value) for name, value in values.items()
            if (definition := schema.attribute(name)) is not None}
    return {name: value for name, value in kept.items() if value is not None}


def _conforming_value(definition: Attribute, value: Any) -> Any:
    """What of a stored value the declaration accepts, value by value and sub-attribute by sub-attribute (a removed
    sub-attribute takes only itself away; `required` is not judged here: it applies to what is written next)."""
    if definition.multi_valued:
        kept = [v for v in (_conforming_value(definition.single(), e) for e in value) if v is not None] \
            if isinstance(value, list) else []
        return kept or None
    if definition.complex:
        if not isinstance(value, dict):
            return None
        subs = {name: _conforming_value(sub, v) for name, v in value.items() if (sub := definition.sub(name))}
        return {name: v for name, v in subs.items() if v is not None} or None
    try:
        return attribute_value(definition, value, definition.name)
    except ScimError:
        return None  # written under an earlier declaration this one does not accept
