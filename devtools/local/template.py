"""Reads `template.yaml`: the routes, the table definition and the functions' environment, so the local server
and the tests are built from the same definition as the deployed stack and cannot drift from it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]  # devtools/local/template.py
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (`!Ref X` becomes `{"Ref": "X"}`)."""


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load(path: Path = TEMPLATE_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class Route:
    function: str  # logical id, e.g. UsersFunction
    method: str  # upper case
    resource: str  # the template path, e.g. /v1/scim/{idpId}/Users/{id}
    code_dir: Path
    handler: str  # module.function, e.g. app.lambda_handler
    api: str = "ScimApi"  # the logical id of the AWS::Serverless::Api it is on
    iam: bool = False  # whether the API's authorizer is AWS_IAM (requests signed with SigV4)

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.resource))
        return re.compile(f"^{regex}$")


def _function_events(template: dict, event_type: str) -> Iterator[tuple[str, Path, str, dict]]:
    """(logical id, code folder, handler, event properties) of each function event of `event_type`."""
    function_globals = template.get("Globals", {}).get("Function", {})
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        handler = props.get("Handler") or function_globals["Handler"]
        for event in props.get("Events", {}).values():
            if event["Type"] == event_type:
                yield logical_id, REPO_ROOT / props["CodeUri"], handler, event["Properties"]


def routes(template: dict | None = None) -> list[Route]:
    template = template or load()
    found = []
    for name, code_dir, handler, event in _function_events(template, "Api"):
        api = event.get("RestApiId", {}).get("Ref", "ScimApi")
        authorizer = event.get("Auth", {}).get("Authorizer") or template["Resources"].get(api, {}).get(
            "Properties", {}).get("Auth", {}).get("DefaultAuthorizer")
        found.append(Route(function=name, method=event["Method"].upper(), resource=event["Path"], code_dir=code_dir,
                           handler=handler, api=api, iam=authorizer == "AWS_IAM"))
    return found


@dataclass(frozen=True)
class QueueConsumer:
    """A function an SQS queue runs (an event of type SQS), one message at a time."""

    function: str
    code_dir: Path
    handler: str
    queue: str  # the queue's logical id


def queue_consumers(template: dict | None = None) -> list[QueueConsumer]:
    return [QueueConsumer(name, code_dir, handler, event["Queue"]["Fn::GetAtt"][0])
            for name, code_dir, handler, event in _function_events(template or load(), "SQS")]


def queue_attributes(name: str, arns: dict[str, str], template: dict | None = None) -> dict[str, str]:
    """The attributes of the template's queue `name` that change how it behaves (visibility timeout, retention,
    redrive to its dead-letter queue, whose ARN `arns` gives), as create_queue takes them."""
    props = (template or load())["Resources"][name].get("Properties", {})
    attributes = {key: str(props[key]) for key in ("VisibilityTimeout", "MessageRetentionPeriod") if key in props}
    if "RedrivePolicy" in props:
        policy = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": arns[policy["deadLetterTargetArn"]["Fn::GetAtt"][0]],
            "maxReceiveCount": str(policy["maxReceiveCount"])})
    return attributes


@dataclass(frozen=True)
class StreamConsumer:
    """A function the table's stream runs (an event of type DynamoDB): the filter patterns of its event source
    mapping (a record is handed to it when any matches; none: every record), how often a failing batch is retried,
    and the logical id of the queue a batch goes to after that (or None)."""

    function: str
    code_dir: Path
    handler: str
    patterns: tuple[dict, ...] = ()
    retries: int = 0
    dead_letter_queue: str | None = None
    batch_size: int = 100

    @property
    def event_names(self) -> frozenset[str] | None:
        """The event names its filters let in (None: any)."""
        names = [set(p["eventName"]) for p in self.patterns if "eventName" in p]
        return frozenset().union(*names) if names and len(names) == len(self.patterns) else None

    def takes(self, record: dict) -> bool:
        return not self.patterns or any(matches(pattern, record) for pattern in self.patterns)


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, for the rules the template uses: nested objects, lists of values or of `prefix`,
    `anything-but` and `exists` rules."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            (key in value and matches(rule, value[key])) or (isinstance(rule, list) and
                                                             {"exists": False} in rule and key not in value)
            for key, rule in pattern.items())
    if isinstance(pattern, list):
        for rule in pattern:
            if isinstance(rule, dict):
                if "prefix" in rule and isinstance(value, str) and value.startswith(rule["prefix"]):
                    return True
                if "anything-but" in rule:
                    excluded = rule["anything-but"]
                    if value not in (excluded if isinstance(excluded, list) else [excluded]):
                        return True
                if rule.get("exists") is True:
                    return True
            elif rule == value:
                return True
        return False
    return pattern == value


