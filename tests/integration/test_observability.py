"""What operators see of a whole Entra-like provisioning run: one log line per request with who, what, the outcome
and the cost, the outcome metrics, and nothing personal or secret."""

from __future__ import annotations

import json

from scim_endpoint import observability
from tests.conftest import Tenant, new_guid

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_NAME = "provisioned.person@contoso.com"
EMAIL = "provisioned.person.mail@contoso.com"


def patch_op(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def emitted_metrics(text: str) -> dict[str, float]:
    """Sum of each metric over the Embedded Metric Format blobs printed during the run."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                    values if isinstance(values, list) else [values]
                )
    return totals


def test_a_provisioning_run_is_logged_and_counted_without_personal_data(call, tenant: Tenant, captured) -> None:
    base, token = tenant.base, tenant.token
    # Test Connection, then the create of a user as Entra sends it, then its life.
    assert call("GET", f'{base}/Users?filter=userName+eq+%22{new_guid()}%22', token=token).status == 200
    created = call("POST", f"{base}/Users", body={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": USER_NAME, "active": True,
        "emails": [{"type": "work", "value": EMAIL, "primary": True}]}, token=token)
    assert created.status == 201
    user_id = created.body["id"]
    assert call("POST", f"{base}/Users", body={"userName": USER_NAME.upper()}, token=token).status == 409
    assert call("GET", f'{base}/Users?filter=userName+eq+%22{USER_NAME}%22', token=token).status == 200
    patched = call("PATCH", f"{base}/Users/{user_id}", body=patch_op(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new." + EMAIL}), token=token)
    assert patched.status == 200
    disabled = call("PATCH", f"{base}/Users/{user_id}",
                    body=patch_op({"op": "Replace", "path": "active", "value": "False"}), token=token)
    assert disabled.status == 200 and disabled.body["active"] is False
    stale = call("PATCH", f"{base}/Users/{user_id}", headers={"If-Match": 'W/"1"'},
                 body=patch_op({"op": "replace", "path": "title", "value": "x"}), token=token)
    assert stale.status == 412
    # A group, a member added and removed, a rename, a bad request, someone without a valid token.
    group = call("POST", f"{base}/Groups", body={"displayName": "Provisioned Sales"}, token=token)
    assert group.status == 201
    group_id = group.body["id"]
    members = [{"value": user_id}]
    assert call("PATCH", f"{base}/Groups/{group_id}", token=token,
                body=patch_op({"op": "Add", "path": "members", "value": members})).status == 204
    assert call("PATCH", f"{base}/Groups/{group_id}", token=token,
                body=patch_op({"op": "Remove", "path": "members", "value": members})).status == 204
    assert call("PATCH", f"{base}/Groups/{group_id}", token=token,
                body=patch_op({"op": "Replace", "path": "displayName", "value": "Provisioned EMEA"})).status == 204
    assert call("GET", f'{base}/Users?filter=userName+eq', token=token).status == 400
    assert call("GET", f"{base}/Users/{new_guid()}", token=token).status == 404
    assert call("GET", f"{base}/Users", token=token[:-2] + "xx").status == 401
    assert call("DELETE", f"{base}/Groups/{group_id}", token=token).status == 204
    assert call("DELETE", f"{base}/Users/{user_id}", token=token).status == 204

    text = captured.text()
    handled = captured.handled()
    assert len(handled) == 16
    for line in handled:
        for field in ("correlation_id", "idp_id", "route", "operation", "http_method", "status", "dynamodb_calls",
                      "duration_ms", "level", "service"):
            assert field in line, (field, line)
        assert line["idp_id"] == tenant.idp_id
        assert line["operation"].split(" ", 1)[1] == line["route"].removeprefix("/v1/scim/{idpId}")
        if line["status"] != 401:
            assert line["key_id"] == tenant.key_id
        if line["status"] >= 400 and line["status"] not in (401, 404, 412):
            assert line["scim_type"], line
    by_status = {}
    for line in handled:
        by_status.setdefault(line["status"], []).append(line)
    assert by_status[409][0]["scim_type"] == "uniqueness"
    assert by_status[400][0]["scim_type"] == "invalidFilter"
    # Test Connection: the IdP's registry item, the key's first use in this container, the lookup; POST: the
    # registry item and the creation.
    assert [line["dynamodb_calls"] for line in handled[:2]] == [3, 2]
    assert by_status[401][0]["dynamodb_calls"] == 0

    # No token, and nothing personal: no userName, no e-mail, no filter value, in any line.
    for secret in (token, token.split("_", 2)[2]):
        assert secret not in text
    for personal in (USER_NAME, USER_NAME.upper(), EMAIL, "new." + EMAIL, "Provisioned Sales", "Provisioned EMEA"):
        assert personal not in text, personal

    counted = emitted_metrics(text)
    expected = {
        "UsersCreated": 1, "UsersUpdated": 2, "UsersDeactivated": 1, "UsersDeleted": 1, "GroupsCreated": 1,
        "GroupsUpdated": 1, "GroupsRenamed": 1, "GroupsDeleted": 1, "MembersAdded": 1, "MembersRemoved": 1,
        "Conflicts": 1, "PreconditionFailures": 1, "BadRequests": 1, "NotFound": 1, "AuthenticationFailures": 1,
    }
    assert {name: counted.get(name) for name in expected} == expected
    assert counted.get(observability.OPERATION_LATENCY, 0) > 0
    assert set(counted) <= set(observability.METRICS) | {observability.OPERATION_LATENCY, "ColdStart"}


def test_every_metric_name_the_code_counts_is_declared() -> None:
    import pytest

    with pytest.raises(KeyError):
        observability.count("NoSuchMetric")
