"""The embedded local server as a developer runs it: a subprocess, real HTTP on 127.0.0.1, stopped by a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from devtools.load import server_env
from devtools.local import template
from devtools.local.events import match_route
from devtools.local.server import MAX_BODY_BYTES, log_path, state_file

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_state(port: int) -> tuple[str | None, int | None]:
    """The port's state file's text and the pid it names, or (None, None)."""
    try:
        text = state_file(port).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    try:
        return text, int(json.loads(text)["pid"])
    except (ValueError, KeyError, TypeError):
        return text, None  # caught half-way through another server's write


def http(
    method: str, url: str, token: str | None = None, body: dict | None = None
) -> tuple[int, dict[str, str], dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/scim+json"})
    if data is not None:
        request.add_header("Content-Type", "application/scim+json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, data = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, data = error.code, error.headers, error.read()
    lowered = {name.lower(): value for name, value in headers.items()}
    return status, lowered, json.loads(data) if data else None


def content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip()


def assert_empty_list(result: tuple[int, dict[str, str], dict | None]) -> None:
    status, headers, body = result
    assert status == 200, body
    assert content_type(headers) == "application/scim+json"
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 0
    assert body["Resources"] == []


def assert_scim_error(result: tuple[int, dict[str, str], dict | None], status: int) -> None:
    got, headers, body = result
    assert got == status, body
    assert content_type(headers) == "application/scim+json"
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)


def start_server(tmp_path: Path, port: int, tenants: int) -> tuple[subprocess.Popen, Path, Path]:
    """The local server as a subprocess; returns it, its credentials file and its output file."""
    credentials_file = tmp_path / "creds.json"
    output = tmp_path / "server.log"
    with open(output, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.local.server", "--port", str(port), "--tenants", str(tenants),
             "--credentials-file", str(credentials_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=server_env(),
        )
    return process, credentials_file, output


def wait_for(path: Path, process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not path.exists():
        assert process.poll() is None, f"exited with {process.returncode}:\n{output.read_text()}"
        assert time.monotonic() < deadline, f"not ready after {START_TIMEOUT_SECONDS} s:\n{output.read_text()}"
        time.sleep(0.05)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_local_server(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    process, credentials_file, output = start_server(tmp_path, port, tenants=2)
    try:
        wait_for(credentials_file, process, output)

        # While it runs, the state file names it (written before the credentials).
        state_text, state_pid = read_state(port)
        assert state_pid == process.pid, state_text
        state = json.loads(state_text)
        assert state["api_base_url"] == f"http://127.0.0.1:{port}"

        credentials = json.loads(credentials_file.read_text(encoding="utf-8"))
        assert isinstance(credentials, list) and len(credentials) == 2
        for entry in credentials:
            assert set(entry) == {"idp_id", "tenant_url", "token"}
            assert entry["tenant_url"] == f"http://127.0.0.1:{port}/v1/scim/{entry['idp_id']}"
            assert entry["token"].startswith("scim_")
        first, second = credentials
        assert first["idp_id"] != second["idp_id"] and first["token"] != second["token"]

        for tenant in credentials:
            url, token = tenant["tenant_url"], tenant["token"]
            guid = str(uuid.uuid4())
            # Test Connection, as Entra encodes it (`+`) and as others do (`%20`).
            assert_empty_list(http("GET", f'{url}/Users?filter=userName+eq+%22{guid}%22', token))
            assert_empty_list(http("GET", f"{url}/Users?filter=userName%20eq%20%22{guid}%22", token))
            groups = f"{url}/Groups?excludedAttributes=members&filter="
            assert_empty_list(http("GET", f"{groups}displayName+eq+%22{guid}%22", token))
            assert_empty_list(http("GET", f"{groups}displayName%20eq%20%22{guid}%22", token))
            # Discovery; its locations point back at the Tenant URL the client was given.
            status, headers, body = http("GET", f"{url}/ServiceProviderConfig", token)
            assert status == 200 and content_type(headers) == "application/scim+json"
            assert body["meta"]["location"] == f"{url}/ServiceProviderConfig"

        url, token = first["tenant_url"], first["token"]
        guid = str(uuid.uuid4())
        wrong = token[:-1] + ("x" if token[-1] != "x" else "y")
        assert_scim_error(http("GET", f"{url}/Users?filter=userName+eq+%22{guid}%22", wrong), 401)
        assert_scim_error(http("GET", f"{url}/Users?filter=userName+eq+%22{guid}%22", None), 401)
        assert_scim_error(http("GET", f"{url}/Users?filter=userName+eq+%22{guid}%22", token="garbage"), 401)
        assert_scim_error(http("GET", f"{url}/Nope", token), 404)
        assert_scim_error(http("GET", f"http://127.0.0.1:{port}/elsewhere", token), 404)
        # Tenant 1's token on tenant 2's URL.
        assert_scim_error(http("GET", f"{second['tenant_url']}/Users?filter=userName+eq+%22{guid}%22", token), 401)
        assert_scim_error(http("GET", f"{second['tenant_url']}/Schemas", token), 401)

        process.send_signal(stop_signal)
        try:
            code = process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server did not stop within {STOP_TIMEOUT_SECONDS} s of {stop_signal.name}")
        assert code == 0, output.read_text()

        assert not state_file(port).exists(), "the stopped server left its state file behind"
        log = output.read_text()
        assert "stopped" in log
        assert "Traceback" not in log, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if read_state(port)[1] == process.pid:
            state_file(port).unlink(missing_ok=True)  # killed, it could not clean up after itself


def test_make_run_stops_when_only_make_gets_sigint(tmp_path: Path) -> None:
    """The interface scripts use: `make run PORT=… TENANTS=… CREDENTIALS_FILE=…`, stopped by signalling make alone
    (GNU make does not pass SIGINT on to its recipe)."""
    port = free_port()
    credentials_file = tmp_path / "creds.json"
    output = tmp_path / "make.log"
    with open(output, "wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}", "TENANTS=1",
             f"CREDENTIALS_FILE={credentials_file}"],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=server_env(),
            start_new_session=True,
        )
    try:
        wait_for(credentials_file, make, output)
        (tenant,) = json.loads(credentials_file.read_text(encoding="utf-8"))
        assert tenant["tenant_url"] == f"http://127.0.0.1:{port}/v1/scim/{tenant['idp_id']}"
        assert_empty_list(http("GET", f'{tenant["tenant_url"]}/Users?filter=userName+eq+%22x%22', tenant["token"]))

        make.send_signal(signal.SIGINT)
        try:
            make.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run did not stop within {STOP_TIMEOUT_SECONDS} s of SIGINT:\n{output.read_text()}")
        with pytest.raises(OSError):  # nothing listens on the port any more
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        assert "stopped" in output.read_text()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(timeout=STOP_TIMEOUT_SECONDS)
            state_file(port).unlink(missing_ok=True)  # the server, killed with make, could not remove its own


def test_admin_command_line_manages_the_local_server(tmp_path: Path) -> None:
    port = free_port()
    process, credentials_file, output = start_server(tmp_path, port, tenants=0)

    def admin(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "devtools.admin", "--local", str(port), *args],
            capture_output=True, text=True, timeout=60, env=server_env(),
        )

    try:
        wait_for(credentials_file, process, output)
        assert json.loads(credentials_file.read_text(encoding="utf-8")) == []

        created = admin("--json", "create-idp", "--name", "Contoso")
        assert created.returncode == 0, created.stderr
        idp = json.loads(created.stdout)
        assert idp["tenant_url"] == f"http://127.0.0.1:{port}/v1/scim/{idp['idp_id']}"

        key = admin("--json", "create-key", "--idp", idp["idp_id"], "--name", "Entra", "--description", "sync",
                    "--privilege", "users:write", "--privilege", "groups:write")
        assert key.returncode == 0, key.stderr
        key = json.loads(key.stdout)
        # The new key works at once, over HTTP, on its own IdP's Tenant URL.
        assert_empty_list(http("GET", f'{idp["tenant_url"]}/Users?filter=userName+eq+%22x%22', key["token"]))

        listed = admin("list-keys", "--idp", idp["idp_id"])
        assert listed.returncode == 0 and key["id"] in listed.stdout
        assert key["token"] not in listed.stdout and key["token"].split("_", 2)[2] not in listed.stdout

        revoked = admin("--json", "revoke-key", "--idp", idp["idp_id"], "--key", key["id"])
        assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked"]
        unknown = admin("list-keys", "--idp", "no-such-idp")
        assert unknown.returncode == 1 and "no IdP" in unknown.stderr

        # The cleanup's dead-letter queue exists locally too, and is empty: nothing to replay.
        redriven = admin("--json", "redrive-cleanup", "--timeout", "20")
        assert redriven.returncode == 0, redriven.stderr
        assert json.loads(redriven.stdout) == {"batches": 0, "records": 0, "memberships_deleted": 0,
                                               "swept": False, "left": 0}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    assert process.returncode == 0


def test_provisioning_activity_of_one_tenant_from_the_local_server(tmp_path: Path) -> None:
    port = free_port()
    process, credentials_file, output = start_server(tmp_path, port, tenants=2)
    try:
        wait_for(credentials_file, process, output)
        first, second = json.loads(credentials_file.read_text(encoding="utf-8"))
        url, token = first["tenant_url"], first["token"]
        status, _, user = http("POST", f"{url}/Users", token, {"userName": "alice.activity@contoso.com"})
        assert status == 201
        assert http("POST", f"{url}/Users", token, {"userName": "ALICE.activity@contoso.com"})[0] == 409
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                 "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
        assert http("PATCH", f"{url}/Users/{user['id']}", token, patch)[0] == 200
        assert http("GET", f"{url}/Users/{user['id']}", token)[0] == 200  # a read: not activity
        assert http("POST", f"{second['tenant_url']}/Users", second["token"], {"userName": "bob@fabrikam.com"})[0] == 201

        shown = subprocess.run(
            [sys.executable, "-m", "devtools.admin", "--local", str(port), "--json", "activity",
             "--idp", first["idp_id"]],
            capture_output=True, text=True, timeout=60, env=server_env(),
        )
        assert shown.returncode == 0, shown.stderr
        records = json.loads(shown.stdout)
        assert [(r["operation"], r["status"]) for r in records] == [
            ("PATCH /Users/{id}", 200), ("POST /Users", 409), ("POST /Users", 201)]
        assert records[0]["attributes_changed"] == "active" and records[0]["resource_id"] == user["id"]
        assert records[1]["scim_type"] == "uniqueness"
        assert all(r["key_id"] for r in records)
        assert "alice" not in shown.stdout and "bob" not in shown.stdout  # names of attributes, never values
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)


def stop(process: subprocess.Popen, output: Path) -> None:
    """SIGTERM, which must end the server cleanly."""
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not stop within {STOP_TIMEOUT_SECONDS} s of SIGTERM")
    assert code == 0, output.read_text()


@pytest.mark.parametrize("earlier_run", [False, True], ids=["new-file", "file-of-an-earlier-run"])
def test_log_file_is_private_and_holds_no_token(tmp_path: Path, earlier_run: bool) -> None:
    """The functions' log file is 0600 from the start and never holds a Secret Token: the banner that shows the
    seeded tokens goes to the terminal only."""
    port = free_port()
    log_file = log_path(port)
    if earlier_run:  # what an earlier server on this port (or an older version) left: readable by all
        log_file.write_text("a line of an earlier run\n", encoding="utf-8")
        log_file.chmod(0o644)
    process, credentials_file, output = start_server(tmp_path, port, tenants=2)
    try:
        wait_for(credentials_file, process, output)
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
        credentials = json.loads(credentials_file.read_text(encoding="utf-8"))
        for tenant in credentials:
            url, token = tenant["tenant_url"], tenant["token"]
            assert http("POST", f"{url}/Users", token, {"userName": f"{uuid.uuid4()}@contoso.com"})[0] == 201
            assert_empty_list(http("GET", f'{url}/Users?filter=userName+eq+%22{uuid.uuid4()}%22', token))
            assert_scim_error(http("GET", f"{url}/Users", token[:-1]), 401)
        stop(process, output)

        logged = log_file.read_text(encoding="utf-8")
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
        assert "a line of an earlier run" not in logged
        assert logged.count('"request handled"') >= 3 * len(credentials), logged  # the functions' lines are there
        terminal = output.read_text()
        for tenant in credentials:
            assert tenant["token"] in terminal  # the banner, on the terminal
            secret = tenant["token"].rsplit("_", 1)[-1]
            assert secret not in logged, "a Secret Token is in the log file"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if read_state(port)[1] == process.pid:
            state_file(port).unlink(missing_ok=True)


class Running(NamedTuple):
    port: int
    tenant_url: str
    token: str


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One local server for the tests below, which only send requests."""
    tmp_path = tmp_path_factory.mktemp("local-server")
    port = free_port()
    process, credentials_file, output = start_server(tmp_path, port, tenants=1)
    try:
        wait_for(credentials_file, process, output)
        (tenant,) = json.loads(credentials_file.read_text(encoding="utf-8"))
        yield Running(port, tenant["tenant_url"], tenant["token"])
        stop(process, output)
        assert "Traceback" not in output.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if read_state(port)[1] == process.pid:
            state_file(port).unlink(missing_ok=True)


