"""How a stored resource is shown to clients: its attributes plus `id` and `meta` (RFC 7643 §3.1)."""

from __future__ import annotations

from .resource_types import ResourceType


def etag(version: int) -> str:
    return f'W/"{version}"'


def representation(
    resource_type: ResourceType, resource_id: str, attributes: dict, created: str, last_modified: str,
    version: int, tenant_url: str,
) -> dict:
    body = {"schemas": attributes.get("schemas") or [resource_type.schema], "id": resource_id}
    body.update((key, value) for key, value in attributes.items() if key != "schemas")
    body["meta"] = {
        "resourceType": resource_type.name,
        "created": created,
        "lastModified": last_modified,
        "location": f"{tenant_url}{resource_type.endpoint}/{resource_id}",
        "version": etag(version),
    }
    return body