def stream_consumers(template: dict | None = None) -> list[StreamConsumer]:
    found = []
    for name, code_dir, handler, event in _function_events(template or load(), "DynamoDB"):
        patterns = tuple(json.loads(entry["Pattern"]) for entry in event.get("FilterCriteria", {}).get("Filters", []))
        destination = event.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        queue = destination["Fn::GetAtt"][0] if isinstance(destination, dict) and "Fn::GetAtt" in destination else None
        found.append(StreamConsumer(name, code_dir, handler, patterns, int(event.get("MaximumRetryAttempts", 0)),
                                    queue, int(event.get("BatchSize", 100))))
    return found


def queue_names(template: dict | None = None) -> list[str]:
    """The logical ids of the template's SQS queues (the local server makes each in its emulator)."""
    return [name for name, resource in (template or load())["Resources"].items()
            if resource["Type"] == "AWS::SQS::Queue"]


def table_definition(template: dict | None = None, logical_id: str = "Table") -> dict:
    """The keyword arguments of `create_table` for the template's table (its keys and indexes)."""
    props = (template or load())["Resources"][logical_id]["Properties"]
    keys = ("AttributeDefinitions", "KeySchema", "BillingMode", "StreamSpecification")
    definition = {key: props[key] for key in keys if key in props}
    if "StreamSpecification" in definition:
        definition["StreamSpecification"] = {"StreamEnabled": True, **definition["StreamSpecification"]}
    if "GlobalSecondaryIndexes" in props:
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def function_environment(resolve: dict[str, str], template: dict | None = None,
                         functions: bool = False) -> dict[str, str]:
    """The Globals environment of the functions, with `!Ref`/`!Sub`/`!If` resolved from `resolve` (names to values,
    e.g. {"Table": "scim-local", "AWS::StackName": "scim-local"}) and from the parameters' defaults. With
    `functions`, also every function's own variables (the local server runs all functions in one process: their
    variables never disagree, which a template test checks)."""
    template = template or load()
    values = {name: str(p["Default"]) for name, p in template.get("Parameters", {}).items() if "Default" in p}
    values.update(resolve)
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    if functions:
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                variables.update(resource["Properties"].get("Environment", {}).get("Variables", {}))
    conditions = template.get("Conditions", {})
    return {name: _resolve(value, values, conditions) for name, value in variables.items()}


def _resolve(value: Any, values: dict[str, str], conditions: dict) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return values[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([\w:]+)\}", lambda m: values[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::If" in value:
        name, when_true, when_false = value["Fn::If"]
        chosen = when_true if _condition(conditions[name], values, conditions) else when_false
        return _resolve(chosen, values, conditions)
    return str(value)


def _condition(expression: Any, values: dict[str, str], conditions: dict) -> bool:
    """A template condition over the parameters' values (Equals, Not, And, Or, Condition)."""
    if "Condition" in expression:
        return _condition(conditions[expression["Condition"]], values, conditions)
    if "Fn::Equals" in expression:
        left, right = (_resolve(v, values, conditions) for v in expression["Fn::Equals"])
        return left == right
    if "Fn::Not" in expression:
        return not _condition(expression["Fn::Not"][0], values, conditions)
    if "Fn::And" in expression:
        return all(_condition(c, values, conditions) for c in expression["Fn::And"])
    if "Fn::Or" in expression:
        return any(_condition(c, values, conditions) for c in expression["Fn::Or"])
    raise ValueError(f"a condition this reader does not know: {expression!r}")


def gateway_response(
    name: str, content_type: str | None = None, template: dict | None = None, api: str = "ScimApi"
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of the API's gateway response `name` (e.g. MISSING_AUTHENTICATION_TOKEN), as API
    Gateway renders it for a request of `content_type`.

    Header values are the static ones of ResponseParameters.Headers (`"'application/scim+json'"`), quotes stripped.
    The body is the response template of the request's media type (parameters such as `; charset=utf-8` ignored),
    else the `application/json` one, which is what API Gateway falls back to.
    """
    response = (template or load())["Resources"][api]["Properties"]["GatewayResponses"][name]
    headers = {
        header: value[1:-1]
        for header, value in response.get("ResponseParameters", {}).get("Headers", {}).items()
        # A value not in quotes maps from the request (method.request.header.X); the template uses none.
        if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'"
    }
    templates = response.get("ResponseTemplates", {})
    media_type = (content_type or "").split(";")[0].strip().lower()
    body = templates.get(media_type, templates.get("application/json", ""))
    return int(response["StatusCode"]), headers, body.encode("utf-8")
