"""`scim-admin` without a server: its command line, how it finds a target (a stack through CloudFormation, stubbed;
the local server's state file; SCIM_MANAGEMENT_API_URL), and its client of the management API against a scripted
HTTP server on 127.0.0.1 (errors, retries, timeouts). Every command against the real local server:
tests/smoke/test_scim_admin.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from devtools import activity, admin

API = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev"


@pytest.fixture
def scim_admin(clean_env, capsys: pytest.CaptureFixture):
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = admin.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def one_line(err: str) -> str:
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("scim-admin: "), err
    return err.strip()


# --- the command line ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "port", "command"), [
    (["--local", "create-idp", "--name", "X"], 3000, "create-idp"),
    (["--local", "--json", "list-idps"], 3000, "list-idps"),
    (["--local", "3001", "list-idps"], 3001, "list-idps"),
    (["--local=3002", "list-idps"], 3002, "list-idps"),
    (["--json", "--local", "list-idps"], 3000, "list-idps"),
])
def test_local_means_port_3000_unless_a_port_follows(argv: list[str], port: int, command: str) -> None:
    args = admin.parser().parse_args(admin._normalize(argv))
    assert (args.local, args.command) == (port, command)


def test_json_is_accepted_before_and_after_the_command() -> None:
    parse = admin.parser().parse_args
    assert parse(["--json", "list-idps"]).json is True
    assert parse(["list-idps", "--json"]).json is True
    assert parse(["show-idp", "--json", "--idp", "x"]).json is True
    assert parse(["list-idps"]).json is False


def test_the_help_names_every_command_and_the_hidden_paths(scim_admin, capsys) -> None:
    code, out, _ = scim_admin("--help")
    assert code == 0
    for command in admin.API_COMMANDS | admin.MAINTENANCE_COMMANDS:
        assert command in out
    assert "SCIM_MANAGEMENT_API_URL" in out and "ManagementApiUrl" in out
    code, out, _ = scim_admin("export", "--help")
    assert code == 0 and "--background" in out and "--export-id" in out and "--timeout" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--local", "0", "list-idps"], "argument --local: not a port: '0'"),
    (["--local", "70000", "list-idps"], "not a port"),
    (["--stack", "s", "--local", "list-idps"], "not allowed with argument --stack"),
    (["--local", "3000", "show-idp", "--idp", "a b"], "not an IdP ID: 'a b'"),
    (["--local", "3000", "delete-idp", "--idp", "x", "--wait", "--timeout", "-1"], "not a number of 0 or more"),
    (["--local", "3000", "activity", "--idp", "x", "--limit", "many"], "not a number"),
    (["--local", "3000", "allow-networks", "--idp", "x"], "one of the arguments --network --networks-file --any"),
])
def test_mistakes_on_the_command_line_are_one_line(scim_admin, argv: list[str], message: str) -> None:
    code, out, err = scim_admin(*argv)
    assert code == 2 and out == ""
    assert message in one_line(err)


def test_no_target_is_a_clear_error(scim_admin, clean_env) -> None:
    code, out, err = scim_admin("list-idps")
    assert code == 2 and out == ""
    assert one_line(err) == ("scim-admin: name a target: --stack NAME, --local [PORT], or SCIM_MANAGEMENT_API_URL "
                             "(with your AWS credentials and region)")
    clean_env.setenv("SCIM_SECRETS_PREFIX", "scim/scim-dev/idp/")  # what the earlier scim-admin read
    assert "SCIM_SECRETS_PREFIX is no longer used" in one_line(scim_admin("list-idps")[2])
    clean_env.setenv("SCIM_MANAGEMENT_API_URL", "ftp://example.com")
    code, _, err = scim_admin("list-idps")
    assert code == 2 and "not an http(s) URL" in one_line(err)


# --- a deployed stack (CloudFormation stubbed) -----------------------------------------------------------------------


def _stack_session(clean_env, outputs: list[dict] | None = None, error: str | None = None):
    """The operator's session, its CloudFormation stubbed to describe the stack (or to answer `error`)."""
    session = boto3.session.Session(aws_access_key_id="AKIAOPERATOR", aws_secret_access_key="secret",
                                    region_name="eu-west-1")
    cloudformation = session.client("cloudformation")
    stubber = Stubber(cloudformation)
    if error:
        stubber.add_client_error("describe_stacks", "ValidationError", error, 400, {"StackName": "scim-dev"})
    else:
        stack = {"StackName": "scim-dev", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
                 "Outputs": outputs or []}
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "scim-dev"})
    stubber.activate()
    clients = {"cloudformation": cloudformation}
    clean_env.setattr(session, "client", lambda service, **kwargs: clients.get(service) or boto3.client(
        service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"))
    regions = []
    clean_env.setattr(admin, "_session", lambda region: regions.append(region) or session)
    return stubber, regions


def test_a_deployed_stack_is_found_from_its_outputs(clean_env) -> None:
    outputs = [
        {"OutputKey": "ManagementApiUrl", "OutputValue": API},
        {"OutputKey": "ApiBaseUrl", "OutputValue": "https://scim.example.com"},
        {"OutputKey": "TableName", "OutputValue": "scim-dev-Table-1"},
        {"OutputKey": "SecretsPrefix", "OutputValue": "scim/scim-dev/idp/"},
        {"OutputKey": "CleanupDeadLetterQueueUrl", "OutputValue": "https://sqs.eu-west-1.amazonaws.com/1/dlq"},
    ]
    stubber, regions = _stack_session(clean_env, outputs)
    target = admin.stack_target("scim-dev", "eu-west-1")
    stubber.assert_no_pending_responses()
    assert regions == ["eu-west-1"]
    assert target.api_url == API and target.region == "eu-west-1"
    assert target.table_name == "scim-dev-Table-1"
    assert target.dead_letter_queue_url == "https://sqs.eu-west-1.amazonaws.com/1/dlq"
    assert target.credentials().access_key == "AKIAOPERATOR"  # the operator's credentials sign the requests
    assert target.description == "stack scim-dev (eu-west-1)"


def test_a_stack_that_does_not_exist_or_has_no_management_api(scim_admin, clean_env) -> None:
    _stack_session(clean_env, error="Stack with id scim-dev does not exist")
    code, out, err = scim_admin("--stack", "scim-dev", "list-idps")
    assert code == 1 and out == ""
    assert one_line(err) == "scim-admin: no stack scim-dev in eu-west-1 (check the name and --region)"

    _stack_session(clean_env, [{"OutputKey": "ApiBaseUrl", "OutputValue": API}])  # a stack of an earlier version
    code, out, err = scim_admin("--stack", "scim-dev", "list-idps")
    assert code == 1
    assert "stack scim-dev (eu-west-1) has no ManagementApiUrl output" in one_line(err)

    _stack_session(clean_env, [{"OutputKey": "ManagementApiUrl", "OutputValue": API}])  # no TableName
    code, _, err = scim_admin("--stack", "scim-dev", "migrate-guards")
    assert code == 2 and "migrate-guards needs --stack NAME or --local" in one_line(err)


def test_a_missing_region_or_missing_credentials_is_one_line(scim_admin, clean_env) -> None:
    code, out, err = scim_admin("--stack", "scim-dev", "list-idps")
    assert code == 1 and out == ""
    assert one_line(err).startswith("scim-admin: no AWS region for stack scim-dev: pass --region")

    code, out, err = scim_admin("--stack", "scim-dev", "--region", "eu-west-1", "list-idps")
    assert code == 1 and out == ""
    assert one_line(err).startswith("scim-admin: no AWS credentials found")

    clean_env.setenv("AWS_PROFILE", "nobody")
    code, _, err = scim_admin("--stack", "scim-dev", "--region", "eu-west-1", "list-idps")
    assert code == 1 and "cannot read your AWS configuration" in one_line(err) and "nobody" in err


def test_the_region_of_an_execute_api_url_is_its_own(clean_env) -> None:
    clean_env.setenv("SCIM_MANAGEMENT_API_URL", API)
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    target = admin.env_target(None)
    assert (target.api_url, target.region) == (API, "eu-west-1")
    assert admin.env_target("us-west-2").region == "us-west-2"  # --region wins
    clean_env.setenv("AWS_REGION", "ap-south-1")
    assert admin.env_target(None).region == "eu-west-1"  # the URL's region is the one requests are signed for
    clean_env.setenv("SCIM_MANAGEMENT_API_URL", "https://admin.scim.example.com/")  # a custom domain: configured
    assert admin.env_target(None).region == "ap-south-1"


def test_no_local_server_on_the_port(scim_admin, tmp_path: Path, clean_env) -> None:
    from devtools.local import server

    clean_env.setattr(server, "state_file", lambda port: tmp_path / f".local-server-{port}.json")
    code, out, err = scim_admin("--local", "list-idps")
    assert code == 1 and out == ""
    assert one_line(err) == "scim-admin: no local server is running on port 3000: start it with `make run`"
    (tmp_path / ".local-server-3000.json").write_text('{"pid": 1, "api_base_url": "http://127.0.0.1:3000"}')
    code, _, err = scim_admin("--local", "list-idps")
    assert code == 1 and "serves no management API (an older version?): restart it" in one_line(err)
    (tmp_path / ".local-server-3000.json").write_text("{half")
    assert "cannot read the local server's state file" in one_line(scim_admin("--local", "list-idps")[2])


# --- the management API's client, against a scripted server ---------------------------------------------------------


class Script:
    """What the scripted server answers, in order: (status, headers, body) or ("sleep", seconds)."""

    def __init__(self) -> None:
        self.answers: list[tuple] = []
        self.requests: list[tuple[str, str, dict]] = []


@pytest.fixture
def scripted(clean_env) -> Iterator[tuple[Script, str]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            script.requests.append((self.command, self.path, dict(self.headers.items())))
            answer = script.answers.pop(0) if script.answers else (500, {}, b"")
            if answer[0] == "sleep":
                time.sleep(answer[1])
                answer = (200, {}, b"{}")
            status, headers, body = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_port}/prod"
    clean_env.setenv("SCIM_MANAGEMENT_API_URL", url)
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    clean_env.setenv("AWS_SESSION_TOKEN", "session-token")
    clean_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    clean_env.setattr(admin, "MAX_RETRY_WAIT_SECONDS", 0.01)
    try:
        yield script, url
    finally:
        httpd.shutdown()
        httpd.server_close()


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def test_requests_are_signed_for_execute_api_and_pages_are_followed(scim_admin, scripted) -> None:
    script, url = scripted
    idp = {"idp_id": "a", "name": "A", "description": "", "created": "t", "state": "active",
           "tenant_url": "https://scim/v1/scim/a", "allowed_networks": []}
    script.answers += [
        (200, {"Content-Type": "application/json"}, json.dumps({"idps": [idp], "next_cursor": "c/1+="}).encode()),
        (200, {"Content-Type": "application/json"},
         json.dumps({"idps": [{**idp, "idp_id": "b", "state": "deleting"}], "next_cursor": None}).encode()),
    ]
    code, out, err = scim_admin("list-idps")
    assert code == 0, err
    assert out == "a  A  https://scim/v1/scim/a\nb  A  https://scim/v1/scim/a  (deleting)\n"
    (method, first, headers), (_, second, _) = script.requests
    assert (method, first) == ("GET", "/prod/admin/v1/idps?limit=100")
    assert second == "/prod/admin/v1/idps?cursor=c%2F1%2B%3D&limit=100"  # encoded as SigV4 canonicalizes it
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAOPERATOR/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "session-token" and "x-amz-date" in headers


def test_throttling_is_retried_then_reported(scim_admin, scripted) -> None:
    script, _ = scripted
    throttled = (429, {"Retry-After": "0"}, _error("throttled", "Too many requests."))
    script.answers += [throttled, throttled, (200, {}, b'{"keys": []}')]
    code, out, err = scim_admin("list-keys", "--idp", "a")
    assert (code, out, err) == (0, "no keys\n", "")
    script.answers += [throttled] * (admin.RETRIES + 1)
    code, out, err = scim_admin("list-keys", "--idp", "a")
    assert code == 1 and out == ""
    assert one_line(err) == ("scim-admin: too many requests (throttled); the management API is throttling "
                             "requests: retry in a moment")


@pytest.mark.parametrize(("status", "body", "line"), [
    (403, _error("access_denied", "User is not authorized to access this resource."),
     "scim-admin: user is not authorized to access this resource (access_denied); the IAM identity you sign with "
     "needs the stack's ManagementApiPolicyArn policy"),
    (403, _error("expired_token", "The security token included in the request is expired"),
     "scim-admin: the security token included in the request is expired (expired_token); your AWS credentials have "
     "expired (or this computer's clock is wrong): refresh them"),
    (403, b'{"message": "Forbidden"}', "scim-admin: forbidden (http_403)"),
    (502, b"<html>Bad gateway</html>", "scim-admin: HTTP 502 Bad Gateway (http_502)"),
    (409, _error("idp_deleting", "IdP a is being deleted."), "scim-admin: IdP a is being deleted (idp_deleting)"),
    (500, _error("internal_error", "Internal error.\nSecond line"), "scim-admin: internal error. Second line "
                                                                    "(internal_error)"),
])
def test_api_errors_are_one_line_with_their_code(scim_admin, scripted, status: int, body: bytes, line: str) -> None:
    script, _ = scripted
    script.answers.append((status, {"Content-Type": "application/json"}, body))
    code, out, err = scim_admin("show-idp", "--idp", "a")
    assert code == 1 and out == ""
    assert one_line(err) == line


def test_an_unanswered_request_times_out(scim_admin, scripted) -> None:
    script, _ = scripted
    script.answers.append(("sleep", 1.0))
    code, out, err = scim_admin("activity", "--idp", "a", "--timeout", "0.2")
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == f"scim-admin: the management API at {scripted[1]} did not answer within 0.2 s"
    assert "Traceback" not in err


def test_connection_refused(scim_admin, clean_env) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean_env.setenv("SCIM_MANAGEMENT_API_URL", f"http://127.0.0.1:{port}")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    clean_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code, out, err = scim_admin("list-idps")
    assert code == 1 and out == ""
    assert one_line(err) == (f"scim-admin: cannot reach the management API at http://127.0.0.1:{port} "
                             f"(http://127.0.0.1:{port}/admin/v1): connection refused")


def test_a_background_export_that_fails_or_outlasts_the_timeout(scim_admin, scripted, tmp_path: Path) -> None:
    script, _ = scripted
    started = (202, {}, json.dumps({"export_id": "e1", "state": "running", "created": "t"}).encode())
    running = (200, {}, json.dumps({"export_id": "e1", "state": "running", "created": "t"}).encode())
    failed = (200, {}, json.dumps({"export_id": "e1", "state": "failed", "created": "t", "finished": "t"}).encode())
    script.answers += [(400, {}, _error("export_too_large", "Too large.")), started, running, failed]
    output = tmp_path / "out.jsonl"
    code, out, err = scim_admin("export", "--idp", "a", "--output", str(output))
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == "scim-admin: export e1 of IdP a failed (the admin function's log says why); " \
                                   "start another"
    assert "exporting in the background" in err and not list(tmp_path.iterdir())  # no file, not half of one
    assert [(m, p) for m, p, _ in script.requests] == [
        ("GET", "/prod/admin/v1/idps/a/export"), ("POST", "/prod/admin/v1/idps/a/exports"),
        ("GET", "/prod/admin/v1/idps/a/exports/e1"), ("GET", "/prod/admin/v1/idps/a/exports/e1")]

    script.answers += [started] + [running] * 20
    code, out, err = scim_admin("export", "--idp", "a", "--background", "--timeout", "0.3")
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == ("scim-admin: export e1 is still running after 0.3 s; download it later with "
                                    "`scim-admin export --idp a --export-id e1`")


# --- activity lines --------------------------------------------------------------------------------------------------


def test_activity_lines_of_both_kinds() -> None:
    scim = {"timestamp": "2026-11-29T22:47:08.996Z", "kind": "scim", "status": 200, "key_id": "k1",
            "operation": "PATCH /Groups/{id}", "resource_type": "Group", "resource_id": "g1", "members_added": 3,
            "members_removed": 1}
    assert activity.line(scim) == ("2026-11-29T22:47:08.996Z  key k1  PATCH /Groups/{id}  Group g1  "
                                   "[members +3 -1]  200")
    management = {"timestamp": "2026-11-29T22:47:09.000Z", "kind": "management", "status": 404,
                  "principal": "arn:aws:iam::1:role/backend", "action": "key.revoke", "key_id": "k2",
                  "error_code": "not_found"}
    assert activity.line(management) == ("2026-11-29T22:47:09.000Z  by arn:aws:iam::1:role/backend  key.revoke  "
                                         "key k2  404 not_found")
