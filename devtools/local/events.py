"""Builds the API Gateway REST (v1 proxy) event that API Gateway would send a function for an HTTP request."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable
from urllib.parse import unquote

from .template import Route


def match_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, whether the path exists under another method), chosen as API Gateway does: the
    resource whose template matches with the fewest parameters (a literal `/Users/.search` beats `/Users/{id}`),
    then its method, or else its `ANY` method."""
    matched: dict[str, list[tuple[Route, dict[str, str]]]] = {}
    for route in routes:
        found = route.pattern.match(path)
        if found is not None:
            matched.setdefault(route.resource, []).append((route, found.groupdict()))
    if not matched:
        return None, {}, False
    resource = min(matched, key=lambda template: template.count("{"))
    candidates = matched[resource]
    chosen = next((c for c in candidates if c[0].method == method.upper()), None) or next(
        (c for c in candidates if c[0].method == "ANY"), None)
    if chosen is None:
        return None, {}, True
    route, params = chosen
    return route, {k: unquote(v) for k, v in params.items()}, True


def query_parameters(raw_query: str) -> dict[str, list[str]]:
    """Like API Gateway: split on `&` and `=`, percent-decode, and leave `+` as it is."""
    params: dict[str, list[str]] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        params.setdefault(unquote(name), []).append(unquote(value))
    return params


def build_event(
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
    identity: dict | None = None,
) -> dict:
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query = query_parameters(raw_query)
    # Header names are case-insensitive: a client may send `user-agent` or `host` in lower case.
    single_lower = {name.lower(): values[-1] for name, values in multi_headers.items()}
    text_body, is_base64 = _body(body, single_lower)
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.resource,
            "httpMethod": method.upper(),
            "requestId": request_id,
            "extendedRequestId": request_id,
            # Served at the root, as behind a custom domain, so the Tenant URL is http://host:port/v1/scim/<idp>.
            "path": path,
            "stage": stage,
            "protocol": "HTTP/1.1",
            # With an IAM-authorized route, the principal API Gateway verified (`userArn`, `accessKey`, ...).
            "identity": {"sourceIp": source_ip, "userAgent": single_lower.get("user-agent"), **(identity or {})},
            "domainName": single_lower.get("host", "localhost"),
            "apiId": "local",
            "accountId": "123456789012",
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


def _body(body: bytes, headers: dict[str, str]) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True
