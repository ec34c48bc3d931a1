"""Shared fixtures: AWS emulated in-process by moto, tenants made through the admin side, a `call` helper that
sends a request through the real Lambda handlers as API Gateway would (the routes come from template.yaml), and the
Users and Groups endpoints of a tenant through it (tests/support.py)."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import secrets
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from tests.support import Groups, Users

# Lambda gives a function its environment before the first import; Powertools reads these when the shared
# Logger, Tracer and Metrics are created (at import of scim_endpoint.observability, possibly during collection).
POWERTOOLS_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": "ScimEndpoint",
}
for _name, _value in POWERTOOLS_ENV.items():
    os.environ.setdefault(_name, _value)

TABLE_NAME = "scim-test"
SECRETS_PREFIX = "scim/test/idp/"
JOBS_QUEUE = "scim-test-jobs"
EVENT_BUS = "scim-test-provisioning"
EVENTS_DEAD_LETTERS = "scim-test-events-dead-letters"
SIGNING_SECRET = "scim/test/token-signing-key"
EXPORT_BUCKET = "scim-test-exports"
REGION = "us-east-1"
HOST = "scim.test"
ALL_PRIVILEGES = ["users:write", "groups:write"]

# Variables of the developer's shell that would send boto3 elsewhere or change the code's settings.
_FOREIGN_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETSMANAGER",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "SECRETS_CACHE_TTL_SECONDS",
    "SECRETS_MISS_REFRESH_SECONDS",
    "PUBLIC_BASE_URL",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "POWERTOOLS_DEV",
)


def clear_process_caches() -> None:
    """What a fresh Lambda container starts without: settings, the key cache, the clients and what they serve."""
    from scim_endpoint import activity_log, config, event_bus, export_bucket, jobs, management, resources, store, tenants
    from scim_endpoint.management import access

    config.settings.cache_clear()
    tenants.key_cache.cache_clear()
    tenants.signing_keys.cache_clear()
    store.store.cache_clear()
    resources.clear()
    management.services.cache_clear()
    access.key_uses.cache_clear()
    jobs.job_queue.cache_clear()
    jobs.events_dead_letters.cache_clear()
    event_bus.event_bus.cache_clear()
    export_bucket.export_bucket.cache_clear()
    activity_log.use(None)


_loader = None


def _share_botocore_loader() -> None:
    """moto gives every test a fresh boto3 default session, which would parse the services' JSON models again for
    each client; a session sharing one loader keeps them parsed (a speed-up only: the clients are the same)."""
    global _loader
    import boto3
    import botocore.session

    session = botocore.session.get_session()
    if _loader is None:
        _loader = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _loader)
    boto3.setup_default_session(botocore_session=session)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call of the test, the functions' environment, and the template's table."""
    import boto3
    from moto import mock_aws

    from devtools.local import containers, moto_speed
    from devtools.local.template import table_definition
    from scim_endpoint.observability import metrics

    moto_speed.install()  # as the local server does: transactions copy only the items they touch
    containers.isolate()  # as the local server does: containers as threads of one process keep their requests apart

    for name in _FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("SECRETS_PREFIX", SECRETS_PREFIX)
    # Where clients reach the API: the Tenant URLs (and every meta.location) are built from it, never from a request.
    monkeypatch.setenv("PUBLIC_BASE_URL", f"https://{HOST}")
    monkeypatch.setenv("INDEX_SETTLE_SECONDS", "0")  # as the local server: moto's index is consistent
    for name, value in POWERTOOLS_ENV.items():
        monkeypatch.setenv(name, value)
    clear_process_caches()
    try:
        with mock_aws():
            _share_botocore_loader()
            boto3.client("dynamodb", region_name=REGION).create_table(TableName=TABLE_NAME, **table_definition())
            # The management side's queue and bucket, as the template makes them; an erasure need not wait here.
            queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName=JOBS_QUEUE)["QueueUrl"]
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=EXPORT_BUCKET)
            monkeypatch.setenv("JOBS_QUEUE_URL", queue)
            monkeypatch.setenv("EXPORT_BUCKET", EXPORT_BUCKET)
            boto3.client("events", region_name=REGION).create_event_bus(Name=EVENT_BUS)
            dead = boto3.client("sqs", region_name=REGION).create_queue(QueueName=EVENTS_DEAD_LETTERS)["QueueUrl"]
            monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS)
            monkeypatch.setenv("EVENTS_DEAD_LETTER_QUEUE_URL", dead)
            monkeypatch.setenv("ERASURE_GRACE_SECONDS", "0")
            signing = boto3.client("secretsmanager", region_name=REGION).create_secret(
                Name=SIGNING_SECRET, SecretString=json.dumps({"kid": "1", "key": secrets.token_urlsafe(48)}))
            monkeypatch.setenv("TOKEN_SIGNING_SECRET", signing["ARN"])
            yield
    finally:
        clear_process_caches()
        metrics.clear_metrics()


