"""The local server's pure parts: `local/template.py` reading the real template.yaml, and `local/events.py` building
the API Gateway REST (v1 proxy) event a function receives."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from devtools.local.events import build_event, match_route, query_parameters
from devtools.local.server import LocalApi
from devtools.local.template import (
    REPO_ROOT,
    TEMPLATE_PATH,
    Route,
    function_environment,
    gateway_response,
    load,
    routes,
    table_definition,
)

ROOT = Path(__file__).resolve().parents[2]
EVENT_FILES = sorted((ROOT / "events").glob("*.json"))
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def sample(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def route_for(method: str, resource: str) -> Route:
    return next(r for r in routes() if (r.method, r.resource) == (method, resource))


# --- template.py ---------------------------------------------------------------------------------------------------


def test_template_path_is_the_repository_template() -> None:
    assert REPO_ROOT == ROOT
    assert TEMPLATE_PATH == ROOT / "template.yaml"
    assert TEMPLATE_PATH.is_file()


def test_template_routes_match_the_event_files() -> None:
    """Each explicit route has its sample; the other samples are of methods a path does not route, which its ANY
    route takes (answered 405)."""
    assert EVENT_FILES, "events/ holds no sample event"
    # The management API's need a signature: no samples.
    scim_routes = [r for r in routes() if r.api == "ScimApi"]
    from_template = {(r.method, r.resource) for r in scim_routes}
    explicit = {(method, path) for method, path in from_template if method != "ANY"}
    from_events = {(sample(p)["httpMethod"], sample(p)["resource"]) for p in EVENT_FILES}
    assert explicit <= from_events
    assert {path for _, path in from_events - explicit} <= {path for method, path in from_template if method == "ANY"}
    assert len(from_template) == len(scim_routes), "a (method, path) pair is declared twice"


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=lambda p: p.name)
def test_each_event_file_matches_its_route(event_file: Path) -> None:
    event = sample(event_file)
    route, params, known = match_route(routes(), event["httpMethod"], event["path"])
    assert route is not None and known
    assert route.resource == event["resource"]
    assert params == (event["pathParameters"] or {})


def test_routes_point_at_real_handlers() -> None:
    resources = load()["Resources"]
    for route in routes():
        assert resources[route.function]["Type"] == "AWS::Serverless::Function"
        assert route.method == route.method.upper()
        assert route.resource.startswith("/admin/v1/" if route.api == "AdminApi" else "/v1/scim/{idpId}/") \
            or (route.function, route.resource) == ("TokenFunction", "/v1/oauth2/token")
        module, function = route.handler.rsplit(".", 1)
        source = route.code_dir / f"{module}.py"
        assert source.is_file(), f"{route.function}: no {source}"
        assert re.search(rf"^(def {function}\b|{function}\s*=)", source.read_text(), re.MULTILINE)


def test_loader_reads_cloudformation_short_forms(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        """
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Thing:
    Properties:
      Arn: !GetAtt Role.Arn
      Name: !Sub "${AWS::StackName}-x"
      Joined: !Join ["-", [a, !Ref B]]
      Maybe: !If [IsProd, !Ref A, !Ref AWS::NoValue]
      SubList: !Sub ["${x}/y", {x: !Ref Y}]
      Zone: !Select [0, !GetAZs ""]
