"""What the benchmarks share: the functions' environment, moto, the real handlers, and a meter of AWS calls.

Time inside the AWS emulator is measured and subtracted: moto's speed is not DynamoDB's (docs/local-server.md), so the
benchmarks report our own code's time and the number of AWS calls, which is what a real deployment pays for.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "TABLE_NAME": "bench",
    "SECRETS_PREFIX": "scim/bench/idp/",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": "ScimEndpoint",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}


class AwsMeter:
    """Counts AWS calls per service and operation, and the time spent inside them."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def attach(self, client) -> None:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)

    def _before(self, model, **kwargs) -> None:
        self._started[id(model)] = time.perf_counter()

    def _after(self, model, **kwargs) -> None:
        self.seconds += time.perf_counter() - self._started.pop(id(model))
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def reset(self) -> None:
        self.calls.clear()
        self.seconds = 0.0


@dataclass
class Measured:
    label: str
    calls: dict[str, int]
    own_seconds: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.own_seconds) * 1000

    def line(self) -> str:
        shown = ", ".join(f"{op.split(':')[1]} x{n}" for op, n in sorted(self.calls.items())) or "none"
        total = sum(self.calls.values())
        return f"  {self.label:44s} {total:>2} AWS call(s)  own code {self.median_ms:6.2f} ms   ({shown})"


class Stack:
    """The handlers of template.yaml, in process, over moto, with one seeded IdP and an all-privileges key."""

    def __init__(self) -> None:
        import boto3

        from scim_endpoint import store, tenants
        from devtools.local import template
        from devtools.local.events import build_event, match_route
        from devtools.local.server import LambdaContext

        from scim_endpoint.management import services
        from scim_endpoint.management.idps import Idps
        from scim_endpoint.management.keys import Keys
        from scim_endpoint.management.models import ClientCreate, IdpCreate, KeyCreate

        boto3.client("dynamodb").create_table(TableName=ENV["TABLE_NAME"], **template.table_definition())
        signing = boto3.client("secretsmanager").create_secret(
            Name="scim/bench/token-signing-key", SecretString=json.dumps({"kid": "1", "key": "k" * 64}))
        os.environ["TOKEN_SIGNING_SECRET"] = signing["ARN"]
        self.idp_id = Idps(services()).create(IdpCreate(name="bench")).idp_id
        self.api_key = Keys(services()).create(self.idp_id, KeyCreate(
            name="bench", privileges=["users:write", "groups:write"])).token
        self.client = Keys(services()).create_client(self.idp_id, ClientCreate(
            name="bench", privileges=["users:write", "groups:write"]))
        self.token = self.api_key
        self._routes = template.routes()
        self._build_event, self._match_route, self._context = build_event, match_route, LambdaContext
        self._handlers: dict[str, Callable] = {}
        self.meter = AwsMeter()
        self._store, self._tenants = store, tenants
        self._attached = False

    @property
    def base(self) -> str:
        return f"/v1/scim/{self.idp_id}"

    def request(self, method: str, path: str, query: str = "", body: dict | None = None) -> dict:
        route, params, _ = self._match_route(self._routes, method, path)
        headers = [("Host", "bench.local"), ("Authorization", f"Bearer {self.token}")]
        raw = json.dumps(body).encode() if body is not None else b""
        event = self._build_event(route, params, method, path, query, headers, raw)
        handler = self._handler(route)
        response = handler(event, self._context(route.function, event["requestContext"]["requestId"]))
        if not self._attached:  # the clients exist once a first request has run
            self.meter.attach(self._store.store().table.client)
            self.meter.attach(self._tenants.key_cache()._secrets.client)
            self._attached = True
        return response

    def declare_extension(self, attributes: int = 10) -> str:
        """Declare a schema extension of the bench's IdP (custom string attributes a0..), as the management API does;
        its URN."""
        from scim_endpoint.management import services
        from scim_endpoint.management.extensions import Extensions
        from scim_endpoint.scim.extensions import parse

        urn = "urn:ietf:params:scim:schemas:extension:bench:2.0:User"
        Extensions(services()).set(self.idp_id, urn, parse({"resourceType": "User", "schema": {
            "id": urn, "name": "Bench", "attributes": [{"name": f"a{i}"} for i in range(attributes)]}}))
        return urn

    def access_token(self) -> str:
        """An access token for the bench's OAuth client, from the token endpoint (client_secret_post)."""
        from urllib.parse import urlencode

        route, params, _ = self._match_route(self._routes, "POST", "/v1/oauth2/token")
        body = urlencode({"grant_type": "client_credentials", "client_id": self.client.client_id,
                          "client_secret": self.client.client_secret}).encode()
        event = self._build_event(route, params, "POST", "/v1/oauth2/token", "",
                                  [("Host", "bench.local"), ("Content-Type", "application/x-www-form-urlencoded")],
                                  body)
        response = self._handler(route)(event, self._context(route.function, event["requestContext"]["requestId"]))
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])["access_token"]

    def _handler(self, route) -> Callable:
        if route.function not in self._handlers:
            spec = importlib.util.spec_from_file_location(f"bench_{route.function}", route.code_dir / "app.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._handlers[route.function] = module.lambda_handler
        return self._handlers[route.function]

    def measure(self, label: str, rounds: int, prepare: Callable[[int], tuple], expect: int) -> Measured:
        """Run `rounds` requests built by `prepare(i)` -> (method, path, query, body), after one unmeasured warm-up;
        report the AWS calls of the last request and the median time outside the emulator."""
        own: list[float] = []
        self.request(*prepare(-1))
        calls: dict[str, int] = {}
        for i in range(rounds):
            args = prepare(i)
            self.meter.reset()
            started = time.perf_counter()
            response = self.request(*args)
            elapsed = time.perf_counter() - started
            assert response["statusCode"] == expect, (label, response["statusCode"], response.get("body"))
            own.append(elapsed - self.meter.seconds)
            calls = dict(self.meter.calls)
        return Measured(label, calls, own)


@contextmanager
def stack() -> Iterator[Stack]:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT / "layers" / "scim" / "python"))
    from moto import mock_aws

    from devtools.local import moto_speed

    moto_speed.install()  # moto's transactions otherwise copy every table: seconds per write on large tables
    with mock_aws():
        yield Stack()
