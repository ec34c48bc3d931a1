"""What the benchmarks share: the functions' environment, moto, the real handlers, and a meter of AWS calls.

Time inside the AWS emulator is measured and subtracted: moto's speed is not DynamoDB's (docs/local-server.md), so the
benchmarks report our own code's time and the number of AWS calls, which is what a real deployment pays for.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
def stack(env: dict[str, str] | None = None) -> Iterator[Stack]:
    """The stack over moto; `env` overrides or adds to the functions' environment (ENV) before anything is imported."""
    os.environ.update({**ENV, **(env or {})})
    sys.path.insert(0, str(ROOT / "layers" / "scim" / "python"))
    from moto import mock_aws

    from devtools.local import moto_speed

    moto_speed.install()  # moto's transactions otherwise copy every table: seconds per write on large tables
    with mock_aws():
        yield Stack()


# --- DynamoDB request units, by DynamoDB's documented rules ---------------------------------------------------------
#
# moto answers ReturnConsumedCapacity with a constant per call type (GetItem 0.5, PutItem/UpdateItem/DeleteItem/Query/
# Scan 1, BatchGetItem one per key, BatchWriteItem 1 per call, TransactWriteItems nothing), whatever the items' sizes
# and the read's consistency. CapacityMeter keeps what moto answers and computes what DynamoDB would charge:

KB = 1024
READ_UNIT_BYTES = 4 * KB  # a strongly consistent read of up to 4 KB: 1 read unit (eventually consistent: 0.5)
WRITE_UNIT_BYTES = 1 * KB  # a write of up to 1 KB: 1 write unit; transactional reads and writes count twice


def _number_size(text: str) -> int:
    """Bytes of a Number: 1 byte per two significant digits, plus 1."""
    mantissa = re.split("[eE]", text.lstrip("+-"))[0].replace(".", "").lstrip("0").rstrip("0")
    return math.ceil(max(len(mantissa), 1) / 2) + 1


def value_size(value: dict) -> int:
    """Bytes of one attribute value in DynamoDB's wire format ({"S": ...}, {"M": {...}}, ...), without its name."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "L":  # 3 bytes for the list, 1 more per element
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict | None) -> int:
    """Bytes DynamoDB counts for an item: each attribute's name and value (0 for no item)."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def read_units(size: int, consistent: bool = True, transactional: bool = False) -> float:
    """Read request units of reading `size` bytes as one read: rounded up to 4 KB, at least one unit."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return units * (2 if transactional else 1 if consistent else 0.5)


def write_units(size: int, transactional: bool = False) -> float:
    """Write request units of writing one item of `size` bytes: rounded up to 1 KB, at least one unit."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES)) * (2 if transactional else 1)


_CAPACITY_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem",
                        "BatchWriteItem", "TransactWriteItems", "TransactGetItems"}
_QUERY_ONLY = ("FilterExpression", "ProjectionExpression", "Select", "AttributesToGet", "ReturnConsumedCapacity",
               "ExpressionAttributeNames", "ExpressionAttributeValues", "QueryFilter", "ScanFilter")


@dataclass
class Units:
    calls: int = 0
    rru: float = 0.0
    wru: float = 0.0
    moto: float = 0.0  # what moto's ConsumedCapacity said