class Tenant(NamedTuple):
    """An IdP and one of its keys: unpacks as (idp id, token, key id)."""

    idp_id: str
    token: str
    key_id: str

    @property
    def base(self) -> str:
        """The path of the Tenant URL."""
        return f"/v1/scim/{self.idp_id}"

    @property
    def url(self) -> str:
        """The Tenant URL as the `call` helper's requests see it (for `meta.location`)."""
        return f"https://{HOST}{self.base}"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS configuration or target of the developer's shell: only what the test sets (for scim-admin, which
    finds its target and credentials there)."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("SCIM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def directory(aws: None):
    """The admin side, through the management use cases (what the management API and `scim-admin` do)."""
    from tests.support import ManagementDirectory

    return ManagementDirectory()


@pytest.fixture
def make_tenant(directory) -> Callable[..., Tenant]:
    """A new IdP with one key holding `privileges` (all of them by default)."""

    def make(privileges: list[str] | None = None, name: str = "Contoso Entra") -> Tenant:
        idp = directory.create_idp(name)
        key, token = directory.create_key(idp.id, "Entra provisioning", "test key", privileges or ALL_PRIVILEGES)
        return Tenant(idp.id, token, key.id)

    return make


@pytest.fixture
def tenant(make_tenant) -> Tenant:
    return make_tenant()


@pytest.fixture
def add_key(directory) -> Callable[..., tuple[str, str]]:
    """Another key for an existing IdP: returns (key id, token)."""

    def add(idp_id: str, privileges: list[str]) -> tuple[str, str]:
        key, token = directory.create_key(idp_id, "extra", "test key", privileges)
        return key.id, token

    return add


# --- invoking the handlers -------------------------------------------------------------------------------------


_handlers: dict[tuple[Path, str], Callable[[dict, Any], dict]] = {}


