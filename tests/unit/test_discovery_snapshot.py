"""The typed definitions serve, byte for byte, the /Schemas and /ResourceTypes the dict definitions served before them
(tests/snapshots/discovery.json, taken from the last version with dicts)."""

from __future__ import annotations

import json
from pathlib import Path

from scim_endpoint.scim import discovery
from scim_endpoint.scim.listing import to_json
from scim_endpoint.scim.resource_types import CORE

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "discovery.json"
BASE = "https://scim.example.com/v1/scim/acme"


def test_schemas_and_resource_types_are_byte_identical_to_the_snapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))  # key order kept: to_json writes it back as served
    served = {"Schemas": discovery.list_schemas(CORE, BASE), "ResourceTypes": discovery.list_resource_types(CORE, BASE)}
    assert to_json(served["Schemas"]).encode() == to_json(expected["Schemas"]).encode()
    assert to_json(served["ResourceTypes"]).encode() == to_json(expected["ResourceTypes"]).encode()
    for schema in expected["Schemas"]["Resources"]:
        assert to_json(discovery.get_schema(CORE, schema["id"], BASE)) == to_json(schema)
