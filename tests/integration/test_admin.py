"""The admin command line (`scim-admin`) against emulated Secrets Manager, and the keys it makes used for real."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from devtools import admin
from tests.conftest import SECRETS_PREFIX

API = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev"


@pytest.fixture
def scim_admin(aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """Runs `scim-admin <args>` targeting the environment's prefix; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("SCIM_SECRETS_PREFIX", SECRETS_PREFIX)
    monkeypatch.setenv("SCIM_API_BASE_URL", API)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop what the handlers logged before
        code = admin.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_create_idp_prints_its_id_and_tenant_url(scim_admin) -> None:
    code, out, _ = scim_admin("create-idp", "--name", "Contoso")
    assert code == 0
    idp_id = out.split("IdP ID:")[1].split()[0]
    assert f"Tenant URL: {API}/v1/scim/{idp_id}" in out

    code, out, _ = scim_admin("--json", "list-idps")
    assert code == 0
    (listed,) = json.loads(out)
    assert listed == {"idp_id": idp_id, "name": "Contoso", "created": listed["created"],
                      "tenant_url": f"{API}/v1/scim/{idp_id}", "allowed_networks": []}


def test_a_key_is_shown_once_works_at_once_and_stops_when_revoked(scim_admin, call, monkeypatch) -> None:
    _, out, _ = scim_admin("--json", "create-idp", "--name", "Contoso", "--id", "contoso")
    assert json.loads(out)["idp_id"] == "contoso"

    code, out, _ = scim_admin("--json", "create-key", "--idp", "contoso", "--name", "Entra", "--description",
                              "Contoso's tenant", "--privilege", "users:write", "--privilege", "groups:read")
    assert code == 0
    key = json.loads(out)
    token = key["token"]
    assert key["privileges"] == ["users:write", "groups:read"]
    assert key["tenant_url"] == f"{API}/v1/scim/contoso"

    # The token works at once, within its privileges.
    query = 'filter=userName eq "nobody"'
    assert call("GET", f"/v1/scim/contoso/Users?{query}", token=token).status == 200
    assert call("GET", f"/v1/scim/contoso/Groups?{query}", token=token).status == 200

    # Listing shows the key, never its secret, in either format.
    for fmt in ([], ["--json"]):
        code, out, _ = scim_admin(*fmt, "list-keys", "--idp", "contoso")
        assert code == 0 and key["id"] in out
        assert token not in out and token.rsplit("_", 1)[1] not in out
        assert "digest" not in out

    code, out, _ = scim_admin("revoke-key", "--idp", "contoso", "--key", key["id"])
    assert code == 0 and "Revoked" in out
    from scim_endpoint.tenants import key_cache

    key_cache().clear()  # what the cache TTL does on a warm container
    assert call("GET", f"/v1/scim/contoso/Users?{query}", token=token).status == 401
    _, out, _ = scim_admin("--json", "list-keys", "--idp", "contoso")
    assert json.loads(out)[0]["revoked"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list-keys", "--idp", "nope"], "no IdP nope"),
        (["revoke-key", "--idp", "contoso", "--key", "0000000000000000"], "no key"),
        (["create-key", "--idp", "contoso", "--name", "x", "--privilege", "admin"], "unknown privilege"),
        (["create-idp", "--name", "again", "--id", "contoso"], "already exists"),
        (["create-idp", "--name", "bad", "--id", "no/slashes"], "an IdP id is"),
    ],
)
def test_mistakes_are_reported_without_a_traceback(scim_admin, args: list[str], message: str) -> None:
    scim_admin("create-idp", "--name", "Contoso", "--id", "contoso")
    code, out, err = scim_admin(*args)
    assert code == 1
    assert message in err and "Traceback" not in err


def test_a_deployed_stack_is_found_from_its_outputs() -> None:
    client = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    outputs = [
        {"OutputKey": "ApiBaseUrl", "OutputValue": API},
        {"OutputKey": "SecretsPrefix", "OutputValue": "scim/scim-dev/idp/"},
        {"OutputKey": "TableName", "OutputValue": "scim-dev-Table-1"},
    ]
    stack = {"StackName": "scim-dev", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
             "Outputs": outputs}
    with Stubber(client) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "scim-dev"})
        original = boto3.client
        boto3.client = lambda service, **kwargs: client if service == "cloudformation" else original(service, **kwargs)
        try:
            target = admin._stack_target("scim-dev", "eu-west-1")
        finally:
            boto3.client = original
    assert target.secrets_prefix == "scim/scim-dev/idp/"
    assert target.tenant_url("contoso") == f"{API}/v1/scim/contoso"
    assert target.client_options == {"region_name": "eu-west-1"}


def test_an_idps_allowed_networks_are_set_and_cleared(scim_admin, call, tmp_path) -> None:
    from scim_endpoint import tenants

    scim_admin("create-idp", "--name", "Contoso", "--id", "contoso")
    _, out, _ = scim_admin("--json", "create-key", "--idp", "contoso", "--name", "Entra", "--privilege", "users:read")
    token = json.loads(out)["token"]
    code, out, _ = scim_admin("--json", "allow-networks", "--idp", "contoso", "--network", "20.190.128.0/18",
                              "--network", "40.126.0.5")
    assert code == 0
    assert json.loads(out) == {"idp_id": "contoso", "allowed_networks": ["20.190.128.0/18", "40.126.0.5/32"]}
    tenants.key_cache().clear()
    assert call("GET", "/v1/scim/contoso/Users", token=token, source_ip="192.0.2.1").status == 403
    assert call("GET", "/v1/scim/contoso/Users", token=token, source_ip="40.126.0.5").status == 200

    ranges = tmp_path / "entra.txt"
    ranges.write_text("# AzureActiveDirectory\n20.190.128.0/18\n\n2603:1006:2000::/48\n")
    code, out, _ = scim_admin("--json", "allow-networks", "--idp", "contoso", "--networks-file", str(ranges))
    assert json.loads(out)["allowed_networks"] == ["20.190.128.0/18", "2603:1006:2000::/48"]
    code, out, err = scim_admin("allow-networks", "--idp", "contoso", "--network", "300.1.2.3/8")
    assert code == 1 and "not a network" in err and out == ""
    # A file that names no network (a failed download) keeps the allow-list as it was: only --any turns it off.
    for empty in ("", "# AzureActiveDirectory\n\n"):
        ranges.write_text(empty)
        code, out, err = scim_admin("allow-networks", "--idp", "contoso", "--networks-file", str(ranges))
        assert code == 1 and "names no network" in err and "--any" in err and out == ""
    assert call("GET", "/v1/scim/contoso/Users", token=token, source_ip="192.0.2.1").status == 403
    code, out, _ = scim_admin("allow-networks", "--idp", "contoso", "--any")
    assert code == 0 and "any address" in out
    _, out, _ = scim_admin("--json", "list-idps")
    assert json.loads(out)[0]["allowed_networks"] == []
