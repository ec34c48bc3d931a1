"""How a stored resource is shown to clients: its attributes plus `id` and `meta` (RFC 7643 §3.1)."""

from __future__ import annotations

from .resource_types import ResourceType


def etag(version: int) -> str:
    return f'W/"{version}"'


def representation(
    resource_type: ResourceType, resource_id: str, attributes: dict, created: str, last_modified: str,
    version: int, tenant_url: str,
) -> dict:
    # `schemas` says what the resource holds: its core schema, and each extension it has attributes of.
    present = [urn for urn in resource_type.extensions if attributes.get(urn)]
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
