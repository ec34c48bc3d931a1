"""The embedded local server.

    scim-local [--port 3000] [--tenants 1] [--credentials-file creds.json]

Starts moto (DynamoDB and Secrets Manager) on a loopback port, creates the table from template.yaml, seeds IdPs
with an API key each, and serves the template's routes on 127.0.0.1:<port> by building API Gateway proxy events
and calling the real Lambda handlers; what API Gateway answers by itself comes from the template's gateway
responses. Stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import queue
import secrets
import signal
import sys
import threading
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

from . import containers, sigv4, template
from .events import build_event, match_route

STACK_NAME = "scim-local"
REGION = sigv4.REGION
# Like Lambda, each function runs in containers that serve one request at a time; concurrent requests get
# more containers, up to this many per function.
MAX_CONTAINERS = 8
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


def log_path(port: int) -> Path:
    """The functions' log lines of the server on this port (replaced at each start)."""
    return template.REPO_ROOT / f".local-server-{port}.log"


def _open_log(path: Path) -> Any:
    """The log file, readable by its owner alone from the moment it exists (it holds every tenant's provisioning
    activity). A file left by an earlier run is narrowed to 0600 before it is emptied and written to."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)  # the mode applies only to a new file
    os.fchmod(descriptor, 0o600)
    os.ftruncate(descriptor, 0)
    return os.fdopen(descriptor, "w", encoding="utf-8", buffering=1)


class _Tee:
    """A text stream writing to two streams."""

    def __init__(self, first: Any, second: Any):
        self._streams = (first, second)

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._streams[0], name)


def state_file(port: int) -> Path:
    """Where a running server tells `scim-admin --local PORT` how to reach its emulator."""
    return template.REPO_ROOT / f".local-server-{port}.json"


@dataclass
class LambdaContext:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Entra and test suites open many connections at once; the default backlog of 5 resets some of them.
    request_queue_size = 128


class _SerializedWsgi:
    """moto keeps its state in plain dicts; one call at a time keeps a transaction all-or-nothing to concurrent
    readers, as DynamoDB's are."""

    def __init__(self, app: Any):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self._lock:
            return list(self._app(environ, start_response))