class CapacityMeter:
    """The read and write request units of every DynamoDB call a client makes, and the time of its AWS calls.

    Every DynamoDB call is sent with ReturnConsumedCapacity=TOTAL and moto's answer is kept (`Units.moto`); the units
    counted (`rru`, `wru`) are computed from the items' sizes by DynamoDB's rules, since moto's are constants:
    GetItem, BatchGetItem (each item on its own), TransactGetItems (x2): the full item, even when a projection
    returns less; Query and Scan: the items read, before any filter, rounded up to 4 KB together; PutItem and
    UpdateItem: the larger of the item before and after; DeleteItem: the item deleted; BatchWriteItem: each item on
    its own; TransactWriteItems: each action x2 (a ConditionCheck as a write of the item it checks); plus one write
    per global secondary index entry written or removed (two when its key changes). Strongly consistent reads count
    1 per 4 KB, eventually consistent 0.5 (a GSI is always eventually consistent). The items are read for this with a
    client of its own (`raw`), which the code under test never sees.

    `outside_seconds` is the time spent in AWS calls (the emulator) and in this meter's own bookkeeping, so that a
    request's own time is its wall time minus it. Units are also kept per partition key (`by_partition`; a GSI's
    as "GSI1:<key>").
    """

    def __init__(self, raw: Any):
        self.raw = raw
        self._schemas: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
        self.reset()

    def reset(self) -> None:
        self.by_operation: dict[str, Units] = {}
        self.by_partition: dict[str, list[float]] = {}
        self.calls: Counter[str] = Counter()
        self.failed = 0
        self.outside_seconds = 0.0

    @property
    def rru(self) -> float:
        return sum(u.rru for u in self.by_operation.values())

    @property
    def wru(self) -> float:
        return sum(u.wru for u in self.by_operation.values())

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build", self._parameters)
        events.register("before-call", self._before)
        events.register("after-call", self._after)

    # -- hooks ---------------------------------------------------------------------------------------------------

    def _parameters(self, params, model, context, **kwargs) -> None:
        if model.service_model.service_name == "dynamodb" and model.name in _CAPACITY_OPERATIONS:
            params["ReturnConsumedCapacity"] = "TOTAL"
            context["capacity_params"] = params

    def _before(self, model, context, **kwargs) -> None:
        started = time.perf_counter()
        if "capacity_params" in context:
            context["capacity_before"] = self._old_items(model.name, context["capacity_params"])
        context["capacity_started"] = now = time.perf_counter()
        self.outside_seconds += now - started

    def _after(self, model, context, http_response, parsed, **kwargs) -> None:
        now = time.perf_counter()
        self.outside_seconds += now - context.pop("capacity_started", now)
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1
        if "capacity_params" in context:
            failed = http_response.status_code >= 300
            self.failed += failed
            self._count(model.name, context["capacity_params"], parsed, context.get("capacity_before", []), failed)
        self.outside_seconds += time.perf_counter() - now

    # -- the rules -------------------------------------------------------------------------------------------------

    def _schema(self, table: str) -> tuple[list[str], dict[str, list[str]]]:
        """The table's key attribute names, and each GSI's (projection ALL is assumed, as the template has)."""
        if table not in self._schemas:
            description = self.raw.describe_table(TableName=table)["Table"]
            keys = [k["AttributeName"] for k in description["KeySchema"]]
            indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
                       for i in description.get("GlobalSecondaryIndexes", [])}
            self._schemas[table] = (keys, indexes)
        return self._schemas[table]

    def _full(self, table: str, key: dict) -> dict | None:
        return self.raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _writes(self, operation: str, params: dict) -> list[tuple[str, str, dict, dict | None, bool]]:
        """(kind, table, key, new item or None, transactional) for each item a write call names."""
        def key_of(table: str, item: dict) -> dict:
            return {name: item[name] for name in self._schema(table)[0]}

        if operation == "PutItem":
            return [("put", params["TableName"], key_of(params["TableName"], params["Item"]), params["Item"], False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(operation[:6].lower(), params["TableName"], params["Key"], None, False)]
        if operation == "BatchWriteItem":
            found = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        found.append(("put", table, key_of(table, item), item, False))
                    else:
                        found.append(("delete", table, request["DeleteRequest"]["Key"], None, False))
            return found
        if operation == "TransactWriteItems":
            found = []
            for action in params["TransactItems"]:
                (kind, body), = action.items()
                if kind == "Put":
                    found.append(("put", body["TableName"], key_of(body["TableName"], body["Item"]), body["Item"], True))
                else:
                    found.append((kind.lower(), body["TableName"], body["Key"], None, True))
            return found
        return []

    def _old_items(self, operation: str, params: dict) -> list[dict | None]:
        return [self._full(table, key) for _, table, key, _, _ in self._writes(operation, params)]

    def _add(self, operation: str, partition: str, rru: float = 0.0, wru: float = 0.0) -> None:
        units = self.by_operation.setdefault(operation, Units())
        units.rru += rru
        units.wru += wru
        part = self.by_partition.setdefault(partition, [0.0, 0.0])
        part[0] += rru
        part[1] += wru

    def _count(self, operation: str, params: dict, parsed: dict, before: list, failed: bool) -> None:
        units = self.by_operation.setdefault(operation, Units())
        units.calls += 1
        reported = parsed.get("ConsumedCapacity")
        units.moto += sum(c.get("CapacityUnits", 0) for c in (reported if isinstance(reported, list)
                                                                   else [reported] if reported else []))
        if operation in ("GetItem", "BatchGetItem", "TransactGetItems"):
            self._count_gets(operation, params)
        elif operation in ("Query", "Scan"):
            self._count_query(operation, params)
        else:
            self._count_writes(operation, params, before, failed)

    def _count_gets(self, operation: str, params: dict) -> None:
        if operation == "GetItem":
            requests = [(params["TableName"], params["Key"], bool(params.get("ConsistentRead")), False)]
        elif operation == "BatchGetItem":
            requests = [(table, key, bool(request.get("ConsistentRead")), False)
                        for table, request in params["RequestItems"].items() for key in request["Keys"]]
        else:
            requests = [(g["Get"]["TableName"], g["Get"]["Key"], True, True) for g in params["TransactItems"]]
        for table, key, consistent, transactional in requests:
            size = item_size(self._full(table, key))
            self._add(operation, _pk(key), rru=read_units(size, consistent, transactional))

    def _count_query(self, operation: str, params: dict) -> None:
        """The items the call read, found again without its filter, projection or COUNT, from the same page start."""
        request = {k: v for k, v in params.items() if k not in _QUERY_ONLY}
        used = set(re.findall(r"[#:][A-Za-z0-9_]+", params.get("KeyConditionExpression", "")))
        names = {k: v for k, v in params.get("ExpressionAttributeNames", {}).items() if k in used}
        values = {k: v for k, v in params.get("ExpressionAttributeValues", {}).items() if k in used}
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = values
        page = getattr(self.raw, "query" if operation == "Query" else "scan")(**request)
        size = sum(item_size(item) for item in page.get("Items", []))
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        partition = next((v["S"] for v in values.values() if "S" in v), "(scan)")
        if "IndexName" in params:
            partition = f"{params['IndexName']}:{partition}"
        self._add(operation, partition, rru=read_units(size, consistent))

    def _count_writes(self, operation: str, params: dict, before: list, failed: bool) -> None:
        for (kind, table, key, new, transactional), old in zip(self._writes(operation, params), before):
            if failed or kind == "conditioncheck":
                new = old
            elif kind == "update":
                new = self._full(table, key)
            elif kind == "delete":
                new = None
            size = item_size(old) if kind in ("delete", "conditioncheck") else max(item_size(old), item_size(new))
            self._add(operation, _pk(key), wru=write_units(size, transactional))
            if failed or kind == "conditioncheck":
                continue
            for index, attributes in self._schema(table)[1].items():
                self._count_index(operation, index, attributes, old, new)

    def _count_index(self, operation: str, index: str, attributes: list[str], old: dict | None,
                     new: dict | None) -> None:
        def entry(item: dict | None) -> tuple | None:
            return tuple(json.dumps(item[a], sort_keys=True) for a in attributes) if item and all(
                a in item for a in attributes) else None

        old_key, new_key = entry(old), entry(new)
        if old_key and new_key and old_key == new_key:
            if old != new:
                self._add(operation, f"{index}:{_pk(new, attributes[0])}",
                          wru=write_units(max(item_size(old), item_size(new))))
            return
        if old_key:
            self._add(operation, f"{index}:{_pk(old, attributes[0])}", wru=write_units(item_size(old)))
        if new_key:
            self._add(operation, f"{index}:{_pk(new, attributes[0])}", wru=write_units(item_size(new)))


def _pk(key: dict, name: str = "pk") -> str:
    value = key.get(name, {})
    return next(iter(value.values())) if value else "?"