def gateway_response(name: str, media_type: str) -> tuple[int, dict[str, str], bytes]:
    """What template.yaml tells API Gateway to answer, read from the template itself."""
    response = template.load()["Resources"]["ScimApi"]["Properties"]["GatewayResponses"][name]
    headers = {header: value.strip("'") for header, value in response["ResponseParameters"]["Headers"].items()}
    return response["StatusCode"], headers, response["ResponseTemplates"][media_type].encode()


def exchange(connection: HTTPConnection, method: str, path: str, headers: dict[str, str],
             body: bytes | None = None) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, the headers other than HTTP's own, body, whether the server closes the connection)."""
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    own = {name: value for name, value in response.getheaders()
           if name.lower() not in ("server", "date", "content-length", "connection")}
    return response.status, own, data, response.will_close


def unrouted_requests() -> list[tuple[str, str, str | None]]:
    """(method, path under the Tenant URL, Content-Type) of requests no route of template.yaml takes: each declared
    path under the methods no route of it takes (none where the template declares ANY), and undeclared paths under
    each content type that picks a template of its own or falls back to the application/json one."""
    routes = template.routes()
    paths = sorted({r.resource.removeprefix("/v1/scim/{idpId}").replace("{id}", "7") for r in routes})
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")  # and HEAD, whose answer has no body to compare
    declared = [(method, path, None) for path in paths for method in methods
                if match_route(routes, method, f"/v1/scim/demo{path}")[0] is None]
    return declared + [
        ("GET", "/Nope", None),
        ("GET", "/Users/7/x", "application/scim+json"),
        ("POST", "/Nope", "application/json; charset=utf-8"),
        ("PATCH", "/Nope", "text/plain"),
        ("DELETE", "/Nope", "Application/SCIM+JSON; charset=UTF-8"),
    ]


