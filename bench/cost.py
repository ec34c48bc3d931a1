"""The AWS cost of Entra's two request mixes, per million operations and per month for one tenant (docs/costs.md).

    .venv/bin/python bench/cost.py [--users 200] [--groups 10] [--steady 400] [--imports 1] [--json]

Replays Entra's request shapes (tests/entra_requests.py) through the real handlers over moto, in process, and
measures per operation: DynamoDB read and write request units (every call asks for ReturnConsumedCapacity; the units
are computed from the items' sizes by DynamoDB's rules, since moto's answers are constants: harness.CapacityMeter),
the handler's own time (wall time minus the time inside the emulator), the bytes it logs, the bytes it answers,
and what the table's stream then costs (EventsFunction and CleanupFunction, handed the records as Lambda would):
events published, their DynamoDB units, their time and logs. Prices and the assumptions that cannot be measured in
process are read from bench/prices.json; the functions' memory, architecture and limits from template.yaml.

Two mixes:
- the initial sync, weighted as a tenant of `tenant` users and groups in prices.json (Entra's initial cycle): per user
  a lookup by userName then a create; per group a lookup by displayName, a create, then its members added by PATCH;
- the steady state (Entra's incremental cycles, which send only what changed): STEADY_MIX below.
Then the month of that tenant, and the capacity figures of docs/capacity.md (10, 1,000 and 10,000 tenants).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from harness import ENV, ROOT, CapacityMeter

PRICES_PATH = Path(__file__).with_name("prices.json")
GIB = 1024 ** 3
MONTH_DAYS = 30.4
MONTH_SECONDS = MONTH_DAYS * 86400

# Every price the model multiplies by: prices.json must have each, with its unit and source.
USED_PRICES = (
    "apigateway_rest_request", "lambda_arm64_gb_second", "lambda_request", "dynamodb_ondemand_write_request_unit",
    "dynamodb_ondemand_read_request_unit", "dynamodb_storage_gb_month", "dynamodb_pitr_gb_month", "waf_web_acl_month",
    "waf_rule_month", "waf_request", "secretsmanager_secret_month", "secretsmanager_api_call",
    "cloudwatch_logs_ingestion_gb", "cloudwatch_logs_storage_gb_month", "cloudwatch_custom_metric_month",
    "cloudwatch_alarm_month", "cloudwatch_dashboard_month", "eventbridge_custom_event", "xray_trace_recorded",
    "data_transfer_out_gb",
)
USED_INPUTS = (
    "aws_call_latency_ms", "default_aws_call_latency_ms", "cpu_speed_vs_this_machine", "full_vcpu_memory_mb",
    "cold_start_fraction", "entra_tenant_rate_rps", "entra_tenant_peak_rps", "xray_sampled_fraction",
    "xray_reservoir_per_second", "log_compression_ratio", "http_response_overhead_bytes", "entra_members_per_patch",
    "tenant", "steady_changed_objects_per_day", "steady_requests_per_changed_object", "incremental_cycle_minutes",
    "functions_woken_per_cycle", "stream_batch_records", "dynamodb_table_quota_units_per_second",
    "dynamodb_partition_units_per_second", "apigateway_account_rps", "lambda_account_concurrency",
    "secretsmanager_get_secret_value_tps", "eventbridge_put_events_tps",
    "key_cache_max_idps",
)

# Entra's incremental cycle: what one changed object costs. Mostly lookups and reads, a share of PATCH updates and
# disables, a few membership changes; the shares add up to 1.
STEADY_MIX = (
    ("user lookup (filter userName eq)", 0.45),
    ("user read (GET /Users/{id})", 0.10),
    ("group lookup (filter displayName eq)", 0.10),
    ("user update (PATCH)", 0.20),
    ("user disable (PATCH active)", 0.10),
    ("group member add/remove (PATCH)", 0.05),
)
INITIAL_TYPES = ("user lookup (no match)", "user create (POST)", "group lookup (no match)", "group create (POST)",
                 "group member add (PATCH)")

# The platform lines Lambda writes to the function's log group per invocation (text format: template.yaml sets no
# LogFormat), with the X-Ray line of an active-tracing function; their bytes are counted per invocation.
PLATFORM_LINES = (
    "START RequestId: 8f5e2a51-6c0b-4f0e-9d3a-2b7c1e4f9a60 Version: $LATEST\n"
    "END RequestId: 8f5e2a51-6c0b-4f0e-9d3a-2b7c1e4f9a60\n"
    "REPORT RequestId: 8f5e2a51-6c0b-4f0e-9d3a-2b7c1e4f9a60\tDuration: 38.21 ms\tBilled Duration: 39 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 121 MB\t\n"
    "XRAY TraceId: 1-674a3b2c-5d1e9f0a7b3c4d5e6f708192\tSegmentId: 3a9c1e5f7b2d4068\tSampled: true\t\n"
)
# Sample values of API Gateway's access log variables, to render template.yaml's access log format.
ACCESS_LOG_SAMPLE = {
    "requestId": "8f5e2a51-6c0b-4f0e-9d3a-2b7c1e4f9a60", "identity.sourceIp": "20.190.130.17",
    "requestTime": "30/Nov/2026:03:27:26 +0000", "httpMethod": "PATCH", "resourcePath": "/v1/scim/{idpId}/Users/{id}",
    "path": "/dev/v1/scim/79183a82-8b67-4102-acfb-fd74f7bd6284/Users/2ae761f9-fb0a-4f5b-b9f9-5d8757953b3b",
    "status": "200", "responseLength": "1432", "responseLatency": "47", "integrationLatency": "45",
    "error.responseType": "-", "identity.userAgent": "-", "xrayTraceId": "Root=1-674a3b2c-5d1e9f0a7b3c4d5e6f708192",
}
# One partition per tenant (or, for a group's members, one per group, written in a row while Entra adds them), against
# the ones spread over many keys: what bounds one tenant's rate on one partition.
PARTITION_CLASSES = (
    (r"^T#[^#]+#(User|Group)#(userName|externalId|displayName)#", "uniqueness guards", False),
    (r"^T#[^#]+#User$", "T#<idp>#User", True),
    (r"^T#[^#]+#Group$", "T#<idp>#Group", True),
    (r"^T#[^#]+#Idp$", "T#<idp>#Idp", True),
    (r"^T#[^#]+#Members#", "T#<idp>#Members#<group>", True),
    (r"^E#", "E#<idp> (event feed)", True),
    (r"^GSI1:T#[^#]+#MemberOf#", "GSI1 T#<idp>#MemberOf#<user>", False),
)


# --- inputs ----------------------------------------------------------------------------------------------------------

def load_prices(path: Path = PRICES_PATH) -> dict:
    """prices.json, checked: a region and a date, and every price and input the model uses, each price with a
    number, what it is per, its unit and its source."""
    data = json.loads(path.read_text())
    problems = [f"no {key}" for key in ("region", "date") if not data.get(key)]
    for name in USED_PRICES:
        entry = data.get("prices", {}).get(name)
        if not entry or not all(entry.get(k) not in (None, "") for k in ("usd", "per", "unit", "source")):
            problems.append(f"price {name} (needs usd, per, unit, source)")
    problems += [f"input {name}" for name in USED_INPUTS if "value" not in data.get("inputs", {}).get(name, {})]
    if problems:
        raise ValueError(f"{path.name} lacks: " + "; ".join(problems))
    return data


def price(prices: dict, name: str) -> float:
    """Dollars per one unit of the price's unit (a price per million requests gives dollars per request)."""
    entry = prices["prices"][name]
    return entry["usd"] / entry["per"]


