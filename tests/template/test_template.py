"""Checks of template.yaml, the events/ samples and the shared layer's Makefile.

The template is parsed with cfn-lint's own YAML loader, which understands the short CloudFormation tags
(!Ref, !Sub, !GetAtt, ...) and turns them into their long forms ({"Ref": ...}, {"Fn::Sub": ...}, ...).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"

ROUTE_PREFIX = "/v1/scim/{idpId}/"
SECRETS_RESOURCE = {
    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:scim/${AWS::StackName}/idp/*"
}
EXPECTED_ENV = {
    "TABLE_NAME": {"Ref": "Table"},
    "TOKEN_SIGNING_SECRET": {"Ref": "TokenSigningSecret"},
    "SECRETS_PREFIX": {"Fn::Sub": "scim/${AWS::StackName}/idp/"},
    "SECRETS_CACHE_TTL_SECONDS": {"Ref": "SecretsCacheTtlSeconds"},
    "PUBLIC_BASE_URL": {"Fn::If": ["HasCustomDomain", {"Fn::If": [
        "HasCustomDomainBasePath", {"Fn::Sub": "https://${CustomDomainName}/${CustomDomainBasePath}"},
        {"Fn::Sub": "https://${CustomDomainName}"}]}, {"Ref": "PublicBaseUrl"}]},
    # Empty in AWS; declared so that `sam local` can point the functions at the local emulator.
    "AWS_ENDPOINT_URL": "",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": {"Ref": "MetricsNamespace"},
    "POWERTOOLS_LOG_LEVEL": "INFO",
    # Without X-Ray (the XRayTracing parameter) no function traces, nor imports the X-Ray SDK.
    "POWERTOOLS_TRACE_DISABLED": {"Fn::If": ["Traced", "false", "true"]},
    # No response or exception ever reaches a trace (tests/integration/test_logging.py checks the code does the same).
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
}
# A command that hangs (a network call with no network) must fail the test, not the CI run.
COMMAND_TIMEOUT_SECONDS = 180


def _tool(name: str) -> str:
    """The CLI installed next to the running Python (the test virtualenv), else the one on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed next to {sys.executable} nor on PATH")
    return found


def _plain(value: Any) -> Any:
    """cfn-lint's node classes as plain dicts, lists and strings, so that == compares just the data."""
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _plain(cfn_yaml.load(str(TEMPLATE)))


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {name: res for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}
    assert found, "the template declares no function"
    return found


def _api_events(functions: dict[str, dict[str, Any]], api: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, event name, event properties) of every Api event on `api`; the SCIM API's and the management
    API's functions are apart (the management function is on AdminApi alone, and nothing else is)."""
    for name, function in functions.items():
        for event_name, event in function["Properties"].get("Events", {}).items():
            assert event["Type"] in ("Api", "DynamoDB", "SQS"), f"{name}.{event_name}: unexpected event type"
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            on = "AdminApi" if name == "AdminFunction" else "ScimApi"
            assert props.get("RestApiId") == {"Ref": on}, f"{name}.{event_name} is not on {on}"
            if on == api:
                yield name, event_name, props