@pytest.mark.parametrize("method, path, content_type", unrouted_requests())
def test_unrouted_requests_get_the_templates_gateway_response(
    running: Running, method: str, path: str, content_type: str | None
) -> None:
    """As API Gateway: a request no route takes (an undeclared path, or a declared one under a method no route of
    it declares) gets MISSING_AUTHENTICATION_TOKEN, which template.yaml makes a SCIM 404, its body the template of
    the request's content type."""
    media_type = (content_type or "").split(";")[0].lower()
    if media_type != "application/scim+json":
        media_type = "application/json"
    headers = {"Authorization": f"Bearer {running.token}", "Accept": "application/scim+json"}
    if content_type:
        headers["Content-Type"] = content_type
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    connection = HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        status, own, data, _ = exchange(connection, method, f"{urlsplit(running.tenant_url).path}{path}", headers,
                                        body)
    finally:
        connection.close()
    assert (status, own, data) == gateway_response("MISSING_AUTHENTICATION_TOKEN", media_type)


def test_a_body_over_the_limit_gets_the_templates_gateway_response(running: Running) -> None:
    """The REQUEST_TOO_LARGE gateway response of template.yaml, before the body is read; the connection closes."""
    connection = HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.putrequest("POST", f"{urlsplit(running.tenant_url).path}/Users")
        connection.putheader("Authorization", f"Bearer {running.token}")
        connection.putheader("Content-Type", "application/scim+json")
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders()  # and no body: the server must answer without waiting for it
        response = connection.getresponse()
        data = response.read()
        own = {name: value for name, value in response.getheaders()
               if name.lower() not in ("server", "date", "content-length", "connection")}
        assert (response.status, own, data) == gateway_response("REQUEST_TOO_LARGE", "application/scim+json")
        assert response.will_close
    finally:
        connection.close()


