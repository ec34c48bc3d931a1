"""How a stored resource is shown to clients: its attributes plus `id` and `meta` (RFC 7643 §3.1)."""

from __future__ import annotations

from .extensions import conform
from .resource_types import ResourceType


def etag(version: int) -> str:
    return f'W/"{version}"'


def representation(
    resource_type: ResourceType, resource_id: str, attributes: dict, created: str, last_modified: str,
    version: int, tenant_url: str, as_declared: bool = True,
) -> dict:
    """The resource as clients see it. `as_declared`: without the values of the IdP's own extensions that their
    current declaration drops (written before a forced change); False shows what is stored (the change events, whose
    consumer does not read the IdP's declarations)."""
    if as_declared:
        attributes = conform(resource_type, attributes)
    # `schemas` says what the resource holds: its core schema, and each extension it has attributes of.
    present = [urn for urn in resource_type.extension_urns if attributes.get(urn)]
    present += [key for key in attributes if key.lower().startswith("urn:") and key not in present and attributes[key]]
    body = {"schemas": [resource_type.schema, *present], "id": resource_id}
    body.update((key, value) for key, value in attributes.items() if key != "schemas")
    body["meta"] = {
        "resourceType": resource_type.name,
        "created": created,
        "lastModified": last_modified,
        "location": f"{tenant_url}{resource_type.endpoint}/{resource_id}",
        "version": etag(version),
    }
    return body


def etag_matches(header: str | None, version: int) -> bool:
    """Whether an If-Match / If-None-Match header names this version: `*`, or a list of (weak or strong) tags."""
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    wanted = f'"{version}"'
    return any(tag == "*" or tag.removeprefix("W/") == wanted for tag in tags)
