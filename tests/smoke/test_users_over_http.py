"""Users over real HTTP against the local server in a subprocess: twenty simultaneous creates of one userName in
different cases, and Entra's whole user lifecycle (docs/entra.md §2.1, §2.3–2.7)."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest

from devtools.local.server import state_file
from tests.entra_requests import DISABLE_WITHOUT_FLAG
from tests.smoke.test_local_server import (
    ERROR_SCHEMA, LIST_RESPONSE, STOP_TIMEOUT_SECONDS, content_type, free_port, read_state, start_server, wait_for,
)
from tests.support import at_once

pytestmark = pytest.mark.slow

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Server(NamedTuple):
    tenant_url: str
    token: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One local server for the module; stopped with SIGTERM, which must end it cleanly (exit code 0)."""
    tmp_path: Path = tmp_path_factory.mktemp("users-over-http")
    port = free_port()
    process, credentials_file, output = start_server(tmp_path, port, tenants=1)
    try:
        wait_for(credentials_file, process, output)
        (tenant,) = json.loads(credentials_file.read_text(encoding="utf-8"))
        yield Server(tenant["tenant_url"], tenant["token"])
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server did not stop within {STOP_TIMEOUT_SECONDS} s of SIGTERM")
        log = output.read_text()
        assert code == 0, log
        assert "Traceback" not in log, log
        assert not state_file(port).exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if read_state(port)[1] == process.pid:
            state_file(port).unlink(missing_ok=True)


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    body: Any


