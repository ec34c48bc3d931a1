"""`scim-admin` against a real local server (one subprocess on a free port for the module): every command through
the management API, signed with SigV4 as the server checks it; what the commands do seen over SCIM; and the errors,
each one line on stderr. scim-admin runs in-process (`devtools.admin.main`), and as a subprocess where the process
matters (no traceback, the exit status)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, quote_plus

import pytest

from devtools import admin
from devtools.local import server as local_server
from devtools.local.server import state_file
from tests.smoke.test_local_server import free_port, http, read_state, server_env, start_server, stop, wait_for

pytestmark = pytest.mark.slow

LOCAL_ADMIN_KEY = "AKIASCIMLOCALADMIN00"
LOCAL_ADMIN_SECRET = "scim-local-admin-secret-not-for-aws"
LOCAL_PRINCIPAL = "arn:aws:iam::000000000000:user/scim-local-admin"
# The export's group: "a couple of thousand" members, each a user of the tenant.
EXPORT_MEMBERS = 2000
# Long enough for the local server's stream poller (every 0.5 s) to have handled what a write put on the stream.
STREAM_SETTLE_SECONDS = 1.5


class Server(NamedTuple):
    port: int
    url: str
    tenant: dict  # the seeded IdP: idp_id, tenant_url, token


class Ran(NamedTuple):
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    @property
    def error(self) -> str:
        """The error line (the last line on stderr, after any progress); asserts it is one line of scim-admin's."""
        assert self.code != 0, self.out
        assert "Traceback" not in self.err, self.err
        lines = self.err.splitlines()
        assert lines and lines[-1].startswith("scim-admin: "), self.err
        return lines[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("scim-admin")
    port = free_port()
    process, credentials_file, output = start_server(tmp_path, port, tenants=1)
    try:
        wait_for(credentials_file, process, output)
        (tenant,) = json.loads(credentials_file.read_text(encoding="utf-8"))
        yield Server(port, f"http://127.0.0.1:{port}", tenant)
    finally:
        if process.poll() is None:
            stop(process, output)
        if read_state(port)[1] == process.pid:
            state_file(port).unlink(missing_ok=True)


@pytest.fixture
def scim_admin(server: Server, clean_env, capsys: pytest.CaptureFixture):
    """`scim-admin --local <the server's port> <args>` in-process; `target=None` for no target option."""

    def run(*args: str, target: tuple[str, ...] | None = ("--local", str(server.port))) -> Ran:
        capsys.readouterr()
        code = admin.main([*(target or ()), *args])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def scim_get(tenant_url: str, token: str) -> int:
    return http("GET", f"{tenant_url}/Users?filter=userName+eq+%22nobody%22", token)[0]


def new_idp(scim_admin, name: str = "Contoso") -> dict:
    ran = scim_admin("--json", "create-idp", "--name", name)
    assert ran.code == 0, ran.err
    return ran.json()


def new_key(scim_admin, idp_id: str, *privileges: str) -> dict:
    args = [arg for privilege in privileges or ("users:write",) for arg in ("--privilege", privilege)]
    ran = scim_admin("--json", "create-key", "--idp", idp_id, "--name", "Entra", *args)
    assert ran.code == 0, ran.err
    return ran.json()


# --- IdPs ------------------------------------------------------------------------------------------------------------


def test_an_idp_is_created_shown_renamed_and_listed(server: Server, scim_admin) -> None:
    ran = scim_admin("create-idp", "--name", "Contoso")
    assert ran.code == 0, ran.err
    idp_id = ran.out.split("IdP ID:")[1].split()[0]
    assert f"Tenant URL: {server.url}/v1/scim/{idp_id}" in ran.out

    chosen = f"fabrikam-{uuid.uuid4().hex[:8]}"
    ran = scim_admin("create-idp", "--name", "Fabrikam", "--description", "EU tenant", "--id", chosen, "--json")
    assert ran.code == 0, ran.err
    created = ran.json()
    assert created["idp_id"] == chosen and created["name"] == "Fabrikam" and created["description"] == "EU tenant"
    assert created["tenant_url"] == f"{server.url}/v1/scim/{chosen}" and created["state"] == "active"

    ran = scim_admin("show-idp", "--idp", chosen)
    assert ran.code == 0, ran.err
    assert f"IdP ID:      {chosen}" in ran.out and "EU tenant" in ran.out and "any address" in ran.out
    assert f"Tenant URL:  {server.url}/v1/scim/{chosen}" in ran.out

    ran = scim_admin("--json", "update-idp", "--idp", chosen, "--name", "Fabrikam EU")
    assert ran.code == 0, ran.err
    assert ran.json()["name"] == "Fabrikam EU" and ran.json()["description"] == "EU tenant"
    ran = scim_admin("update-idp", "--idp", chosen, "--description", "")
    assert ran.code == 0 and "Fabrikam EU" in ran.out and "EU tenant" not in ran.out
    assert "nothing to change" in scim_admin("update-idp", "--idp", chosen).error

    ran = scim_admin("--json", "list-idps")
    assert ran.code == 0, ran.err
    listed = {idp["idp_id"]: idp for idp in ran.json()}
    assert {idp_id, chosen, server.tenant["idp_id"]} <= set(listed)
    assert {"idp_id", "name", "created", "tenant_url", "allowed_networks"} <= set(listed[chosen])
    assert listed[chosen]["name"] == "Fabrikam EU" and listed[chosen]["allowed_networks"] == []
    human = scim_admin("list-idps")
    assert f"{chosen}  Fabrikam EU  {server.url}/v1/scim/{chosen}" in human.out.splitlines()

    again = scim_admin("create-idp", "--name", "Again", "--id", chosen)
    assert again.code == 1 and again.out == ""
    assert f"IdP {chosen} exists, or existed" in again.error and "(idp_exists)" in again.error


def test_list_idps_follows_every_page(scim_admin, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("One", "Two", "Three"):
        new_idp(scim_admin, name)
    whole = [idp["idp_id"] for idp in scim_admin("--json", "list-idps").json()]
    monkeypatch.setattr(admin, "PAGE_SIZE", 1)  # one IdP per page: every IdP is on a page of its own
    paged = [idp["idp_id"] for idp in scim_admin("--json", "list-idps").json()]
    assert paged == whole and len(paged) >= 4 and len(set(paged)) == len(paged)


# --- keys ------------------------------------------------------------------------------------------------------------


def test_a_key_is_shown_once_works_at_once_and_stops_when_revoked(scim_admin) -> None:
    idp = new_idp(scim_admin)
    ran = scim_admin("create-key", "--idp", idp["idp_id"], "--name", "Entra", "--description", "Contoso's tenant",
                     "--privilege", "users:write", "--privilege", "groups:read")
    assert ran.code == 0, ran.err
    token = ran.out.split("Secret Token:")[1].split()[0]
    key_id = ran.out.split("Key ID:")[1].split()[0]
    assert f"Tenant URL:   {idp['tenant_url']}" in ran.out and "users:write, groups:read" in ran.out
    assert ran.out.rstrip().splitlines()[-1] == \
        "Copy the Secret Token now: it is shown this once and cannot be recovered."

    # It works at once, within its privileges, on its own IdP only.
    assert scim_get(idp["tenant_url"], token) == 200
    assert http("GET", f"{idp['tenant_url']}/Groups?filter=displayName+eq+%22x%22", token)[0] == 200
    assert http("POST", f"{idp['tenant_url']}/Groups", token, {"displayName": "No"})[0] == 403

    # Listed, in either format, without its token (nor the token's secret part, nor any digest).
    for fmt in ([], ["--json"]):
        listed = scim_admin(*fmt, "list-keys", "--idp", idp["idp_id"])
        assert listed.code == 0 and key_id in listed.out
        assert token not in listed.out and token.split("_", 2)[2] not in listed.out and "digest" not in listed.out
    (key,) = scim_admin("--json", "list-keys", "--idp", idp["idp_id"]).json()
    assert key["id"] == key_id and key["description"] == "Contoso's tenant" and key["revoked"] is None
    assert key["privileges"] == ["users:write", "groups:read"] and key["last_used_at"]  # used just now

    ran = scim_admin("revoke-key", "--idp", idp["idp_id"], "--key", key_id)
    assert ran.code == 0 and f"Revoked key {key_id} (Entra)" in ran.out
    assert scim_get(idp["tenant_url"], token) == 401  # at once: no cache to wait for
    (key,) = scim_admin("--json", "list-keys", "--idp", idp["idp_id"]).json()
    assert key["revoked"]
    again = scim_admin("--json", "revoke-key", "--idp", idp["idp_id"], "--key", key_id)
    assert again.code == 0 and again.json()["revoked"] == key["revoked"]  # revoking twice keeps the first time

    unknown = scim_admin("revoke-key", "--idp", idp["idp_id"], "--key", "0000000000000000")
    assert unknown.code == 1 and unknown.out == ""
    assert unknown.error == f"scim-admin: IdP {idp['idp_id']} has no key 0000000000000000 (not_found)"


def test_a_key_created_for_a_time_and_the_mistakes_of_creating_one(scim_admin) -> None:
    idp = new_idp(scim_admin)
    ran = scim_admin("create-key", "--idp", idp["idp_id"], "--name", "Entra", "--privilege", "users:read",
                     "--expires-at", "2099-01-01T00:00:00Z", "--json")
    assert ran.code == 0, ran.err
    key = ran.json()
    assert {"id", "name", "description", "privileges", "created", "expires_at", "revoked", "idp_id", "tenant_url",
            "token"} <= set(key)
    assert key["expires_at"] == "2099-01-01T00:00:00Z" and key["idp_id"] == idp["idp_id"]
    assert key["tenant_url"] == idp["tenant_url"] and "digest" not in key
    assert scim_get(idp["tenant_url"], key["token"]) == 200
    human = scim_admin("list-keys", "--idp", idp["idp_id"])
    assert "expires 2099-01-01T00:00:00Z" in human.out and key["token"] not in human.out

    past = scim_admin("create-key", "--idp", idp["idp_id"], "--name", "Old", "--privilege", "users:read",
                      "--expires-at", "2020-01-01T00:00:00Z")
    assert past.out == "" and "expires_at is in the past" in past.error and "(invalid_request)" in past.error
    assert "(invalid_request)" in scim_admin("create-key", "--idp", idp["idp_id"], "--name", "x", "--privilege",
                                             "users:read", "--expires-at", "tomorrow").error
    wrong = scim_admin("create-key", "--idp", idp["idp_id"], "--name", "x", "--privilege", "admin")
    assert wrong.code == 2 and "invalid choice: 'admin'" in wrong.error
    missing = scim_admin("create-key", "--idp", idp["idp_id"], "--name", "x")
    assert missing.code == 2 and "--privilege" in missing.error
    assert scim_admin("--json", "list-keys", "--idp", idp["idp_id"]).json()[0]["id"] == key["id"]  # no other key


# --- OAuth clients ---------------------------------------------------------------------------------------------------


def token_request(token_endpoint: str, client_id: str, secret: str) -> tuple[int, dict | None]:
    """POST grant_type=client_credentials to the token endpoint, the client authenticated with HTTP Basic (RFC 6749
    section 2.3.1: the form-urlencoded id and secret)."""
    basic = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
    request = urllib.request.Request(token_endpoint, data=b"grant_type=client_credentials", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/json", "Authorization": f"Basic {basic}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, data = error.code, error.read()
    return status, json.loads(data) if data else None


def test_an_oauth_client_gets_tokens_until_it_is_revoked(server: Server, scim_admin) -> None:
    idp = new_idp(scim_admin)
    idp_id = idp["idp_id"]
    ran = scim_admin("create-client", "--idp", idp_id, "--name", "Okta", "--privilege", "users:read", "--json")
    assert ran.code == 0, ran.err
    client = ran.json()
    assert {"client_id", "client_secret", "token_endpoint", "idp_id", "tenant_url", "name", "description",
            "privileges", "created", "expires_at", "revoked"} <= set(client)
    assert client["client_id"].startswith(f"{idp_id}.") and client["client_secret"] and "digest" not in client
    assert client["token_endpoint"] == f"{server.url}/v1/oauth2/token"
    assert client["tenant_url"] == idp["tenant_url"] and client["privileges"] == ["users:read"]
    client_id, secret = client["client_id"], client["client_secret"]

    status, granted = token_request(client["token_endpoint"], client_id, secret)
    assert status == 200, granted
    assert granted["token_type"] == "Bearer" and granted["access_token"]
    access_token = granted["access_token"]
    assert http("GET", f"{idp['tenant_url']}/Users?filter=userName+eq+%22x%22", access_token)[0] == 200

    listed = scim_admin("list-clients", "--idp", idp_id)
    assert listed.code == 0 and client_id in listed.out and secret not in listed.out
    assert listed.out.startswith(f"{client_id}  Okta  users:read  created ") and "REVOKED" not in listed.out

    ran = scim_admin("revoke-client", "--idp", idp_id, "--client", client_id)
    assert ran.code == 0, ran.err
    assert f"Revoked client {client_id} (Okta)" in ran.out
    assert http("GET", f"{idp['tenant_url']}/Users?filter=userName+eq+%22x%22", access_token)[0] == 401
    status, refused = token_request(client["token_endpoint"], client_id, secret)
    assert status == 401 and refused["error"] == "invalid_client", refused

    unknown = scim_admin("revoke-client", "--idp", idp_id, "--client", f"{idp_id}.0000000000000000")
    assert unknown.code == 1 and unknown.out == ""
    assert unknown.error == f"scim-admin: IdP {idp_id} has no client {idp_id}.0000000000000000 (not_found)"


def test_the_maintenance_commands_work_on_the_local_table(scim_admin) -> None:
    ran = scim_admin("--json", "migrate-guards")
    assert ran.code == 0, ran.err
    assert ran.json()["conflicts"] == [] and ran.json()["examined"] >= 0
    ran = scim_admin("redrive-cleanup", "--timeout", "20", "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"batches": 0, "records": 0, "memberships_deleted": 0, "swept": False, "left": 0}
    ran = scim_admin("--json", "upgrade")
    assert ran.code == 0, ran.err
    assert ran.json()["adopted"] == [] and ran.json()["guards"]["conflicts"] == []  # everything is current here
    ran = scim_admin("redrive-events", "--timeout", "20", "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"published": 0, "batches": 0, "records": 0, "expired": 0, "left": 0}


# --- events ----------------------------------------------------------------------------------------------------------


def test_events_show_a_change_seconds_after_it(scim_admin) -> None:
    """The local server runs the events consumer on its stream: a SCIM change is in the IdP's feed within seconds
    (the feed shows an event once it is 5 s old)."""
    idp = new_idp(scim_admin, "Watched")
    key = new_key(scim_admin, idp["idp_id"])
    status, body = http("POST", f"{idp['tenant_url']}/Users", key["token"], {"userName": "eve.events@contoso.com"})[:2]
    assert status == 201
    deadline, found = time.monotonic() + 30, []
    while time.monotonic() < deadline:
        ran = scim_admin("--json", "events", "--idp", idp["idp_id"])
        assert ran.code == 0, ran.err
        found = ran.json()["events"]
        if any(e["type"] == "user.created" for e in found):
            break
        time.sleep(0.5)
    assert [e["type"] for e in found] == ["idp.created", "key.created", "user.created"]
    assert found[-1]["resource"]["userName"] == "eve.events@contoso.com"
    after = ran.json()["next"]
    ran = scim_admin("events", "--idp", idp["idp_id"])
    assert ran.code == 0 and "user.created  User" in ran.out and "eve.events@contoso.com" in ran.out, ran.out
    assert f"--after {after}" in ran.err
    # From the cursor: nothing new, and the same cursor back; --follow stops at its --timeout.
    ran = scim_admin("--json", "events", "--idp", idp["idp_id"], "--after", after)
    assert ran.json() == {"events": [], "next": after}
    ran = scim_admin("--json", "events", "--idp", idp["idp_id"], "--after", after, "--follow", "--timeout", "1")
    assert ran.code == 0 and ran.out == "", ran.out
    ran = scim_admin("events", "--idp", idp["idp_id"], "--after", "not-a-cursor")
    assert ran.code == 1 and "invalid_cursor" in ran.error


# --- allow-lists -----------------------------------------------------------------------------------------------------


def test_an_idps_allowed_networks_are_set_and_cleared(scim_admin, tmp_path: Path) -> None:
    idp = new_idp(scim_admin)
    idp_id, url = idp["idp_id"], idp["tenant_url"]
    token = new_key(scim_admin, idp_id, "users:read")["token"]

    ran = scim_admin("--json", "allow-networks", "--idp", idp_id, "--network", "20.190.128.0/18",
                     "--network", "40.126.0.5")
    assert ran.code == 0, ran.err
    assert ran.json() == {"idp_id": idp_id, "allowed_networks": ["20.190.128.0/18", "40.126.0.5/32"]}
    assert scim_get(url, token) == 403  # the local server's requests come from 127.0.0.1: not allowed, at once

    ranges = tmp_path / "ranges.txt"
    ranges.write_text("# AzureActiveDirectory\n20.190.128.0/18\n\n127.0.0.0/8\n2603:1006:2000::/48\n")
    ran = scim_admin("allow-networks", "--idp", idp_id, "--networks-file", str(ranges), "--json")
    assert ran.json()["allowed_networks"] == ["20.190.128.0/18", "127.0.0.0/8", "2603:1006:2000::/48"]
    assert scim_get(url, token) == 200
    human = scim_admin("allow-networks", "--idp", idp_id, "--network", "127.0.0.1")
    assert human.code == 0 and human.out.startswith(f"IdP {idp_id} accepts requests from 127.0.0.1/32")

    bad = scim_admin("allow-networks", "--idp", idp_id, "--network", "300.1.2.3/8")
    assert bad.code == 1 and bad.out == ""
    assert "not a network (CIDR) or an address: '300.1.2.3/8'" in bad.error and "(invalid_request)" in bad.error
    # A file that names no network (a failed download) keeps the allow-list as it was: only --any turns it off.
    for empty in ("", "# AzureActiveDirectory\n\n"):
        ranges.write_text(empty)
        refused = scim_admin("allow-networks", "--idp", idp_id, "--networks-file", str(ranges))
        assert refused.code == 1 and refused.out == ""
        assert "names no network" in refused.error and "--any" in refused.error
    absent = scim_admin("allow-networks", "--idp", idp_id, "--networks-file", str(tmp_path / "absent.txt"))
    assert "cannot read" in absent.error and "No such file" in absent.error
    both = scim_admin("allow-networks", "--idp", idp_id, "--any", "--network", "10.0.0.0/8")
    assert both.code == 2 and "not allowed with" in both.error
    assert scim_admin("--json", "show-idp", "--idp", idp_id).json()["allowed_networks"] == ["127.0.0.1/32"]

    ran = scim_admin("allow-networks", "--idp", idp_id, "--any")
    assert ran.code == 0 and "any address" in ran.out
    listed = {i["idp_id"]: i for i in scim_admin("--json", "list-idps").json()}
    assert listed[idp_id]["allowed_networks"] == []


# --- schema extensions ------------------------------------------------------------------------------------------------

ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"


def test_an_extension_is_set_listed_used_by_entra_and_deleted(scim_admin, tmp_path: Path) -> None:
    """The whole path an administrator takes: declare the attribute, map it in Entra (which then sends it under the
    extension's URN, and PATCHes it by its URN-qualified path), change the mapping, and remove the attribute."""
    idp = new_idp(scim_admin)
    idp_id, url = idp["idp_id"], idp["tenant_url"]
    token = new_key(scim_admin, idp_id, "users:write")["token"]
    declared = tmp_path / "acme.json"
    declared.write_text(json.dumps({"resourceType": "User", "schema": {"id": ACME, "name": "AcmeUser", "attributes": [
        {"name": "costCenter", "type": "string"}, {"name": "badgeNumber", "type": "integer"}]}}))

    ran = scim_admin("set-extension", "--idp", idp_id, "--file", str(declared))
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f"IdP {idp_id} declares {ACME}  User: costCenter, badgeNumber")
    listed = scim_admin("--json", "list-extensions", "--idp", idp_id).json()
    assert [e["schema"]["id"] for e in listed] == [ACME]
    assert ACME in [s["id"] for s in http("GET", f"{url}/Schemas", token)[2]["Resources"]]

    status, _, created = http("POST", f"{url}/Users", token, {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME], "userName": "ada@contoso.com",
        "externalId": "ada", "active": True, ACME: {"costCenter": "4711"}})
    assert status == 201 and created[ACME] == {"costCenter": "4711"}
    status, _, patched = http("PATCH", f"{url}/Users/{created['id']}", token, {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": f"{ACME}:costCenter", "value": "0815"},
                       {"op": "Add", "path": f"{ACME}:badgeNumber", "value": 12}]})
    assert status == 200 and patched[ACME] == {"costCenter": "0815", "badgeNumber": 12}
    status, _, found = http("GET", f"{url}/Users?filter={quote(ACME + ':costCenter eq \"0815\"')}", token)
    assert status == 200 and [r["id"] for r in found["Resources"]] == [created["id"]]

    # Removing a used attribute needs --force; then its values are not served, and the file was the only change.
    declared.write_text(json.dumps({"resourceType": "User", "schema": {"id": ACME, "name": "AcmeUser", "attributes": [
        {"name": "badgeNumber", "type": "integer"}]}}))
    refused = scim_admin("set-extension", "--idp", idp_id, "--file", str(declared))
    assert refused.code == 1 and "(extension_in_use)" in refused.error and "0815" not in refused.error
    assert scim_admin("set-extension", "--idp", idp_id, "--file", str(declared), "--force").code == 0
    assert http("GET", f"{url}/Users/{created['id']}", token)[2][ACME] == {"badgeNumber": 12}

    assert scim_admin("delete-extension", "--idp", idp_id, "--schema", ACME).code == 1
    ran = scim_admin("--json", "delete-extension", "--idp", idp_id, "--schema", ACME, "--force")
    assert ran.code == 0 and ran.json() == {"idp_id": idp_id, "schema": ACME, "deleted": True}
    assert scim_admin("list-extensions", "--idp", idp_id).out.strip() == "no extensions"
    assert ACME not in http("GET", f"{url}/Users/{created['id']}", token)[2]

    declared.write_text("{not json")
    assert "is not JSON" in scim_admin("set-extension", "--idp", idp_id, "--file", str(declared)).error
    declared.write_text(json.dumps({"resourceType": "User", "schema": {"id": "nope", "name": "x",
                                                                        "attributes": [{"name": "a"}]}}))
    bad = scim_admin("set-extension", "--idp", idp_id, "--file", str(declared))
    assert bad.code == 1 and "schema.id: not a URN" in bad.error


# --- deleting --------------------------------------------------------------------------------------------------------


def test_deleting_an_idp_stops_its_keys_at_once_and_waits_for_the_erasure(scim_admin) -> None:
    idp = new_idp(scim_admin, "Leaving")
    idp_id = idp["idp_id"]
    token = new_key(scim_admin, idp_id)["token"]
    assert http("POST", f"{idp['tenant_url']}/Users", token, {"userName": "leaving@contoso.com"})[0] == 201

    # The local server waits a second (ERASURE_GRACE_SECONDS) before it erases: a wait of no time gives up.
    ran = scim_admin("delete-idp", "--idp", idp_id, "--wait", "--timeout", "0")
    assert ran.code == 1 and ran.out == ""
    assert ran.error.startswith(f"scim-admin: IdP {idp_id} is still being erased after 0 s")
    assert f"show-idp --idp {idp_id}" in ran.error
    assert f"IdP {idp_id} is being deleted; waiting" in ran.err  # the progress, before the error
    assert scim_get(idp["tenant_url"], token) == 401  # its keys stopped at once

    ran = scim_admin("delete-idp", "--idp", idp_id, "--wait", "--timeout", "30")  # deleting again: still 202
    assert ran.code == 0, ran.err
    assert ran.out == f"IdP {idp_id} is deleted, and its data erased.\n"
    assert f"erasing IdP {idp_id}:" in ran.err
    gone = scim_admin("show-idp", "--idp", idp_id)
    assert gone.code == 1 and gone.error == f"scim-admin: no IdP {idp_id} (not_found)"
    assert idp_id not in scim_admin("list-idps").out

    other = new_idp(scim_admin, "Leaving too")
    ran = scim_admin("--json", "delete-idp", "--idp", other["idp_id"])
    assert ran.code == 0 and ran.json()["state"] == "deleting" and "erasure" in ran.json()
    busy = scim_admin("create-key", "--idp", other["idp_id"], "--name", "x", "--privilege", "users:read")
    # Being deleted (409), or already erased (404) on a slow machine: either way refused, in one line.
    assert busy.code == 1 and ("is being deleted (idp_deleting)" in busy.error or "(not_found)" in busy.error)
    ran = scim_admin("--json", "delete-idp", "--idp", other["idp_id"], "--wait")
    assert ran.code == 0 and ran.json() == {"idp_id": other["idp_id"], "state": "erased"}

    assert scim_admin("delete-idp", "--idp", "no-such-idp").error == "scim-admin: no IdP no-such-idp (not_found)"


# --- activity --------------------------------------------------------------------------------------------------------


def test_activity_shows_the_scim_changes_and_the_management_actions(scim_admin) -> None:
    idp = new_idp(scim_admin, "Busy")
    key = new_key(scim_admin, idp["idp_id"])
    url, token = idp["tenant_url"], key["token"]
    assert http("POST", f"{url}/Users", token, {"userName": "alice.activity@contoso.com"})[0] == 201
    # The local server's stream poller runs the cleanup function on each INSERT, in a thread of the same process,
    # and its Lambda context replaces the log keys of a request running at that moment (the report of this change:
    # a local server issue): the records checked below come from requests that write nothing, made once the
    # stream has been handled.
    time.sleep(STREAM_SETTLE_SECONDS)
    assert http("POST", f"{url}/Users", token, {"userName": "ALICE.activity@contoso.com"})[0] == 409
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    assert http("PATCH", f"{url}/Users/{uuid.uuid4()}", token, patch)[0] == 404
    assert scim_get(url, token) == 200  # a read: not activity
    assert scim_admin("show-idp", "--idp", idp["idp_id"]).code == 0
    assert scim_admin("list-keys", "--idp", idp["idp_id"]).code == 0

    ran = scim_admin("--json", "activity", "--idp", idp["idp_id"])
    assert ran.code == 0, ran.err
    assert f"reading the activity of IdP {idp['idp_id']}" in ran.err
    records = ran.json()
    newest = [(r["kind"], r.get("action") or r.get("operation"), r["status"]) for r in records[:4]]
    assert newest == [("management", "key.list", 200), ("management", "idp.read", 200),
                      ("scim", "PATCH /Users/{id}", 404), ("scim", "POST /Users", 409)]
    assert records[0]["principal"] == records[1]["principal"] == LOCAL_PRINCIPAL
    assert records[2]["key_id"] == records[3]["key_id"] == key["id"] and records[3]["scim_type"] == "uniqueness"
    assert all(r["timestamp"].endswith("Z") for r in records)
    assert "alice" not in ran.out and token not in ran.out  # names of attributes, never values; never a token

    human = scim_admin("activity", "--idp", idp["idp_id"], "--hours", "1")
    lines = human.out.splitlines()
    assert lines[0].endswith(f"by {LOCAL_PRINCIPAL}  activity.read  200")  # the previous call of this command
    assert lines[1].endswith(f"by {LOCAL_PRINCIPAL}  key.list  200")
    assert f"key {key['id']}  PATCH /Users/{{id}}" in lines[3] and lines[3].endswith("404")
    assert f"key {key['id']}  POST /Users" in lines[4] and lines[4].endswith("409 uniqueness")
    assert len(scim_admin("--json", "activity", "--idp", idp["idp_id"], "--limit", "1").json()) == 1

    wrong = scim_admin("activity", "--idp", idp["idp_id"], "--hours", "0")
    assert wrong.code == 1 and "hours" in wrong.error and "(invalid_request)" in wrong.error
    assert scim_admin("activity", "--idp", "no-such-idp").error == "scim-admin: no IdP no-such-idp (not_found)"


# --- export ----------------------------------------------------------------------------------------------------------


def _users(tenant_url: str, token: str, count: int) -> list[str]:
    """`count` users, created over SCIM (a few connections kept alive)."""
    parts = tenant_url.split("/", 3)
    host, port = parts[2].split(":")
    local = threading.local()

    def create(number: int) -> str:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = HTTPConnection(host, int(port), timeout=30)
        connection.request("POST", f"/{parts[3]}/Users", body=json.dumps({"userName": f"user{number}@contoso.com"}),
                           headers={"Content-Type": "application/scim+json", "Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 201, body
        return json.loads(body)["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, range(count)))


def _lines(text: str) -> list[dict]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_export_of_a_large_group_inline_and_in_the_background(scim_admin, tmp_path: Path, monkeypatch,
                                                             capsys) -> None:
    idp = new_idp(scim_admin, "Exported")
    idp_id, token = idp["idp_id"], new_key(scim_admin, idp["idp_id"], "users:write", "groups:write")["token"]
    users = _users(idp["tenant_url"], token, EXPORT_MEMBERS)
    status, _, group = http("POST", f"{idp['tenant_url']}/Groups", token,
                            {"displayName": "Everyone", "members": [{"value": user} for user in users]})
    assert status == 201, group

    # Inline: it fits one response.
    inline = tmp_path / "inline.jsonl"
    ran = scim_admin("export", "--idp", idp_id, "--output", str(inline))
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f"Exported IdP {idp_id}: {EXPORT_MEMBERS} user(s), 1 group(s), "
                              f"{EXPORT_MEMBERS} membership(s); {2 * EXPORT_MEMBERS + 1} line(s)")
    assert "background" not in ran.err
    assert stat.S_IMODE(inline.stat().st_mode) == 0o600  # people's data: its owner's only
    lines = _lines(inline.read_text(encoding="utf-8"))
    assert [line["kind"] for line in lines] == (["User"] * EXPORT_MEMBERS + ["Group"]
                                                + ["Membership"] * EXPORT_MEMBERS)
    assert {line["resource"]["id"] for line in lines[:EXPORT_MEMBERS]} == set(users)
    assert lines[EXPORT_MEMBERS]["resource"]["id"] == group["id"]
    assert lines[EXPORT_MEMBERS]["resource"]["displayName"] == "Everyone"
    assert "members" not in lines[EXPORT_MEMBERS]["resource"]
    memberships = lines[EXPORT_MEMBERS + 1:]
    assert {line["group"] for line in memberships} == {group["id"]}
    assert sorted(line["member"]["value"] for line in memberships) == sorted(users)

    # In the background (S3, a pre-signed URL), asked for: the same lines.
    background = tmp_path / "background.jsonl"
    ran = scim_admin("export", "--idp", idp_id, "--output", str(background), "--background", "--json")
    assert ran.code == 0, ran.err
    summary = ran.json()
    assert summary["export_id"] and summary["output"] == str(background)
    assert summary["counts"] == {"users": EXPORT_MEMBERS, "groups": 1, "memberships": EXPORT_MEMBERS}
    assert summary["bytes"] == inline.stat().st_size and summary["lines"] == 2 * EXPORT_MEMBERS + 1
    assert f"export {summary['export_id']} started" in ran.err and "is ready" in ran.err
    assert "X-Amz-Signature" not in ran.err + ran.out  # the pre-signed URL is never shown
    assert background.read_bytes() == inline.read_bytes()

    # In the background because the inline export answered export_too_large (what a tenant over 4 MiB gets), to
    # stdout: the API answers as it would, but for the inline export.
    request = admin.Api.request

    def too_large(self, method, path, *args, **kwargs):
        if method == "GET" and path.endswith("/export"):
            raise admin.ApiError(400, "export_too_large", "The export is larger than one response.")
        return request(self, method, path, *args, **kwargs)

    monkeypatch.setattr(admin.Api, "request", too_large)
    ran = scim_admin("export", "--idp", idp_id)
    assert ran.code == 0, ran.err
    assert ran.out == inline.read_text(encoding="utf-8")
    assert "larger than one response: exporting in the background" in ran.err
    assert ran.err.splitlines()[-1].startswith(f"scim-admin: exported IdP {idp_id}: {EXPORT_MEMBERS} user(s)")


def test_export_of_a_small_idp_to_stdout_and_its_mistakes(scim_admin, tmp_path: Path) -> None:
    idp = new_idp(scim_admin, "Small")
    token = new_key(scim_admin, idp["idp_id"])["token"]
    assert http("POST", f"{idp['tenant_url']}/Users", token, {"userName": "zoe@contoso.com"})[0] == 201
    ran = scim_admin("export", "--idp", idp["idp_id"])
    assert ran.code == 0, ran.err
    (line,) = _lines(ran.out)
    assert line["kind"] == "User" and line["resource"]["userName"] == "zoe@contoso.com"

    needs_file = scim_admin("--json", "export", "--idp", idp["idp_id"])
    assert needs_file.code == 2 and needs_file.out == "" and "--output" in needs_file.error
    unknown = scim_admin("export", "--idp", "no-such-idp", "--output", str(tmp_path / "x.jsonl"))
    assert unknown.error == "scim-admin: no IdP no-such-idp (not_found)"
    assert not list(tmp_path.iterdir())  # no file, not even half of one
    late = scim_admin("export", "--idp", idp["idp_id"], "--background", "--export-id", str(uuid.uuid4()))
    assert "has no export" in late.error and "(not_found)" in late.error


# --- where it acts, and what goes wrong there -------------------------------------------------------------------------


def test_local_without_a_port_and_json_after_the_command(server: Server, scim_admin, monkeypatch) -> None:
    monkeypatch.setattr(admin, "DEFAULT_LOCAL_PORT", server.port)  # what `--local` alone means: 3000, here this port
    ran = scim_admin("--local", "create-idp", "--name", "Default port", "--json", target=None)
    assert ran.code == 0, ran.err
    assert ran.json()["tenant_url"].startswith(f"{server.url}/v1/scim/")
    ran = scim_admin("--local", "--json", "list-idps", target=None)
    assert ran.code == 0 and server.tenant["idp_id"] in {idp["idp_id"] for idp in ran.json()}
    ran = scim_admin("list-idps", "--json")
    assert ran.code == 0 and isinstance(ran.json(), list)


def test_a_port_with_no_server(scim_admin, tmp_path: Path, monkeypatch) -> None:
    port = free_port()
    ran = scim_admin("list-idps", target=("--local", str(port)))
    assert ran.error == f"scim-admin: no local server is running on port {port}: start it with `make run PORT={port}`"

    # A state file left behind by a server that was killed: its process is gone...
    states = tmp_path / "states"
    states.mkdir()
    monkeypatch.setattr(local_server, "state_file", lambda port: states / f".local-server-{port}.json")
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    state = {"pid": finished.pid, "management_api_url": f"http://127.0.0.1:{port}", "region": "us-east-1",
             "admin_access_key_id": LOCAL_ADMIN_KEY, "admin_secret_access_key": LOCAL_ADMIN_SECRET}
    (states / f".local-server-{port}.json").write_text(json.dumps(state))
    ran = scim_admin("list-idps", target=("--local", str(port)))
    assert "no local server is running on port" in ran.error and "left by a server that stopped" in ran.error
    # ...or its process lives on (another program took its pid) but nothing listens on the port.
    (states / f".local-server-{port}.json").write_text(json.dumps({**state, "pid": os.getpid()}))
    ran = scim_admin("list-idps", target=("--local", str(port)))
    assert ran.error == (f"scim-admin: no local server answers on port {port} (connection refused): start it with "
                         "`make run`")


def test_unknown_idps_and_bad_arguments(scim_admin) -> None:
    for command in (["show-idp"], ["list-keys"], ["update-idp", "--name", "x"], ["activity"],
                    ["allow-networks", "--any"], ["create-key", "--name", "x", "--privilege", "users:read"],
                    ["revoke-key", "--key", "0000000000000000"]):
        ran = scim_admin(*command, "--idp", "no-such-idp")
        assert ran.code == 1 and ran.out == ""
        assert ran.error == "scim-admin: no IdP no-such-idp (not_found)", command
    for args, message in ((["show-idp", "--idp", "no/slashes"], "not an IdP ID: 'no/slashes'"),
                          (["create-idp", "--name", "x", "--id", "é"], "not an IdP ID"),
                          (["create-idp"], "the following arguments are required: --name"),
                          ([], "the following arguments are required: COMMAND"),
                          (["nope"], "invalid choice: 'nope'"),
                          (["delete-idp", "--idp", "x", "--wait", "--timeout", "soon"], "not a number"),
                          (["list-idps", "--verbose"], "unrecognized arguments: --verbose")):
        ran = scim_admin(*args)
        assert ran.code == 2 and ran.out == "" and message in ran.error, (args, ran.err)
        assert len(ran.err.splitlines()) == 1


def test_the_management_api_from_the_environment(server: Server, scim_admin, clean_env) -> None:
    """SCIM_MANAGEMENT_API_URL and the operator's AWS credentials (here: the local server's IAM identity)."""
    clean_env.setenv("SCIM_MANAGEMENT_API_URL", server.url)
    clean_env.setenv("AWS_ACCESS_KEY_ID", LOCAL_ADMIN_KEY)
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", LOCAL_ADMIN_SECRET)
    clean_env.setenv("AWS_REGION", "us-east-1")
    ran = scim_admin("--json", "list-idps", target=None)
    assert ran.code == 0, ran.err
    assert server.tenant["idp_id"] in {idp["idp_id"] for idp in ran.json()}

    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    ran = scim_admin("list-idps", target=None)
    assert ran.code == 1 and "(invalid_signature)" in ran.error and "not-the-secret" not in ran.err
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIANOTTHELOCALADMIN")
    assert "(invalid_signature)" in scim_admin("list-idps", target=None).error
    clean_env.delenv("AWS_REGION")
    assert "no AWS region" in scim_admin("list-idps", target=None).error
    clean_env.setenv("AWS_REGION", "us-east-1")
    clean_env.delenv("AWS_ACCESS_KEY_ID")
    clean_env.delenv("AWS_SECRET_ACCESS_KEY")
    assert "no AWS credentials" in scim_admin("list-idps", target=None).error


def test_a_stack_is_called_at_its_management_api_url(server: Server, scim_admin, monkeypatch) -> None:
    """--stack: the API's URL from the stack's ManagementApiUrl output (CloudFormation stubbed; the local server
    plays the stack's API, the operator's credentials are its IAM identity)."""
    import boto3
    from botocore.stub import Stubber

    session = boto3.session.Session(aws_access_key_id=LOCAL_ADMIN_KEY, aws_secret_access_key=LOCAL_ADMIN_SECRET,
                                    region_name="us-east-1")
    cloudformation = session.client("cloudformation")
    outputs = [{"OutputKey": "ManagementApiUrl", "OutputValue": server.url},
               {"OutputKey": "ApiBaseUrl", "OutputValue": server.url},
               {"OutputKey": "TableName", "OutputValue": "scim-local"}]
    stack = {"StackName": "scim-dev", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
             "Outputs": outputs}
    monkeypatch.setattr(session, "client", lambda service, **kwargs: cloudformation)
    monkeypatch.setattr(admin, "_session", lambda region: session)
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "scim-dev"})
        ran = scim_admin("--json", "create-idp", "--name", "From the stack", target=("--stack", "scim-dev"))
        stubber.assert_no_pending_responses()
    assert ran.code == 0, ran.err
    assert ran.json()["tenant_url"].startswith(f"{server.url}/v1/scim/")


def test_as_a_command_no_traceback_and_the_exit_status(server: Server, tmp_path: Path) -> None:
    def scim_admin(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "devtools.admin", *args], capture_output=True, text=True,
                              timeout=60, env=server_env(), cwd=tmp_path)  # from anywhere, not only the checkout

    ran = scim_admin("--local", str(server.port), "list-idps", "--json")
    assert ran.returncode == 0, ran.stderr
    assert server.tenant["idp_id"] in {idp["idp_id"] for idp in json.loads(ran.stdout)}
    ran = scim_admin("--local", str(server.port), "show-idp", "--idp", "no-such-idp")
    assert (ran.returncode, ran.stdout, ran.stderr) == (1, "", "scim-admin: no IdP no-such-idp (not_found)\n")
    ran = scim_admin("--local", str(server.port), "create-idp")
    assert ran.returncode == 2 and ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
