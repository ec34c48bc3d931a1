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
from typing import Any, Iterator

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
    "SECRETS_PREFIX": {"Fn::Sub": "scim/${AWS::StackName}/idp/"},
    "SECRETS_CACHE_TTL_SECONDS": {"Ref": "SecretsCacheTtlSeconds"},
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": {"Ref": "MetricsNamespace"},
    "POWERTOOLS_LOG_LEVEL": "INFO",
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


@pytest.fixture(scope="module")
def routes(functions: dict[str, dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(METHOD, resource path) -> function logical id, for every Api event."""
    found: dict[tuple[str, str], str] = {}
    for name, function in functions.items():
        for event_name, event in function["Properties"].get("Events", {}).items():
            assert event["Type"] in ("Api", "DynamoDB"), f"{name}.{event_name}: unexpected event type"
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            assert props.get("RestApiId") == {"Ref": "ScimApi"}, f"{name}.{event_name} is not on ScimApi"
            key = (props["Method"].upper(), props["Path"])
            assert key not in found, f"route {key} is declared twice ({found.get(key)} and {name})"
            found[key] = name
    return found


@pytest.fixture(scope="module")
def events() -> dict[str, dict[str, Any]]:
    files = sorted(EVENTS.glob("*.json"))
    assert files, "events/ holds no sample event"
    return {path.name: json.loads(path.read_text()) for path in files}


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


def test_every_route_is_under_the_idp_prefix(routes: dict[tuple[str, str], str]) -> None:
    outside = [path for _, path in routes if not path.startswith(ROUTE_PREFIX)]
    assert not outside, f"routes outside {ROUTE_PREFIX}: {outside}"


def test_routes_and_event_files_match(
    routes: dict[tuple[str, str], str], events: dict[str, dict[str, Any]]
) -> None:
    from_events = {(event["httpMethod"], event["resource"]) for event in events.values()}
    assert set(routes) - from_events == set(), "routes with no sample event in events/"
    assert from_events - set(routes) == set(), "sample events for routes the template does not declare"


@pytest.mark.parametrize("name", sorted(path.name for path in EVENTS.glob("*.json")))
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


def test_globals_environment_is_the_contract(template: dict[str, Any], functions: dict[str, dict[str, Any]]) -> None:
    assert template["Globals"]["Function"]["Environment"]["Variables"] == EXPECTED_ENV
    for name, function in functions.items():
        assert "Environment" not in function["Properties"], f"{name} overrides the shared environment"


def test_function_policies_are_inline_statements(functions: dict[str, dict[str, Any]]) -> None:
    # Managed policies and SAM policy templates (e.g. DynamoDBCrudPolicy) hide wildcards from the checks below.
    for name, function in functions.items():
        for policy in function["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and "Statement" in policy, f"{name}: non-inline policy {policy!r}"


def test_no_wildcard_actions_or_resources(resources: dict[str, Any]) -> None:
    statements = list(_statements(resources))
    assert statements
    for name, statement in statements:
        for action in _as_list(statement.get("Action", [])):
            assert action != "*" and not str(action).endswith(":*"), f"{name}: wildcard action {action}"
        for resource in _as_list(statement.get("Resource", [])):
            assert resource != "*", f"{name}: Resource '*'"
        assert "NotAction" not in statement and "NotResource" not in statement, name


def _function_actions(resources: dict[str, Any], function: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (action, statement)
        for name, statement in _statements(resources)
        if name == function
        for action in _as_list(statement["Action"])
    ]


def test_discovery_has_no_dynamodb_access(resources: dict[str, Any]) -> None:
    actions = [action for action, _ in _function_actions(resources, "DiscoveryFunction")]
    assert actions, "DiscoveryFunction should still read the IdP secrets"
    assert not [action for action in actions if action.lower().startswith("dynamodb:")]


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
    for name in functions:
        secret_statements = [s for a, s in _function_actions(resources, name) if a.startswith("secretsmanager:")]
        if name == "CleanupFunction":
            assert not secret_statements, "the stream's consumer serves no request: it needs no API keys"
            continue
        assert secret_statements, f"{name} cannot read the IdP secrets"
        for statement in secret_statements:
            assert _as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"], name
            assert _as_list(statement["Resource"]) == [SECRETS_RESOURCE], name


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

    stages = [res for res in translated.values() if res["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stages) == 1
    assert stages[0]["Properties"]["Variables"] == {
        "Fn::If": [
            "CreateApiGatewayLogsRole",
            {"apiGatewayAccount": {"Ref": "ApiGatewayAccount"}},
            {"Ref": "AWS::NoValue"},
        ]
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
def test_shared_layer_build_leaves_out_dev_only_code(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "layers" / "scim", source, ignore=shutil.ignore_patterns("__pycache__"))
    package = source / "python" / "scim_endpoint"
    # Make sure there is something to leave out, whatever the package holds today.
    (package / "local").mkdir(exist_ok=True)
    (package / "local" / "__init__.py").write_text("import moto\n")
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
    assert not (built / "local").exists()
    assert not list(built.rglob("__pycache__")) and not list(built.rglob("*.pyc"))
    shipped = sorted(p.relative_to(built) for p in built.rglob("*.py"))
    expected = sorted(
        p.relative_to(package)
        for p in package.rglob("*.py")
        if p.relative_to(package).parts[0] != "local"
    )
    assert shipped == expected


def test_removals_from_the_table_stream_feed_the_cleanup(resources: dict[str, Any]) -> None:
    """A deleted group's members are deleted after the fact, by the stream's consumer (docs/groups.md)."""
    assert resources["Table"]["Properties"]["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}
    consumers = {
        name: event
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    }
    assert list(consumers) == ["CleanupFunction"]
    props = consumers["CleanupFunction"]["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] > 0
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [{"eventName": ["REMOVE"]}]