""",
        encoding="utf-8",
    )
    loaded = load(path)
    assert loaded["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}
    assert loaded["Resources"]["Thing"]["Properties"] == {
        "Arn": {"Fn::GetAtt": ["Role", "Arn"]},
        "Name": {"Fn::Sub": "${AWS::StackName}-x"},
        "Joined": {"Fn::Join": ["-", ["a", {"Ref": "B"}]]},
        "Maybe": {"Fn::If": ["IsProd", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]},
        "SubList": {"Fn::Sub": ["${x}/y", {"x": {"Ref": "Y"}}]},
        "Zone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    }


def test_real_template_intrinsics_are_loaded() -> None:
    variables = load()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == {"Ref": "Table"}
    assert variables["SECRETS_PREFIX"] == {"Fn::Sub": "scim/${AWS::StackName}/idp/"}


def test_routes_of_a_template_dict() -> None:
    synthetic = {
        "Globals": {"Function": {"Handler": "app.lambda_handler"}},
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/users/",
                    "Events": {
                        "List": {"Type": "Api", "Properties": {"Path": "/v1/scim/{idpId}/Users", "Method": "get"}},
                        "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}},
                    },
                },
            },
            "Other": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/groups/",
                    "Handler": "main.handle",
                    "Events": {"Any": {"Type": "Api", "Properties": {"Path": "/x/{id}", "Method": "any"}}},
                },
            },
        },
    }
    assert routes(synthetic) == [
        Route("Fn", "GET", "/v1/scim/{idpId}/Users", REPO_ROOT / "functions/users/", "app.lambda_handler"),
        Route("Other", "ANY", "/x/{id}", REPO_ROOT / "functions/groups/", "main.handle"),
    ]


def _walk(value: Any) -> list[str]:
    """Every mapping key in a nested structure."""
    if isinstance(value, dict):
        return [key for k, v in value.items() for key in [k, *_walk(v)]]
    if isinstance(value, list):
        return [key for item in value for key in _walk(item)]
    return []


def test_table_definition() -> None:
    definition = table_definition()
    assert set(definition) == {
        "AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes", "StreamSpecification"
    }
    # The local table has the template's stream too, so the local server can run its consumer.
    assert definition["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert not [key for key in _walk(definition) if key == "Ref" or key.startswith("Fn::")], "intrinsics left"
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert definition["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi1,) = [index for index in definition["GlobalSecondaryIndexes"] if index["IndexName"] == "GSI1"]
    assert gsi1["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert gsi1["Projection"] == {"ProjectionType": "ALL"}
    defined = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    keys = [k["AttributeName"] for k in definition["KeySchema"]] + [
        k["AttributeName"] for index in definition["GlobalSecondaryIndexes"] for k in index["KeySchema"]
    ]
    assert set(defined) == set(keys), "AttributeDefinitions must list exactly the key attributes"
    assert all(kind == "S" for kind in defined.values())


def test_table_definition_creates_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="scim-local", **table_definition())
        table = client.describe_table(TableName="scim-local")["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["GSI1"]


def test_function_environment_resolves_ref_and_sub() -> None:
    env = function_environment({"Table": "scim-local", "AWS::StackName": "scim-local",
                                "TokenSigningSecret": "scim/scim-local/token-signing-key"})
    assert env["TABLE_NAME"] == "scim-local"
    assert env["SECRETS_PREFIX"] == "scim/scim-local/idp/"
    # Refs to parameters take their defaults, as strings.
    parameters = load()["Parameters"]
    assert env["SECRETS_CACHE_TTL_SECONDS"] == str(parameters["SecretsCacheTtlSeconds"]["Default"])
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == str(parameters["MetricsNamespace"]["Default"])
    assert env["POWERTOOLS_SERVICE_NAME"] == "scim"
    for name, value in env.items():
        assert isinstance(value, str), name
        assert "${" not in value and "Ref" not in value, name


def test_function_environment_values_override_parameter_defaults() -> None:
    env = function_environment({"Table": "t", "AWS::StackName": "s", "SecretsCacheTtlSeconds": "0",
                                "TokenSigningSecret": "k"})
    assert env["SECRETS_CACHE_TTL_SECONDS"] == "0"


def test_function_environment_of_a_template_dict() -> None:
    synthetic = {
        "Parameters": {"Level": {"Type": "String", "Default": "DEBUG"}, "Size": {"Type": "Number", "Default": 5}},
        "Globals": {
            "Function": {
                "Environment": {
                    "Variables": {
                        "PLAIN": "text",
                        "NUMBER": 42,
                        "LEVEL": {"Ref": "Level"},
                        "SIZE": {"Ref": "Size"},
                        "PATH": {"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${Name}/${Level}"},
                    }
                }
            }
        },
    }
    env = function_environment(
        {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "Name": "n"}, template=synthetic
    )
    assert env == {
        "PLAIN": "text",
        "NUMBER": "42",
        "LEVEL": "DEBUG",
        "SIZE": "5",
        "PATH": "arn:aws:x:eu-west-1:n/DEBUG",
    }


def _gateway_responses(api: str = "ScimApi") -> dict[str, Any]:
    return load()["Resources"][api]["Properties"]["GatewayResponses"]


@pytest.mark.parametrize("name", ["MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE"])
@pytest.mark.parametrize("content_type, media_type", [
    (None, "application/json"),
    ("application/json", "application/json"),
    ("application/scim+json", "application/scim+json"),
    ("Application/SCIM+JSON; charset=utf-8", "application/scim+json"),
    ("text/plain", "application/json"),
])
def test_gateway_response_of_the_template(name: str, content_type: str | None, media_type: str) -> None:
    raw = _gateway_responses()[name]
    status, headers, body = gateway_response(name, content_type)
    assert status == raw["StatusCode"]
    assert headers == {"Content-Type": "application/scim+json"}  # "'application/scim+json'" in the template
    assert body == raw["ResponseTemplates"][media_type].encode()
    assert json.loads(body)["status"] == str(status)


def test_gateway_response_picks_the_template_of_the_request_content_type() -> None:
    synthetic = {"Resources": {"Api": {"Properties": {"GatewayResponses": {"THROTTLED": {
        "StatusCode": "429",
        "ResponseParameters": {"Headers": {
            "Content-Type": "'application/problem+json'", "Retry-After": "'1'",
            "X-Request": "method.request.header.X-Request",  # mapped from the request: not a static value
        }},
        "ResponseTemplates": {"application/json": "json", "application/scim+json": "scim"},
    }}}}}}

    def answer(content_type: str | None) -> tuple[int, dict[str, str], bytes]:
        return gateway_response("THROTTLED", content_type, template=synthetic, api="Api")

    assert answer("application/scim+json") == (429, {"Content-Type": "application/problem+json", "Retry-After": "1"},
                                               b"scim")
    assert answer("application/scim+json;charset=UTF-8")[2] == b"scim"
    assert answer("application/json")[2] == b"json"
    assert answer("application/xml")[2] == b"json"  # no template of its own: API Gateway uses application/json's
    assert answer(None)[2] == b"json"


# --- server.py: what API Gateway answers itself ---------------------------------------------------------------------


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")  # API Gateway's (ANY is all of them)
MISSING_AUTHENTICATION_TOKEN = "MISSING_AUTHENTICATION_TOKEN"


def _unrouted() -> list[tuple[str, str]]:
    """(method, path) pairs template.yaml routes to no function: each declared path under the methods no route of
    it takes (none where the template declares ANY), and paths no route declares."""
    table = routes()
    paths = sorted({re.sub(r"\{\w+\}", "7", r.resource.replace("{idpId}", "demo")) for r in table})
    unrouted = [(method, path) for path in paths for method in METHODS if match_route(table, method, path)[0] is None]
    return unrouted + [("GET", "/v1/scim/demo/Nothing"), ("POST", "/"), ("DELETE", "/v1/scim/demo/Users/7/x"),
                       ("GET", "/admin/v1/nothing"), ("PUT", "/admin/v1/idps")]


def _expected(content_type: str | None, path: str = "/v1/scim") -> tuple[int, dict[str, str], bytes]:
    """The SCIM API's answer (a SCIM 404), or under /admin the management API's (its 403, as for an unsigned
    request: API Gateway tells no unknown path from a missing signature there)."""
    api = "AdminApi" if path.startswith("/admin/") else "ScimApi"
    raw = _gateway_responses(api)[MISSING_AUTHENTICATION_TOKEN]
    media_type = content_type if content_type in raw["ResponseTemplates"] else "application/json"
    headers = {name: value.strip("'") for name, value in raw.get("ResponseParameters", {}).get("Headers", {}).items()}
    return raw["StatusCode"], headers, raw["ResponseTemplates"][media_type].encode()


def _headers(content_type: str | None) -> list[tuple[str, str]]:
    return [("Authorization", "Bearer x")] + ([("content-type", content_type)] if content_type else [])


@pytest.mark.parametrize("method, path", _unrouted())
@pytest.mark.parametrize("content_type", [None, "application/scim+json", "text/plain"])
def test_unrouted_requests_get_api_gateways_missing_authentication_token(
    method: str, path: str, content_type: str | None
) -> None:
    """API Gateway answers a request no route of the template takes with its MISSING_AUTHENTICATION_TOKEN gateway
    response, which the template makes a SCIM 404. No function runs."""
    answer = LocalApi(routes()).handle(method, f"{path}?filter=x", _headers(content_type), b"")
    assert answer == _expected(content_type, path)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "GET"])
@pytest.mark.parametrize("content_type", [None, "application/scim+json", "text/plain"])
def test_a_declared_path_under_an_undeclared_method_is_answered_like_an_unknown_path(
    method: str, content_type: str | None
) -> None:
    """Not 405: API Gateway answers a method no route declares on a declared path as it answers an unknown path.
    (A template that wants 405 routes the other methods, ANY, to a function that answers it.)"""
    only_get = Route("DiscoveryFunction", "GET", "/v1/scim/{idpId}/ServiceProviderConfig", ROOT, "app.lambda_handler")
    answer = LocalApi([only_get]).handle(method, "/v1/scim/demo/ServiceProviderConfig", _headers(content_type), b"")
    assert answer == _expected(content_type)


# --- events.py: routing and query strings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, resource, params",
    [
        ("GET", "/v1/scim/demo/Users", "/v1/scim/{idpId}/Users", {"idpId": "demo"}),
        ("get", "/v1/scim/demo/Groups", "/v1/scim/{idpId}/Groups", {"idpId": "demo"}),
        ("GET", "/v1/scim/demo/Schemas", "/v1/scim/{idpId}/Schemas", {"idpId": "demo"}),
        (
            "GET",
            f"/v1/scim/demo/Schemas/{quote(CORE_USER, safe='')}",
            "/v1/scim/{idpId}/Schemas/{id}",
            {"idpId": "demo", "id": CORE_USER},
        ),
        (
            "GET",
            "/v1/scim/idp%20one/ResourceTypes/User",
            "/v1/scim/{idpId}/ResourceTypes/{id}",
            {"idpId": "idp one", "id": "User"},
        ),
        ("GET", "/v1/scim/Users/Users", "/v1/scim/{idpId}/Users", {"idpId": "Users"}),
    ],
)
def test_match_route_finds_path_parameters(method: str, path: str, resource: str, params: dict[str, str]) -> None:
    route, found, known = match_route(routes(), method, path)
    assert route is not None and route.resource == resource
    assert found == params
    assert known is True


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"])
def test_match_route_reports_a_known_path_under_another_method(method: str) -> None:
    only_get = Route("DiscoveryFunction", "GET", "/v1/scim/{idpId}/ServiceProviderConfig", ROOT, "app.lambda_handler")
    assert match_route([only_get], method, "/v1/scim/demo/ServiceProviderConfig") == (None, {}, True)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/scim/demo/Nothing",
        "/v1/scim/demo/Users/",
        "/v1/scim/demo/extra/Users",
        "/v1/scim//Users",
        "/v2/scim/demo/Users",
        "/dev/v1/scim/demo/Users",
        "/",
        "",
    ],
)
def test_match_route_unknown_path(path: str) -> None:
    assert match_route(routes(), "GET", path) == (None, {}, False)


def test_match_route_any_method() -> None:
    any_route = Route("Fn", "ANY", "/x/{id}", ROOT, "app.lambda_handler")
    for method in ("GET", "delete", "PATCH"):
        assert match_route([any_route], method, "/x/1") == (any_route, {"id": "1"}, True)


def test_match_route_prefers_the_route_of_the_method() -> None:
    get = Route("A", "GET", "/x/{id}", ROOT, "app.h")
    post = Route("B", "POST", "/x/{id}", ROOT, "app.h")
    assert match_route([get, post], "POST", "/x/7") == (post, {"id": "7"}, True)
    assert match_route([get, post], "GET", "/x/7") == (get, {"id": "7"}, True)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("", {}),
        # API Gateway percent-decodes but leaves a form-encoded `+` as it is.
        ("filter=userName+eq+%22dale.mohr%40romaguera.uk%22", {"filter": ['userName+eq+"dale.mohr@romaguera.uk"']}),
        ("filter=userName%20eq%20%22x%22", {"filter": ['userName eq "x"']}),
        ("filter=externalId+eq+%22johnwong%22", {"filter": ['externalId+eq+"johnwong"']}),
        ("filter=displayName eq \"C++\"", {"filter": ['displayName eq "C++"']}),
        ("v=a%2Bb", {"v": ["a+b"]}),
        (
            "excludedAttributes=members&filter=displayName+eq+%22Engineering%22",
            {"excludedAttributes": ["members"], "filter": ['displayName+eq+"Engineering"']},
        ),
        ("a=1&a=2&b=3", {"a": ["1", "2"], "b": ["3"]}),
        ("aadOptscim062020", {"aadOptscim062020": [""]}),
        ("a=&b", {"a": [""], "b": [""]}),
        ("&&count=5&", {"count": ["5"]}),
        ("x=1=2", {"x": ["1=2"]}),
        ("%63ount=5", {"count": ["5"]}),
        ("name=Zo%C3%AB", {"name": ["Zoë"]}),
    ],
)
def test_query_parameters(raw: str, expected: dict[str, list[str]]) -> None:
    assert query_parameters(raw) == expected


# --- events.py: the event ------------------------------------------------------------------------------------------

REST_V1_FIELDS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=lambda p: p.name)
def test_build_event_reproduces_the_sample_events(event_file: Path) -> None:
    expected = sample(event_file)
    route, params, _ = match_route(routes(), expected["httpMethod"], expected["path"])
    assert route is not None
    headers = [(name, value) for name, values in expected["multiValueHeaders"].items() for value in values]
    raw_query = "&".join(
        f"{quote(name, safe='')}={quote(value, safe='')}"
        for name, values in (expected["multiValueQueryStringParameters"] or {}).items()
        for value in values
    )
    body = (expected["body"] or "").encode()
    event = build_event(route, params, expected["httpMethod"], expected["path"], raw_query, headers, body, stage="dev")

    assert set(event) == set(expected) == REST_V1_FIELDS
    for field in REST_V1_FIELDS - {"requestContext"}:
        assert event[field] == expected[field], field
    context, expected_context = event["requestContext"], expected["requestContext"]
    assert set(context) <= set(expected_context)
    for field in ("resourcePath", "httpMethod", "stage", "protocol", "domainName", "accountId"):
        assert context[field] == expected_context[field], field
    assert context["identity"]["userAgent"] == expected_context["identity"]["userAgent"]


USERS = "/v1/scim/{idpId}/Users"


def test_build_event_fields() -> None:
    route = route_for("GET", USERS)
    before = int(time.time() * 1000)
    event = build_event(
        route,
        {"idpId": "demo"},
        "get",
        "/v1/scim/demo/Users",
        "filter=userName+eq+%22a%40b.c%22&count=5&count=7",
        [("Host", "scim.example"), ("Accept", "application/scim+json"), ("X-Dup", "1"), ("X-Dup", "2")],
        b"",
        stage="dev",
        source_ip="203.0.113.10",
    )
    assert set(event) == REST_V1_FIELDS
    assert event["resource"] == USERS
    assert event["path"] == "/v1/scim/demo/Users"
    assert event["httpMethod"] == "GET"
    assert event["headers"] == {"Host": "scim.example", "Accept": "application/scim+json", "X-Dup": "2"}
    assert event["multiValueHeaders"] == {
        "Host": ["scim.example"],
        "Accept": ["application/scim+json"],
        "X-Dup": ["1", "2"],
    }
    assert event["queryStringParameters"] == {"filter": 'userName+eq+"a@b.c"', "count": "7"}
    assert event["multiValueQueryStringParameters"] == {"filter": ['userName+eq+"a@b.c"'], "count": ["5", "7"]}
    assert event["pathParameters"] == {"idpId": "demo"}
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False

    context = event["requestContext"]
    assert uuid.UUID(context["requestId"])
    assert context["path"] == "/v1/scim/demo/Users"
    assert context["stage"] == "dev"
    assert context["resourcePath"] == USERS
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "203.0.113.10"
    assert context["domainName"] == "scim.example"
    assert before <= context["requestTimeEpoch"] <= int(time.time() * 1000)
    json.dumps(event)  # what Lambda would serialise


def test_build_event_without_query_headers_params_or_body() -> None:
    event = build_event(route_for("GET", USERS), {}, "GET", "/v1/scim/demo/Users", "", [], b"")
    for field in (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "body",
    ):
        assert event[field] is None, field
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["stage"] == "local"
    assert event["requestContext"]["domainName"] == "localhost"
    assert event["requestContext"]["identity"]["userAgent"] is None


def test_request_ids_are_unique() -> None:
    route = route_for("GET", USERS)
    ids = {build_event(route, {}, "GET", "/x", "", [], b"")["requestContext"]["requestId"] for _ in range(50)}
    assert len(ids) == 50


def test_header_names_are_matched_case_insensitively() -> None:
    event = build_event(
        route_for("GET", USERS),
        {"idpId": "demo"},
        "GET",
        "/v1/scim/demo/Users",
        "",
        [("host", "scim.example"), ("user-agent", "Microsoft-Entra-Provisioning/1.0")],
        b"",
    )
    assert event["requestContext"]["domainName"] == "scim.example"
    assert event["requestContext"]["identity"]["userAgent"] == "Microsoft-Entra-Provisioning/1.0"
    assert event["headers"] == {"host": "scim.example", "user-agent": "Microsoft-Entra-Provisioning/1.0"}


@pytest.mark.parametrize(
    "body, text",
    [
        (b'{"op":"Replace","path":"displayName"}', '{"op":"Replace","path":"displayName"}'),
        ('{"displayName":"Zoë Ñúñez"}'.encode(), '{"displayName":"Zoë Ñúñez"}'),
    ],
)
def test_text_body_is_passed_as_text(body: bytes, text: str) -> None:
    event = build_event(route_for("GET", USERS), {}, "POST", "/v1/scim/demo/Users", "", [], body)
    assert event["body"] == text
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("body", [b"\x89PNG\r\n\x1a\n\x00\xff", b"\xff", "Zoë".encode("latin-1")])
def test_binary_body_is_base64_encoded(body: bytes) -> None:
    event = build_event(
        route_for("GET", USERS), {}, "POST", "/v1/scim/demo/Users", "", [("Content-Type", "image/png")], body
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