class Emulator:
    """moto on a loopback port (any free one by default), reached by the handlers through AWS_ENDPOINT_URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from . import moto_speed

        moto_speed.install()  # transactions that copy only what they touch (moto_speed.py: why, and its tests)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access line per AWS call is noise
        app = _SerializedWsgi(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(host, port, app, threaded=True)
        self.port = self._server.server_port
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()


class Function:
    """One function of the template: a pool of containers, each a fresh import of its handler module."""

    def __init__(self, logical_id: str, code_dir: Path, handler: str):
        self.logical_id = logical_id
        self._code_dir = code_dir
        self._module_name, self._function_name = handler.rsplit(".", 1)
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()

    def _load(self, number: int) -> Any:
        path = self._code_dir / f"{self._module_name}.py"
        name = f"_local_{self.logical_id}_{number}"
        spec = importlib.util.spec_from_file_location(name, path)
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, self._function_name)

    def warm(self) -> None:
        """Start one container ahead of the first request, so it is not a cold start."""
        self._free.put(self._acquire())

    def invoke(self, event: dict, request_id: str | None = None) -> dict:
        handler = self._acquire()
        try:
            context = LambdaContext(self.logical_id, request_id or event["requestContext"]["requestId"])
            return handler(event, context)
        finally:
            self._free.put(handler)

    def _acquire(self) -> Any:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._count < MAX_CONTAINERS
            if grow:
                self._count += 1
                number = self._count
        return self._load(number) if grow else self._free.get()


class StreamPoller:
    """The part of Lambda that reads the table's stream and runs its consumers (template.yaml events of type
    DynamoDB), against moto's stream: so deleting a group locally cleans up its members as in AWS. As Lambda does, a
    batch whose function fails (or reports a failed record) is retried from the failed record, up to the event's
    MaximumRetryAttempts (at most LOCAL_RETRIES here, at once), then described on its dead-letter queue."""

    LOCAL_RETRIES = 2

    def __init__(self, table_name: str, consumers: list[template.StreamConsumer], queues: dict[str, str],
                 interval: float = 0.5):
        import boto3

        self._client = boto3.client("dynamodbstreams")
        self._sqs = boto3.client("sqs")
        self._queues = queues
        self._consumers = [(c, Function(c.function, c.code_dir, c.handler)) for c in consumers]
        self._stream_arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
        self._iterators: list[tuple[str, str]] = []  # (shard id, iterator)
        if self._stream_arn and self._consumers:
            for shard in self._client.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]:
                self._iterators.append((shard["ShardId"], self._client.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")["ShardIterator"]))
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream", daemon=True)

    def start(self) -> None:
        if self._iterators:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for index, (shard, iterator) in enumerate(self._iterators):
                try:
                    page = self._client.get_records(ShardIterator=iterator)
                except Exception:  # the emulator is stopping; the next round will tell
                    continue
                self._iterators[index] = (shard, page.get("NextShardIterator") or iterator)
                if page.get("Records"):
                    self._deliver(shard, page["Records"])

    def _deliver(self, shard: str, records: list[dict]) -> None:
        for consumer, function in self._consumers:
            taken = [r for r in records if consumer.takes(r)]
            for start in range(0, len(taken), consumer.batch_size):  # batches of the template's BatchSize
                wanted = taken[start : start + consumer.batch_size]
                for attempt in range(min(consumer.retries, self.LOCAL_RETRIES) + 1):
                    if not wanted:
                        break
                    wanted = self._unhandled(function, wanted)
                if wanted and consumer.dead_letter_queue in self._queues:
                    self._dead_letter(self._queues[consumer.dead_letter_queue], function.logical_id, shard, wanted)

    @staticmethod
    def _unhandled(function: Function, records: list[dict]) -> list[dict]:
        """The records still to handle after one invocation: from the first failed one on (all, if it raised)."""
        try:
            answer = function.invoke({"Records": records}, request_id=str(uuid.uuid4())) or {}
        except Exception:  # the consumer logs what failed
            return records
        failed = {f.get("itemIdentifier") for f in answer.get("batchItemFailures", [])}
        first = next((i for i, r in enumerate(records) if r["dynamodb"].get("SequenceNumber") in failed), None)
        return [] if first is None else records[first:]

    def _dead_letter(self, queue_url: str, function: str, shard: str, records: list[dict]) -> None:
        """What Lambda sends an on-failure destination for a stream batch: where the records are, not the records."""
        numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({
            "requestContext": {"functionArn": function, "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": self.LOCAL_RETRIES + 1},
            "version": "1.0",
            "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": numbers[0],
                                   "endSequenceNumber": numbers[-1], "batchSize": len(records),
                                   "streamArn": self._stream_arn},
        }))


class QueuePoller:
    """The part of Lambda that reads an SQS queue and runs its function (template.yaml events of type SQS), against
    moto's queue, one message at a time: a message the function handles is deleted; one it fails is received again
    a moment later (not after the queue's visibility timeout, which is sized for Lambda), and after the queue's
    maxReceiveCount moto moves it to the dead-letter queue."""

    RETRY_SECONDS = 1

    def __init__(self, consumers: list[template.QueueConsumer], queues: dict[str, str], interval: float = 0.2):
        import boto3

        self._sqs = boto3.client("sqs")
        self._consumers = [(queues[c.queue], Function(c.function, c.code_dir, c.handler)) for c in consumers]
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queues", daemon=True)

    def start(self) -> None:
        if self._consumers:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for queue_url, function in self._consumers:
                try:
                    messages = self._sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1,
                                                         AttributeNames=["All"]).get("Messages", [])
                except Exception:  # the emulator is stopping; the next round will tell
                    continue
                for message in messages:
                    self._deliver(queue_url, function, message)

    def _deliver(self, queue_url: str, function: Function, message: dict) -> None:
        record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                  "body": message["Body"], "attributes": message.get("Attributes", {}), "eventSource": "aws:sqs",
                  "eventSourceARN": queue_url, "awsRegion": REGION}
        try:
            answer = function.invoke({"Records": [record]}, request_id=str(uuid.uuid4())) or {}
            failed = bool(answer.get("batchItemFailures"))
        except Exception:  # the function logs what failed
            failed = True
        if failed:
            self._sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                VisibilityTimeout=self.RETRY_SECONDS)
        else:
            self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _scim_error(status: int, detail: str) -> tuple[int, dict[str, str], bytes]:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status), "detail": detail}
    return status, {"Content-Type": "application/scim+json"}, json.dumps(body).encode()


def _content_type(headers: list[tuple[str, str]]) -> str | None:
    return next((value for name, value in headers if name.lower() == "content-type"), None)


class LocalApi:
    """API Gateway's part: match the route, build the event, invoke the function, turn its answer into HTTP."""

    def __init__(self, routes: list[template.Route]):
        containers.isolate()  # several containers of a function run as threads of this process
        self.routes = routes
        functions: dict[str, Function] = {}
        for route in routes:
            if route.function not in functions:
                functions[route.function] = Function(route.function, route.code_dir, route.handler)
        self.functions = functions

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        parts = urlsplit(target)
        route, params, _ = match_route(self.routes, method, parts.path)
        api = route.api if route is not None else ("AdminApi" if parts.path.startswith("/admin/") else "ScimApi")
        if route is None:
            # API Gateway answers a path no route declares, and a declared path under a method no route declares,
            # alike: with its MISSING_AUTHENTICATION_TOKEN gateway response (the SCIM API makes it a SCIM 404).
            return template.gateway_response("MISSING_AUTHENTICATION_TOKEN", _content_type(headers), api=api)
        identity = None
        if route.iam:
            # The AWS_IAM authorizer: signed by the local server's own IAM identity, or refused as API Gateway does.
            host = next((value for name, value in headers if name.lower() == "host"), "localhost")
            verdict = sigv4.verify(method, sigv4.url_of(host, target), headers, body)
            if verdict.principal is None:
                return template.gateway_response(verdict.refusal, _content_type(headers), api=api)
            identity = {"userArn": verdict.principal, "accessKey": verdict.access_key,
                        "accountId": sigv4.LOCAL_ACCOUNT, "caller": verdict.access_key, "user": verdict.access_key}
        event = build_event(route, params, method, parts.path, parts.query, headers, body, identity=identity)
        result = self.functions[route.function].invoke(event)
        response_headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[name] = ", ".join(values)
        payload = result.get("body") or ""
        if result.get("isBase64Encoded"):
            import base64

            data = base64.b64decode(payload)
        else:
            data = payload.encode("utf-8")
        return int(result["statusCode"]), response_headers, data


def wsgi_app(api: LocalApi) -> Any:
    """The same front as a WSGI application, for in-process clients (the compliance suite in the tests)."""

    def application(environ: dict, start_response: Any) -> list[bytes]:
        target = quote(environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")
        if environ.get("QUERY_STRING"):
            target = f"{target}?{environ['QUERY_STRING']}"
        headers = [(key[5:].replace("_", "-").title(), value) for key, value in environ.items()
                   if key.startswith("HTTP_")]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", environ["CONTENT_TYPE"]))
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, response_headers, data = api.handle(environ["REQUEST_METHOD"], target, headers, body)
        start_response(f"{status} {HTTPStatus(status).phrase}", [*response_headers.items(),
                                                                  ("Content-Length", str(len(data)))])
        return [data]

    return application


def _request_handler(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "scim-local"
        # TCP_NODELAY on each accepted socket (StreamRequestHandler.setup): a response is never held back waiting
        # for the client's ACK of the previous one.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            lengths = self.headers.get_all("Content-Length") or []
            try:
                length = int(lengths[0]) if lengths else 0
            except ValueError:
                length = -1
            if length < 0 or len(set(lengths)) > 1 or self.headers.get("Transfer-Encoding"):
                # A body whose length cannot be known (API Gateway takes none of these): refused, and the connection
                # closed, as the rest of what was sent cannot be told from a next request.
                status, headers, data = _scim_error(400, "The request's Content-Length is not one number of bytes.")
                self.close_connection = True
            elif length > MAX_BODY_BYTES:
                # The body is left unread, so the connection cannot carry another request.
                status, headers, data = template.gateway_response(
                    "REQUEST_TOO_LARGE", self.headers.get("Content-Type"))
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = api.handle(self.command, self.path, list(self.headers.items()), body)
                except Exception:  # the handlers render their own errors; this is the front's last resort
                    status, headers, data = _scim_error(502, "The function failed to answer.")
            self._respond(status, headers, data)

        def _respond(self, status: int, headers: dict[str, str], data: bytes) -> None:
            """Status line, headers and body in one write. send_response/end_headers and then wfile.write(body)
            would be two small writes: with Nagle's algorithm the second waits for the client's ACK of the first,
            which a kept-alive client delays (delayed ACK, ~40 ms), so every request on that connection stalled."""
            phrase = self.responses.get(status, ("",))[0]  # as send_response: a code of no name gets none
            lines = [f"{self.protocol_version} {status} {phrase}",
                     f"Server: {self.version_string()}", f"Date: {self.date_time_string()}"]
            lines += [f"{name}: {value}" for name, value in headers.items()
                      if name.lower() not in ("content-length", "connection")]
            lines.append(f"Content-Length: {len(data)}")
            if self.close_connection:
                lines.append("Connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head if self.command == "HEAD" else head + data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """What the HTTP front refuses itself (an unknown method, headers too large, a malformed request line):
            a SCIM error as every other answer is, not Python's HTML page; the connection closes."""
            self.close_connection = True
            status, headers, data = _scim_error(code, message or self.responses.get(code, ("Error",))[0])
            self._respond(status, headers, data)

        def log_message(self, format: str, *args: Any) -> None:
            # The handlers log each request (without secrets); the access line here adds nothing.
            return

    return Handler


# What the functions' environment names of the stack's resources, locally (queue URLs are added once made).
LOCAL_RESOURCES = {"Table": STACK_NAME, "ExportBucket": f"{STACK_NAME}-exports", "EventBus": f"{STACK_NAME}-provisioning",
                   "TokenSigningSecret": f"scim/{STACK_NAME}/token-signing-key",
                   "UsersLogGroup": f"/aws/lambda/{STACK_NAME}/users", "GroupsLogGroup": f"/aws/lambda/{STACK_NAME}/groups",
                   "AdminLogGroup": f"/aws/lambda/{STACK_NAME}/admin"}


def configure_environment(endpoint_url: str, public_base_url: str,
                          queues: dict[str, str] | None = None) -> dict[str, str]:
    """The functions' environment as the template defines it (all functions' variables: they share this process),
    pointed at the emulator, with this server as the address clients reach the API at (the template's
    PublicBaseUrl, where it has one: every `meta.location` and every Tenant URL the management API hands out)."""
    resources = {**LOCAL_RESOURCES, **{name: queues.get(name, name) for name in template.queue_names()}} \
        if queues else {**LOCAL_RESOURCES, **{name: name for name in template.queue_names()}}
    env = template.function_environment({**resources, "AWS::StackName": STACK_NAME, "AWS::Region": REGION,
                                         "PublicBaseUrl": public_base_url}, functions=True)
    env.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        POWERTOOLS_TRACE_DISABLED="true",
        INDEX_SETTLE_SECONDS="0",  # moto's index is consistent: the cleanup need not wait for it
        # Requests here take milliseconds: an erasure waits a second, not a minute, before it reads the table.
        ERASURE_GRACE_SECONDS="1",
    )
    os.environ.update(env)
    from scim_endpoint import config

    config.settings.cache_clear()  # read again, with these
    return env


def create_resources() -> dict[str, str]:
    """The table, the queues (each dead-letter queue before the queue that redrives to it) and the export bucket of
    template.yaml, in the emulator; returns the queues' URLs by logical id."""
    import boto3

    from scim_endpoint.config import settings

    boto3.client("dynamodb").create_table(TableName=settings().table_name, **template.table_definition())
    sqs = boto3.client("sqs")
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    names = sorted(template.queue_names(), key=lambda name: "RedrivePolicy" in template.load()["Resources"][name].get(
        "Properties", {}))
    for name in names:
        urls[name] = sqs.create_queue(QueueName=f"{STACK_NAME}-{name}",
                                      Attributes=template.queue_attributes(name, arns))["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("s3").create_bucket(Bucket=LOCAL_RESOURCES["ExportBucket"])
    boto3.client("events").create_event_bus(Name=LOCAL_RESOURCES["EventBus"])
    # As CloudFormation makes it (GenerateSecretString): a random key, never one from the repository.
    boto3.client("secretsmanager").create_secret(Name=LOCAL_RESOURCES["TokenSigningSecret"], SecretString=json.dumps(
        {"kid": "1", "key": secrets.token_urlsafe(48)}))
    return urls


def seed(tenants: int, port: int) -> list[dict]:
    """IdPs with one key each, made through the management use cases (as the management API makes them)."""
    from scim_endpoint.management import services
    from scim_endpoint.management.idps import Idps
    from scim_endpoint.management.keys import Keys
    from scim_endpoint.management.models import IdpCreate, KeyCreate

    credentials = []
    for number in range(1, tenants + 1):
        idp = Idps(services()).create(IdpCreate(name=f"Demo IdP {number}"))
        key = Keys(services()).create(idp.idp_id, KeyCreate(
            name="Entra provisioning", description="Seeded by the local server", privileges=["users:write",
                                                                                            "groups:write"]))
        credentials.append({"idp_id": idp.idp_id, "tenant_url": idp.tenant_url, "token": key.token})
    return credentials


class LogFileActivity:
    """An IdP's activity read from this server's log file (moto has no Logs Insights): what `activity_log` reads
    from CloudWatch in AWS."""

    def __init__(self, path: Path):
        self._path = path

    def records(self, idp_id: str, hours: float, limit: int) -> list[dict]:
        from scim_endpoint.management import activity

        with open(self._path, encoding="utf-8") as handle:
            return activity.from_lines(handle, idp_id, limit)


def _write_json(path: Path, data: Any) -> None:
    """Written whole or not at all, so a script polling for the file never reads half of it; readable by its owner
    only from the moment it exists (it may hold tokens)."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    write_private(temporary, json.dumps(data, indent=2) + "\n")
    os.replace(temporary, path)


def write_private(path: Path, text: str) -> None:
    """A file created with mode 600 (never briefly readable by others), or an existing one narrowed to it first."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def _remove_own_state_file(path: Path) -> None:
    """Remove the state file unless another server has since made it its own."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8")).get("pid")
    except (OSError, ValueError, AttributeError):
        return
    if owner == os.getpid():
        path.unlink(missing_ok=True)


def _parent_stopped(parent: int) -> Any:
    """A check for "whoever started us wants us gone", for when no signal reaches us.

    `make run` is the usual parent. GNU make forwards SIGTERM to its recipe, but on SIGINT it expects the terminal to
    have signalled the whole process group and just waits for the recipe: a SIGINT sent to make alone would leave
    us running. Make resets its handler to the default while it handles a fatal signal, so a make parent no longer
    catching SIGINT/SIGTERM (Linux: /proc/<pid>/status SigCgt) means it is stopping. Being orphaned, whatever the
    parent was, means the same.
    """
    status = Path(f"/proc/{parent}/status")

    def caught() -> int | None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16) & ((1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1)))
        except (OSError, ValueError):
            return None
        return None

    try:
        parent_is_make = Path(f"/proc/{parent}/comm").read_text().strip() in ("make", "gmake")
    except OSError:
        parent_is_make = False
    watched = caught() if parent_is_make else None

    def stopped() -> bool:
        if os.getppid() != parent:
            return True
        return bool(watched) and caught() != watched

    return stopped


def main(argv: list[str] | None = None) -> int:
    from scim_endpoint import activity_log
    from scim_endpoint.config import settings

    sys.stdout.reconfigure(line_buffering=True)  # the functions' log lines show as they happen, also in a file

    parser = argparse.ArgumentParser(prog="scim-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--tenants", type=int, default=1, help="how many demo IdPs to seed (default 1)")
    parser.add_argument("--credentials-file", type=Path, help="write the seeded IdPs here as JSON once ready")
    args = parser.parse_args(argv)
    if args.tenants < 0:
        parser.error("--tenants must be 0 or more")

    # What the functions log also goes to a file, as CloudWatch Logs keeps it in AWS: `scim-admin --local PORT
    # activity` reads the provisioning activity from it. Set before the first import of the functions' Logger.
    # The banner below carries the seeded Secret Tokens: it goes to the terminal alone, never to the file.
    log_file = log_path(args.port)
    terminal = sys.stdout
    sys.stdout = _Tee(terminal, _open_log(log_file))
    emulator = Emulator()
    emulator.start()
    public = f"http://127.0.0.1:{args.port}"  # as the seeded Tenant URLs
    configure_environment(emulator.endpoint_url, public)
    queues = create_resources()
    configure_environment(emulator.endpoint_url, public, queues)
    activity_log.use(LogFileActivity(log_file))
    credentials = seed(args.tenants, args.port)
    api = LocalApi(template.routes())
    for function in api.functions.values():
        function.warm()
    poller = StreamPoller(settings().table_name, template.stream_consumers(), queues)
    poller.start()
    jobs = QueuePoller(template.queue_consumers(), queues)
    jobs.start()
    try:
        httpd = _Server((args.host, args.port), _request_handler(api))
    except OSError as error:
        poller.stop()
        jobs.stop()
        emulator.stop()
        print(f"scim-local: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2

    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    parent_stopped = _parent_stopped(os.getppid())

    def watch_parent() -> None:
        while not stopping.wait(0.5):
            if parent_stopped():
                stop(0, None)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()

    own_state = state_file(args.port)
    _write_json(
        own_state,
        {
            "pid": os.getpid(),
            "api_base_url": f"http://127.0.0.1:{args.port}",
            "aws_endpoint_url": emulator.endpoint_url,
            "region": REGION,
            "secrets_prefix": settings().secrets_prefix,
            "table_name": settings().table_name,
            "dead_letter_queue_url": queues.get("CleanupDeadLetterQueue"),
            "event_bus_name": settings().event_bus_name,
            "events_dead_letter_queue_url": queues.get("EventsDeadLetterQueue"),
            "event_retention_days": settings().event_retention_days,
            "log_file": str(log_file),
            # The management API (/admin/v1 on this port), and the IAM identity its requests must be signed by.
            "management_api_url": f"http://127.0.0.1:{args.port}",
            "admin_access_key_id": sigv4.LOCAL_ADMIN.access_key,
            "admin_secret_access_key": sigv4.LOCAL_ADMIN.secret_key,
        },
    )
    if args.credentials_file:
        _write_json(args.credentials_file, credentials)
    print(f"SCIM endpoint listening on http://{args.host}:{args.port} (Ctrl-C to stop)", file=terminal)
    for entry in credentials:
        print(f"  Tenant URL:   {entry['tenant_url']}\n  Secret Token: {entry['token']}", file=terminal)
    terminal.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        poller.stop()
        jobs.stop()
        emulator.stop()
        _remove_own_state_file(own_state)
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
