"""The provisioning activity trail read from the functions' log lines (scim_endpoint.management.activity, read from
CloudWatch by scim_endpoint.activity_log) and shown one line per record (devtools.activity)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from devtools import activity
from scim_endpoint import activity_log
from scim_endpoint.management import activity as records_of
from scim_endpoint.observability import changed_attributes

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def handled(idp_id: str, method: str, operation: str, status: int, **fields) -> str:
    return json.dumps({"message": "request handled", "idp_id": idp_id, "http_method": method,
                       "operation": f"{method} {operation}", "status": status, "key_id": "k1",
                       "timestamp": f"t{status}", **fields})


def test_only_one_idps_changes_newest_first() -> None:
    lines = [
        handled("a", "GET", "/Users", 200),
        handled("a", "POST", "/Users", 201, resource_type="User", resource_id="u1", attributes_changed="userName"),
        handled("b", "POST", "/Users", 201, resource_type="User", resource_id="u9"),
        handled("a", "POST", "/Users/.search", 200),
        "not json",
        json.dumps({"message": "cleanup done", "idp_id": "a"}),
        handled("a", "POST", "/Users", 409, scim_type="uniqueness"),
        handled("a", "PATCH", "/Groups/{id}", 204, resource_type="Group", resource_id="g1", members_added=3,
                members_removed=1),
    ]
    records = records_of.from_lines(lines, "a", limit=10)
    assert [r["status"] for r in records] == [204, 409, 201]
    assert all(set(r) <= {"timestamp", "kind", *records_of.SCIM_FIELDS} for r in records)
    assert records_of.from_lines(lines, "a", limit=2) == records[:2]
    assert [r["resource_id"] for r in records_of.from_lines(lines, "b", limit=10)] == ["u9"]
    text = [activity.line(r) for r in records]
    assert "members +3 -1" in text[0] and "409 uniqueness" in text[1] and "[userName]" in text[2]


def test_changed_attributes_names_what_differs_never_values() -> None:
    before = {"userName": "a", "active": True, "name": {"givenName": "A"}, ENTERPRISE: {"department": "x"}}
    after = {"userName": "a", "active": False, "name": {"givenName": "B"}, "title": "T",
             ENTERPRISE: {"department": "x", "costCenter": "1"}}
    assert changed_attributes(before, after) == ["active", "name", "title", f"{ENTERPRISE}:costCenter"]
    assert changed_attributes({}, {"userName": "a"}) == ["userName"]
    assert changed_attributes(after, after) == []


def test_the_cloudwatch_query_is_narrowed_to_the_idp() -> None:
    text = records_of.query("contoso-1", 20)
    assert 'idp_id = "contoso-1"' in text and text.endswith("limit 20")
    with pytest.raises(ValueError):
        records_of.query('x" or idp_id != "', 20)  # nothing but an IdP id reaches the query


def test_read_from_cloudwatch_logs_insights() -> None:
    logs = boto3.client("logs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    row = [{"field": "@ptr", "value": "p"}, {"field": "message", "value": "request handled"},
           {"field": "http_method", "value": "POST"}, {"field": "operation", "value": "POST /Users"},
           {"field": "status", "value": "201"}, {"field": "resource_id", "value": "u1"}]
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Complete", "results": [row]}, {"queryId": "q1"})
        records = activity_log.LogsInsights(logs, ["/aws/lambda/s/users"]).records("contoso", hours=1, limit=5)
    assert records == [{"timestamp": "", "kind": "scim", "operation": "POST /Users", "resource_id": "u1",
                        "status": 201}]