def given(prices: dict, name: str):
    return prices["inputs"][name]["value"]


def template_facts(template: dict | None = None) -> dict:
    """What template.yaml says the model needs: memory, architecture, limits, and the fixed-price resources."""
    from devtools.local import template as cfn

    t = template or cfn.load()
    globals_ = t["Globals"]["Function"]
    defaults = {name: p.get("Default") for name, p in t["Parameters"].items()}
    resources = t["Resources"]
    consumers = {c.function: c.batch_size for c in cfn.stream_consumers(t)}
    facts = {
        "memory_mb": int(globals_["MemorySize"]),
        "architectures": list(globals_["Architectures"]),
        "stage_rate_limit": float(defaults["ThrottlingRateLimit"]),
        "stage_burst_limit": float(defaults["ThrottlingBurstLimit"]),
        "reserved": {name: int(defaults[f"ReservedConcurrency{name}"]) for name in ("Users", "Groups", "Discovery",
                                                                                    "Cleanup")},
        "secrets_ttl_seconds": float(defaults["SecretsCacheTtlSeconds"]),
        "log_retention_days": int(defaults["LogRetentionDays"]),
        "event_retention_days": int(defaults["EventRetentionDays"]),
        "waf": defaults["EnableWaf"] == "true",
        "waf_rules": len(resources["WebAcl"]["Properties"]["Rules"]),
        "alarms": sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in resources.values()),
        "dashboards": sum(r["Type"] == "AWS::CloudWatch::Dashboard" for r in resources.values()),
        "access_log_format": resources["ScimApi"]["Properties"]["AccessLogSetting"]["Format"],
        "stream_batch_size": consumers,
    }
    if facts["architectures"] != ["arm64"]:
        raise ValueError(f"template.yaml's functions run on {facts['architectures']}: the prices are for arm64")
    return facts


def access_log_bytes(log_format: str) -> int:
    """Bytes of one access log line, template.yaml's format filled with typical values."""
    line = re.sub(r"\$context\.([A-Za-z.]+)", lambda m: ACCESS_LOG_SAMPLE.get(m.group(1), "-"), log_format)
    return len(line.encode()) + 1


def cpu_scale(prices: dict, memory_mb: int) -> float:
    """How much longer our own code runs in Lambda than on this machine: Lambda gives CPU in proportion to memory
    (one vCPU at `full_vcpu_memory_mb`); single-threaded code cannot use more than one."""
    return max(1.0, given(prices, "full_vcpu_memory_mb") / memory_mb) / given(prices, "cpu_speed_vs_this_machine")


def billed_ms(own_ms: float, calls: dict[str, float], scale: float, latency: dict[str, float],
              default_latency: float) -> int:
    """Lambda's billed duration of one invocation (1 ms granularity): our own code at Lambda's CPU share, plus the
    assumed latency of each AWS call it made."""
    waiting = sum(latency.get(op, default_latency) * n for op, n in calls.items())
    return math.ceil(own_ms * scale + waiting)


# --- the arithmetic: usage to dollars --------------------------------------------------------------------------------

@dataclass
class Usage:
    """What one operation (one API request of a mix) uses on average, everything it sets off included."""

    api_requests: float = 1.0
    lambda_invocations: float = 0.0  # the API function's, the stream consumers'
    lambda_gb_seconds: float = 0.0
    rru: float = 0.0
    wru: float = 0.0
    events: float = 0.0  # EventBridge entries (each under 64 KB: one event each)
    secrets_calls: float = 0.0
    log_bytes: float = 0.0  # ingested by CloudWatch Logs
    traces: float = 0.0  # X-Ray traces recorded
    transfer_out_bytes: float = 0.0


LINE_ITEMS = ("API Gateway REST requests", "WAF requests", "Lambda requests", "Lambda duration (arm64)",
              "DynamoDB reads (RRU)", "DynamoDB writes (WRU)", "EventBridge events", "Secrets Manager API calls",
              "CloudWatch Logs ingestion", "CloudWatch Logs storage", "X-Ray traces", "Data transfer out")


def dollars(usage: Usage, operations: float, prices: dict, log_retention_days: int = 30) -> dict[str, float]:
    """The cost of `operations` operations of this usage, per line item. Logs are kept `log_retention_days`, so a
    month's logs are stored that long (compressed)."""
    p = lambda name: price(prices, name)  # noqa: E731
    stored_months = log_retention_days / MONTH_DAYS
    n = operations
    return {
        "API Gateway REST requests": n * usage.api_requests * p("apigateway_rest_request"),
        "WAF requests": n * usage.api_requests * p("waf_request"),
        "Lambda requests": n * usage.lambda_invocations * p("lambda_request"),
        "Lambda duration (arm64)": n * usage.lambda_gb_seconds * p("lambda_arm64_gb_second"),
        "DynamoDB reads (RRU)": n * usage.rru * p("dynamodb_ondemand_read_request_unit"),
        "DynamoDB writes (WRU)": n * usage.wru * p("dynamodb_ondemand_write_request_unit"),
        "EventBridge events": n * usage.events * p("eventbridge_custom_event"),
        "Secrets Manager API calls": n * usage.secrets_calls * p("secretsmanager_api_call"),
        "CloudWatch Logs ingestion": n * usage.log_bytes / GIB * p("cloudwatch_logs_ingestion_gb"),
        "CloudWatch Logs storage": n * usage.log_bytes * given(prices, "log_compression_ratio") / GIB
        * p("cloudwatch_logs_storage_gb_month") * stored_months,
        "X-Ray traces": n * usage.traces * p("xray_trace_recorded"),
        "Data transfer out": n * usage.transfer_out_bytes / GIB * p("data_transfer_out_gb"),
    }


def fixed_monthly(facts: dict, prices: dict, tenants: int, metric_series: int) -> dict[str, float]:
    """What the deployment pays each month whatever its traffic: the web ACL and its rules, a secret per IdP and the
    signing key, alarms, the dashboard, the custom metrics it publishes."""
    p = lambda name: price(prices, name)  # noqa: E731
    return {
        "WAF web ACL and rules": (p("waf_web_acl_month") + facts["waf_rules"] * p("waf_rule_month")) if facts["waf"]
        else 0.0,
        "Secrets Manager secrets": (tenants + 1) * p("secretsmanager_secret_month"),
        "CloudWatch alarms": facts["alarms"] * p("cloudwatch_alarm_month"),
        "CloudWatch dashboard": facts["dashboards"] * p("cloudwatch_dashboard_month"),
        "CloudWatch custom metrics": metric_series * p("cloudwatch_custom_metric_month"),
    }


# --- measuring -------------------------------------------------------------------------------------------------------

@dataclass
class Sample:
    """One invocation, measured."""

    function: str
    own_ms: float
    calls: dict[str, int]
    rru: float
    wru: float
    log_bytes: int
    response_bytes: int = 0
    partitions: dict[str, list[float]] = field(default_factory=dict)
    units: dict[str, list[float]] = field(default_factory=dict)  # call type -> [calls, rru, wru, moto]
    put_events_entries: int = 0
    records: int = 0  # stream records handed to it (a consumer)
    failed: int = 0  # DynamoDB calls that failed (a condition, a cancelled transaction)