@pytest.fixture(scope="module")
def routes(functions: dict[str, dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(METHOD, resource path) -> function logical id, for every Api event of the SCIM API."""
    found: dict[tuple[str, str], str] = {}
    for name, event_name, props in _api_events(functions, "ScimApi"):
        if props["Path"] == TOKEN_PATH:
            continue  # the OAuth token endpoint: not a SCIM route (test_the_token_endpoint_is_a_function_of_its_own)
        key = (props["Method"].upper(), props["Path"])
        assert key not in found, f"route {key} is declared twice ({found.get(key)} and {name})"
        found[key] = name
    return found


@pytest.fixture(scope="module")
def events() -> dict[str, dict[str, Any]]:
    files = sorted(EVENTS.glob("*.json"))
    assert files, "events/ holds no sample event"
    # The token endpoint's sample is checked by test_the_token_endpoint_is_a_function_of_its_own.
    return {path.name: json.loads(path.read_text()) for path in files if path.name != "post-token.json"}


def _statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy statement the template writes itself, with the resource that holds it."""
    for name, res in resources.items():
        props = res.get("Properties", {})
        kind = res["Type"]
        documents: list[Any] = []
        if kind == "AWS::Serverless::Function":
            documents = [policy for policy in props.get("Policies", []) if isinstance(policy, dict)]
        elif kind == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        for document in documents:
            statements = document.get("Statement", [])
            for statement in statements if isinstance(statements, list) else [statements]:
                yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _contains_intrinsic(value: Any) -> bool:
    if isinstance(value, dict):
        return any(key == "Ref" or key.startswith("Fn::") or _contains_intrinsic(v) for key, v in value.items())
    if isinstance(value, list):
        return any(_contains_intrinsic(v) for v in value)
    return False


# --- linters ----------------------------------------------------------------------------------------------


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [_tool("cfn-lint"), "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_sam_validate_lint_passes(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        # sam writes its config and cache under HOME; keep that out of the real one.
        "HOME": str(tmp_path),
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [_tool("sam"), "validate", "--lint", "--template", "template.yaml", "--region", "us-east-1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- routes and sample events ------------------------------------------------------------------------------


def test_the_route_table_names_every_scim_route_and_nothing_else(routes: dict[tuple[str, str], str]) -> None:
    """The privileges of every route come from one table (scim_endpoint.auth.privileges.ROUTES): it names exactly the
    template's routes, and each path's other methods reach its function through an ANY route (answered 405)."""
    from scim_endpoint.auth.privileges import ROUTES

    explicit = {(method, path.removeprefix(ROUTE_PREFIX[:-1])) for method, path in routes if method != "ANY"}
    assert explicit == set(ROUTES)
    any_paths = {path.removeprefix(ROUTE_PREFIX[:-1]) for method, path in routes if method == "ANY"}
    assert any_paths == {path for _, path in ROUTES}
    for method, path in routes:
        if method == "ANY":
            assert {m for m, p in routes if p == path and m != "ANY"}, f"{path}: an ANY route without routes"
            functions = {routes[(m, p)] for m, p in routes if p == path}
            assert len(functions) == 1, f"{path}: its methods go to several functions"


def test_every_route_is_under_the_idp_prefix(routes: dict[tuple[str, str], str]) -> None:
    outside = [path for _, path in routes if not path.startswith(ROUTE_PREFIX)]
    assert not outside, f"routes outside {ROUTE_PREFIX}: {outside}"


def test_routes_and_event_files_match(
    routes: dict[tuple[str, str], str], events: dict[str, dict[str, Any]]
) -> None:
    """Every route has a sample event; a path's `ANY` route (405 for the methods it does not have) has one of a
    method the path does not route, for one path at least."""
    from_events = {(event["httpMethod"], event["resource"]) for event in events.values()}
    explicit = {route for route in routes if route[0] != "ANY"}
    any_paths = {path for method, path in routes if method == "ANY"}
    assert explicit - from_events == set(), "routes with no sample event in events/"
    other_methods = from_events - explicit
    assert other_methods and {path for _, path in other_methods} <= any_paths, \
        "sample events for routes the template does not declare"


@pytest.mark.parametrize("name", sorted(path.name for path in EVENTS.glob("*.json") if path.name != "post-token.json"))
def test_event_is_consistent_rest_proxy_event(name: str, events: dict[str, dict[str, Any]]) -> None:
    event = events[name]
    resource, path = event["resource"], event["path"]
    context = event["requestContext"]
    assert event["httpMethod"] == context["httpMethod"]
    assert context["resourcePath"] == resource
    assert context["path"] == f"/{context['stage']}{path}"
    assert event["isBase64Encoded"] is False
    assert "version" not in event, "REST (v1) proxy events have no version field"

    names = re.findall(r"{(\w+)}", resource)
    params = event["pathParameters"] or {}
    assert sorted(params) == sorted(names), "pathParameters must be exactly the template path's parameters"
    concrete = resource
    for param in names:
        concrete = concrete.replace("{" + param + "}", params[param])
    assert path == concrete, "path must be the resource with pathParameters filled in"

    for single, multi in (("headers", "multiValueHeaders"), ("queryStringParameters", "multiValueQueryStringParameters")):
        if event[single] is None:
            assert event[multi] is None
        else:
            assert event[multi] == {key: [value] for key, value in event[single].items()}
    assert event["headers"]["Authorization"].startswith("Bearer ")


# --- functions and IAM --------------------------------------------------------------------------------------


def test_functions_are_python313_arm64_with_both_layers(
    template: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    defaults = template["Globals"]["Function"]
    assert defaults["Runtime"] == "python3.13"
    assert defaults["Architectures"] == ["arm64"]
    assert defaults["Layers"] == [{"Ref": "SharedLayer"}, {"Ref": "DependenciesLayer"}]
    for name, function in functions.items():
        props = function["Properties"]
        for key in ("Runtime", "Architectures", "Layers"):
            assert key not in props, f"{name} overrides Globals.Function.{key}"
        assert props["Handler"] == "app.lambda_handler", name


# The management side's own settings: only its two functions have them (the SCIM functions never see the jobs queue,
# the export bucket or the log groups), and they name the SCIM API's stage for the Tenant URLs they hand out.
MANAGEMENT_ENV = {"PUBLIC_BASE_URL", "JOBS_QUEUE_URL", "EXPORT_BUCKET"}
TOKEN_PATH = "/v1/oauth2/token"
EVENTS_ENV = {"PUBLIC_BASE_URL", "EVENT_BUS_NAME", "EVENT_RETENTION_DAYS", "EVENTS_DEAD_LETTER_QUEUE_URL"}


def test_globals_environment_is_the_contract(template: dict[str, Any], functions: dict[str, dict[str, Any]]) -> None:
    assert template["Globals"]["Function"]["Environment"]["Variables"] == EXPECTED_ENV
    for name, function in functions.items():
        if name not in ("AdminFunction", "JobsFunction", "EventsFunction"):
            assert "Environment" not in function["Properties"], f"{name} overrides the shared environment"
            continue
        variables = function["Properties"]["Environment"]["Variables"]
        if name == "EventsFunction":  # its own: tests/template/test_events.py
            assert set(variables) == EVENTS_ENV
        else:
            assert set(variables) == MANAGEMENT_ENV | ({"ACTIVITY_LOG_GROUPS"} if name == "AdminFunction" else set())
            assert variables["JOBS_QUEUE_URL"] == {"Ref": "JobsQueue"}
            assert variables["EXPORT_BUCKET"] == {"Ref": "ExportBucket"}
        base = variables["PUBLIC_BASE_URL"]
        assert base["Fn::If"][:2] == EXPECTED_ENV["PUBLIC_BASE_URL"]["Fn::If"][:2]
        assert base["Fn::If"][2] == {"Fn::If": ["HasPublicBaseUrl", {"Ref": "PublicBaseUrl"}, {
            "Fn::Sub": "https://${ScimApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${ScimApi.Stage}"}]}


def test_function_policies_are_inline_statements(functions: dict[str, dict[str, Any]]) -> None:
    # Managed policies and SAM policy templates (e.g. DynamoDBCrudPolicy) hide wildcards from the checks below.
    for name, function in functions.items():
        for policy in function["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and "Statement" in policy, f"{name}: non-inline policy {policy!r}"


# Actions IAM allows only on "*" (they have no resource type): reading a Logs Insights query's results.
RESOURCELESS_ACTIONS = {"logs:GetQueryResults", "logs:StopQuery"}


def test_no_wildcard_actions_or_resources(resources: dict[str, Any]) -> None:
    statements = list(_statements(resources))
    assert statements
    for name, statement in statements:
        actions = _as_list(statement.get("Action", []))
        for action in actions:
            assert action != "*" and not str(action).endswith(":*"), f"{name}: wildcard action {action}"
        for resource in _as_list(statement.get("Resource", [])):
            assert resource != "*" or set(actions) <= RESOURCELESS_ACTIONS, f"{name}: Resource '*'"
        assert "NotAction" not in statement and "NotResource" not in statement, name


def _function_actions(resources: dict[str, Any], function: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (action, statement)
        for name, statement in _statements(resources)
        if name == function
        for action in _as_list(statement["Action"])
    ]


def test_discovery_reaches_only_the_idp_registry_item(resources: dict[str, Any]) -> None:
    """Discovery admits its callers like the others (the IdP's registry item, a key's last use, the adoption of an
    IdP made before the registry) and reads nothing else of the table: no index, no Query, no Scan."""
    found = [(a, s) for a, s in _function_actions(resources, "DiscoveryFunction") if a.startswith("dynamodb:")]
    assert sorted(a for a, _ in found) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert all(_as_list(s["Resource"]) == [{"Fn::GetAtt": ["Table", "Arn"]}] for _, s in found)


@pytest.mark.parametrize("function", ["UsersFunction", "GroupsFunction", "CleanupFunction"])
def test_table_access_is_scoped_to_the_table(resources: dict[str, Any], function: str) -> None:
    table_statements = [s for a, s in _function_actions(resources, function) if a.startswith("dynamodb:")]
    assert table_statements, f"{function} has no table access"
    for statement in table_statements:
        assert _as_list(statement["Resource"]) == [
            {"Fn::GetAtt": ["Table", "Arn"]},
            {"Fn::Sub": "${Table.Arn}/index/*"},
        ]


def test_secrets_access_is_scoped_to_the_idp_prefix(
    resources: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    # The request functions read the keys; the management function writes them; the jobs function deletes an
    # erased IdP's secret; the stream's consumers serve no request and need none. The request functions and the token
    # endpoint read the token signing key too (its own secret).
    expected = {
        "CleanupFunction": [],
        "EventsFunction": [],
        "AdminFunction": ["secretsmanager:CreateSecret", "secretsmanager:GetSecretValue",
                          "secretsmanager:PutSecretValue", "secretsmanager:TagResource"],
        "JobsFunction": ["secretsmanager:DeleteSecret"],
    }
    for name in functions:
        found = [(a, s) for a, s in _function_actions(resources, name) if a.startswith("secretsmanager:")]
        assert sorted(a for a, _ in found) == expected.get(name, ["secretsmanager:GetSecretValue"] * 2), name
        secret_statements = [s for _, s in found]
        for statement in secret_statements:
            assert _as_list(statement["Resource"]) in ([SECRETS_RESOURCE], [{"Ref": "TokenSigningSecret"}]), name
        signing = [s for s in secret_statements if s["Resource"] == {"Ref": "TokenSigningSecret"}]
        assert [s["Action"] for s in signing] == (["secretsmanager:GetSecretValue"] if name not in expected else []), \
            name  # read only, and only by the functions that check or make access tokens


# --- data, API and logs -------------------------------------------------------------------------------------


def test_table_is_protected(resources: dict[str, Any]) -> None:
    table = resources["Table"]
    props = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert "TableName" not in props


def test_table_shape_is_literal_for_the_local_server(resources: dict[str, Any]) -> None:
    props = resources["Table"]["Properties"]
    for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"):
        assert not _contains_intrinsic(props[key]), f"Table.{key} must stay free of intrinsic functions"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert [index["IndexName"] for index in props["GlobalSecondaryIndexes"]] == ["GSI1"]


def test_stage_is_throttled(resources: dict[str, Any]) -> None:
    api = resources["ScimApi"]["Properties"]
    settings = [s for s in api["MethodSettings"] if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert len(settings) == 1
    assert settings[0]["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings[0]["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}


def test_access_log_is_json_without_authorization(resources: dict[str, Any]) -> None:
    log = resources["ScimApi"]["Properties"]["AccessLogSetting"]
    record = json.loads(log["Format"])
    for field in ("requestId", "ip", "requestTime", "httpMethod", "resourcePath", "status", "responseLatency",
                  "integrationLatency", "userAgent"):
        assert field in record, field
    assert "authorization" not in log["Format"].lower()


def test_gateway_errors_are_scim_errors(resources: dict[str, Any]) -> None:
    responses = resources["ScimApi"]["Properties"]["GatewayResponses"]
    assert set(responses) >= {"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "REQUEST_TOO_LARGE",
                              "INTEGRATION_TIMEOUT", "DEFAULT_5XX"}
    for kind, response in responses.items():
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/scim+json'", kind
        templates = response["ResponseTemplates"]
        # Entra sends SCIM requests as application/scim+json; other clients as application/json.
        assert set(templates) == {"application/json", "application/scim+json"}, kind
        assert templates["application/scim+json"] == templates["application/json"], kind
        body = json.loads(templates["application/json"])
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], kind
        assert body["status"] == str(response["StatusCode"]), kind
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == 404
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"


def test_api_gateway_logs_role_is_opt_in(template: dict[str, Any], resources: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ConfigureApiGatewayLogsRole"]
    assert parameter["Type"] == "String"
    assert sorted(parameter["AllowedValues"]) == ["false", "true"]
    # Off by default: the account setting is one per account and region, and may already be in use.
    assert parameter["Default"] == "false"
    assert "account" in parameter["Description"] and "region" in parameter["Description"]
    assert template["Conditions"]["CreateApiGatewayLogsRole"] == {
        "Fn::Equals": [{"Ref": "ConfigureApiGatewayLogsRole"}, "true"]
    }

    role = resources["ApiGatewayLogsRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Condition"] == "CreateApiGatewayLogsRole"
    # The account keeps pointing at the role after the stack is gone.
    assert role["DeletionPolicy"] == "Retain" and role["UpdateReplacePolicy"] == "Retain"
    props = role["Properties"]
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert props["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    assert "Policies" not in props and "RoleName" not in props

    account = resources["ApiGatewayAccount"]
    assert account["Type"] == "AWS::ApiGateway::Account"
    assert account["Condition"] == "CreateApiGatewayLogsRole"
    assert account["Properties"] == {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}}
    assert [res for res in resources.values() if res["Type"] == "AWS::ApiGateway::Account"] == [account]


def test_stage_waits_for_the_api_gateway_logs_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAM's AWS::ApiGateway::Stage (not the RestApi) references ApiGatewayAccount, and only under its condition."""
    from samtranslator.translator.transform import transform

    template = _plain(cfn_yaml.load(str(TEMPLATE)))
    for res in template["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in res.get("Properties", {}):
                res["Properties"][key] = "s3://bucket/key"  # the translator wants packaged code
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    policies = type("NoManagedPolicies", (), {"load": lambda self: {}})()
    translated = transform(template, {}, policies)["Resources"]

    stages = [res for res in translated.values() if res["Type"] == "AWS::ApiGateway::Stage"
              and res["Properties"]["RestApiId"] == {"Ref": "ScimApi"}]
    assert len(stages) == 1
    assert stages[0]["Properties"]["Variables"] == {
        "apiGatewayAccount": {"Fn::If": ["CreateApiGatewayLogsRole", {"Ref": "ApiGatewayAccount"},
                                         {"Ref": "AWS::NoValue"}]},
        # DisableExecuteApiEndpoint takes effect only with a change to the stage: this variable is that change.
        "executeApiEndpoint": {"Fn::If": ["DisableDefaultEndpoint", "disabled", "enabled"]},
    }
    assert "DependsOn" not in stages[0]
    # The account waits for the RestApi: the stage must not be on the RestApi's side of that edge.
    assert translated["ApiGatewayAccount"]["DependsOn"] == "ScimApi"
    assert translated["ScimApi"]["Type"] == "AWS::ApiGateway::RestApi"
    assert "ApiGatewayAccount" not in json.dumps(translated["ScimApi"])


def test_every_log_group_expires(resources: dict[str, Any]) -> None:
    groups = {name: res for name, res in resources.items() if res["Type"] == "AWS::Logs::LogGroup"}
    assert groups
    for name, group in groups.items():
        assert group["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"}, name


def test_every_function_logs_to_its_own_log_group(
    resources: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    # Without LoggingConfig Lambda would create /aws/lambda/<name> itself, with no retention.
    used = []
    for name, function in functions.items():
        ref = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert isinstance(ref, dict) and set(ref) == {"Ref"}, name
        assert resources[ref["Ref"]]["Type"] == "AWS::Logs::LogGroup", name
        used.append(ref["Ref"])
    assert len(used) == len(set(used)), "functions share a log group"


# --- shared layer build -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_shared_layer_build_ships_the_runtime_package_without_caches(tmp_path: Path) -> None:
    """The layer is the runtime package as it is in the repository, less bytecode caches; the development tools
    (devtools/) are not in its folder, so there is nothing to leave out (tests/unit/test_architecture.py checks
    that no runtime module imports them)."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "layers" / "scim", source, ignore=shutil.ignore_patterns("__pycache__"))
    package = source / "python" / "scim_endpoint"
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "config.cpython-313.pyc").write_bytes(b"")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()

    result = subprocess.run(
        ["make", "build-SharedLayer"],
        cwd=source,
        env={**os.environ, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = artifacts / "python" / "scim_endpoint"
    assert (built / "__init__.py").is_file()
    assert not list(built.rglob("__pycache__")) and not list(built.rglob("*.pyc"))
    shipped = sorted(p.relative_to(built) for p in built.rglob("*.py"))
    assert shipped == sorted(p.relative_to(package) for p in package.rglob("*.py"))
    assert not (ROOT / "layers" / "scim" / "python" / "devtools").exists()


def test_removals_and_insertions_from_the_table_stream_feed_the_cleanup(resources: dict[str, Any]) -> None:
    """A deleted group's or user's memberships are deleted after the fact, by the stream's consumer, and so is a
    membership whose user or group was deleted while it was written (docs/groups.md). Failed batches are split,
    reported precisely, and after the retries go to a dead-letter queue with an alarm, never dropped."""
    consumers = {
        name: event
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    }
    assert list(consumers) == ["CleanupFunction", "EventsFunction"]  # the events': tests/template/test_events.py
    props = consumers["CleanupFunction"]["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] > 0
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [{"eventName": ["INSERT", "REMOVE"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "T#"}]}}}}]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["DestinationConfig"] == {"OnFailure": {
        "Type": "SQS", "Destination": {"Fn::GetAtt": ["CleanupDeadLetterQueue", "Arn"]}}}
    queue = resources["CleanupDeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600 and queue["SqsManagedSseEnabled"] is True
    alarm = resources["CleanupDeadLettersAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["CleanupDeadLetterQueue", "QueueName"]}}]
    statements = resources["CleanupFunction"]["Properties"]["Policies"][0]["Statement"]
    assert {"Sid": "FailedBatches", "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["CleanupDeadLetterQueue", "Arn"]}} in statements


# --- operations: dashboard, alarms, saved queries (docs/operations.md) ------------------------------------------

# Metrics a service publishes that the dashboard or an alarm may name, and the dimensions they may carry there.
AWS_METRICS = {
    "AWS/ApiGateway": {
        "metrics": {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"},
        "dimensions": {"ApiName", "Stage"},
    },
    "AWS/Lambda": {
        "metrics": {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions", "IteratorAge"},
        "dimensions": {"FunctionName"},
    },
    "AWS/SQS": {"metrics": {"ApproximateNumberOfMessagesVisible"}, "dimensions": {"QueueName"}},
    "AWS/WAFV2": {"metrics": {"BlockedRequests", "AllowedRequests", "CountedRequests"},
                  "dimensions": {"WebACL", "Region", "Rule"}},
    "AWS/DynamoDB": {
        "metrics": {
            "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents",
            "ThrottledRequests", "SystemErrors", "ConditionalCheckFailedRequests", "TransactionConflict",
        },
        "dimensions": {"TableName", "GlobalSecondaryIndexName", "Operation"},
    },
}
# DynamoDB publishes these two per operation only (dimensions TableName and Operation).
PER_OPERATION_DYNAMODB_METRICS = {"ThrottledRequests", "SystemErrors"}
# Published by Powertools itself rather than through observability.count.
POWERTOOLS_METRICS = {"ColdStart"}
PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::StackName": "scim-stack",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


class Metric(NamedTuple):
    where: str  # a dashboard widget's title or an alarm's logical id
    namespace: str
    name: str
    dimensions: dict[str, str]


def _stand_in(variable: str, template: dict[str, Any]) -> str:
    """What a !Sub variable stands for in these checks: numbers their default (the JSON needs a number), other
    parameters and resources a recognisable stand-in ("<Environment>", "dummy-Table", "dummy-Alarm.Arn")."""
    parameters, resources = template["Parameters"], template["Resources"]
    if variable in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[variable]
    if variable in parameters:
        parameter = parameters[variable]
        return str(parameter["Default"]) if parameter["Type"] == "Number" else f"<{variable}>"
    assert variable.split(".")[0] in resources, f"!Sub names {variable}, which the template does not declare"
    return f"dummy-{variable}"


def _substitute(text: str, template: dict[str, Any]) -> str:
    # ${!Literal} is CloudFormation's escape for a literal ${Literal} (the dashboard's dynamic labels use it).
    return re.sub(
        r"\$\{(!?)([^}]*)\}",
        lambda m: "${" + m.group(2) + "}" if m.group(1) else _stand_in(m.group(2), template),
        text,
    )


def _resolve(value: Any, template: dict[str, Any]) -> str:
    """A property value as _substitute would write it: a literal, a Ref or a Sub."""
    if isinstance(value, str):
        return value
    if set(value) == {"Ref"}:
        return _stand_in(value["Ref"], template)
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return _substitute(value["Fn::Sub"], template)
    if set(value) == {"Fn::GetAtt"}:
        return _stand_in(".".join(value["Fn::GetAtt"]), template)
    raise AssertionError(f"unexpected intrinsic {value!r}")


@pytest.fixture(scope="module")
def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]
    assert set(body) == {"Fn::Sub"} and isinstance(body["Fn::Sub"], str), "DashboardBody: !Sub of a JSON string"
    return json.loads(_substitute(body["Fn::Sub"], template))


@pytest.fixture(scope="module")
def alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::CloudWatch::Alarm"}
    assert found, "the template declares no alarm"
    return found


@pytest.fixture(scope="module")
def custom_namespace(template: dict[str, Any]) -> str:
    return _stand_in("MetricsNamespace", template)


_SEARCH = re.compile(r"""SEARCH\('\{"?([^",}]+)"?((?:,[^,}]+)*)\}\s+MetricName="(\w+)"((?:\s+\w+="[^"]*")*)'""")


def _dashboard_metrics(dashboard: dict[str, Any]) -> list[Metric]:
    found = []
    for widget in dashboard["widgets"]:
        if widget["type"] != "metric":
            continue
        title = widget["properties"]["title"]
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):  # an expression: only SEARCH names metrics of its own
                expression = entry[0]["expression"]
                for match in _SEARCH.finditer(expression):
                    namespace, names, name, values = match.groups()
                    dimensions = {key: "*" for key in names.strip(",").split(",")}
                    dimensions.update(re.findall(r'(\w+)="([^"]*)"', values))
                    assert set(dimensions) == {key for key in names.strip(",").split(",")}, (title, expression)
                    found.append(Metric(title, namespace, name, dimensions))
                assert expression.count("SEARCH(") == len(_SEARCH.findall(expression)), (title, expression)
                continue
            # Written out in full: the "..." shorthand (same as the row above) would hide what is plotted.
            assert "..." not in entry and "." not in entry, (title, entry)
            plain = entry[:-1] if isinstance(entry[-1], dict) else entry
            namespace, name, *pairs = plain
            assert len(pairs) % 2 == 0, (title, entry)
            found.append(Metric(title, namespace, name, dict(zip(pairs[::2], pairs[1::2]))))
    return found


def _alarm_metrics(alarms: dict[str, dict[str, Any]], template: dict[str, Any]) -> list[Metric]:
    found = []
    for name, props in alarms.items():
        metrics = [props] if "MetricName" in props else [
            query["MetricStat"]["Metric"] for query in props["Metrics"] if "MetricStat" in query
        ]
        assert metrics, f"{name} watches no metric"
        for metric in metrics:
            dimensions = {d["Name"]: _resolve(d["Value"], template) for d in metric.get("Dimensions", [])}
            found.append(Metric(name, _resolve(metric["Namespace"], template), metric["MetricName"], dimensions))
    return found


@pytest.fixture(scope="module")
def watched(
    dashboard: dict[str, Any], alarms: dict[str, dict[str, Any]], template: dict[str, Any]
) -> list[Metric]:
    return _dashboard_metrics(dashboard) + _alarm_metrics(alarms, template)


def test_every_emitted_metric_is_on_the_dashboard_or_alarmed(watched: list[Metric], custom_namespace: str) -> None:
    from scim_endpoint import observability

    emitted = set(observability.METRICS) | {observability.OPERATION_LATENCY}
    shown = {metric.name for metric in watched if metric.namespace == custom_namespace}
    assert emitted - shown == set(), "metrics the functions emit that nobody watches"


def test_custom_metrics_named_are_emitted(
    watched: list[Metric], custom_namespace: str, template: dict[str, Any]
) -> None:
    from scim_endpoint import observability

    known = set(observability.METRICS) | {observability.OPERATION_LATENCY} | POWERTOOLS_METRICS
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    functions = {_stand_in(name, template) for name, res in template["Resources"].items()
                 if res["Type"] == "AWS::Serverless::Function"}
    custom = [metric for metric in watched if metric.namespace == custom_namespace]
    assert custom
    for metric in custom:
        assert metric.name in known, f"{metric.where}: {metric.name} is not in observability.METRICS"
        # The dimensions Powertools publishes them with, or the graph stays empty: service on every metric, the
        # operation on OperationLatency, the function's physical name on ColdStart. Never a tenant.
        assert metric.dimensions.get("service") == service, metric
        extra = set(metric.dimensions) - {"service"}
        if metric.name == observability.OPERATION_LATENCY:
            assert extra == {"Operation"}, metric
        elif metric.name == "ColdStart":
            assert extra == {"function_name"} and metric.dimensions["function_name"] in functions, metric
        else:
            assert extra == set(), metric


def test_aws_metrics_named_exist(watched: list[Metric], custom_namespace: str, template: dict[str, Any]) -> None:
    resources = template["Resources"]
    api_name = _resolve(resources["ScimApi"]["Properties"]["Name"], template)
    stage = _resolve(resources["ScimApi"]["Properties"]["StageName"], template)
    functions = {_stand_in(name, template) for name, res in resources.items()
                 if res["Type"] == "AWS::Serverless::Function"}
    indexes = {index["IndexName"] for index in resources["Table"]["Properties"]["GlobalSecondaryIndexes"]}
    for metric in watched:
        if metric.namespace == custom_namespace:
            continue
        assert metric.namespace in AWS_METRICS, f"{metric.where}: unexpected namespace {metric.namespace}"
        allowed = AWS_METRICS[metric.namespace]
        assert metric.name in allowed["metrics"], f"{metric.where}: {metric.namespace} has no metric {metric.name}"
        assert set(metric.dimensions) <= allowed["dimensions"], metric
        dims = metric.dimensions
        if metric.namespace == "AWS/ApiGateway":
            assert dims == {"ApiName": api_name, "Stage": stage}, metric
        elif metric.namespace == "AWS/Lambda":
            assert set(dims) == {"FunctionName"} and dims["FunctionName"] in functions, metric
        elif metric.namespace == "AWS/WAFV2":
            rules = {rule["VisibilityConfig"]["MetricName"] for rule in resources["WebAcl"]["Properties"]["Rules"]}
            acl = _resolve(resources["WebAcl"]["Properties"]["Name"], template)
            assert dims == {"WebACL": acl, "Region": PSEUDO_PARAMETERS["AWS::Region"], "Rule": dims["Rule"]}, metric
            assert dims["Rule"] in rules, metric
        elif metric.namespace == "AWS/SQS":
            queues = {_stand_in(f"{name}.QueueName", template) for name, res in resources.items()
                      if res["Type"] == "AWS::SQS::Queue"}
            assert set(dims) == {"QueueName"} and dims["QueueName"] in queues, metric
        else:
            assert dims["TableName"] == _stand_in("Table", template), metric
            assert dims.get("GlobalSecondaryIndexName", "GSI1") in indexes, metric
            per_operation = metric.name in PER_OPERATION_DYNAMODB_METRICS
            assert ("Operation" in dims) == per_operation, f"{metric}: DynamoDB publishes it per operation only"


def test_api_gateway_metrics_find_the_api_by_its_name(resources: dict[str, Any]) -> None:
    # API Gateway's metrics carry the API's name (ApiName), not its id: name it as the dashboard and alarms expect.
    assert resources["ScimApi"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}


def test_every_alarm_notifies_the_alarm_topic(alarms: dict[str, dict[str, Any]]) -> None:
    for name, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["TreatMissingData"] == "notBreaching", name
        assert props.get("ActionsEnabled", True) is True, name


def test_every_alarm_threshold_is_a_parameter(alarms: dict[str, dict[str, Any]], template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    used = set()
    for name, props in alarms.items():
        threshold = props["Threshold"]
        assert isinstance(threshold, dict) and set(threshold) == {"Ref"}, f"{name}: literal threshold"
        parameter = threshold["Ref"]
        assert parameter in parameters, name
        assert parameters[parameter]["Type"] == "Number", parameter
        assert "Default" in parameters[parameter] and parameters[parameter]["Description"], parameter
        # The e-mail states the threshold it was crossed, as deployed.
        description = props["AlarmDescription"]
        assert set(description) == {"Fn::Sub"} and "${" + parameter + "}" in description["Fn::Sub"], name
        assert "Check first" in description["Fn::Sub"], f"{name}: say what to look at first"
        used.add(parameter)
    declared = {name for name in parameters if name.startswith("Alarm")}
    assert declared == used, "alarm threshold parameters no alarm uses"


def test_dashboard_is_valid_json_with_every_variable_declared(dashboard: dict[str, Any]) -> None:
    # The fixture substituted the !Sub variables (failing on undeclared ones) and parsed the JSON.
    widgets = dashboard["widgets"]
    assert widgets
    taken: set[tuple[int, int]] = set()
    for widget in widgets:
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        assert x + width <= 24, widget
        cells = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
        assert not cells & taken, f"widgets overlap: {widget['properties'].get('title')}"
        taken |= cells
        if widget["type"] in ("metric", "log"):
            # A title a person reads, not a metric id.
            assert widget["properties"]["title"] and widget["properties"]["region"] == "us-east-1", widget


def test_dashboard_shows_every_alarm(dashboard: dict[str, Any], alarms: dict[str, dict[str, Any]]) -> None:
    shown = [arn for w in dashboard["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]
    assert sorted(shown) == sorted(f"dummy-{name}.Arn" for name in alarms)


def _without_sources(query: str) -> tuple[list[str], str]:
    sources = re.findall(r"SOURCE '([^']+)'\s*\|\s*", query)
    rest = re.sub(r"SOURCE '[^']+'\s*\|\s*", "", query)
    return sources, " ".join(rest.split())


def test_log_widgets_are_the_saved_queries(
    dashboard: dict[str, Any], resources: dict[str, Any], functions: dict[str, dict[str, Any]],
    template: dict[str, Any],
) -> None:
    saved = {
        " ".join(res["Properties"]["QueryString"].split()): (name, res["Properties"])
        for name, res in resources.items()
        if res["Type"] == "AWS::Logs::QueryDefinition"
    }
    assert len(saved) >= 3
    function_log_groups = {f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()}
    shown = set()
    for widget in (w for w in dashboard["widgets"] if w["type"] == "log"):
        sources, query = _without_sources(widget["properties"]["query"])
        assert query in saved, f"{widget['properties']['title']}: no saved query has this text"
        name, props = saved[query]
        groups = props["LogGroupNames"]
        assert all(set(group) == {"Ref"} and group["Ref"] in function_log_groups for group in groups), name
        assert sources == [_resolve(group, template) for group in groups], f"{name}: other log groups"
        shown.add(name)
    assert shown == {name for name, _ in saved.values()}, "saved queries the dashboard does not show"

    by_name = {name: " ".join(props["QueryString"].split()) for name, props in saved.values()}
    for name in ("BusiestTenantsQuery", "FailingTenantsQuery"):
        assert 'filter message = "request handled"' in by_name[name] and "by idp_id" in by_name[name], name
    assert "status >= 400" in by_name["FailingTenantsQuery"] and "by idp_id, status" in by_name["FailingTenantsQuery"]
    assert "status >= 500" in by_name["RecentErrorsQuery"] and '"ERROR"' in by_name["RecentErrorsQuery"]


def test_operation_latency_is_shown_per_operation(dashboard: dict[str, Any], custom_namespace: str) -> None:
    from scim_endpoint import observability

    searches = [
        metric for metric in _dashboard_metrics(dashboard)
        if metric.name == observability.OPERATION_LATENCY and metric.dimensions.get("Operation") == "*"
    ]
    assert {metric.namespace for metric in searches} == {custom_namespace}
    expressions = [
        entry[0]["expression"]
        for w in dashboard["widgets"] if w["type"] == "metric"
        for entry in w["properties"]["metrics"] if isinstance(entry[0], dict)
        and observability.OPERATION_LATENCY in entry[0]["expression"]
    ]
    assert {re.search(r"'(p\d+)'", e).group(1) for e in expressions} >= {"p50", "p99"}  # type: ignore[union-attr]


def test_dashboard_url_is_an_output(template: dict[str, Any]) -> None:
    dashboard = template["Resources"]["OperationsDashboard"]
    assert dashboard["Type"] == "AWS::CloudWatch::Dashboard"
    assert dashboard["Properties"]["DashboardName"] == {"Fn::Sub": "${AWS::StackName}-scim"}
    assert template["Outputs"]["DashboardUrl"]["Value"] == {
        "Fn::Sub": "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        "#dashboards:name=${OperationsDashboard}"
    }


def test_the_provisioning_activity_has_a_saved_query(resources: dict[str, Any]) -> None:
    """The same trail the management API's activity reads (scim_endpoint.management.activity), for every tenant, in
    the console."""
    from scim_endpoint.management import activity

    (saved,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::QueryDefinition"
                and r["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}/Provisioning activity"}]
    text = saved["QueryString"]
    narrowed = activity.query("some-idp", 100)
    # The same filter of SCIM changes, which the IdP's query narrows (and joins the management actions to).
    assert text.split("|")[1].strip().removeprefix("filter ") in narrowed
    assert all(field in text for field in activity.SCIM_FIELDS)
    assert saved["LogGroupNames"] == [{"Ref": "UsersLogGroup"}, {"Ref": "GroupsLogGroup"}]


# --- abuse protection and the public edge (docs/security.md) --------------------------------------------------------


def _rule(resources: dict[str, Any], name: str) -> dict[str, Any]:
    (rule,) = [r for r in resources["WebAcl"]["Properties"]["Rules"] if r["Name"] == name]
    return rule


def test_the_web_acl_guards_the_stage_and_can_be_turned_off(template: dict[str, Any],
                                                            resources: dict[str, Any]) -> None:
    assert template["Conditions"]["HasWaf"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    assert template["Parameters"]["EnableWaf"]["AllowedValues"] == ["true", "false"]
    for name in ("WebAcl", "WebAclAssociation", "WafLogGroup", "WafLogging"):
        assert resources[name]["Condition"] == "HasWaf", name
    acl = resources["WebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    assert resources["WebAclAssociation"]["Properties"] == {
        "ResourceArn": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${ScimApi}/stages/"
                                   "${ScimApi.Stage}"},
        "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
    }
    assert [r["Name"] for r in sorted(acl["Rules"], key=lambda r: r["Priority"])] == [
        "AwsIpReputation", "AwsKnownBadInputs", "BodyTooLarge", "BadTokensPerAddress", "RatePerClient",
        "RatePerAddress", "TokenEndpointPerAddress"]
    # Sampled requests would show request headers (the bearer token) to whoever may read WAF: off everywhere.
    assert acl["VisibilityConfig"]["SampledRequestsEnabled"] is False
    for rule in acl["Rules"]:
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        assert rule["VisibilityConfig"]["MetricName"] == rule["Name"]
        assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is False, rule["Name"]


def test_what_waf_keeps_of_a_request_never_holds_a_token_or_a_filter(resources: dict[str, Any]) -> None:
    """The web ACL's data protection applies to its logs and to the rate-based rules' details in them (the key of
    RatePerClient is the Authorization header): the header hashed, the query string replaced."""
    protections = resources["WebAcl"]["Properties"]["DataProtectionConfig"]["DataProtections"]
    assert {(p["Field"]["FieldType"], tuple(p["Field"].get("FieldKeys", ())), p["Action"]) for p in protections} == {
        ("SINGLE_HEADER", ("authorization",), "HASH"), ("QUERY_STRING", (), "SUBSTITUTION")}
    for protection in protections:
        assert protection["ExcludeRuleMatchDetails"] is False and protection["ExcludeRateBasedDetails"] is False


@pytest.mark.parametrize("rule, parameter, key", [
    ("RatePerClient", "WafRateLimitPerClient", "CUSTOM_KEYS"),
    ("BadTokensPerAddress", "WafRateLimitBadTokensPerAddress", "IP"),
    ("RatePerAddress", "WafRateLimitPerAddress", "IP"),
])
def test_rate_rules_answer_429_with_retry_after_and_a_scim_body(resources: dict[str, Any], template: dict[str, Any],
                                                                rule: str, parameter: str, key: str) -> None:
    found = _rule(resources, rule)
    statement = found["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == {"Ref": parameter} and statement["AggregateKeyType"] == key
    assert statement["EvaluationWindowSec"] in (60, 120, 300, 600)
    response = found["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": {"Ref": "WafRetryAfterSeconds"}}]
    body = resources["WebAcl"]["Properties"]["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"  # WAF offers no application/scim+json
    error = json.loads(body["Content"])
    assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and error["status"] == "429"
    # Above the 25 requests a second Microsoft requires per tenant, and below the stage's throttle: one client or
    # one address never takes the whole stage from the others.
    per_second = template["Parameters"][parameter]["Default"] / statement["EvaluationWindowSec"]
    assert per_second < template["Parameters"]["ThrottlingRateLimit"]["Default"]
    if rule in ("RatePerClient", "RatePerAddress"):
        assert per_second >= 2 * 25
        assert "ScopeDownStatement" not in statement
    if rule == "RatePerClient":
        # One bucket per token however its header is spelt: the functions take the scheme in any case and any
        # number of spaces before the token.
        assert statement["CustomKeys"] == [{"Header": {"Name": "authorization", "TextTransformations": [
            {"Priority": 0, "Type": "LOWERCASE"}, {"Priority": 1, "Type": "COMPRESS_WHITE_SPACE"}]}}]


def test_bad_tokens_are_those_without_the_shape_of_this_services_tokens(resources: dict[str, Any]) -> None:
    scope = _rule(resources, "BadTokensPerAddress")["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    shape, not_token_endpoint = scope["AndStatement"]["Statements"]
    regex = re.compile(shape["NotStatement"]["Statement"]["RegexMatchStatement"]["RegexString"])
    from scim_endpoint.auth import access_tokens, tokens

    # What the functions take for a key or an access token counts as well-formed; everything else as a bad token.
    token = tokens.new_token()[1]
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    for header in (f"Bearer {token}", f"bearer {token}", f"BEARER   {token}", f" Bearer {token} "):
        assert regex.match(header) and tokens.bearer_token(header) is not None, header
    assert regex.match(f"Bearer {jwt_like}") and access_tokens.looks_like_jwt(tokens.bearer_value(f"Bearer {jwt_like}"))
    for bad in ("", "Bearer", "Bearer scim_xyz", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 20, "Bearer a.b",
                "Bearer a.b.c", "Bearer eyJ.b", f"Bearer\t{token}", f"Bearer {token}x", f"Bearer {token[:-1]}",
                f"Bearer {token.upper()}"):
        value = tokens.bearer_value(bad)
        assert not regex.match(bad), bad
        assert tokens.bearer_token(bad) is None and not (value and access_tokens.looks_like_jwt(value)), bad
    # The token endpoint (client credentials, no bearer token) is not counted here: it has its own rule.
    match = not_token_endpoint["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert (match["FieldToMatch"], match["PositionalConstraint"], match["SearchString"]) == (
        {"UriPath": {}}, "ENDS_WITH", TOKEN_PATH)


def test_the_token_endpoint_is_a_function_of_its_own(resources: dict[str, Any], template: dict[str, Any]) -> None:
    """POST /v1/oauth2/token (and its other methods, answered 405) on the SCIM API, to TokenFunction, which reads the
    IdPs' secrets and the signing key; the signing key is made by CloudFormation; WAF holds each address to a few
    token requests."""
    props = resources["TokenFunction"]["Properties"]
    assert sorted((e["Properties"]["Method"], e["Properties"]["Path"], e["Properties"]["RestApiId"]["Ref"])
                  for e in props["Events"].values()) == [("any", TOKEN_PATH, "ScimApi"), ("post", TOKEN_PATH, "ScimApi")]
    assert {"Sid": "ReadSigningKey", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "TokenSigningSecret"}} in props["Policies"][0]["Statement"]
    generated = resources["TokenSigningSecret"]["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "key" and generated["PasswordLength"] >= 64
    assert json.loads(generated["SecretStringTemplate"]) == {"kid": "1"}
    rule = _rule(resources, "TokenEndpointPerAddress")
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == {"Ref": "WafRateLimitTokenEndpoint"} and statement["AggregateKeyType"] == "IP"
    assert statement["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == TOKEN_PATH
    body = resources["WebAcl"]["Properties"]["CustomResponseBodies"][
        rule["Action"]["Block"]["CustomResponse"]["CustomResponseBodyKey"]]
    assert json.loads(body["Content"])["error"] == "temporarily_unavailable"  # RFC 6749's shape
    # Watched as the other rules and functions are: the WAF alarm counts its 429s, the errors alarm its failures.
    assert "TokenEndpointPerAddress" in json.dumps(resources["WafRateLimitedAlarm"]["Properties"]["Metrics"])
    assert {"Name": "FunctionName", "Value": {"Ref": "TokenFunction"}} in [
        d for m in resources["LambdaErrorsAlarm"]["Properties"]["Metrics"] if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]]
    sample = json.loads((EVENTS / "post-token.json").read_text())
    assert (sample["httpMethod"], sample["resource"], sample["path"]) == ("POST", TOKEN_PATH, TOKEN_PATH)
    assert sample["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_the_body_size_rule_matches_the_functions_limit(resources: dict[str, Any]) -> None:
    from scim_endpoint.scim.validation import MAX_BODY_BYTES

    found = _rule(resources, "BodyTooLarge")
    statement = found["Statement"]["RegexMatchStatement"]
    assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    regex = re.compile(statement["RegexString"])
    for length in [*range(MAX_BODY_BYTES - 2000, MAX_BODY_BYTES + 2000), 0, 1, 10**7, 10**12, 999_999]:
        assert bool(regex.match(str(length))) == (length > MAX_BODY_BYTES), length
    assert regex.match("0" + str(MAX_BODY_BYTES + 1)) and not regex.match("0" + str(MAX_BODY_BYTES))
    assert found["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 413


def test_managed_rule_groups_are_only_those_that_leave_scim_alone(resources: dict[str, Any]) -> None:
    """Not the common rule set (its 8 KB body limit and cross-site scripting rules refuse SCIM bodies) nor the
    SQL-injection set (SCIM filters look like SQL), nor the anonymous IP list (Entra calls from Azure, a hosting
    provider): docs/security.md."""
    managed = [r["Statement"]["ManagedRuleGroupStatement"] for r in resources["WebAcl"]["Properties"]["Rules"]
               if "ManagedRuleGroupStatement" in r["Statement"]]
    assert {(m["VendorName"], m["Name"]) for m in managed} == {
        ("AWS", "AWSManagedRulesAmazonIpReputationList"), ("AWS", "AWSManagedRulesKnownBadInputsRuleSet")}


def test_waf_logs_never_hold_the_authorization_header(resources: dict[str, Any]) -> None:
    logging = resources["WafLogging"]["Properties"]
    assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}, {"QueryString": {}}]
    # Only what WAF blocked is logged: the log says who was refused, and holds no record of ordinary traffic.
    assert logging["LoggingFilter"] == {"DefaultBehavior": "DROP", "Filters": [{
        "Behavior": "KEEP", "Requirement": "MEETS_ANY", "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}]}
    assert logging["LogDestinationConfigs"] == [{"Fn::GetAtt": ["WafLogGroup", "Arn"]}]
    name = resources["WafLogGroup"]["Properties"]["LogGroupName"]
    assert name == {"Fn::Sub": "aws-waf-logs-${AWS::StackName}"}  # WAF's naming rule
    assert resources["WafLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize("function, parameter", [
    ("UsersFunction", "ReservedConcurrencyUsers"), ("GroupsFunction", "ReservedConcurrencyGroups"),
    ("DiscoveryFunction", "ReservedConcurrencyDiscovery"), ("CleanupFunction", "ReservedConcurrencyCleanup"),
])
def test_every_function_has_reserved_concurrency(resources: dict[str, Any], template: dict[str, Any],
                                                 function: str, parameter: str) -> None:
    condition = {"ReservedConcurrencyUsers": "ReserveUsers", "ReservedConcurrencyGroups": "ReserveGroups",
                 "ReservedConcurrencyDiscovery": "ReserveDiscovery",
                 "ReservedConcurrencyCleanup": "ReserveCleanup"}[parameter]
    assert resources[function]["Properties"]["ReservedConcurrentExecutions"] == {
        "Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, -1]}]}
    assert template["Parameters"][parameter]["Default"] > 0
    defaults = sum(template["Parameters"][p]["Default"] for p in template["Parameters"]
                   if p.startswith("ReservedConcurrency"))
    assert defaults + 100 <= 250  # deployable in any account whose quota was raised past new accounts' minimum
    # 0 would stop the function: refused before anything is created.
    assertion = template["Rules"]["ReservedConcurrencyIsNeverZero"]["Assertions"][0]["Assert"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]} in assertion["Fn::And"]


def test_parameter_combinations_that_cannot_work_are_refused(template: dict[str, Any]) -> None:
    rules = template["Rules"]
    certificate = rules["CustomDomainNeedsCertificate"]
    assert certificate["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CustomDomainName"}, ""]}]}
    assert certificate["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CustomDomainCertificateArn"}, ""]}]}
    endpoint = rules["DisablingTheDefaultEndpointNeedsACustomDomain"]
    assert endpoint["RuleCondition"] == {"Fn::Equals": [{"Ref": "DisableExecuteApiEndpoint"}, "true"]}
    assert endpoint["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CustomDomainName"}, ""]}]}


def test_a_function_at_its_reserved_concurrency_is_503_with_retry_after(template: dict[str, Any]) -> None:
    """API Gateway cannot pass Lambda's 429 on: a throttled invocation is its INTEGRATION_FAILURE response."""
    from devtools.local.template import gateway_response

    status, headers, body = gateway_response("INTEGRATION_FAILURE", "application/scim+json", template)
    assert status == 503 and headers["Retry-After"] == "1"
    assert json.loads(body)["status"] == "503"


def test_a_custom_domain_is_optional_and_becomes_the_tenant_url(template: dict[str, Any],
                                                                resources: dict[str, Any]) -> None:
    conditions = template["Conditions"]
    assert conditions["HasCustomDomain"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CustomDomainName"}, ""]}]}
    domain = resources["CustomDomain"]
    assert domain["Condition"] == "HasCustomDomain"
    assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["Properties"]["RegionalCertificateArn"] == {"Ref": "CustomDomainCertificateArn"}
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    mapping = resources["CustomDomainMapping"]["Properties"]
    assert mapping["RestApiId"] == {"Ref": "ScimApi"} and mapping["Stage"] == {"Ref": "ScimApi.Stage"}
    assert resources["CustomDomainRecord"]["Condition"] == "HasCustomDomainRecord"
    assert resources["ScimApi"]["Properties"]["DisableExecuteApiEndpoint"] == {
        "Fn::If": ["DisableDefaultEndpoint", True, False]}
    assert conditions["DisableDefaultEndpoint"] == {"Fn::And": [
        {"Condition": "HasCustomDomain"}, {"Fn::Equals": [{"Ref": "DisableExecuteApiEndpoint"}, "true"]}]}
    # The functions, the outputs and scim-admin (which reads ApiBaseUrl) name the custom domain when there is one.
    env = template["Globals"]["Function"]["Environment"]["Variables"]["PUBLIC_BASE_URL"]
    outputs = template["Outputs"]
    for value in (env, outputs["ApiBaseUrl"]["Value"], outputs["TenantUrlTemplate"]["Value"]):
        assert value["Fn::If"][0] == "HasCustomDomain"
        assert "CustomDomainName" in json.dumps(value["Fn::If"][1])


def test_the_local_environment_follows_the_templates_conditions() -> None:
    """The local server and the emulator read the functions' environment from the template: with the defaults, no
    custom domain and no public base URL."""
    from devtools.local.template import function_environment

    env = function_environment({"Table": "t", "AWS::StackName": "s", "AWS::Region": "r", "TokenSigningSecret": "k"})
    assert env["PUBLIC_BASE_URL"] == "" and env["AWS_ENDPOINT_URL"] == ""


# --- SnapStart and tracing -----------------------------------------------------------------------------------------

SNAPSTART_FUNCTIONS = ("UsersFunction", "GroupsFunction", "DiscoveryFunction", "TokenFunction")


def test_the_api_functions_start_from_snapshots_through_an_alias(template: dict[str, Any],
                                                                 functions: dict[str, dict[str, Any]]) -> None:
    assert template["Parameters"]["SnapStart"]["Default"] == "PublishedVersions"
    assert set(template["Parameters"]["SnapStart"]["AllowedValues"]) == {"PublishedVersions", "None"}
    for name, function in functions.items():
        properties = function["Properties"]
        if name in SNAPSTART_FUNCTIONS:
            # SnapStart applies to published versions only: API Gateway must invoke the alias SAM moves to each one.
            assert properties["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}, name
            assert properties["AutoPublishAlias"] == "live", name
            # Else a change of the layers alone (where the code is) would publish no version: `live` would keep the
            # old code.
            assert properties["AutoPublishAliasAllProperties"] is True, name
            assert "ProvisionedConcurrencyConfig" not in properties, name  # SnapStart cannot have it
            assert properties.get("EphemeralStorage", {"Size": 512})["Size"] <= 512, name
        else:
            # Stream consumers, jobs and the management API wait for nobody: no snapshot charges for them.
            assert "SnapStart" not in properties and "AutoPublishAlias" not in properties, name
    assert template["Globals"]["Function"]["Runtime"] == "python3.13"  # SnapStart needs Python 3.12 or later
    layers = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::LayerVersion"}
    assert layers and all(layer["Properties"]["PublishLambdaVersion"] is True for layer in layers.values())


def test_every_snapstart_function_registers_the_restore_hooks() -> None:
    """The handlers' entry points register `snapstart.after_restore` (through `api.lambda_handler_for`, or the token
    function's module itself)."""
    for name in ("users", "groups", "discovery"):
        assert "api.lambda_handler_for(app)" in (ROOT / "functions" / name / "app.py").read_text()
    assert "snapstart.register()" in (ROOT / "layers/scim/python/scim_endpoint/api.py").read_text()
    assert "snapstart.register()" in (ROOT / "functions/token/app.py").read_text()


def test_tracing_is_a_parameter_that_also_tells_the_code(template: dict[str, Any]) -> None:
    assert template["Parameters"]["XRayTracing"]["Default"] == "Active"
    assert template["Globals"]["Function"]["Tracing"] == {"Ref": "XRayTracing"}
    assert template["Conditions"]["Traced"] == {"Fn::Equals": [{"Ref": "XRayTracing"}, "Active"]}
    stages = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert stages and all(s["Properties"]["TracingEnabled"] == {"Fn::If": ["Traced", True, False]} for s in stages)
