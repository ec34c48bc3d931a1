"""The admin command line: what the SaaS admin console does for IdPs, their API keys and OAuth clients, as a
client of the management API (/admin/v1, docs/management-api.md).

    scim-admin --stack scim-dev create-idp --name "Contoso Entra"
    scim-admin --stack scim-dev create-key --idp <IdP ID> --name Entra --description "Provisioning" \\
        --privilege users:write --privilege groups:write
    scim-admin --stack scim-dev list-keys --idp <IdP ID>
    scim-admin --stack scim-dev revoke-key --idp <IdP ID> --key <key ID>
    scim-admin --stack scim-dev create-client --idp <IdP ID> --name Okta --privilege users:write   # OAuth 2.0
    scim-admin --local create-idp --name Test        # the local server (`make run`), on port 3000
    scim-admin --local 3001 list-idps --json         # ... on another port; --json anywhere on the line

Where it acts:
  --stack NAME   a deployed stack: the management API of its `ManagementApiUrl` output, called with your AWS
                 credentials (boto3's: environment, profile, SSO...) and region (--region, or your configuration's),
                 signed with SigV4; the identity needs the stack's `ManagementApiPolicyArn` policy.
  --local [PORT] the local server on PORT (default 3000), signed with its fixed credentials.
  otherwise      SCIM_MANAGEMENT_API_URL (a management API's base URL) with your AWS credentials and region.

upgrade, migrate-guards, redrive-cleanup and redrive-events are maintenance commands: they work on the stack's table, secrets and queues directly
(--stack NAME or --local), not through the API.

A key's Secret Token is printed once, by create-key, and an OAuth client's secret once, by create-client: neither
is stored or shown again. With --json every command prints one JSON document on stdout. An error is one line on
stderr ("scim-admin: ..."), with exit status 1 (2 for a mistake on the command line); progress of long operations
goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from . import activity

PROG = "scim-admin"
DEFAULT_LOCAL_PORT = 3000
API_PREFIX = "/admin/v1"
# API Gateway answers within 29 s; a request still unanswered after this has failed.
REQUEST_TIMEOUT_SECONDS = 35.0
# IdPs asked for per page by list-idps (the API's maximum).
PAGE_SIZE = 100
# Events asked for per page (the API's maximum), and how often --follow asks again when there were none.
PAGE_SIZE_EVENTS = 1000
FOLLOW_INTERVAL_SECONDS = 2.0
# 429 (throttled, or another change of the IdP's keys under way) and, for reads, 503: retried this many times.
RETRIES = 3
MAX_RETRY_WAIT_SECONDS = 5.0
PRIVILEGES = ("users:read", "users:write", "groups:read", "groups:write")
NDJSON = "application/x-ndjson"
USER_AGENT = "scim-admin"
# What the API's error codes mean for the operator, beyond the API's message.
HINTS = {
    "access_denied": "the IAM identity you sign with needs the stack's ManagementApiPolicyArn policy",
    "expired_token": "your AWS credentials have expired (or this computer's clock is wrong): refresh them",
    "invalid_signature": "check the AWS credentials you sign with, and the region (--region)",
    "missing_authentication": "is the URL the stack's ManagementApiUrl output?",
    "throttled": "the management API is throttling requests: retry in a moment",
}


class Failure(Exception):
    """What went wrong, for the operator: one line on stderr and exit status `status`."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


class ApiError(Failure):
    """The management API (or API Gateway in front of it) refused the request."""

    def __init__(self, http_status: int, code: str, message: str):
        hint = HINTS.get(code)
        super().__init__(f"{_sentence(message)} ({code})" + (f"; {hint}" if hint else ""))
        self.http_status = http_status
        self.code = code


def _sentence(text: str) -> str:
    """An API message as part of the line `scim-admin: ...`: one line, no final period, a first word that is not a
    name in lower case ("No IdP x." -> "no IdP x")."""
    text = " ".join(str(text).split()).rstrip(".")
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].isalpha() and first[1:].islower():
        text = text[0].lower() + text[1:]
    return text or "no message"