@dataclass
class OperationType:
    label: str
    function: str
    requests: list[Sample] = field(default_factory=list)
    consumers: dict[str, list[Sample]] = field(default_factory=dict)  # what its stream records set off


class Measurer:
    """Runs requests and stream batches through the handlers, measuring each (see the module's docstring)."""

    def __init__(self, s, capacity: CapacityMeter):
        self.s = s
        self.capacity = capacity
        self.entries = 0
        self.metric_series: set[tuple] = set()
        from scim_endpoint import observability

        self._handler = observability.logger.registered_handler

    def attach_put_events(self, client) -> None:
        def count(params, **kwargs):
            self.entries += len(params.get("Entries", []))

        client.meta.events.register("before-parameter-build.events.PutEvents", count)

    @contextmanager
    def _logs(self) -> Iterator[io.StringIO]:
        """What the invocation writes to its log: the Powertools logger's lines, the metrics (EMF) lines it prints,
        and anything on stderr."""
        buffer = io.StringIO()
        previous = self._handler.setStream(buffer)
        try:
            with redirect_stdout(buffer), redirect_stderr(buffer):
                yield buffer
        finally:
            self._handler.setStream(previous)

    def _metrics(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith('{"_aws"'):
                document = json.loads(line)
                for directive in document["_aws"]["CloudWatchMetrics"]:
                    for dimensions in directive["Dimensions"]:
                        for metric in directive["Metrics"]:
                            self.metric_series.add((metric["Name"], tuple((d, document[d]) for d in dimensions)))

    def _measure(self, function: str, run: Callable[[], dict | None]) -> tuple[Sample, dict | None]:
        self.capacity.reset()
        self.entries = 0
        with self._logs() as buffer:
            started = time.perf_counter()
            answer = run()
            elapsed = time.perf_counter() - started
        text = buffer.getvalue()
        self._metrics(text)
        cap = self.capacity
        sample = Sample(function, (elapsed - cap.outside_seconds) * 1000, dict(cap.calls), cap.rru, cap.wru,
                        len(text.encode()), partitions={k: list(v) for k, v in cap.by_partition.items()},
                        units={op: [u.calls, u.rru, u.wru, u.moto] for op, u in cap.by_operation.items()},
                        put_events_entries=self.entries, failed=cap.failed)
        return sample, answer

    def request(self, method: str, path: str, query: str = "", body: dict | None = None,
                expect: tuple[int, ...] = (200, 201, 204)) -> tuple[Sample, dict]:
        s = self.s  # as harness.Stack.request, but only the handler is timed (not building API Gateway's event)
        route, params, _ = s._match_route(s._routes, method, path)
        headers = [("Host", "bench.local"), ("Authorization", f"Bearer {s.token}"),
                   ("Content-Type", "application/scim+json")]
        event = s._build_event(route, params, method, path, query, headers,
                               json.dumps(body).encode() if body is not None else b"")
        handler, context = s._handler(route), s._context(route.function, event["requestContext"]["requestId"])
        sample, response = self._measure(route.function, lambda: handler(event, context))
        assert response["statusCode"] in expect, (method, path, query, response["statusCode"], response.get("body"))
        sample.response_bytes = len((response.get("body") or "").encode())
        return sample, response

    def consume(self, module, function: str, records: list[dict]) -> Sample:
        from devtools.local.server import LambdaContext

        sample, answer = self._measure(function, lambda: module.lambda_handler(
            {"Records": records}, LambdaContext(function, str(uuid.uuid4()))))
        assert answer == {"batchItemFailures": []}, (function, answer)
        sample.records = len(records)
        return sample


class Stream:
    """The table's stream, read from where it was last read; the records handed to each consumer its filters let in,
    in batches of the size assumed."""

    def __init__(self, measurer: Measurer, batches: dict[str, int]):
        import boto3

        from devtools.local.template import stream_consumers

        self.measurer = measurer
        self.client = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=ENV["TABLE_NAME"])["Table"]["LatestStreamArn"]
        shard = self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.client.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        self.consumers = [(c, _load(c.code_dir / "app.py", f"cost_{c.function}"), batches[c.function])
                          for c in stream_consumers()]

    def read(self) -> list[dict]:
        records = []
        while True:
            page = self.client.get_records(ShardIterator=self.iterator, Limit=1000)
            self.iterator = page["NextShardIterator"]
            records += page["Records"]
            if not page["Records"]:
                return records

    def hand_over(self, records: list[dict]) -> dict[str, list[Sample]]:
        found = {}
        for consumer, module, batch in self.consumers:
            taken = [r for r in records if consumer.takes(r)]
            found[consumer.function] = [self.measurer.consume(module, consumer.function, taken[i:i + batch])
                                        for i in range(0, len(taken), batch)]
        return found


