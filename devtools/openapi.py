"""The management API's OpenAPI document, made from its routes and their pydantic models (functions/admin/app.py),
so the document, the validation and the handlers cannot disagree.

    make openapi        (writes docs/management-api.openapi.json; tests/template checks it is current)
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = REPO_ROOT / "docs" / "management-api.openapi.json"
ADMIN_APP = REPO_ROOT / "functions" / "admin" / "app.py"


def admin_app() -> Any:
    spec = importlib.util.spec_from_file_location("_openapi_admin_app", ADMIN_APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def document() -> dict:
    schema = json.loads(admin_app().get_openapi_json_schema(
        title="SCIM endpoint management API",
        version="1",
        summary="IdPs, their API keys, the export and erasure of their data, their activity.",
        description=(
            "For the SaaS product's backend. Every request is signed with AWS SigV4 (service execute-api) by an IAM "
            "principal allowed by the stack's ManagementApiAccessPolicy; errors are {\"error\": {\"code\", "
            "\"message\"}}. See docs/management-api.md."),
        servers=[],
    ))
    schema.pop("servers", None)
    schema["components"].setdefault("securitySchemes", {})["sigv4"] = {
        "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4",
        "description": "AWS Signature Version 4, service execute-api, in the stack's region."}
    schema["security"] = [{"sigv4": []}]
    # Validation errors are 400 with the API's error body, not FastAPI-style 422s.
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    return schema


def text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    DOCUMENT.write_text(text(), encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
