"""The change events' JSON Schema, made from their pydantic models (scim_endpoint/events/models.py), written to
docs/events.schema.json and into template.yaml's schema registry entry (between its BEGIN/END EVENT SCHEMA marks).

    make schemas        (tests/template checks both are current)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = REPO_ROOT / "docs" / "events.schema.json"
TEMPLATE = REPO_ROOT / "template.yaml"
_BLOCK = re.compile(r"(      # BEGIN EVENT SCHEMA[^\n]*\n)(.*?)(      # END EVENT SCHEMA\n)", re.DOTALL)


def schema() -> dict:
    """The event's JSON Schema, in draft 4 (what EventBridge's schema registry takes as JSONSchemaDraft4)."""
    from scim_endpoint.events.models import Event

    made = Event.model_json_schema(ref_template="#/definitions/{model}")
    made["definitions"] = made.pop("$defs", {})
    return {"$schema": "http://json-schema.org/draft-04/schema#", **made}


def text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def template_block() -> str:
    """The registry entry's Content, as template.yaml writes it (a literal block of the schema's JSON)."""
    lines = text().rstrip("\n").split("\n")
    return "      Content: |\n" + "".join(f"        {line}\n" for line in lines)


def template_schema(template_text: str) -> str | None:
    found = _BLOCK.search(template_text)
    return found.group(2) if found else None


def main() -> int:
    DOCUMENT.write_text(text(), encoding="utf-8")
    source = TEMPLATE.read_text(encoding="utf-8")
    if template_schema(source) is None:
        print("template.yaml has no BEGIN/END EVENT SCHEMA block", file=sys.stderr)
        return 1
    TEMPLATE.write_text(_BLOCK.sub(lambda m: m.group(1) + template_block() + m.group(3), source, count=1),
                        encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(REPO_ROOT)} and template.yaml's EventSchema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