def _progress(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# -- where the commands act ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A management API to call (and, for the maintenance commands, the table and queue behind it)."""

    description: str  # for messages: "stack scim-dev (eu-west-1)", "the local server on port 3000", ...
    api_url: str | None = None  # the management API's base URL (routes under /admin/v1)
    region: str | None = None  # the region requests are signed for
    credentials: Callable[[], Any] | None = None  # frozen botocore credentials, when a request is signed
    client: Callable[[str], Any] | None = None  # a boto3 client of a service (migrate-guards, redrive-cleanup)
    table_name: str | None = None
    dead_letter_queue_url: str | None = None
    secrets_prefix: str | None = None  # the IdPs' secrets (upgrade)
    # The events' side (redrive-events): the bus, its dead-letter queue, the feed's retention, the API's base URL.
    event_bus_name: str | None = None
    events_dead_letter_queue_url: str | None = None
    event_retention_days: int | None = None
    api_base_url: str | None = None
    local_port: int | None = None
    no_api: str | None = None  # why there is no api_url

    def api(self) -> Api:
        if not self.api_url:
            raise Failure(self.no_api or f"{self.description} names no management API")
        return Api(self)


def _session(region: str | None) -> Any:
    """The operator's boto3 session (credentials and region as the AWS CLI finds them)."""
    import boto3

    return boto3.session.Session(region_name=region)


def _operator_session(region: str | None, why: str) -> tuple[Any, Any]:
    """The operator's session and credentials, or a Failure saying what is missing."""
    from botocore.exceptions import BotoCoreError

    try:
        # As the AWS CLI: --region, then AWS_REGION (which boto3 alone ignores), then AWS_DEFAULT_REGION or the profile.
        session = _session(region or os.environ.get("AWS_REGION") or None)
        if not session.region_name:
            raise Failure(f"no AWS region for {why}: pass --region, or configure one (AWS_REGION, "
                          "AWS_DEFAULT_REGION, `aws configure`)")
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise Failure(f"cannot read your AWS configuration: {_one_line(error)}") from None
    if credentials is None:
        raise Failure("no AWS credentials found: configure them (`aws configure`, `aws sso login`, AWS_PROFILE, or "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    return session, credentials


def _frozen(credentials: Any) -> Callable[[], Any]:
    def current() -> Any:
        from botocore.exceptions import BotoCoreError

        try:
            return credentials.get_frozen_credentials()
        except BotoCoreError as error:
            raise Failure(f"cannot get your AWS credentials: {_one_line(error)}") from None

    return current


def stack_target(stack: str, region: str | None) -> Target:
    """A deployed stack, from its outputs."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    session, credentials = _operator_session(region, f"stack {stack}")
    where = f"stack {stack} ({session.region_name})"
    bounded = Config(connect_timeout=10, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})
    try:
        found = session.client("cloudformation", config=bounded).describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        detail = error.response.get("Error", {})
        if "does not exist" in str(detail.get("Message", "")):
            raise Failure(f"no stack {stack} in {session.region_name} (check the name and --region)") from None
        raise Failure(f"cannot read {where}: {_sentence(detail.get('Message', ''))} "
                      f"({detail.get('Code', 'error')})") from None
    except BotoCoreError as error:
        raise Failure(f"cannot read {where}: {_one_line(error)}") from None
    if not found:
        raise Failure(f"no stack {stack} in {session.region_name}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
    return Target(
        description=where,
        api_url=outputs.get("ManagementApiUrl"),
        region=session.region_name,
        credentials=_frozen(credentials),
        client=session.client,
        table_name=outputs.get("TableName"),
        dead_letter_queue_url=outputs.get("CleanupDeadLetterQueueUrl"),
        secrets_prefix=outputs.get("SecretsPrefix"),
        event_bus_name=outputs.get("EventBusName"),
        events_dead_letter_queue_url=outputs.get("EventsDeadLetterQueueUrl"),
        event_retention_days=int(outputs["EventRetentionDays"]) if outputs.get("EventRetentionDays") else None,
        api_base_url=outputs.get("ApiBaseUrl"),
        no_api=f"{where} has no ManagementApiUrl output: deploy this version of the template first",
    )


def local_target(port: int) -> Target:
    """The local server on `port`, from the state file it writes while it runs."""
    from .local.server import state_file

    path = state_file(port)
    hint = f"start it with `make run{'' if port == DEFAULT_LOCAL_PORT else f' PORT={port}'}`"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Failure(f"no local server is running on port {port}: {hint}") from None
    except (OSError, ValueError) as error:
        raise Failure(f"cannot read the local server's state file {path}: {_one_line(error)}") from None
    if not isinstance(state, dict) or "management_api_url" not in state:
        raise Failure(f"the local server on port {port} serves no management API (an older version?): restart it")
    pid = state.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        raise Failure(f"no local server is running on port {port} (its state file {path.name} was left by a server "
                      f"that stopped): {hint}")

    def client(service: str) -> Any:
        import boto3

        return boto3.session.Session().client(
            service, endpoint_url=state["aws_endpoint_url"], region_name=state["region"],
            aws_access_key_id="local", aws_secret_access_key="local")

    def credentials() -> Any:
        from botocore.credentials import Credentials

        return Credentials(state["admin_access_key_id"], state["admin_secret_access_key"]).get_frozen_credentials()

    return Target(
        description=f"the local server on port {port}",
        api_url=state["management_api_url"],
        region=state.get("region", "us-east-1"),
        credentials=credentials,
        client=client,
        table_name=state.get("table_name"),
        dead_letter_queue_url=state.get("dead_letter_queue_url"),
        secrets_prefix=state.get("secrets_prefix"),
        event_bus_name=state.get("event_bus_name"),
        events_dead_letter_queue_url=state.get("events_dead_letter_queue_url"),
        event_retention_days=state.get("event_retention_days"),
        api_base_url=state.get("api_base_url"),
        local_port=port,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: it exists
        return True
    return True


_EXECUTE_API = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def env_target(region: str | None) -> Target:
    """SCIM_MANAGEMENT_API_URL, called with the operator's credentials."""
    url = os.environ.get("SCIM_MANAGEMENT_API_URL", "").strip()
    if not url:
        hint = ("; SCIM_SECRETS_PREFIX is no longer used: set SCIM_MANAGEMENT_API_URL to the stack's "
                "ManagementApiUrl output" if os.environ.get("SCIM_SECRETS_PREFIX") else "")
        raise Failure("name a target: --stack NAME, --local [PORT], or SCIM_MANAGEMENT_API_URL (with your AWS "
                      f"credentials and region){hint}", status=2)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Failure(f"SCIM_MANAGEMENT_API_URL is not an http(s) URL: {url!r}", status=2)
    from_host = _EXECUTE_API.search(parts.hostname)
    session, credentials = _operator_session(region or (from_host.group(1) if from_host else None),
                                             "SCIM_MANAGEMENT_API_URL")
    return Target(description=f"the management API at {url}", api_url=url, region=session.region_name,
                  credentials=_frozen(credentials), client=session.client)


# -- calling the management API --------------------------------------------------------------------------------------


def _opener(url: str) -> urllib.request.OpenerDirector:
    """urllib's opener; no proxy for a loopback address (the local server, its emulator)."""
    host = urlsplit(url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


class Api:
    """The management API of a target: signed requests, errors as ApiError, transport failures as Failure."""

    def __init__(self, target: Target, sleep: Callable[[float], None] = time.sleep):
        self._target = target
        self._base = target.api_url.rstrip("/") + API_PREFIX
        self._opener = _opener(self._base)
        self._sleep = sleep

    def json(self, method: str, path: str, body: dict | None = None, query: dict | None = None,
             timeout: float = REQUEST_TIMEOUT_SECONDS) -> Any:
        _, data = self.request(method, path, body, query, timeout=timeout)
        try:
            return json.loads(data)
        except ValueError:
            raise Failure(f"the management API answered {method} {API_PREFIX}{path} with something not JSON") from None

    def request(self, method: str, path: str, body: dict | None = None, query: dict | None = None,
                accept: str = "application/json", timeout: float = REQUEST_TIMEOUT_SECONDS) -> tuple[dict, bytes]:
        """(headers, body) of a 2xx answer."""
        url = self._base + path
        if query:
            # Encoded as SigV4 canonicalizes it (RFC 3986: only unreserved characters left as they are).
            url += "?" + urlencode(sorted(query.items()), quote_via=quote, safe="")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = "application/json"
        timeout = max(timeout, 0.01)
        for attempt in range(RETRIES + 1):
            request = self._signed(method, url, data, headers)
            try:
                with self._opener.open(request, timeout=timeout) as response:
                    return {k.lower(): v for k, v in response.headers.items()}, response.read()
            except urllib.error.HTTPError as error:
                payload = _read(error)
                retry = error.code == 429 or (error.code == 503 and method == "GET")
                if retry and attempt < RETRIES:
                    self._sleep(_retry_after(error.headers.get("Retry-After"), attempt))
                    continue
                raise _api_error(error.code, payload) from None
            except urllib.error.URLError as error:
                raise self._unreachable(error.reason, timeout) from None
            except (TimeoutError, socket.timeout):
                raise self._unreachable(TimeoutError(), timeout) from None
            except (ConnectionError, HTTPException, OSError) as error:
                raise self._unreachable(error, timeout) from None
        raise AssertionError("unreachable")

    def _signed(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> urllib.request.Request:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        signed = AWSRequest(method=method, url=url, data=data, headers=dict(headers))
        SigV4Auth(self._target.credentials(), "execute-api", self._target.region).add_auth(signed)
        request = urllib.request.Request(url, data=data, method=method, headers=dict(signed.headers.items()))
        request.add_header("User-Agent", USER_AGENT)
        return request

    def _unreachable(self, reason: Any, timeout: float) -> Failure:
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return Failure(f"{self._target.description} did not answer within {timeout:g} s")
        text = _reason(reason)
        if self._target.local_port is not None and isinstance(reason, ConnectionRefusedError):
            return Failure(f"no local server answers on port {self._target.local_port} ({text}): start it with "
                           f"`make run`")
        return Failure(f"cannot reach {self._target.description} ({self._base}): {text}")


def _read(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read()
    except (OSError, HTTPException):
        return b""


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        seconds = float(value) if value else 0.5 * (2 ** attempt)
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.1), MAX_RETRY_WAIT_SECONDS)


def _api_error(status: int, payload: bytes) -> ApiError:
    """`{"error": {"code", "message"}}` (the API and its gateway responses), or API Gateway's own `{"message"}`."""
    try:
        document = json.loads(payload)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        detail = document["error"]
        return ApiError(status, str(detail.get("code") or f"http_{status}"), str(detail.get("message") or ""))
    if isinstance(document, dict) and document.get("message"):
        code = "throttled" if status == 429 else f"http_{status}"
        return ApiError(status, code, str(document["message"]))
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return ApiError(status, "throttled" if status == 429 else f"http_{status}", f"HTTP {status} {phrase}")


def _reason(reason: Any) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    if isinstance(reason, BaseException):
        return _one_line(getattr(reason, "strerror", None) or reason) or type(reason).__name__
    return _one_line(reason)


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _path(*segments: str) -> str:
    return "".join("/" + quote(segment, safe="") for segment in segments)


# -- the commands ----------------------------------------------------------------------------------------------------


def _key(key: dict) -> dict:
    """A key as scim-admin shows it: always the same fields (null when not set); never a token or its digest."""
    shown = {"id": None, "name": None, "description": "", "privileges": [], "created": None, "expires_at": None,
             "revoked": None, "last_used_at": None}
    shown.update({k: v for k, v in key.items() if k not in ("token", "digest")})
    return shown


def _client(client: dict) -> dict:
    """An OAuth client as scim-admin shows it: always the same fields (null when not set); never its secret or the
    secret's digest."""
    shown = {"client_id": None, "name": None, "description": "", "privileges": [], "created": None,
             "expires_at": None, "revoked": None}
    shown.update({k: v for k, v in client.items() if k not in ("client_secret", "secret", "digest")})
    return shown


def _networks_text(networks: list[str]) -> str:
    return ", ".join(networks) if networks else "any address"


def _erasure_text(idp: dict) -> str:
    erasure = idp.get("erasure") or {}
    if not erasure:
        return f"state {idp.get('state', '?')}"
    return f"{erasure.get('phase', '?')}, {erasure.get('items_deleted', 0)} item(s) deleted"


def _idp_text(idp: dict) -> str:
    lines = [f"IdP ID:      {idp['idp_id']}", f"Name:        {idp.get('name', '')}"]
    if idp.get("description"):
        lines.append(f"Description: {idp['description']}")
    state = idp.get("state", "active")
    if state != "active":
        state += f" (erasure: {_erasure_text(idp)}, since {(idp.get('erasure') or {}).get('started', '?')})"
    lines += [f"Created:     {idp.get('created', '')}", f"State:       {state}",
              f"Tenant URL:  {idp.get('tenant_url', '')}",
              f"Networks:    {_networks_text(idp.get('allowed_networks') or [])}"]
    return "\n".join(lines)


def _key_line(key: dict) -> str:
    return (f"{key['id']}  {key['name']}  {','.join(key['privileges'])}  created {key['created']}"
            + (f"  expires {key['expires_at']}" if key.get("expires_at") else "")
            + (f"  last used {key['last_used_at']}" if key.get("last_used_at") else "  never used")
            + (f"  REVOKED {key['revoked']}" if key.get("revoked") else ""))


def _client_line(client: dict) -> str:
    return (f"{client['client_id']}  {client['name']}  {','.join(client['privileges'])}  created {client['created']}"
            + (f"  expires {client['expires_at']}" if client.get("expires_at") else "")
            + (f"  REVOKED {client['revoked']}" if client.get("revoked") else ""))


Result = tuple[Any, str]  # (what --json prints, what a person reads)


def create_idp(api: Api, args: argparse.Namespace) -> Result:
    body: dict[str, Any] = {"name": args.name}
    if args.description is not None:
        body["description"] = args.description
    if args.idp_id:
        body["idp_id"] = args.idp_id
    idp = api.json("POST", "/idps", body)
    return idp, f"IdP ID:     {idp['idp_id']}\nTenant URL: {idp['tenant_url']}"


def list_idps(api: Api, args: argparse.Namespace) -> Result:
    idps: list[dict] = []
    cursor = None
    seen: set[str] = set()
    while True:
        page = api.json("GET", "/idps", query={"limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})})
        idps += page.get("idps", [])
        cursor = page.get("next_cursor")
        if not cursor:
            break
        if cursor in seen:
            raise Failure("the management API gave the same page cursor twice; stopped listing")
        seen.add(cursor)
    text = "\n".join(f"{i['idp_id']}  {i['name']}  {i['tenant_url']}"
                     + ("" if i.get("state", "active") == "active" else f"  ({i['state']})") for i in idps)
    return idps, text or "no IdPs"


def show_idp(api: Api, args: argparse.Namespace) -> Result:
    idp = api.json("GET", _path("idps", args.idp))
    return idp, _idp_text(idp)


def update_idp(api: Api, args: argparse.Namespace) -> Result:
    body = {name: value for name, value in (("name", args.name), ("description", args.description))
            if value is not None}
    if not body:
        raise Failure("update-idp: nothing to change: give --name and/or --description (allow-networks changes the "
                      "networks)", status=2)
    idp = api.json("PATCH", _path("idps", args.idp), body)
    return idp, _idp_text(idp)


def delete_idp(api: Api, args: argparse.Namespace, sleep: Callable[[float], None] = time.sleep) -> Result:
    idp = api.json("DELETE", _path("idps", args.idp))
    idp_id = idp.get("idp_id", args.idp)
    if not args.wait:
        return idp, (f"IdP {idp_id} is being deleted: its keys are refused from now on, and its data is erased in the "
                     f"background (`{PROG} show-idp --idp {idp_id}` shows how far; then the IdP is gone).")
    deadline = time.monotonic() + args.timeout
    _progress(f"IdP {idp_id} is being deleted; waiting for its data to be erased (at most {args.timeout:g} s)")
    shown, delay = None, 0.25
    while True:
        try:
            idp = api.json("GET", _path("idps", idp_id), timeout=_poll_timeout(deadline))
        except ApiError as error:
            if error.http_status == 404:
                break
            raise
        now = _erasure_text(idp)
        if now != shown:
            _progress(f"erasing IdP {idp_id}: {now}")
            shown = now
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failure(f"IdP {idp_id} is still being erased after {args.timeout:g} s ({now}); the erasure goes on "
                          f"in the background: `{PROG} show-idp --idp {idp_id}` shows how far")
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, 2.0)
    return {"idp_id": idp_id, "state": "erased"}, f"IdP {idp_id} is deleted, and its data erased."


def _credential(args: argparse.Namespace) -> dict[str, Any]:
    """The body that creates a key or a client: name, privileges, and the description and expiry if given."""
    body: dict[str, Any] = {"name": args.name, "privileges": args.privilege}
    if args.description is not None:
        body["description"] = args.description
    if args.expires_at:
        body["expires_at"] = args.expires_at
    return body


def create_key(api: Api, args: argparse.Namespace) -> Result:
    created = api.json("POST", _path("idps", args.idp, "keys"), _credential(args))
    key = {**_key(created), "idp_id": created.get("idp_id", args.idp), "tenant_url": created.get("tenant_url"),
           "token": created.get("token")}
    key.pop("last_used_at", None)
    text = (f"Key ID:       {key['id']}\nPrivileges:   {', '.join(key['privileges'])}\n"
            + (f"Expires at:   {key['expires_at']}\n" if key.get("expires_at") else "")
            + f"Tenant URL:   {key['tenant_url']}\nSecret Token: {key['token']}\n\n"
            "Copy the Secret Token now: it is shown this once and cannot be recovered.")
    return key, text


def list_keys(api: Api, args: argparse.Namespace) -> Result:
    keys = [_key(key) for key in api.json("GET", _path("idps", args.idp, "keys")).get("keys", [])]
    return keys, "\n".join(_key_line(key) for key in keys) or "no keys"


def revoke_key(api: Api, args: argparse.Namespace) -> Result:
    key = _key(api.json("DELETE", _path("idps", args.idp, "keys", args.key)))
    return key, f"Revoked key {key['id']} ({key['name']}): it is refused (401) from the next request on."


def create_client(api: Api, args: argparse.Namespace) -> Result:
    created = api.json("POST", _path("idps", args.idp, "clients"), _credential(args))
    client = {**_client(created), "idp_id": created.get("idp_id", args.idp), "tenant_url": created.get("tenant_url"),
              "token_endpoint": created.get("token_endpoint"), "client_secret": created.get("client_secret")}
    text = (f"Client ID:      {client['client_id']}\nPrivileges:     {', '.join(client['privileges'])}\n"
            + (f"Expires at:     {client['expires_at']}\n" if client.get("expires_at") else "")
            + f"Token endpoint: {client['token_endpoint']}\nTenant URL:     {client['tenant_url']}\n"
            f"Client secret:  {client['client_secret']}\n\n"
            "Copy the client secret now: it is shown this once and cannot be recovered.")
    return client, text


def list_clients(api: Api, args: argparse.Namespace) -> Result:
    clients = [_client(client) for client in api.json("GET", _path("idps", args.idp, "clients")).get("clients", [])]
    return clients, "\n".join(_client_line(client) for client in clients) or "no clients"


def revoke_client(api: Api, args: argparse.Namespace) -> Result:
    client = _client(api.json("DELETE", _path("idps", args.idp, "clients", args.client)))
    return client, (f"Revoked client {client['client_id']} ({client['name']}): it gets no token, and its tokens are "
                    "refused (401) from the next request on.")


def allow_networks(api: Api, args: argparse.Namespace) -> Result:
    networks = args.network or []
    if args.networks_file:
        try:
            lines = args.networks_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise Failure(f"cannot read {args.networks_file}: {_reason(error)}") from None
        networks = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        if not networks:
            # An empty file (a download that failed) must not turn the allow-list off: that takes --any.
            raise Failure(f"{args.networks_file} names no network; to accept any address, use --any")
    idp = api.json("PATCH", _path("idps", args.idp), {"allowed_networks": [] if args.any else networks})
    allowed = list(idp.get("allowed_networks") or [])
    return ({"idp_id": idp["idp_id"], "allowed_networks": allowed},
            f"IdP {idp['idp_id']} accepts requests from {_networks_text(allowed)} (from the next request on).")


def _extension_line(extension: dict) -> str:
    schema = extension.get("schema") or {}
    names = ", ".join(a.get("name", "?") for a in schema.get("attributes", []))
    required = " (required)" if extension.get("required") else ""
    return f"{schema.get('id')}  {extension.get('resourceType')}{required}: {names}"


def set_extension(api: Api, args: argparse.Namespace) -> Result:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(f"cannot read {args.file}: {_reason(error)}") from None
    except ValueError:
        raise Failure(f"{args.file} is not JSON") from None
    schema = document.get("schema") if isinstance(document, dict) else None
    urn = schema.get("id") if isinstance(schema, dict) else None
    if not isinstance(urn, str) or not urn:
        raise Failure(f"{args.file} declares no schema.id (the extension's URN): see docs/extensions.md")
    declared = api.json("PUT", _path("idps", args.idp, "extensions", urn), document,
                        query={"force": "true"} if args.force else None)
    return declared, (f"IdP {args.idp} declares {_extension_line(declared)}\n"
                      "It is served from the IdP's next request (GET /Schemas shows it).")


def list_extensions(api: Api, args: argparse.Namespace) -> Result:
    extensions = api.json("GET", _path("idps", args.idp, "extensions")).get("extensions", [])
    return extensions, "\n".join(_extension_line(extension) for extension in extensions) or "no extensions"


def delete_extension(api: Api, args: argparse.Namespace) -> Result:
    api.request("DELETE", _path("idps", args.idp, "extensions", args.schema),
                query={"force": "true"} if args.force else None)
    return ({"idp_id": args.idp, "schema": args.schema, "deleted": True},
            f"Deleted extension {args.schema} of IdP {args.idp}: its values are no longer served from the next "
            "request.")


def show_activity(api: Api, args: argparse.Namespace) -> Result:
    _progress(f"reading the activity of IdP {args.idp} over the last {args.hours:g} hour(s)")
    found = api.json("GET", _path("idps", args.idp, "activity"),
                     query={"hours": f"{args.hours:g}", "limit": str(args.limit)}, timeout=args.timeout)
    records = found.get("records", [])
    return records, "\n".join(activity.line(record) for record in records) or "no activity"


def _event_line(event: dict) -> str:
    resource = event.get("resource") or {}
    name = resource.get("userName") or resource.get("displayName") or ""
    member = event.get("member")
    if member:
        name = (f"{member.get('group_displayName') or member.get('group_id')} <- "
                f"{member.get('user_userName') or member.get('user_id')}")
    changed = event.get("changed_attributes") or []
    return (f"{event.get('occurred_at', '')}  {event.get('type', '')}  {resource.get('type', '')} "
            f"{resource.get('id', '')}  {name}" + (f"  ({', '.join(changed)})" if changed else "")).rstrip()


def _events_page(api: Api, idp: str, after: str | None, limit: int) -> dict:
    query = {"limit": str(min(limit, PAGE_SIZE_EVENTS)), **({"after": after} if after else {})}
    page = api.json("GET", _path("idps", idp, "events"), query=query)
    return {"events": list(page.get("events") or []), "next": page.get("next") or after}


def show_events(api: Api, args: argparse.Namespace, out: Any = None,
                sleep: Callable[[float], None] = time.sleep) -> Result | None:
    """The IdP's events after --after, oldest first: up to --limit of them; with --follow, printed as they come
    (each page a JSON line with --json) until --timeout or Ctrl-C."""
    if not args.follow:
        found: list[dict] = []
        cursor = args.after
        while len(found) < args.limit:
            page = _events_page(api, args.idp, cursor, args.limit - len(found))
            if not page["events"]:
                break
            found += page["events"]
            cursor = page["next"]
        text = "\n".join(_event_line(event) for event in found) or "no events"
        if cursor:
            _progress(f"to read on from here: --after {cursor}")
        return {"events": found, "next": cursor}, text
    out = out or sys.stdout
    deadline = time.monotonic() + args.timeout if args.timeout else None
    cursor = args.after
    _progress(f"following the events of IdP {args.idp} (Ctrl-C to stop)")
    while deadline is None or time.monotonic() < deadline:
        page = _events_page(api, args.idp, cursor, PAGE_SIZE_EVENTS)
        if page["events"]:
            if args.json:
                print(json.dumps(page), file=out, flush=True)
            else:
                print("\n".join(_event_line(event) for event in page["events"]), file=out, flush=True)
            cursor = page["next"]
            continue
        wait = FOLLOW_INTERVAL_SECONDS if deadline is None else min(FOLLOW_INTERVAL_SECONDS,
                                                                    max(deadline - time.monotonic(), 0))
        sleep(wait)
    if cursor:
        _progress(f"to read on from here: --after {cursor}")
    return None


class _Output:
    """Where an export goes: stdout, or a file written beside its final name and moved there once complete
    (readable by its owner only: it holds people's data)."""

    def __init__(self, path: Path | None):
        import codecs

        self.path = path
        self.bytes = 0
        self.lines = 0
        self._temporary: Path | None = None
        self._text = None  # a decoder, when stdout takes text only
        if path is None:
            sys.stdout.flush()
            self._stream: Any = getattr(sys.stdout, "buffer", None)
            if self._stream is None:
                self._stream, self._text = sys.stdout, codecs.getincrementaldecoder("utf-8")()
        else:
            self._temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
            try:
                descriptor = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as error:
                raise Failure(f"cannot write {path}: {_reason(error)}") from None
            self._stream = os.fdopen(descriptor, "wb")

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        self.lines += data.count(b"\n")
        self._stream.write(self._text.decode(data) if self._text else data)

    def commit(self) -> None:
        self._stream.flush()
        if self._temporary is not None:
            self._stream.close()
            os.replace(self._temporary, self.path)
            self._temporary = None

    def discard(self) -> None:
        if self._temporary is not None:
            self._stream.close()
            self._temporary.unlink(missing_ok=True)
            self._temporary = None


def export(api: Api, args: argparse.Namespace, sleep: Callable[[float], None] = time.sleep) -> Result:
    if args.json and args.output is None:
        raise Failure("export --json prints a summary, so it needs --output FILE for the JSON Lines", status=2)
    deadline = time.monotonic() + args.timeout
    output = _Output(args.output)
    try:
        summary = _export(api, args, output, deadline, sleep)
        output.commit()
    except BaseException:
        output.discard()
        raise
    summary.update(bytes=output.bytes, lines=output.lines, output=str(args.output) if args.output else None)
    counts = summary["counts"]
    text = (f"Exported IdP {args.idp}: {counts['users']} user(s), {counts['groups']} group(s), "
            f"{counts['memberships']} membership(s); {output.lines} line(s), {output.bytes} bytes")
    if args.output is None:
        _progress(text[0].lower() + text[1:])
        return summary, ""
    return summary, f"{text}, in {args.output}"


def _export(api: Api, args: argparse.Namespace, output: _Output, deadline: float,
            sleep: Callable[[float], None]) -> dict:
    export_id = args.export_id
    if export_id is None and not args.background:
        try:
            _, body = api.request("GET", _path("idps", args.idp, "export"), accept=NDJSON,
                                  timeout=_remaining(deadline, "the export"))
        except ApiError as error:
            if error.code != "export_too_large":
                raise
            _progress("the export is larger than one response: exporting in the background")
        else:
            output.write(body)
            return {"idp_id": args.idp, "export_id": None, "counts": _counts(body)}
    if export_id is None:
        started = api.json("POST", _path("idps", args.idp, "exports"))
        export_id = started["export_id"]
        _progress(f"export {export_id} started; waiting for it (at most {args.timeout:g} s)")
    found = _ready(api, args, export_id, deadline, sleep)
    counts = found.get("counts") or {"users": 0, "groups": 0, "memberships": 0}
    _progress(f"export {export_id} is ready ({counts['users']} user(s), {counts['groups']} group(s), "
              f"{counts['memberships']} membership(s), {found.get('bytes', 0)} bytes); downloading it")
    _download(found["url"], output, _remaining(deadline, f"export {export_id}"))
    if found.get("bytes") is not None and output.bytes != found["bytes"]:
        raise Failure(f"the download of export {export_id} ended after {output.bytes} of {found['bytes']} bytes")
    return {"idp_id": args.idp, "export_id": export_id, "counts": counts}


def _ready(api: Api, args: argparse.Namespace, export_id: str, deadline: float,
           sleep: Callable[[float], None]) -> dict:
    """The export once it is ready (or a Failure when it failed, or is not ready by the deadline)."""
    started, told, delay = time.monotonic(), time.monotonic(), 0.25
    while True:
        found = api.json("GET", _path("idps", args.idp, "exports", export_id), timeout=_poll_timeout(deadline))
        if found.get("state") == "ready":
            if not found.get("url"):
                raise Failure(f"export {export_id} is ready but the management API gave no URL to download it")
            return found
        if found.get("state") == "failed":
            raise Failure(f"export {export_id} of IdP {args.idp} failed (the admin function's log says why); "
                          "start another")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failure(f"export {export_id} is still running after {args.timeout:g} s; download it later with "
                          f"`{PROG} export --idp {args.idp} --export-id {export_id}`")
        if time.monotonic() - told >= 5:
            _progress(f"export {export_id} still running ({time.monotonic() - started:.0f} s)")
            told = time.monotonic()
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, 2.0)


def _poll_timeout(deadline: float) -> float:
    """A poll's request may end a moment after the deadline: the poll after it tells the timeout."""
    return min(REQUEST_TIMEOUT_SECONDS, max(deadline - time.monotonic(), 1.0))


def _remaining(deadline: float, what: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Failure(f"{what} took longer than the timeout (--timeout)")
    return min(remaining, REQUEST_TIMEOUT_SECONDS)


def _download(url: str, output: _Output, timeout: float) -> None:
    """The pre-signed URL's object into `output` (never shown: the URL is a credential for its lifetime)."""
    try:
        with _opener(url).open(urllib.request.Request(url, headers={"User-Agent": USER_AGENT}),
                               timeout=max(timeout, 1)) as response:
            while chunk := response.read(1 << 20):
                output.write(chunk)
    except urllib.error.HTTPError as error:
        raise Failure(f"cannot download the export: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise Failure(f"cannot download the export: {_reason(error.reason)}") from None
    except (TimeoutError, socket.timeout):
        raise Failure("the download of the export took longer than the timeout (--timeout)") from None
    except (ConnectionError, HTTPException, OSError) as error:
        raise Failure(f"cannot download the export: {_reason(error)}") from None


def _counts(body: bytes) -> dict[str, int]:
    counts = {"users": 0, "groups": 0, "memberships": 0}
    names = {"User": "users", "Group": "groups", "Membership": "memberships"}
    for line in body.splitlines():
        if line.strip():
            try:
                kind = json.loads(line).get("kind")
            except (ValueError, AttributeError):
                continue
            if kind in names:
                counts[names[kind]] += 1
    return counts


API_COMMANDS: dict[str, Callable[..., Result]] = {
    "create-idp": create_idp, "list-idps": list_idps, "show-idp": show_idp, "update-idp": update_idp,
    "delete-idp": delete_idp, "create-key": create_key, "list-keys": list_keys, "revoke-key": revoke_key,
    "create-client": create_client, "list-clients": list_clients, "revoke-client": revoke_client,
    "export": export, "activity": show_activity, "allow-networks": allow_networks, "events": show_events,
    "set-extension": set_extension, "list-extensions": list_extensions, "delete-extension": delete_extension,
}


# -- the maintenance commands (the table and queues, directly) -------------------------------------------------------


def _store(target: Target, command: str = "migrate-guards") -> Any:
    from scim_endpoint.store import DynamoStore

    if not target.table_name or target.client is None:
        raise Failure(f"{command} needs --stack NAME or --local (it works on the table directly)", status=2)
    return DynamoStore.over(target.client("dynamodb"), target.table_name)


def migrate_guards(target: Target, args: argparse.Namespace) -> tuple[Any, str, int]:
    from .migrate import migrate

    result = migrate(_store(target))
    text = (f"Examined {result.examined} resource(s); moved the guards of {result.moved}"
            + (f"; {len(result.conflicts)} hold a name another resource now holds: " + ", ".join(result.conflicts)
               if result.conflicts else ""))
    return result.as_dict(), text, 1 if result.conflicts else 0


def upgrade(target: Target, args: argparse.Namespace) -> tuple[Any, str, int]:
    """Everything a stack's data needs after an upgrade, once: every IdP made before the registry gets its registry
    item (so the management API lists it), and every resource's guards move to the current keys."""
    from scim_endpoint.tenants import TenantDirectory

    from .migrate import adopt_idps, migrate

    store = _store(target, "upgrade")
    if not target.secrets_prefix:
        raise Failure("upgrade needs --stack NAME or --local (the IdPs' secrets)", status=2)
    adopted = adopt_idps(store, TenantDirectory(target.client("secretsmanager"), target.secrets_prefix))
    guards = migrate(store)
    text = (f"Adopted {len(adopted)} IdP(s) made before the registry; examined {guards.examined} resource(s), moved "
            f"the guards of {guards.moved}"
            + (f"; {len(guards.conflicts)} hold a name another resource now holds: " + ", ".join(guards.conflicts)
               if guards.conflicts else ""))
    return {"adopted": adopted, "guards": guards.as_dict()}, text, 1 if guards.conflicts else 0


def redrive_cleanup(target: Target, args: argparse.Namespace) -> tuple[Any, str, int]:
    from scim_endpoint.store import DynamoStore

    from .redrive import redrive

    if not (target.table_name and target.dead_letter_queue_url and target.client is not None):
        raise Failure("redrive-cleanup needs --stack NAME or --local (the table and its dead-letter queue)", status=2)
    store = DynamoStore.over(target.client("dynamodb"), target.table_name)
    result = redrive(target.client("sqs"), target.client("dynamodbstreams"), store, target.dead_letter_queue_url,
                     timeout=args.timeout, progress=_progress, sweep=args.sweep)
    text = (f"Replayed {result.batches} failed batch(es), {result.records} stream record(s); "
            f"{result.memberships_deleted} membership(s) deleted"
            + ("; the table was swept (some records had left the stream)" if result.swept else "")
            + (f"; {len(result.left)} batch(es) failed again and stay on the queue" if result.left else ""))
    return result.as_dict(), text, 1 if result.left else 0


def redrive_events(target: Target, args: argparse.Namespace) -> tuple[Any, str, int]:
    from scim_endpoint.config import Settings
    from scim_endpoint.event_bus import EventBus
    from scim_endpoint.events.models import SOURCE
    from scim_endpoint.jobs import DeadLetters
    from scim_endpoint.management import Services
    from scim_endpoint.store.feed import DynamoFeedStore

    from .redrive import redrive_events as replay

    if not (target.table_name and target.events_dead_letter_queue_url and target.event_bus_name
            and target.event_retention_days and target.api_base_url and target.client is not None):
        raise Failure("redrive-events needs --stack NAME (a stack deployed with this version's events outputs) or "
                      "--local (the table, the bus and its dead-letter queue)", status=2)
    settings = Settings(table_name=target.table_name, secrets_prefix=target.secrets_prefix or "-",
                        public_base_url=target.api_base_url, event_retention_days=target.event_retention_days)
    store = _store(target, "redrive-events")
    # A feed event's position is the time it is written: by AWS's clock, not this computer's (which may be off, and
    # would then write behind what readers have passed).
    offset = _clock_offset(target.client("dynamodb"), target.table_name)
    store = dataclasses.replace(store, feed=DynamoFeedStore(store.table, clock=lambda: time.time() + offset))
    services = Services(store, None, settings)
    # Set before first use, in place of the functions' own (built from their environment).
    services.event_bus = EventBus(target.client("events"), target.event_bus_name, SOURCE)
    services.events_dead_letters = DeadLetters(target.client("sqs"), target.events_dead_letter_queue_url)
    result = replay(target.client("sqs"), target.client("dynamodbstreams"), services,
                    target.events_dead_letter_queue_url, timeout=args.timeout, progress=_progress)
    text = (f"Published {result.published} dead-lettered event(s) again; replayed {result.batches} failed batch(es), "
            f"{result.records} stream record(s)"
            + (f"; {result.expired} batch(es) had left the stream: their changes have no event (an export shows "
               f"the current state)" if result.expired else "")
            + (f"; {len(result.left)} message(s) failed again and stay on the queue" if result.left else ""))
    return result.as_dict(), text, 1 if result.left else 0


def _clock_offset(dynamodb: Any, table_name: str) -> float:
    """How far AWS's clock is ahead of this computer's, from the Date of a DynamoDB answer (to the second: the
    middle of that second, less half the round trip)."""
    from email.utils import parsedate_to_datetime

    sent = time.time()
    answer = dynamodb.describe_table(TableName=table_name)
    received = time.time()
    date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not date:
        return 0.0
    offset = parsedate_to_datetime(date).timestamp() + 0.5 - (sent + received) / 2
    return offset if abs(offset) > 1.0 else 0.0  # within the header's precision: trust this clock


MAINTENANCE_COMMANDS = {"migrate-guards": migrate_guards, "redrive-cleanup": redrive_cleanup, "upgrade": upgrade,
                        "redrive-events": redrive_events}


# -- the command line ------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line (and status 2) instead of the usage and an exit."""

    def error(self, message: str) -> Any:
        raise Failure(f"{message} (see `{self.prog} --help`)", status=2)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}")
    return port


def _idp_id(text: str) -> str:
    from scim_endpoint.scope import is_idp_id

    if not is_idp_id(text):
        raise argparse.ArgumentTypeError(
            f"not an IdP ID: {text!r} (an IdP ID is 1-64 letters, digits, '-' or '_', starting with a letter or digit)")
    return text


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value != value or value < 0:
            raise argparse.ArgumentTypeError(f"not a number of 0 or more: {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                  allow_abbrev=False)
    where = top.add_mutually_exclusive_group()
    where.add_argument("--stack", metavar="NAME", help="a deployed stack's name (its outputs name the API)")
    where.add_argument("--local", nargs="?", type=_port, const=DEFAULT_LOCAL_PORT, metavar="PORT",
                       help=f"the running local server (`make run`), on PORT (default {DEFAULT_LOCAL_PORT})")
    top.add_argument("--region", help="the stack's AWS region (default: your AWS configuration's)")
    top.add_argument("--json", action="store_true", help="print one JSON document, for scripts (also after the "
                                                         "command)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON, for scripts")
        return sub

    def idp(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--idp", required=True, type=_idp_id, metavar="IDP_ID", help="the IdP ID")

    create = command("create-idp", "create an IdP; prints its IdP ID and Tenant URL")
    create.add_argument("--name", required=True)
    create.add_argument("--description")
    create.add_argument("--id", dest="idp_id", type=_idp_id, metavar="IDP_ID",
                        help="choose the IdP ID (default: a random UUID); an ID is never reused")

    command("list-idps", "list the IdPs (all pages)")

    show = command("show-idp", "show an IdP (while it is being deleted: how far its erasure is)")
    idp(show)

    update = command("update-idp", "rename an IdP, or change its description")
    idp(update)
    update.add_argument("--name")
    update.add_argument("--description")

    delete = command("delete-idp", "delete an IdP: its keys stop at once, its data is erased in the background")
    idp(delete)
    delete.add_argument("--wait", action="store_true", help="wait until its data is erased (progress on stderr)")
    delete.add_argument("--timeout", type=_positive(float), default=600, metavar="SECONDS",
                        help="with --wait: give up after this many seconds (default 600)")

    create_key_command = command("create-key", "create an API key; prints its Secret Token, this once")
    idp(create_key_command)
    create_key_command.add_argument("--name", required=True)
    create_key_command.add_argument("--description")
    create_key_command.add_argument("--privilege", action="append", required=True, choices=PRIVILEGES,
                                    metavar="PRIVILEGE",
                                    help=f"repeatable; one of {', '.join(PRIVILEGES)} (write implies read)")
    create_key_command.add_argument("--expires-at", metavar="ISO8601",
                                    help="from then on the key is refused, e.g. 2027-01-01T00:00:00Z (with an offset)")

    keys = command("list-keys", "list an IdP's keys (never their secrets)")
    idp(keys)

    revoke = command("revoke-key", "revoke a key: it is refused from the next request on")
    idp(revoke)
    revoke.add_argument("--key", required=True, metavar="KEY_ID")

    create_client_command = command("create-client", "create an OAuth client (client credentials); prints its "
                                                     "client secret, this once")
    idp(create_client_command)
    create_client_command.add_argument("--name", required=True)
    create_client_command.add_argument("--description")
    create_client_command.add_argument("--privilege", action="append", required=True, choices=PRIVILEGES,
                                       metavar="PRIVILEGE",
                                       help=f"repeatable; one of {', '.join(PRIVILEGES)} (write implies read): what "
                                            "its tokens may be granted")
    create_client_command.add_argument("--expires-at", metavar="ISO8601",
                                       help="from then on the client gets no token, and its tokens are refused, "
                                            "e.g. 2027-01-01T00:00:00Z (with an offset)")

    clients = command("list-clients", "list an IdP's OAuth clients (never their secrets)")
    idp(clients)

    revoke_client_command = command("revoke-client", "revoke an OAuth client: it gets no token, and its tokens are "
                                                     "refused, from the next request on")
    idp(revoke_client_command)
    revoke_client_command.add_argument("--client", required=True, metavar="CLIENT_ID")

    exported = command("export", "an IdP's users, groups and memberships as JSON Lines (large ones through a "
                                 "background export)")
    idp(exported)
    exported.add_argument("--output", type=Path, metavar="FILE", help="write it to FILE (default: stdout)")
    exported.add_argument("--timeout", type=_positive(float), default=900, metavar="SECONDS",
                          help="give up after this many seconds (default 900)")
    exported.add_argument("--background", action="store_true",
                          help="skip the inline export: always export in the background and download the file "
                               "(what a tenant too large for one response gets anyway)")
    exported.add_argument("--export-id", metavar="EXPORT_ID",
                          help="wait for (and download) this background export, started earlier")

    shown = command("activity", "an IdP's recent activity: the changes asked through SCIM (by which key, how they "
                                "ended) and the management actions")
    idp(shown)
    shown.add_argument("--hours", type=_positive(float), default=24, help="how far back (default 24)")
    shown.add_argument("--limit", type=_positive(int), default=50, help="at most this many, newest first (default 50)")
    shown.add_argument("--timeout", type=_positive(float), default=60, metavar="SECONDS",
                       help="give up after this many seconds (default 60)")

    followed = command("events", "an IdP's change events, oldest first (JSON: {events, next}; pass next as --after to "
                                 "read on)")
    idp(followed)
    followed.add_argument("--after", metavar="CURSOR", help="only the events after this cursor (a `next` printed "
                                                             "earlier); default: the oldest kept")
    followed.add_argument("--limit", type=_positive(int), default=1000, help="at most this many (default 1000)")
    followed.add_argument("--follow", action="store_true", help="keep printing new events as they come (Ctrl-C to "
                                                                 "stop); with --json one JSON object per page")
    followed.add_argument("--timeout", type=_positive(float), default=0, metavar="SECONDS",
                          help="with --follow: stop after this many seconds (default: never)")

    networks = command("allow-networks", "accept an IdP's requests only from these source networks (e.g. Entra's "
                                         "provisioning ranges); --any: from anywhere")
    idp(networks)
    chosen = networks.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--network", action="append", metavar="CIDR",
                        help="repeatable, e.g. 20.190.128.0/18")
    chosen.add_argument("--networks-file", type=Path, metavar="FILE",
                        help="the networks, one per line, # for comments (e.g. Entra's published ranges: "
                             "docs/security.md); a file naming none is refused")
    chosen.add_argument("--any", action="store_true", help="no allow-list: any address (the default)")

    force_help = ("also when stored resources hold values the change drops (they are no longer served, and are "
                  "dropped as each resource is next written: docs/extensions.md)")
    declared = command("set-extension", "create or replace one of an IdP's schema extensions (custom attributes), "
                                        "declared in a JSON file in the SCIM schema language (docs/extensions.md)")
    idp(declared)
    declared.add_argument("--file", required=True, type=Path, metavar="FILE",
                          help='{"resourceType": "User", "required": false, "schema": {"id": URN, ...}}')
    declared.add_argument("--force", action="store_true", help=force_help)

    listed = command("list-extensions", "list an IdP's schema extensions, as declared")
    idp(listed)

    dropped = command("delete-extension", "delete one of an IdP's schema extensions")
    idp(dropped)
    dropped.add_argument("--schema", required=True, metavar="URN", help="the extension's URN")
    dropped.add_argument("--force", action="store_true", help=force_help)

    command("migrate-guards", "move the uniqueness guards of resources an earlier version wrote to the keys this "
                              "version makes (the table, directly)")
    command("upgrade", "once after an upgrade: adopt the IdPs made before the registry, and move every resource's "
                       "uniqueness guards (the table and secrets, directly)")

    redrive = command("redrive-cleanup", "replay the stream batches the cleanup could not handle (its dead-letter "
                                         "queue); sweep if they expired (the table and queue, directly)")
    redrive.add_argument("--timeout", type=float, default=300, help="stop after this many seconds (default 300)")
    redrive.add_argument("--sweep", action="store_true", help="then sweep the whole table for memberships whose "
                                                               "user or group is gone, whatever the queue held")

    again = command("redrive-events", "publish again the events EventBridge kept refusing, and replay the stream "
                                      "batches the events consumer kept failing (its dead-letter queue, directly)")
    again.add_argument("--timeout", type=float, default=300, help="stop after this many seconds (default 300)")
    return top


def _normalize(argv: list[str]) -> list[str]:
    """`--local` not followed by a port means the default port, also when the command follows it at once."""
    out = []
    for index, arg in enumerate(argv):
        if arg == "--":
            return out + argv[index:]
        if arg == "--local" and (index + 1 >= len(argv) or not argv[index + 1].isdigit()):
            out.append(f"--local={DEFAULT_LOCAL_PORT}")
        else:
            out.append(arg)
    return out


def target_of(args: argparse.Namespace) -> Target:
    if args.local is not None:
        return local_target(args.local)
    if args.stack:
        return stack_target(args.stack, args.region)
    return env_target(args.region)


@contextlib.contextmanager
def _quiet_consumers() -> Iterator[None]:
    """The stream consumers' own log lines (a maintenance command runs them) are for CloudWatch, not this terminal;
    the logger's level is put back after (scim-admin also runs in-process, in tests)."""
    from scim_endpoint.observability import logger

    level = logger.log_level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def run(args: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    target = target_of(args)
    if args.command in MAINTENANCE_COMMANDS:
        with _quiet_consumers():
            data, text, status = MAINTENANCE_COMMANDS[args.command](target, args)
    else:
        shown = API_COMMANDS[args.command](target.api(), args)
        if shown is None:  # it printed as it went (events --follow)
            return 0
        data, text = shown
        status = 0
    if args.json:
        print(json.dumps(data, indent=2), file=out)
    elif text:
        print(text, file=out)
    return status


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(_normalize(argv))
        status = run(args)
        sys.stdout.flush()  # here, where a reader that went away (`| head`) is handled
        return status
    except Failure as failure:
        print(f"{PROG}: {failure.message}", file=sys.stderr)
        return failure.status
    except ClientError as error:
        detail = error.response.get("Error", {})
        print(f"{PROG}: {_sentence(detail.get('Message', str(error)))} ({detail.get('Code', 'error')})",
              file=sys.stderr)
    except BotoCoreError as error:
        print(f"{PROG}: {_one_line(error)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): nothing more to say, and nowhere to say it.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
    except SystemExit as leaving:  # --help
        return leaving.code if isinstance(leaving.code, int) else 0
    except Exception as error:  # a bug of this tool: still one line, never a traceback
        print(f"{PROG}: unexpected error: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