def http(method: str, url: str, token: str, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Accept": "application/scim+json", **(headers or {})})
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, response_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, error.headers, error.read()
    lowered = {name.lower(): value for name, value in response_headers.items()}
    return Response(status, lowered, json.loads(raw) if raw else None)


def scim_error(response: Response, status: int, scim_type: str | None = None) -> None:
    assert response.status == status, response.body
    assert content_type(response.headers) == "application/scim+json"
    assert response.body["schemas"] == [ERROR_SCHEMA] and response.body["status"] == str(status)
    if scim_type is not None:
        assert response.body["scimType"] == scim_type


def listed(response: Response) -> list[dict]:
    assert response.status == 200, response.body
    assert content_type(response.headers) == "application/scim+json"
    assert response.body["schemas"] == [LIST_RESPONSE]
    assert response.body["totalResults"] == len(response.body["Resources"])
    return response.body["Resources"]


def casings(text: str, count: int) -> list[str]:
    """`count` different spellings of `text` in upper and lower case (the first three are the usual ones)."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    spellings = [text.title(), text.lower(), text.upper()]
    mask = 1
    while len(spellings) < count:
        chars = list(text.lower())
        for bit, index in enumerate(letters):
            if mask >> bit & 1:
                chars[index] = chars[index].upper()
        spelling = "".join(chars)
        if spelling not in spellings:
            spellings.append(spelling)
        mask += 1
    return spellings


def open_connection(server: Server) -> HTTPConnection:
    """A kept-alive connection that the server has accepted (it answered a first request on it), so that the requests
    sent on it later arrive together without queueing in the listen backlog."""
    parts = urlsplit(server.tenant_url)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", f"{parts.path}/Users?count=0", headers={"Authorization": f"Bearer {server.token}"})
    warm = connection.getresponse()
    warm.read()
    assert warm.status == 200 and not warm.will_close
    return connection


def send(connection: HTTPConnection, method: str, path: str, token: str, body: Any) -> Response:
    connection.request(method, path, body=json.dumps(body).encode(),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    response = connection.getresponse()
    raw = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return Response(response.status, headers, json.loads(raw) if raw else None)


def test_twenty_simultaneous_creates_of_one_user_name(server: Server) -> None:
    local, domain = f"alice.{uuid.uuid4().hex[:8]}", "contoso.com"
    names = casings(f"{local}@{domain}", 20)
    assert len(set(names)) == 20 and len({n.casefold() for n in names}) == 1
    connections = [open_connection(server) for _ in names]
    path = f"{urlsplit(server.tenant_url).path}/Users"
    bodies = [{"schemas": [USER_SCHEMA], "userName": name, "externalId": f"ext-{index}", "active": True}
              for index, name in enumerate(names)]

    def create(index: int) -> Response:
        return send(connections[index], "POST", path, server.token, bodies[index])

    results: list[Response | Exception | None] = at_once(len(names), create)
    for connection in connections:
        connection.close()

    statuses = sorted((r.status if isinstance(r, Response) else repr(r) for r in results), key=str)
    assert statuses == [201] + [409] * 19, statuses
    (winner,) = [r for r in results if r.status == 201]
    for loser in (r for r in results if r.status == 409):
        scim_error(loser, 409, "uniqueness")
        assert loser.body["detail"]
    assert winner.headers["location"] == winner.body["meta"]["location"]
    # Each answer is to its own request: the winner is what its thread sent.
    index = results.index(winner)
    assert winner.body["userName"] == names[index] and winner.body["externalId"] == f"ext-{index}"

    filter_query = f"filter=userName+eq+%22{local.upper()}%40{domain}%22"
    assert listed(http("GET", f"{server.tenant_url}/Users?{filter_query}", server.token)) == [winner.body]
    everyone = listed(http("GET", f"{server.tenant_url}/Users?filter=userName+sw+%22{local}%22", server.token))
    assert [u["id"] for u in everyone] == [winner.body["id"]]
    # Only the winner's externalId has a guard: the losers' are free.
    for other in range(len(names)):
        found = listed(http("GET", f"{server.tenant_url}/Users?filter=externalId+eq+%22ext-{other}%22",
                            server.token))
        assert [u["id"] for u in found] == ([winner.body["id"]] if other == index else [])


def test_entra_user_lifecycle(server: Server) -> None:
    url, token = server.tenant_url, server.token
    user_name = f"Lifecycle_{uuid.uuid4()}@contoso.com"
    encoded = user_name.replace("@", "%40")

    # Test Connection: a random GUID, `+` for spaces.
    assert listed(http("GET", f"{url}/Users?filter=userName+eq+%22{uuid.uuid4()}%22", token)) == []
    # The matching lookup finds nothing; the user is created.
    assert listed(http("GET", f"{url}/Users?filter=userName+eq+%22{encoded}%22", token)) == []
    sent = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "roles": [],
    }
    created = http("POST", f"{url}/Users", token, sent)
    assert created.status == 201, created.body
    assert content_type(created.headers) == "application/scim+json"
    user = created.body
    user_id = user["id"]
    assert created.headers["location"] == user["meta"]["location"] == f"{url}/Users/{user_id}"
    assert created.headers["etag"] == user["meta"]["version"] == 'W/"1"'
    assert {k: v for k, v in user.items() if k not in ("id", "meta")} == {
        k: v for k, v in sent.items() if k not in ("meta", "roles", "schemas")} | {"schemas": [USER_SCHEMA]}

    # The lookup now finds it: `+` encoded, in another case, and with `%20`.
    assert listed(http("GET", f"{url}/Users?filter=userName+eq+%22{encoded.lower()}%22", token)) == [user]
    assert listed(http("GET", f"{url}/Users?filter=userName%20eq%20%22{encoded}%22", token)) == [user]
    got = http("GET", f"{url}/Users/{user_id}", token)
    assert got.status == 200 and got.body == user

    # PATCH, default dialect.
    patched = http("PATCH", f"{url}/Users/{user_id}", token, {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "King"},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "1815"},
        ],
    })
    assert patched.status == 200, patched.body
    assert patched.body["emails"] == [{"primary": True, "type": "work", "value": "updated@contoso.com"}]
    assert patched.body["name"]["familyName"] == "King"
    assert patched.body[ENTERPRISE] == {"employeeNumber": "1815"}
    assert patched.body["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert patched.headers["etag"] == 'W/"2"'
    # PATCH, aadOptscim062020 dialect.
    patched = http("PATCH", f"{url}/Users/{user_id}", token, {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {
            "displayName": "Ada King", "name.givenName": "Augusta", f"{ENTERPRISE}:department": "Analytics"}}],
    })
    assert patched.status == 200, patched.body
    assert patched.body["displayName"] == "Ada King" and patched.body["name"]["givenName"] == "Augusta"
    assert patched.body[ENTERPRISE] == {"employeeNumber": "1815", "department": "Analytics"}
    assert patched.headers["etag"] == 'W/"3"'
    assert http("GET", f"{url}/Users/{user_id}", token).body == patched.body

    # Disable, "False" as Entra sends it: still readable by id and by the filter.
    disabled = http("PATCH", f"{url}/Users/{user_id}", token, DISABLE_WITHOUT_FLAG)
    assert disabled.status == 200 and disabled.body["active"] is False
    assert http("GET", f"{url}/Users/{user_id}", token).body["active"] is False
    (found,) = listed(http("GET", f"{url}/Users?filter=userName+eq+%22{encoded}%22", token))
    assert found["active"] is False and found == disabled.body
    # Re-enable.
    enabled = http("PATCH", f"{url}/Users/{user_id}", token, {
        "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": "True"}]})
    assert enabled.status == 200 and enabled.body["active"] is True
    assert enabled.headers["etag"] == 'W/"5"'

    # A stale If-Match is refused; DELETE with the current one succeeds.
    scim_error(http("DELETE", f"{url}/Users/{user_id}", token, headers={"If-Match": 'W/"4"'}), 412)
    deleted = http("DELETE", f"{url}/Users/{user_id}", token, headers={"If-Match": 'W/"5"'})
    assert deleted.status == 204 and deleted.body is None
    scim_error(http("GET", f"{url}/Users/{user_id}", token), 404)
    scim_error(http("DELETE", f"{url}/Users/{user_id}", token), 404)
    assert listed(http("GET", f"{url}/Users?filter=userName+eq+%22{encoded}%22", token)) == []
    # Re-evaluation after a delete in the target (docs/entra.md §2.4): GET 404, filter finds nothing, create again.
    again = http("POST", f"{url}/Users", token, sent)
    assert again.status == 201 and again.body["id"] != user_id