@pytest.mark.parametrize("lengths", [["abc"], ["-5"], ["10", "20"]])
def test_a_body_of_no_known_length_is_a_400_and_the_connection_closes(running: Running, lengths: list[str]) -> None:
    """Content-Length not one number (API Gateway takes none of these): a SCIM 400, never a dropped connection."""
    connection = HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.putrequest("POST", f"{urlsplit(running.tenant_url).path}/Users")
        connection.putheader("Authorization", f"Bearer {running.token}")
        for length in lengths:
            connection.putheader("Content-Length", length)
        connection.endheaders()
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 400 and body["status"] == "400" and response.will_close
        assert response.getheader("Content-Type").startswith("application/scim+json")
    finally:
        connection.close()


def test_what_the_http_front_refuses_itself_is_a_scim_error(running: Running) -> None:
    connection = HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.request("BREW", f"{urlsplit(running.tenant_url).path}/Users")
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 501 and body["status"] == "501" and body["schemas"] == [
            "urn:ietf:params:scim:api:messages:2.0:Error"]
        assert response.getheader("Content-Type").startswith("application/scim+json")
    finally:
        connection.close()


def test_a_kept_alive_connection_is_served_without_a_stall(running: Running) -> None:
    """Requests over one kept-alive HTTP/1.1 connection are answered at once.

    A behavioural bound on a stall, not a micro-benchmark: a response sent in two small writes (headers, then body)
    waits under Nagle's algorithm for the client's delayed ACK of the first, about 40 ms on Linux, on every request
    of a kept-alive connection; without that stall a discovery GET takes a few ms here. The bound sits well between
    the two. `make bench` (bench/keepalive.py) measures the throughput.
    """
    path = f"{urlsplit(running.tenant_url).path}/ServiceProviderConfig"
    headers = {"Authorization": f"Bearer {running.token}", "Accept": "application/scim+json"}
    connection = HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.connect()
        sock = connection.sock
        exchange(connection, "GET", path, headers)  # warm-up, unmeasured
        seconds = []
        for _ in range(20):
            started = time.perf_counter()
            status, _, _, closes = exchange(connection, "GET", path, headers)
            seconds.append(time.perf_counter() - started)
            assert status == 200 and not closes
        assert connection.sock is sock, "the connection was not kept alive"  # http.client reconnects silently
    finally:
        connection.close()
    median_ms = statistics.median(seconds) * 1000
    assert median_ms < 25, f"median {median_ms:.1f} ms per request over one kept-alive connection"