def load_handler(code_dir: Path, handler: str) -> Callable[[dict, Any], dict]:
    """The function's handler, its module imported once per session under a name of its own (every function's
    module is `app.py`, so they cannot share the name `app`)."""
    cached = _handlers.get((code_dir, handler))
    if cached is None:
        module_name, function_name = handler.rsplit(".", 1)
        name = f"_test_function_{code_dir.name}_{module_name}"
        spec = importlib.util.spec_from_file_location(name, code_dir / f"{module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        cached = _handlers[(code_dir, handler)] = getattr(module, function_name)
    return cached


class Result(tuple):
    """(status, headers with lower-case names, parsed JSON body or None); `.event` is the event that was sent."""

    event: dict

    def __new__(cls, status: int, headers: dict[str, str], body: Any, event: dict) -> Result:
        result = super().__new__(cls, (status, headers, body))
        result.event = event
        return result

    @property
    def status(self) -> int:
        return self[0]

    @property
    def headers(self) -> dict[str, str]:
        return self[1]

    @property
    def body(self) -> Any:
        return self[2]


def response_headers(result: dict) -> dict[str, str]:
    headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(values)
    return headers


@pytest.fixture
def call(aws: None) -> Callable[..., Result]:
    """call(method, "/v1/scim/<idp>/Users?filter=...", headers=None, body=None, token=None, stage=None,
    source_ip="127.0.0.1").

    Matches the path against template.yaml's routes and builds the API Gateway REST event as the local server
    does (query string split and percent-decoded, `+` left alone). `token` adds `Authorization: Bearer <token>`.
    `stage` makes the event look as API Gateway's default endpoint sends it: `requestContext.path` starts with
    `/<stage>`.
    """
    from devtools.local.events import build_event, match_route
    from devtools.local.server import LambdaContext
    from devtools.local.template import routes

    known_routes = routes()

    def invoke(
        method: str,
        target: str,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: Any = None,
        *,
        token: str | None = None,
        stage: str | None = None,
        source_ip: str = "127.0.0.1",
    ) -> Result:
        parts = urlsplit(target)
        route, params, _ = match_route(known_routes, method, parts.path)
        assert route is not None, f"no route of template.yaml matches {method} {parts.path}"
        header_list = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if not any(name.lower() == "host" for name, _ in header_list):
            header_list.append(("Host", HOST))
        if token is not None:
            header_list.append(("Authorization", f"Bearer {token}"))
        raw_body = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        event = build_event(route, params, method, parts.path, parts.query, header_list, raw_body,
                            source_ip=source_ip)
        if stage is not None:
            event["requestContext"]["stage"] = stage
            event["requestContext"]["path"] = f"/{stage}{parts.path}"
        handler = load_handler(route.code_dir, route.handler)
        context = LambdaContext(route.function, event["requestContext"]["requestId"])
        result = handler(event, context)
        text = result.get("body")
        parsed = json.loads(text) if text else None
        return Result(int(result["statusCode"]), response_headers(result), parsed, event)

    return invoke


ADMIN_ARN = "arn:aws:iam::123456789012:role/product-backend"


@pytest.fixture
def admin(aws: None) -> Callable[..., Result]:
    """admin(method, "/admin/v1/idps", body=None, principal=ADMIN_ARN, headers=None): a management API request as
    API Gateway passes it on once its AWS_IAM authorizer verified the signature (`principal`: the IAM principal's
    ARN; None for a request that names none). The body is parsed JSON, or the text of a JSON Lines answer."""
    from devtools.local.events import build_event, match_route
    from devtools.local.server import LambdaContext
    from devtools.local.template import routes

    known_routes = routes()

    def invoke(method: str, target: str, body: Any = None, *, principal: str | None = ADMIN_ARN,
               headers: dict[str, str] | None = None) -> Result:
        parts = urlsplit(target)
        route, params, _ = match_route(known_routes, method, parts.path)
        assert route is not None and route.api == "AdminApi", f"no management route matches {method} {parts.path}"
        header_list = [("Host", "admin.test"), *(headers or {}).items()]
        raw_body = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if body is not None:
            header_list.append(("Content-Type", "application/json"))
        identity = {"userArn": principal, "accountId": "123456789012"} if principal else None
        event = build_event(route, params, method, parts.path, parts.query, header_list, raw_body, identity=identity)
        handler = load_handler(route.code_dir, route.handler)
        result = handler(event, LambdaContext(route.function, event["requestContext"]["requestId"]))
        text = result.get("body") or ""
        headers_out = response_headers(result)
        parsed = json.loads(text) if text and "json" in headers_out.get("content-type", "") and \
            "ndjson" not in headers_out.get("content-type", "") else (text or None)
        return Result(int(result["statusCode"]), headers_out, parsed, event)

    return invoke


def run_jobs(limit: int = 50) -> int:
    """What Lambda does with the jobs queue (moto's): each message to the jobs function, deleted once handled (a
    failed one stays, visible again at once). Returns how many messages were handled; stops at `limit`."""
    import boto3

    from devtools.local.server import LambdaContext
    from devtools.local.template import queue_consumers

    (consumer,) = [c for c in queue_consumers() if c.function == "JobsFunction"]
    handler = load_handler(consumer.code_dir, consumer.handler)
    sqs = boto3.client("sqs", region_name=REGION)
    url = os.environ["JOBS_QUEUE_URL"]
    handled = 0
    while handled < limit:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0).get("Messages", [])
        if not messages:
            return handled
        message = messages[0]
        answer = handler({"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                                       "body": message["Body"], "eventSource": "aws:sqs"}]},
                         LambdaContext("JobsFunction", message["MessageId"]))
        handled += 1
        if answer.get("batchItemFailures"):
            # The function asked for it again in a minute: here, at once.
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            raise JobFailed(message["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return handled


def LambdaContextFor(function: str):  # noqa: N802 - reads as the context it makes
    """A Lambda context for an invocation of `function`, as the local server makes them."""
    from devtools.local.server import LambdaContext

    return LambdaContext(function, str(uuid.uuid4()))


class JobFailed(Exception):
    """The jobs function reported the job failed (its message stays on the queue, as in AWS)."""


def new_guid() -> str:
    return str(uuid.uuid4())


# --- the endpoints of a tenant and the table under many writers ------------------------------------------------------


@pytest.fixture
def users(call, tenant: Tenant) -> Users:
    """The Users endpoint of `tenant`."""
    from tests.support import Users

    return Users(call, tenant)


@pytest.fixture
def groups(call, tenant: Tenant) -> Groups:
    """The Groups endpoint of `tenant`."""
    from tests.support import Groups

    return Groups(call, tenant)


@pytest.fixture
def fast_transactions(aws) -> Iterator[None]:
    """moto copies the whole table for every item of a transaction; its speed patch copies only what it writes (same
    semantics: tests/unit/test_moto_speed.py). For tests that write hundreds of items."""
    from devtools.local import moto_speed

    was = moto_speed.installed()
    assert moto_speed.install()
    try:
        yield
    finally:
        if not was:
            moto_speed.uninstall()


@pytest.fixture
def atomic_dynamodb(aws) -> Iterator[None]:
    """moto applies a transaction in steps on plain dicts; DynamoDB applies it at once. One call at a time restores
    that (as the local server does for its emulator), without ordering the handlers' own work."""
    from scim_endpoint import store

    client = store.store().table.client
    lock = threading.Lock()
    make_api_call = client._make_api_call

    def serialized(operation_name: str, api_params: dict) -> dict:
        with lock:
            return make_api_call(operation_name, api_params)

    client._make_api_call = serialized
    try:
        yield
    finally:
        del client._make_api_call


@pytest.fixture
def captured(capsys, caplog):
    """Everything the functions print and log: the Powertools handler's JSON lines (it writes to the stdout it found
    when it was created, so it is pointed at a buffer of ours for the test), anything else on stdout and stderr, and
    every log record of the `scim` logger at its configured level and of any other logger at INFO and above
    (Lambda's root logger stops at WARNING)."""
    caplog.set_level(logging.INFO)
    from scim_endpoint.observability import logger as scim_logger

    handler = scim_logger.registered_handler
    buffer = io.StringIO()
    previous, handler.stream = handler.stream, buffer

    class Capture:
        out = ""
        err = ""

        def text(self) -> str:
            out, err = capsys.readouterr()
            self.out += out
            self.err += err
            records = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.__dict__}" for r in caplog.records)
            return "\n".join([buffer.getvalue(), self.out, self.err, caplog.text, records])

        def lines(self) -> list[dict]:
            return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

        def handled(self) -> list[dict]:
            return [line for line in self.lines() if line.get("message") == "request handled"]

    try:
        yield Capture()
    finally:
        handler.stream = previous
