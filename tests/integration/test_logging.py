"""What the functions log: one structured line per request, and never a credential, whatever the request."""

from __future__ import annotations

import json
import secrets

from scim_endpoint.store.resources import DynamoResourceStore as Store
from tests.conftest import Tenant, new_guid

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"




def test_no_credential_is_ever_logged(call, tenant: Tenant, make_tenant, add_key, captured) -> None:
    other = make_tenant()
    _, groups_only = add_key(tenant.idp_id, ["groups:write"])
    key_id, secret = tenant.token.split("_", 2)[1:]
    forged_secret = secrets.token_urlsafe(32)
    wrong_secret = f"scim_{key_id}_{forged_secret}"
    unknown_key = f"scim_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"
    malformed = "not-a-token-" + secrets.token_urlsafe(24)
    basic = "Basic " + secrets.token_urlsafe(24)
    base = tenant.base

    requests = [
        # (method, path, Authorization header, expected status)
        ("GET", f'{base}/Users?filter=userName%20eq%20%22{new_guid()}%22', f"Bearer {tenant.token}", 200),
        ("GET", f"{base}/Groups?excludedAttributes=members&filter=displayName+eq+%22{new_guid()}%22",
         f"Bearer {tenant.token}", 200),
        ("GET", f'{base}/Users?filter=userName+eq+%22alice%40contoso.com%22', f"Bearer {tenant.token}", 200),
        ("GET", f'{base}/Users?filter=userName eq "alice@contoso.com"', f"Bearer {wrong_secret}", 401),
        ("GET", f"{base}/Schemas", f"Bearer {tenant.token}", 200),
        ("GET", f"{base}/ServiceProviderConfig", f"Bearer {wrong_secret}", 401),
        ("GET", f"{base}/Users", f"Bearer {malformed}", 401),
        ("GET", f"{base}/Groups", basic, 401),
        ("GET", f"{base}/Users", f"Bearer {unknown_key}", 401),
        ("GET", f"{base}/Users", f"Bearer {other.token}", 401),
        ("GET", f'{base}/Users?filter=userName%20eq%20%22alice@contoso.com%22', f"Bearer {groups_only}", 403),
        ("GET", f"{base}/Users?filter=userName%20eq", f"Bearer {tenant.token}", 400),
        ("GET", f"{base}/Schemas/urn:nope", f"Bearer {tenant.token}", 404),
    ]
    results = []
    for method, path, authorization, expected in requests:
        result = call(method, path, {"Authorization": authorization, "User-Agent": "Entra"})
        assert result.status == expected, (path, result.body)
        results.append(result)

    text = captured.text()
    forbidden = {
        "the token": tenant.token,
        "the token's secret": secret,
        "another IdP's token": other.token,
        "another key's token": groups_only,
        "a wrong secret": forged_secret,
        "an unknown key's token": unknown_key,
        "a malformed bearer value": malformed,
        "basic credentials": basic.split()[1],
    }
    for _, _, authorization, _ in requests:
        forbidden[f"the header {authorization[:12]}..."] = authorization
    leaked = [what for what, value in forbidden.items() if value in text]
    assert not leaked, f"logged: {leaked}"
    assert "alice@contoso.com" not in text and "alice%40contoso.com" not in text  # nor the person looked up

    handled = captured.handled()
    assert len(handled) == len(requests)
    for line, result in zip(handled, results):
        event = result.event
        assert line["status"] == result.status
        assert line["route"] == event["resource"]
        assert line["http_method"] == "GET"
        assert line["correlation_id"] == event["requestContext"]["requestId"]
        assert line["level"] == "INFO"
        assert line["service"] == "scim"
    assert len({line["correlation_id"] for line in handled}) == len(requests)
    # Whom a request was for is in its line once it authenticated, and not carried over to the next request.
    assert handled[0]["idp_id"] == tenant.idp_id and handled[0]["key_id"] == tenant.key_id
    assert "key_id" not in handled[3] and "key_id" not in handled[5]
    # A failed authentication still says which tenant it was for (from the URL), so operators can tell who fails.
    assert handled[3]["idp_id"] == tenant.idp_id and handled[3]["status"] == 401


def test_an_unexpected_error_is_a_plain_500_and_logged_with_its_trace(call, tenant: Tenant, captured, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Store, "find_unique", explode)
    monkeypatch.setattr(Store, "scan_tenant", explode)
    monkeypatch.setattr(Store, "get", explode)
    monkeypatch.setattr(Store, "count", explode)

    for path in (f'{tenant.base}/Users?filter=userName%20eq%20%22{new_guid()}%22', f"{tenant.base}/Groups"):
        status, headers, body = result = call("GET", path, token=tenant.token)
        assert status == 500
        assert headers["content-type"].split(";")[0] == "application/scim+json"
        assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "500" and body["detail"]
        raw = json.dumps(body)
        assert "boom" not in raw and "Traceback" not in raw and "RuntimeError" not in raw and ".py" not in raw

        lines = captured.lines()
        errors = [line for line in lines if line.get("level") == "ERROR"]
        assert errors, lines
        error = errors[-1]
        assert error["correlation_id"] == result.event["requestContext"]["requestId"]
        assert "boom" in error["exception"] and "RuntimeError" in error["exception_name"]
        assert "Traceback" in error["exception"] or "File " in error["exception"]
        assert captured.handled()[-1]["status"] == 500
        assert tenant.token.split("_", 2)[2] not in captured.text()


def test_traces_never_capture_a_response_or_an_error(monkeypatch) -> None:
    """Powertools' Tracer puts a handler's response and exception into the trace unless told not to, and X-Ray keeps
    them: users' records are personal data. Every function's entry point says no, besides the template's
    POWERTOOLS_TRACER_CAPTURE_* variables (tests/template)."""
    import ast
    from pathlib import Path

    from scim_endpoint import api, observability

    asked: dict = {}

    def capture_lambda_handler(lambda_handler=None, capture_response=None, capture_error=None):
        asked.update(response=capture_response, error=capture_error)
        return lambda handler: handler

    monkeypatch.setattr(observability.tracer, "capture_lambda_handler", capture_lambda_handler)
    api.lambda_handler_for(api.create_app())
    assert asked == {"response": False, "error": False}

    # The functions that do not go through api.lambda_handler_for (the stream consumer) say the same.
    for source in Path(__file__).resolve().parents[2].glob("functions/*/app.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "capture_lambda_handler":
                decorators = [d for d in ast.walk(ast.parse(source.read_text())) if isinstance(d, ast.Call)
                              and getattr(d.func, "attr", "") == "capture_lambda_handler"]
                assert decorators, f"{source}: tracer.capture_lambda_handler without arguments"
                for call in decorators:
                    flags = {k.arg: getattr(k.value, "value", None) for k in call.keywords}
                    assert flags == {"capture_response": False, "capture_error": False}, source