def _load(path: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- Entra's requests ------------------------------------------------------------------------------------------------

def _user_name(n: int) -> str:
    return f"entra.user{n}@contoso.com"


def user_create(n: int) -> dict:
    """One of Entra's create bodies (the tutorial's, its Example 2, the validator's, Meta Networks'), made unique."""
    from tests import entra_requests as entra

    shapes = (entra.TUT_CREATE, entra.TUT_EXAMPLE_2, entra.VALIDATOR_CREATE, entra.META_CREATE)
    body = copy.deepcopy(shapes[n % len(shapes)])
    body["userName"] = _user_name(n)
    if "externalId" in body:
        body["externalId"] = f"ext-{n}-{uuid.uuid4().hex[:8]}"
    return body


def user_lookup(n: int) -> str:
    return f"filter=userName+eq+%22{quote(_user_name(n))}%22"


def group_name(g: int) -> str:
    return f"Entra Group {g}"


def group_lookup(g: int) -> str:
    return f"excludedAttributes=members&filter=displayName+eq+%22{quote(group_name(g))}%22"


def group_create(g: int) -> dict:
    from tests import entra_requests as entra

    body = copy.deepcopy((entra.TUT_GROUP_CREATE, entra.REF_GROUP_CREATE)[g % 2])
    body["displayName"] = group_name(g)
    if "externalId" in body:
        body["externalId"] = str(uuid.uuid4())
    return body


def member_patch(i: int, user_ids: list[str], remove: bool = False) -> dict:
    """The tutorial's "Add members" (or its 2020 dialect) / the default-dialect removal, for these users."""
    from tests import entra_requests as entra

    if remove:
        body = copy.deepcopy(entra.COMPAT_REMOVE_MEMBER_WITHOUT_FLAG)
        body["Operations"][0]["value"] = [{"value": u} for u in user_ids]
        return body
    body = copy.deepcopy((entra.TUT_GROUP_ADD_MEMBERS, entra.COMPAT2020_GROUP_ADD_MEMBER)[i % 2])
    body["Operations"][0]["value"] = [{"$ref": None, "value": u} if i % 2 == 0 else {"value": u} for u in user_ids]
    return body


def _vary(value, i: int):
    if isinstance(value, str):
        return f"u{i}.{value}" if "@" in value else f"{value} {i}"
    if isinstance(value, dict):
        return {k: _vary(v, i) for k, v in value.items()}
    return value


def user_update(i: int, manager_id: str) -> dict:
    """One of Entra's PATCH dialects (multi-valued replace; path-less replace with the flag; add on an extension URN
    path; the manager by a bare path and an array), its values changed so that each request is a real change."""
    from tests import entra_requests as entra

    shapes = (entra.TUT_UPDATE_MULTI_VALUED, entra.COMPAT_REPLACE_WITH_FLAG, entra.COMPAT2020_ADD_DEPARTMENT,
              entra.TUT_EXAMPLE_5_ADD_MANAGER)
    body = copy.deepcopy(shapes[i % len(shapes)])
    for operation in body["Operations"]:
        if isinstance(operation.get("value"), list):  # the manager
            operation["value"] = [{"value": manager_id}]
        else:
            operation["value"] = _vary(operation["value"], i)
    return body


def user_disable(i: int) -> dict:
    from tests import entra_requests as entra

    shapes = (entra.DISABLE_WITHOUT_FLAG, entra.DISABLE_WITH_FLAG, entra.TUT_DISABLE, entra.DISABLE_PATHLESS)
    return copy.deepcopy(shapes[i % len(shapes)])


# --- the replay ------------------------------------------------------------------------------------------------------

@dataclass
class Measurements:
    types: dict[str, OperationType]
    cold_import_ms: dict[str, float]
    metric_series: list[tuple]  # (name, dimensions) of every custom metric the functions published
    stored_bytes: dict[str, float]  # per user, group, membership, feed event (items, index entries, overhead)
    moto_check: dict[str, list[float]]  # call type -> [calls, rru+wru computed, moto's]
    failed_calls: int
    sample: dict[str, int]
    key_use_write_units: float


def replay(users: int, groups: int, groups_per_user: int, members_per_patch: int, steady: int,
           batches: dict[str, int], imports: int) -> Measurements:
    from harness import stack

    env = {
        # What template.yaml gives the functions: INFO logs and metrics (both are log bytes).
        "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_DISABLED": "false",
        # Time-driven reads and writes (an IdP's keys re-read, a key's last use recorded) are modelled from the
        # rates, not counted here: the replay's pace is not Entra's.
        "SECRETS_CACHE_TTL_SECONDS": "3600", "KEY_USE_INTERVAL_SECONDS": "3600",
        "INDEX_SETTLE_SECONDS": "0", "PUBLIC_BASE_URL": "https://scim.example.com",
    }
    with stack(env) as s:
        import boto3

        from scim_endpoint import config, management

        boto3.client("events").create_event_bus(Name="cost-bus")
        dead = boto3.client("sqs").create_queue(QueueName="cost-events-dead-letters")["QueueUrl"]
        os.environ.update(EVENT_BUS_NAME="cost-bus", EVENTS_DEAD_LETTER_QUEUE_URL=dead)
        config.settings.cache_clear()
        management.services.cache_clear()

        capacity = CapacityMeter(boto3.client("dynamodb"))
        measurer = Measurer(s, capacity)
        # A warm container: a first request of each function (the key cache, the clients), not measured; only the
        # metrics it publishes (ColdStart) are noted.
        with measurer._logs() as buffer:
            s.request("GET", f"{s.base}/Users", "filter=userName+eq+%22nobody%40contoso.com%22")
            s.request("GET", f"{s.base}/Groups", group_lookup(-1))
        measurer._metrics(buffer.getvalue())
        from scim_endpoint.event_bus import event_bus
        from scim_endpoint.jobs import events_dead_letters
        from scim_endpoint.store import store
        from scim_endpoint.tenants import key_cache

        for client in (store().table.client, key_cache()._secrets.client, event_bus()._client,
                       events_dead_letters()._client):
            capacity.attach(client)
        measurer.attach_put_events(event_bus()._client)
        stream = Stream(measurer, batches)
        stream.read()  # what setting up wrote
        types: dict[str, OperationType] = {}

        def run(label: str, requests: Iterator[tuple]) -> list[dict]:
            """Measure each request of `requests` under `label` (a request may name its own label), then hand the
            stream's new records to the consumers, on behalf of `label` (the writes among the requests)."""
            answers = []
            for item in requests:
                own_label, args = (item[0], item[1:]) if isinstance(item[0], str) and item[0] in INITIAL_TYPES else (
                    label, item)
                sample, response = measurer.request(*args)
                types.setdefault(own_label, OperationType(own_label, sample.function)).requests.append(sample)
                answers.append(response)
            for function, samples in stream.hand_over(stream.read()).items():
                types[label].consumers.setdefault(function, []).extend(samples)
            return answers

        base = s.base
        # The initial sync: per user a lookup then a create; per group a lookup, a create, its members.
        created = run("user create (POST)", ((kind, *args) for n in range(users) for kind, args in (
            ("user lookup (no match)", ("GET", f"{base}/Users", user_lookup(n), None)),
            ("user create (POST)", ("POST", f"{base}/Users", "", user_create(n))))))
        user_ids = [json.loads(r["body"])["id"] for r in created if r["statusCode"] == 201]
        created = run("group create (POST)", ((kind, *args) for g in range(groups) for kind, args in (
            ("group lookup (no match)", ("GET", f"{base}/Groups", group_lookup(g), None)),
            ("group create (POST)", ("POST", f"{base}/Groups", "", group_create(g))))))
        group_ids = [json.loads(r["body"])["id"] for r in created if r["statusCode"] == 201]
        members = {g: [u for n, u in enumerate(user_ids) if g in _groups_of(n, groups, groups_per_user)]
                   for g in range(groups)}
        patches = [(g, members[g][i:i + members_per_patch]) for g in range(groups)
                   for i in range(0, len(members[g]), members_per_patch)]
        run("group member add (PATCH)", (("PATCH", f"{base}/Groups/{group_ids[g]}", "", member_patch(i, chunk))
                                         for i, (g, chunk) in enumerate(patches)))
        stored = _stored_bytes(users, groups, sum(map(len, members.values())))

        # The steady state: each kind of request in its share of `steady` requests.
        counts = {label: max(1, round(share * steady)) for label, share in STEADY_MIX}
        run(STEADY_MIX[0][0], (("GET", f"{base}/Users", user_lookup(i % users), None)
                               for i in range(counts[STEADY_MIX[0][0]])))
        run(STEADY_MIX[1][0], (("GET", f"{base}/Users/{user_ids[i % len(user_ids)]}", "", None)
                               for i in range(counts[STEADY_MIX[1][0]])))
        run(STEADY_MIX[2][0], (("GET", f"{base}/Groups", group_lookup(i % groups), None)
                               for i in range(counts[STEADY_MIX[2][0]])))
        run(STEADY_MIX[3][0], (("PATCH", f"{base}/Users/{user_ids[i % len(user_ids)]}", "",
                                user_update(i, user_ids[(i + 1) % len(user_ids)]))
                               for i in range(counts[STEADY_MIX[3][0]])))
        run(STEADY_MIX[4][0], (("PATCH", f"{base}/Users/{user_ids[-1 - i % len(user_ids)]}", "", user_disable(i))
                               for i in range(counts[STEADY_MIX[4][0]])))

        def member_changes() -> Iterator[tuple]:
            for i in range(counts[STEADY_MIX[5][0]]):
                g = i % groups
                outsider = next((u for u in user_ids if u not in members[g]), None)
                if i % 2 == 0 and outsider:  # add a user who is not a member, then remove a member
                    members[g].append(outsider)
                    yield "PATCH", f"{base}/Groups/{group_ids[g]}", "", member_patch(i, [outsider])
                else:
                    yield "PATCH", f"{base}/Groups/{group_ids[g]}", "", member_patch(i, [members[g].pop(0)], True)

        run(STEADY_MIX[5][0], member_changes())

        moto_check: dict[str, list[float]] = {}
        failed = 0
        for kind in types.values():
            for sample in kind.requests + [x for samples in kind.consumers.values() for x in samples]:
                failed += sample.failed
                for op, (calls, rru, wru, moto) in sample.units.items():
                    row = moto_check.setdefault(op, [0, 0.0, 0.0])
                    row[0] += calls
                    row[1] += rru + wru
                    row[2] += moto
        registry = _key_use_write_units(s.idp_id)
    return Measurements(types, cold_imports(imports), sorted(measurer.metric_series), stored, moto_check, failed,
                        {"users": users, "groups": groups, "groups_per_user": groups_per_user,
                         "members_per_patch": members_per_patch, "steady": steady}, registry)


def _groups_of(n: int, groups: int, groups_per_user: int) -> set[int]:
    """The groups user n belongs to: `groups_per_user` of them, spread evenly."""
    return {(n + k * max(1, groups // groups_per_user)) % groups for k in range(min(groups_per_user, groups))}


def _stored_bytes(users: int, groups: int, memberships: int) -> dict[str, float]:
    """Bytes the table stores per user, group and membership (items with their guards, GSI entries, and 100 bytes of
    overhead each), and per event in the feed, from a scan of the emulator's table."""
    import boto3

    from harness import item_size

    client = boto3.client("dynamodb")
    totals = Counter()
    pages = client.get_paginator("scan").paginate(TableName=ENV["TABLE_NAME"])
    for item in (i for page in pages for i in page["Items"]):
        pk = item["pk"]["S"]
        size = item_size(item) + 100
        kind = ("feed" if pk.startswith("E#") else "membership" if "#Members#" in pk
                else "group" if re.search(r"#Group(#|$)", pk) else "user" if re.search(r"#User(#|$)", pk) else "other")
        totals[kind] += size * (2 if "gsi1pk" in item else 1)  # an index entry of the ALL projection: a copy
        totals[f"{kind} items"] += 1
    return {"user": totals["user"] / users, "group": totals["group"] / groups,
            "membership": totals["membership"] / max(memberships, 1),
            "feed event": totals["feed"] / max(totals["feed items"], 1)}


def _key_use_write_units(idp_id: str) -> float:
    """Write units of recording a key's last use: an update of the key's item in the IdP's registry partition."""
    import boto3

    from harness import item_size, write_units

    items = boto3.client("dynamodb").query(
        TableName=ENV["TABLE_NAME"], KeyConditionExpression="pk = :pk AND begins_with(sk, :key)",
        ExpressionAttributeValues={":pk": {"S": f"T#{idp_id}#Idp"}, ":key": {"S": "key#"}})["Items"]
    return max((write_units(item_size(item)) for item in items), default=1.0)


IMPORT_PROBE = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


def cold_imports(rounds: int) -> dict[str, float]:
    """Median ms of importing each function's handler in a fresh interpreter: a cold start's INIT, on this machine."""
    found = {}
    for function, folder in (("UsersFunction", "users"), ("GroupsFunction", "groups"), ("EventsFunction", "events"),
                             ("CleanupFunction", "cleanup")):
        times = []
        for _ in range(max(rounds, 1)):
            out = subprocess.run([sys.executable, "-c", IMPORT_PROBE, str(ROOT / "functions" / folder / "app.py")],
                                 env={**os.environ, **ENV, "PYTHONPATH": str(ROOT / "layers" / "scim" / "python")},
                                 capture_output=True, text=True, check=True)
            times.append(float(out.stdout.strip()) * 1000)
        found[function] = statistics.median(times)
    return found


# --- from measurements to usage --------------------------------------------------------------------------------------

@dataclass
class Scenario:
    """How the requests arrive, which decides what the measurements cannot: batch sizes, cold starts, traces."""

    tenant_rate: float  # requests/s of one tenant during a cycle
    traced: float  # share of requests X-Ray records
    cold_starts_per_request: float  # new containers per API request (each also reads the IdP's secret)
    consumer_batch: dict[str, float]  # stream records per consumer invocation


def per_type_usage(kind: OperationType, facts: dict, prices: dict, measured: Measurements,
                   scenario: Scenario) -> tuple[Usage, dict]:
    """The average Usage of one request of this type, and the details shown in the report."""
    scale = cpu_scale(prices, facts["memory_mb"])
    latency, default = given(prices, "aws_call_latency_ms"), given(prices, "default_aws_call_latency_ms")
    gb = facts["memory_mb"] / 1024
    n = len(kind.requests)
    # Our own time is the type's median (the benchmark's machine is shared: a slow outlier is its noise, not
    # Lambda's), billed with each request's own AWS calls.
    own_ms = statistics.median(x.own_ms for x in kind.requests)
    api_ms = statistics.fmean(billed_ms(own_ms, x.calls, scale, latency, default) for x in kind.requests)
    usage = Usage(api_requests=1.0, lambda_invocations=1.0, traces=scenario.traced)
    usage.rru = statistics.fmean(x.rru for x in kind.requests)
    usage.wru = statistics.fmean(x.wru for x in kind.requests)
    usage.transfer_out_bytes = statistics.fmean(x.response_bytes for x in kind.requests) + given(
        prices, "http_response_overhead_bytes")
    platform, access = len(PLATFORM_LINES.encode()), access_log_bytes(facts["access_log_format"])
    usage.log_bytes = statistics.fmean(x.log_bytes for x in kind.requests) + platform + access
    usage.secrets_calls = statistics.fmean(x.calls.get("secretsmanager:GetSecretValue", 0) for x in kind.requests)
    gb_ms = api_ms
    init_ms = measured.cold_import_ms.get(kind.function, 0.0) * scale
    gb_ms += scenario.cold_starts_per_request * init_ms
    consumer_ms = 0.0
    for function, samples in kind.consumers.items():
        records = sum(x.records for x in samples) / n
        invocations = records / scenario.consumer_batch.get(function, 1) if records else 0.0
        usage.lambda_invocations += invocations
        per_record = statistics.median(x.own_ms / x.records for x in samples) if samples else 0.0
        own = sum(billed_ms(per_record * x.records, x.calls, scale, latency, default) for x in samples) / n
        consumer_ms += own
        gb_ms += own + invocations * scenario.cold_starts_per_request * measured.cold_import_ms.get(function, 0) * scale
        usage.rru += sum(x.rru for x in samples) / n
        usage.wru += sum(x.wru for x in samples) / n
        usage.events += sum(x.put_events_entries for x in samples) / n
        usage.log_bytes += sum(x.log_bytes for x in samples) / n + invocations * platform
    usage.secrets_calls += scenario.cold_starts_per_request
    usage.lambda_gb_seconds = gb_ms / 1000 * gb
    details = {"api_billed_ms": api_ms, "consumer_billed_ms": consumer_ms,
               "own_ms": own_ms,
               "calls": {op: sum(x.calls.get(op, 0) for x in kind.requests) / n
                         for op in sorted({op for x in kind.requests for op in x.calls})},
               "records": {f: sum(x.records for x in v) / n for f, v in kind.consumers.items()}}
    return usage, details


def time_driven(usage: Usage, shares: dict[str, float], facts: dict, prices: dict, rate: float,
                key_use_wru: float, session: float = math.inf) -> None:
    """Add what a container does on a timer for a tenant whose requests come `session` at a time (one incremental
    cycle; the initial sync is one long session) at `rate` requests/s: it reads the IdP's keys on the session's
    first request (its copy from 40 minutes ago is stale) and again once the copy is SecretsCacheTtlSeconds old, and
    records the key's last use likewise once a minute (an update of the key's item). Per function: the chance
    the session uses it at all, times one read plus one per TTL (with the wait for its next request) of the session's
    length; shared out over the session's requests."""
    ttl = facts["secrets_ttl_seconds"]
    key_use = 60.0  # scim_endpoint.config: key_use_interval_seconds
    for share in shares.values():
        if not share:
            continue
        if math.isinf(session):
            usage.secrets_calls += share / (ttl * rate * share + 1)
            usage.wru += share / (key_use * rate * share + 1) * key_use_wru
            continue
        used = 1 - (1 - share) ** session
        length = session / rate
        usage.secrets_calls += used * (1 + length / (ttl + 1 / (rate * share))) / session
        usage.wru += used * (1 + length / (key_use + 1 / (rate * share))) / session * key_use_wru


def mix_usage(weights: dict[str, float], measured: Measurements, facts: dict, prices: dict,
              scenario: Scenario, session: float = math.inf) -> tuple[Usage, dict[str, dict]]:
    """The Usage of one operation of a mix: the types' usages weighted by their shares of the mix."""
    total = Usage(api_requests=0.0)
    details = {}
    shares: Counter[str] = Counter()
    for label, weight in weights.items():
        kind = measured.types[label]
        usage, detail = per_type_usage(kind, facts, prices, measured, scenario)
        details[label] = {**detail, "weight": weight, "usage": asdict(usage)}
        shares[kind.function] += weight
        for name, value in asdict(usage).items():
            setattr(total, name, getattr(total, name) + weight * value)
    time_driven(total, shares, facts, prices, scenario.tenant_rate, measured.key_use_write_units, session)
    return total, details


def initial_weights(prices: dict) -> dict[str, float]:
    """The initial sync's shares: the tenant's users (a lookup and a create each), groups (likewise) and member
    PATCHes (its memberships, `entra_members_per_patch` to a PATCH)."""
    t = given(prices, "tenant")
    patches = math.ceil(t["users"] * t["groups_per_user"] / given(prices, "entra_members_per_patch"))
    counts = {INITIAL_TYPES[0]: t["users"], INITIAL_TYPES[1]: t["users"], INITIAL_TYPES[2]: t["groups"],
              INITIAL_TYPES[3]: t["groups"], INITIAL_TYPES[4]: patches}
    total = sum(counts.values())
    return {label: count / total for label, count in counts.items()}


def initial_requests(prices: dict) -> int:
    t = given(prices, "tenant")
    return 2 * t["users"] + 2 * t["groups"] + math.ceil(
        t["users"] * t["groups_per_user"] / given(prices, "entra_members_per_patch"))


def steady_requests_per_cycle(prices: dict) -> float:
    return steady_requests_per_month(prices) / (MONTH_DAYS * 24 * 60 / given(prices, "incremental_cycle_minutes"))


def steady_requests_per_month(prices: dict) -> float:
    t = given(prices, "tenant")
    return ((t["users"] + t["groups"]) * given(prices, "steady_changed_objects_per_day") * MONTH_DAYS
            * given(prices, "steady_requests_per_changed_object"))


def fleet_scenario(prices: dict, facts: dict) -> Scenario:
    """Many tenants on one deployment: full stream batches, X-Ray's 5 % (the reservoir is a fixed amount, counted in
    no per-request figure), the assumed share of cold starts."""
    return Scenario(given(prices, "entra_tenant_rate_rps"), given(prices, "xray_sampled_fraction"),
                    given(prices, "cold_start_fraction"), dict(given(prices, "stream_batch_records")))


def tenant_scenario(prices: dict, facts: dict, requests: float, records_per_request: dict[str, float],
                    cycles: bool) -> Scenario:
    """One tenant alone: its requests at Entra's typical rate, so X-Ray's reservoir traces about one a second, and
    the stream's batches hold what one second of its changes brings. With `cycles` (the steady state), each
    incremental cycle wakes cold containers (half of them the API functions', so many per API request; the
    consumers' in proportion to their invocations); else (the initial sync, hours of traffic) the assumed share."""
    rate = given(prices, "entra_tenant_rate_rps")
    reservoir = given(prices, "xray_reservoir_per_second")
    traced = min(1.0, (reservoir + given(prices, "xray_sampled_fraction") * max(rate - reservoir, 0)) / rate)
    colds = given(prices, "cold_start_fraction")
    if cycles:
        per_month = MONTH_DAYS * 24 * 60 / given(prices, "incremental_cycle_minutes")
        colds = per_month * given(prices, "functions_woken_per_cycle") / 2 / max(requests, 1)
    batches = {f: max(1.0, min(facts["stream_batch_size"][f], rate * records)) for f, records in
               records_per_request.items()}
    return Scenario(rate, traced, min(colds, 1.0), batches)


def records_per_request(measured: Measurements, weights: dict[str, float]) -> dict[str, float]:
    found: Counter[str] = Counter()
    for label, weight in weights.items():
        kind = measured.types[label]
        for function, samples in kind.consumers.items():
            found[function] += weight * sum(x.records for x in samples) / len(kind.requests)
    return dict(found)


# --- capacity ----------------------------------------------------------------------------------------------------------

def partition_load(measured: Measurements, weights: dict[str, float]) -> dict[str, tuple[float, float, bool]]:
    """Read and write units one operation of the mix puts on each class of partition; whether one tenant has one
    partition of that class (so its whole rate lands on it)."""
    load: dict[str, list[float]] = {}
    single: dict[str, bool] = {}
    for label, weight in weights.items():
        kind = measured.types[label]
        samples = kind.requests + [x for v in kind.consumers.values() for x in v]
        for sample in samples:
            for pk, (rru, wru) in sample.partitions.items():
                name, one = next(((n, o) for pattern, n, o in PARTITION_CLASSES if re.search(pattern, pk)),
                                 ("other", False))
                row = load.setdefault(name, [0.0, 0.0])
                row[0] += weight * rru / len(kind.requests)
                row[1] += weight * wru / len(kind.requests)
                single[name] = one
    return {name: (r, w, single[name]) for name, (r, w) in load.items()}


def capacity(measured: Measurements, facts: dict, prices: dict, weights: dict[str, float], usage: Usage,
             details: dict[str, dict], tenants: int, rate: float, active: float = 1.0,
             cycle_seconds: float | None = None) -> dict:
    """Every limit's use when `tenants` tenants send the mix, a share `active` of them at once, each at `rate`
    requests/s; with `cycle_seconds`, in cycles that far apart (a container's copy of an IdP's keys is stale by
    the next cycle: one read per function and tenant each cycle, at least)."""
    tenants_in = tenants
    tenants = max(tenants * active, 1.0) if active < 1 else tenants
    rps = tenants * rate
    shares: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for label, weight in weights.items():
        function = measured.types[label].function
        shares[function] += weight
        seconds[function] += weight * details[label]["api_billed_ms"] / 1000
    concurrency = {f: rps * seconds[f] for f in shares}
    ttl = facts["secrets_ttl_seconds"]
    cached = given(prices, "key_cache_max_idps")
    reads = 0.0
    for f, share in shares.items():
        containers = max(concurrency[f], 1.0)
        per_pair = tenants * containers / (ttl + containers / (rate * share))  # once per TTL per container and IdP
        evicted = rps * share * max(0.0, 1 - cached / tenants)  # more IdPs than a container keeps
        reads += min(rps * share, max(per_pair, evicted, tenants_in / cycle_seconds if cycle_seconds else 0.0))
    entries_per_call = _entries_per_put_events(measured)
    load = partition_load(measured, weights)
    part = given(prices, "dynamodb_partition_units_per_second")
    hot_reads = max(v[0] for v in load.values() if v[2])
    hot_writes = max(v[1] for v in load.values() if v[2])
    table = given(prices, "dynamodb_table_quota_units_per_second")
    reserved = facts["reserved"]
    account = given(prices, "lambda_account_concurrency")
    limits = {
        "API Gateway stage (ThrottlingRateLimit)": (rps, facts["stage_rate_limit"]),
        "API Gateway account": (rps, given(prices, "apigateway_account_rps")),
        "Lambda Users (ReservedConcurrencyUsers)": (concurrency.get("UsersFunction", 0), reserved["Users"]),
        "Lambda Groups (ReservedConcurrencyGroups)": (concurrency.get("GroupsFunction", 0), reserved["Groups"]),
        "Lambda account concurrency": (sum(concurrency.values()), account),
        "DynamoDB one tenant's partition (reads)": (rate * hot_reads, part["read"]),
        "DynamoDB one tenant's partition (writes)": (rate * hot_writes, part["write"]),
        "DynamoDB table, on demand (writes)": (rps * usage.wru, table["write"]),
        "DynamoDB table, on demand (reads)": (rps * usage.rru, table["read"]),
        "Secrets Manager GetSecretValue": (reads, given(prices, "secretsmanager_get_secret_value_tps")),
        "EventBridge PutEvents": (rps * usage.events / entries_per_call, given(prices, "eventbridge_put_events_tps")),
    }
    first = max(limits, key=lambda k: limits[k][0] / limits[k][1])
    quotas = [k for k in limits if k not in TEMPLATE_LIMITS]
    first_quota = max(quotas, key=lambda k: limits[k][0] / limits[k][1])
    return {"tenants": tenants_in, "active": tenants, "rate": rate, "rps": rps, "concurrency": dict(concurrency),
            "limits": {k: {"use": u, "limit": lim, "ratio": u / lim} for k, (u, lim) in limits.items()},
            "first": first, "first_quota": first_quota}


# The limits template.yaml sets itself (its parameters raise them); the others are AWS account quotas.
TEMPLATE_LIMITS = ("API Gateway stage (ThrottlingRateLimit)", "Lambda Users (ReservedConcurrencyUsers)",
                   "Lambda Groups (ReservedConcurrencyGroups)")


def _entries_per_put_events(measured: Measurements) -> float:
    entries = calls = 0
    for kind in measured.types.values():
        for sample in kind.consumers.get("EventsFunction", []):
            entries += sample.put_events_entries
            calls += sample.calls.get("events:PutEvents", 0)
    return entries / calls if calls else 10.0


# --- the report ------------------------------------------------------------------------------------------------------

def money(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.995 else f"${x:,.3f}" if x >= 0.0995 else f"${x:.4f}"


def report(measured: Measurements, prices: dict, facts: dict) -> dict:
    fleet = fleet_scenario(prices, facts)
    weights = {"initial sync": initial_weights(prices), "steady state": dict(STEADY_MIX)}
    result: dict = {"prices_region": prices["region"], "prices_date": prices["date"], "mixes": {}}
    sessions = {"initial sync": math.inf, "steady state": steady_requests_per_cycle(prices)}
    for name, w in weights.items():
        usage, details = mix_usage(w, measured, facts, prices, fleet, sessions[name])
        lines = dollars(usage, 1_000_000, prices, facts["log_retention_days"])
        result["mixes"][name] = {"weights": w, "usage": asdict(usage), "per_million": lines,
                                 "per_million_total": sum(lines.values()), "types": details}

    t = given(prices, "tenant")
    steady_n = steady_requests_per_month(prices)
    initial_n = initial_requests(prices)
    memberships = t["users"] * t["groups_per_user"]
    month: dict = {"initial_requests": initial_n, "steady_requests": steady_n}
    for name, n, w in (("initial sync", initial_n, weights["initial sync"]),
                       ("steady state", steady_n, weights["steady state"])):
        scenario = tenant_scenario(prices, facts, n, records_per_request(measured, w), name == "steady state")
        usage, _ = mix_usage(w, measured, facts, prices, scenario, sessions[name])
        month[name] = dollars(usage, n, prices, facts["log_retention_days"])
        month[f"{name} usage"] = asdict(usage)
    stored = measured.stored_bytes
    feed_events = result["mixes"]["steady state"]["usage"]["events"] * steady_n
    table_bytes = (t["users"] * stored["user"] + t["groups"] * stored["group"] + memberships * stored["membership"]
                   + feed_events * facts["event_retention_days"] / MONTH_DAYS * stored["feed event"])
    month["storage"] = {
        "DynamoDB storage": table_bytes / GIB * price(prices, "dynamodb_storage_gb_month"),
        "DynamoDB point-in-time recovery": table_bytes / GIB * price(prices, "dynamodb_pitr_gb_month"),
    }
    month["table_bytes"] = table_bytes
    month["fixed_deployment"] = fixed_monthly(facts, prices, 1, len(measured.metric_series))
    month["steady_month_total"] = (sum(month["steady state"].values()) + sum(month["storage"].values())
                                   + sum(month["fixed_deployment"].values()))
    month["first_month_total"] = month["steady_month_total"] + sum(month["initial sync"].values())
    month["tenant_variable_steady"] = sum(month["steady state"].values()) + sum(month["storage"].values()) + price(
        prices, "secretsmanager_secret_month")
    result["month"] = month

    result["capacity"] = {}
    rate, peak = given(prices, "entra_tenant_rate_rps"), given(prices, "entra_tenant_peak_rps")
    interval = given(prices, "incremental_cycle_minutes") * 60
    cycle_seconds = steady_n / (MONTH_SECONDS / interval) / rate  # one tenant's incremental cycle, at `rate`
    scenarios = (
        (f"steady state: incremental cycles of {cycle_seconds:.1f} s every {interval / 60:g} min at {rate:g} "
         f"req/s, {cycle_seconds / interval:.2%} of tenants in one at a time", "steady state", rate,
         cycle_seconds / interval),
        (f"every tenant in its initial sync at once, {rate:g} req/s each (an onboarding wave, a mapping change)",
         "initial sync", rate, 1.0),
        (f"every tenant in its initial sync at once at {peak:g} req/s each (the most Entra may send)",
         "initial sync", peak, 1.0),
    )
    for title, mix, per_tenant, active in scenarios:
        usage, details = mix_usage(weights[mix], measured, facts, prices, fleet, sessions[mix])
        result["capacity"][title] = [capacity(measured, facts, prices, weights[mix], usage, details, tenants,
                                              per_tenant, active, interval if active < 1 else None)
                                     for tenants in (10, 1_000, 10_000)]
    result["partitions"] = {name: {"rru": r, "wru": w, "one_per_tenant": one} for name, (r, w, one) in
                            partition_load(measured, weights["initial sync"]).items()}
    result["moto_check"] = measured.moto_check
    result["failed_dynamodb_calls"] = measured.failed_calls
    result["cold_import_ms"] = measured.cold_import_ms
    result["metric_series"] = [f"{name} {dict(dimensions)}" for name, dimensions in measured.metric_series]
    result["stored_bytes"] = stored
    result["sample"] = measured.sample
    result["facts"] = {k: v for k, v in facts.items() if k != "access_log_format"}
    result["access_log_format"] = facts["access_log_format"]
    return result


def _verdict(column: dict, name: str) -> str:
    ratio = column["limits"][name]["ratio"]
    return f"first to bite: {name} ({ratio:.0%})" if ratio >= 1 else f"none bites, the closest: {name} ({ratio:.1%})"


def print_report(r: dict, prices: dict, facts: dict) -> None:
    sample = r["sample"]
    scale = cpu_scale(prices, facts["memory_mb"])
    print(f"AWS cost of Entra's provisioning requests, prices {r['prices_region']} as of {r['prices_date']} "
          f"(bench/prices.json; no free tier).")
    print(f"Measured: {sample['users']} users, {sample['groups']} groups, {sample['groups_per_user']} groups per "
          f"user, {sample['members_per_patch']} member(s) per PATCH, {sample['steady']} steady-state requests, "
          f"replayed over moto. Lambda: {facts['memory_mb']} MB {facts['architectures'][0]}, own code x{scale:.2f} "
          f"(CPU share at that memory), plus the assumed latency of each AWS call, billed per 1 ms.")
    for name, mix in r["mixes"].items():
        print(f"\n== {name}: cost per 1,000,000 operations = {money(mix['per_million_total'])}")
        print(f"  {'operation':40s} {'share':>6s} {'RRU':>5s} {'WRU':>5s} {'own ms':>7s} {'billed':>7s} "
              f"{'stream':>7s} {'events':>6s} {'log B':>6s}")
        for label, d in mix["types"].items():
            u = d["usage"]
            print(f"  {label:40s} {d['weight']:6.1%} {u['rru']:5.1f} {u['wru']:5.1f} {d['own_ms']:7.2f} "
                  f"{d['api_billed_ms']:7.1f} {d['consumer_billed_ms']:7.1f} {u['events']:6.2f} "
                  f"{u['log_bytes']:6.0f}")
        u = mix["usage"]
        print(f"  per operation: {u['rru']:.2f} RRU, {u['wru']:.2f} WRU, {u['lambda_invocations']:.3f} Lambda "
              f"invocations, {u['lambda_gb_seconds'] * 1000:.1f} GB-ms, {u['events']:.2f} events, "
              f"{u['secrets_calls']:.4f} GetSecretValue, {u['log_bytes']:.0f} log bytes, "
              f"{u['transfer_out_bytes']:.0f} bytes out")
        total = mix["per_million_total"]
        for item, cost in sorted(mix["per_million"].items(), key=lambda kv: -kv[1]):
            print(f"    {item:28s} {money(cost):>9s}  {cost / total:6.1%}")

    m = r["month"]
    t = given(prices, "tenant")
    print(f"\n== one tenant of {t['users']:,} users and {t['groups']:,} groups ({t['users'] * t['groups_per_user']:,} "
          f"memberships), per month")
    print(f"  initial sync: {m['initial_requests']:,} requests, once: {money(sum(m['initial sync'].values()))}")
    print(f"  steady state: {m['steady_requests']:,.0f} requests a month: {money(sum(m['steady state'].values()))}; "
          f"table {m['table_bytes'] / 2**20:.1f} MiB stored: {money(sum(m['storage'].values()))}")
    print("  fixed, per deployment (any number of tenants): "
          + ", ".join(f"{k} {money(v)}" for k, v in m["fixed_deployment"].items()))
    print(f"  a steady month: {money(m['steady_month_total'])} (the tenant's own share: "
          f"{money(m['tenant_variable_steady'])}, its secret included); the first month, with the initial sync: "
          f"{money(m['first_month_total'])}")
    steady = m["steady state"]
    top = sorted(steady.items(), key=lambda kv: -kv[1])[:3]
    print("  largest steady-state items: " + ", ".join(f"{k} {money(v)}" for k, v in top))

    print("\n== capacity: each limit's use per second (and its share of the limit), for 10, 1,000 and 10,000 tenants")
    for title, columns in r["capacity"].items():
        print(f"  {title}")
        print(f"    {'':56s}" + "".join(f"{c['tenants']:>17,} tenants" for c in columns))
        print(f"    {'requests/s':56s}" + "".join(f"{c['rps']:>25,.0f}" for c in columns))
        print(f"    {'Lambda concurrency (Users + Groups)':56s}" + "".join(
            f"{sum(c['concurrency'].values()):>25,.1f}" for c in columns))
        for name in columns[0]["limits"]:
            cells = "".join(f"{c['limits'][name]['use']:>15,.1f} ({c['limits'][name]['ratio']:>7.0%})"
                            for c in columns)
            print(f"    {name + ' [' + format(columns[0]['limits'][name]['limit'], ',.0f') + ']':56s}{cells}")
        for c in columns:
            print(f"    {c['tenants']:,} tenants: {_verdict(c, c['first'])}; with template.yaml's own limits raised: "
                  f"{_verdict(c, c['first_quota'])}")
    print("  one tenant's partitions, units per initial-sync operation (read / write):")
    for name, p in sorted(r["partitions"].items(), key=lambda kv: -kv[1]["wru"]):
        print(f"    {name:32s} {p['rru']:5.2f} / {p['wru']:5.2f}{'  (one per tenant)' if p['one_per_tenant'] else ''}")

    print("\n== DynamoDB units: moto's ReturnConsumedCapacity against DynamoDB's rules (used: the rules, all calls)")
    for op, (calls, computed, moto) in sorted(r["moto_check"].items()):
        print(f"  {op:20s} {calls:6.0f} calls  rules {computed / calls:5.2f} units/call  moto {moto / calls:5.2f}")
    print(f"  failed DynamoDB calls: {r['failed_dynamodb_calls']}; cold import (INIT, this machine, x{scale:.2f} "
          "billed at the cold-start share): "
          + ", ".join(f"{f.replace('Function', '')} {ms:.0f} ms" for f, ms in r["cold_import_ms"].items()))
    print(f"  log bytes per invocation: what the handler wrote (measured), plus Lambda's START/END/REPORT/XRAY lines "
          f"({len(PLATFORM_LINES.encode())} B) and, per API request, one access log line "
          f"({access_log_bytes(r['access_log_format'])} B, template.yaml's format filled in)")
    print("  assumed, not measured (bench/prices.json inputs): AWS call latencies, CPU speed, cold-start share, "
          "Entra's rate per tenant, X-Ray sampling, log compression, response headers, members per PATCH, the "
          "tenant and its daily changes.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users the measured initial sync creates")
    parser.add_argument("--groups", type=int, default=10, help="groups it creates (the tenant's ratio: 1 per 20)")
    parser.add_argument("--steady", type=int, default=400, help="steady-state requests measured")
    parser.add_argument("--imports", type=int, default=1, help="fresh interpreters per handler for the INIT time")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    prices = load_prices()
    facts = template_facts()
    t = given(prices, "tenant")
    started = time.perf_counter()
    measured = replay(args.users, args.groups, min(t["groups_per_user"], args.groups),
                      int(given(prices, "entra_members_per_patch")), args.steady,
                      dict(given(prices, "stream_batch_records")), args.imports)
    result = report(measured, prices, facts)
    result["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(result, indent=1, default=str))
    else:
        print_report(result, prices, facts)
        print(f"\n({result['seconds']:.0f} s)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # tests.entra_requests
    main()
