"""template.yaml's management side: the IAM-authorized API, its functions, its queue and bucket, who may call it; and
the OpenAPI document, checked against the template's routes and made again from the handlers' models."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devtools import openapi
from devtools.local.template import load, routes

ADMIN_ROUTES = {(r.method, r.resource) for r in routes() if r.api == "AdminApi"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load()["Resources"]


def test_every_management_route_is_iam_authorized_and_only_there(resources: dict[str, Any]) -> None:
    # API Gateway invokes the function with its own permission: callers need execute-api:Invoke only, not also
    # lambda:InvokeFunction (SAM's default for AWS_IAM passes the caller's credentials on).
    assert resources["AdminApi"]["Properties"]["Auth"] == {"DefaultAuthorizer": "AWS_IAM", "InvokeRole": "NONE"}
    assert "Auth" not in resources["ScimApi"]["Properties"]  # SCIM requests carry bearer tokens, checked by the edge
    assert ADMIN_ROUTES and all(path.startswith("/admin/v1/") for _, path in ADMIN_ROUTES)
    for route in routes():
        assert route.iam == (route.api == "AdminApi") == (route.function == "AdminFunction"), route
    admin_events = resources["AdminFunction"]["Properties"]["Events"].values()
    assert all("Auth" not in event["Properties"] for event in admin_events)  # none opts out of the default


def test_the_openapi_document_is_current_and_names_exactly_the_templates_routes() -> None:
    committed = openapi.DOCUMENT.read_text(encoding="utf-8")
    assert committed == openapi.text(), "docs/management-api.openapi.json is stale: run `make openapi`"
    document = json.loads(committed)
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert documented == ADMIN_ROUTES
    assert document["security"] == [{"sigv4": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "403", "404"} <= statuses and "422" not in statuses, (method, path)
            assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"}
            if method in ("post", "patch") and not path.endswith("/exports"):
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert body["$ref"].startswith("#/components/schemas/"), (method, path)
    schemas = document["components"]["schemas"]
    assert schemas["KeyCreate"]["additionalProperties"] is False
    assert set(schemas["KeyCreate"]["required"]) == {"name", "privileges"}
    assert "token" in schemas["KeyCreated"]["properties"] and "token" not in schemas["Key"]["properties"]
    assert not any("digest" in json.dumps(schema.get("properties", {})) for schema in schemas.values())


def test_only_the_policy_the_stack_outputs_lets_a_principal_call_it(resources: dict[str, Any]) -> None:
    policy = resources["ManagementApiAccessPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                                "${AdminApi}/${AdminApi.Stage}/*/admin/v1/*"}
    outputs = load()["Outputs"]
    assert outputs["ManagementApiPolicyArn"]["Value"] == {"Ref": "ManagementApiAccessPolicy"}
    assert outputs["ManagementApiUrl"]["Value"] == {
        "Fn::Sub": "https://${AdminApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${AdminApi.Stage}"}


def test_api_gateways_refusals_have_the_apis_error_shape(resources: dict[str, Any]) -> None:
    responses = resources["AdminApi"]["Properties"]["GatewayResponses"]
    assert {"MISSING_AUTHENTICATION_TOKEN", "INVALID_SIGNATURE", "EXPIRED_TOKEN", "ACCESS_DENIED", "THROTTLED",
            "DEFAULT_5XX"} <= set(responses)
    for name, response in responses.items():
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, name
        assert re.fullmatch(r"[a-z_]+", body["error"]["code"]), name
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'", name
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
    assert all(int(responses[n]["StatusCode"]) == 403 for n in ("MISSING_AUTHENTICATION_TOKEN", "INVALID_SIGNATURE",
                                                                 "EXPIRED_TOKEN", "ACCESS_DENIED"))


def test_jobs_are_retried_then_dead_lettered_and_never_outlive_their_message(resources: dict[str, Any]) -> None:
    queue = resources["JobsQueue"]["Properties"]
    function = resources["JobsFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]  # Lambda's advice for a queue it reads
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}
    assert queue["SqsManagedSseEnabled"] is True
    assert resources["JobsDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    (event,) = function["Events"].values()
    assert event == {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["JobsQueue", "Arn"]}, "BatchSize": 1,
                                                   "FunctionResponseTypes": ["ReportBatchItemFailures"]}}
    import importlib.util

    spec = importlib.util.spec_from_file_location("_jobs_for_template", "functions/jobs/app.py")
    jobs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jobs)
    assert jobs.STEP_SECONDS + 60 <= function["Timeout"]  # a step stops well before the invocation must
    alarm = resources["JobsDeadLettersAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetterQueue",
                                                                                  "QueueName"]}}]


def test_the_export_bucket_is_private_encrypted_tls_only_and_forgets(resources: dict[str, Any]) -> None:
    bucket = resources["ExportBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == "exports/" and rule["ExpirationInDays"] == 7
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (deny,) = resources["ExportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_each_management_function_may_do_only_its_part(resources: dict[str, Any]) -> None:
    def actions(function: str) -> set[str]:
        found = set()
        for policy in resources[function]["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                found |= set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        return found

    admin, jobs = actions("AdminFunction"), actions("JobsFunction")
    # Only the jobs function reads the whole table (an erasure's Scan) and deletes secrets and exports.
    assert "dynamodb:Scan" in jobs and "dynamodb:Scan" not in admin
    assert "secretsmanager:DeleteSecret" in jobs and "secretsmanager:DeleteSecret" not in admin
    assert "s3:DeleteObject" in jobs and "s3:PutObject" in jobs and not {"s3:PutObject", "s3:DeleteObject"} & admin
    # The management function writes keys and queues jobs; it signs the export URLs it hands out (s3:GetObject).
    assert {"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "sqs:SendMessage", "s3:GetObject",
            "logs:StartQuery"} <= admin
    for name in ("UsersFunction", "GroupsFunction", "DiscoveryFunction", "CleanupFunction"):
        assert not {"dynamodb:Scan", "secretsmanager:PutSecretValue", "sqs:SendMessage"} & actions(name) or \
            name == "CleanupFunction" and actions(name) & {"sqs:SendMessage"} == {"sqs:SendMessage"}
