"""The resource types this service serves, and how each one's values are compared and kept unique."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from . import schemas
from . import filter as scim_filter
from .filter import AttrPath

USER_SCHEMA = schemas.USER
ENTERPRISE_USER_SCHEMA = schemas.ENTERPRISE_USER
GROUP_SCHEMA = schemas.GROUP

# DynamoDB keys hold at most 2048 bytes; longer unique values are keyed by their digest instead.
_MAX_KEY_VALUE_BYTES = 512


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    schema: str
    # Attributes unique per tenant: name -> whether the uniqueness ignores case (RFC 7643 caseExact false).
    unique: dict[str, bool]
    # Attributes (and sub-attributes, as "attr.sub") compared case-sensitively in filters (caseExact true).
    case_exact: frozenset[str]
    # Schema extensions whose attributes the resource may carry, under the extension's URN.
    extensions: tuple[str, ...] = ()
    # URIs a client may list in `schemas`: the resource's own, its extensions, and what Entra is known to send.
    accepted_schemas: frozenset[str] = frozenset()

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

    def is_case_exact(self, path: AttrPath) -> bool:
        name = f"{path.attr}.{path.sub_attr}" if path.sub_attr else path.attr
        return name.lower() in self.case_exact


def _keyed(key: str) -> str:
    """DynamoDB keys hold at most 2,048 bytes: a long value is keyed by its digest."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest() if len(key.encode()) > _MAX_KEY_VALUE_BYTES else key


def _case_exact(*schema_urns: str) -> frozenset[str]:
    """Names ("attr" and "attr.sub", lower case) the schemas mark caseExact, plus the common attributes that are
    (RFC 7643 §3.1: `id` and `externalId` are caseExact; `meta.location` and `meta.version` are references)."""
    names = {"id", "externalid", "meta.location", "meta.version"}
    for urn in schema_urns:
        for name, definition in schemas.attribute_definitions(urn).items():
            if definition.get("caseExact"):
                names.add(name)
            for sub in definition.get("subAttributes", []):
                if sub.get("caseExact"):
                    names.add(f"{name}.{sub['name'].lower()}")
    return frozenset(names)


USER = ResourceType(
    name="User",
    endpoint="/Users",
    schema=USER_SCHEMA,
    unique={"userName": True, "externalId": False},
    case_exact=_case_exact(USER_SCHEMA, ENTERPRISE_USER_SCHEMA),
    extensions=(ENTERPRISE_USER_SCHEMA,),
    accepted_schemas=frozenset(
        {
            USER_SCHEMA,
            ENTERPRISE_USER_SCHEMA,
            # Entra's documentation sends the enterprise URN without its last colon (docs/entra.md §2.3).
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        }
    ),
)

GROUP = ResourceType(
    name="Group",
    endpoint="/Groups",
    schema=GROUP_SCHEMA,
    unique={"displayName": True, "externalId": False},
    case_exact=_case_exact(GROUP_SCHEMA),
    accepted_schemas=frozenset(
        {GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"}  # Entra's create
    ),
)


def qualify_extensions(expr: scim_filter.Filter, resource_type: ResourceType) -> scim_filter.Filter:
    """The filter with extension attributes named without their URN given it, as the resource keeps them under it:
    Entra checks a manager with `id eq "…" and manager eq "…"` (docs/entra.md §2.5)."""
    if isinstance(expr, (scim_filter.And, scim_filter.Or)):
        return type(expr)(qualify_extensions(expr.left, resource_type), qualify_extensions(expr.right, resource_type))
    if isinstance(expr, scim_filter.Not):
        return scim_filter.Not(qualify_extensions(expr.operand, resource_type))
    path = expr.path
    name = path.attr.lower()
    if path.schema is not None or name in ("id", "externalid", "meta", "schemas") or (
        name in schemas.attribute_definitions(resource_type.schema)
    ):
        return expr
    urn = next((urn for urn in resource_type.extensions if name in schemas.attribute_definitions(urn)), None)
    return dataclasses.replace(expr, path=dataclasses.replace(path, schema=urn)) if urn else expr
