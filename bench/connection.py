"""Benchmark: cold import time of the handler modules, and what Entra's Test Connection costs once warm.

    make bench            (or: .venv/bin/python bench/connection.py [--rounds 200] [--imports 7])

Prints, per handler module, the median wall time of a cold `import` in a fresh interpreter, and for the two Test
Connection requests the number of DynamoDB and Secrets Manager calls a warm container makes and the median time
spent in our own code (handler time minus the time inside the AWS emulator, which is not DynamoDB's speed).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
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
IMPORT_PROBE = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


def cold_imports(rounds: int) -> dict[str, float]:
    medians = {}
    for name in ("users", "groups", "discovery"):
        path = ROOT / "functions" / name / "app.py"
        times = []
        for _ in range(rounds):
            out = subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE, str(path)],
                env={**os.environ, **ENV},
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(float(out.stdout.strip()))
        medians[name] = statistics.median(times)
    return medians


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


def warm_test_connection(rounds: int) -> list[tuple[str, dict[str, int], float]]:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT / "layers" / "scim" / "python"))
    import boto3
    from moto import mock_aws

    from scim_endpoint import store, tenants
    from scim_endpoint.local import template
    from scim_endpoint.local.events import build_event, match_route
    from scim_endpoint.local.server import LambdaContext

    with mock_aws():
        boto3.client("dynamodb").create_table(TableName=ENV["TABLE_NAME"], **template.table_definition())
        directory = tenants.TenantDirectory(boto3.client("secretsmanager"), ENV["SECRETS_PREFIX"])
        idp = directory.create_idp("bench")
        _, token = directory.create_key(idp.id, "bench", "", ["users:write", "groups:write"])
        routes = template.routes()
        handlers = {}
        for name in ("users", "groups"):
            spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "functions" / name / "app.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            handlers[name] = module.lambda_handler

        requests = [
            ("users", f"/v1/scim/{idp.id}/Users", 'filter=userName+eq+%22{guid}%22'),
            ("groups", f"/v1/scim/{idp.id}/Groups", 'excludedAttributes=members&filter=displayName+eq+%22{guid}%22'),
        ]
        meter = AwsMeter()
        results = []
        attached = False
        for name, path, query in requests:
            route, params, _ = match_route(routes, "GET", path)
            headers = [("Host", "bench.local"), ("Authorization", f"Bearer {token}")]

            def invoke() -> dict:
                event = build_event(route, params, "GET", path, query.format(guid=uuid.uuid4()), headers, b"")
                return handlers[name](event, LambdaContext(name, event["requestContext"]["requestId"]))

            assert invoke()["statusCode"] == 200  # warms the container: key cache, clients
            if not attached:
                meter.attach(store.store()._client)
                meter.attach(tenants.key_cache()._secrets.client)
                attached = True
            own_times = []
            calls = Counter()
            for _ in range(rounds):
                meter.reset()
                started = time.perf_counter()
                response = invoke()
                elapsed = time.perf_counter() - started
                assert response["statusCode"] == 200 and '"totalResults":0' in response["body"]
                own_times.append(elapsed - meter.seconds)
                calls = meter.calls.copy()
            results.append((f"GET {path.rsplit('/', 1)[-1]} (Test Connection)", dict(calls), statistics.median(own_times)))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="warm requests per Test Connection probe")
    parser.add_argument("--imports", type=int, default=7, help="fresh interpreters per handler module")
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]} on {os.uname().machine}")
    print(f"\nCold import of a handler module (median of {args.imports} fresh interpreters):")
    for name, seconds in cold_imports(args.imports).items():
        print(f"  functions/{name}/app.py  {seconds * 1000:7.1f} ms")
    print(f"\nWarm Test Connection (median of {args.rounds} requests; AWS calls per request):")
    for label, calls, own in warm_test_connection(args.rounds):
        shown = ", ".join(f"{op} x{n}" for op, n in sorted(calls.items())) or "none"
        print(f"  {label:38s} own code {own * 1000:6.2f} ms   AWS calls: {shown}")


if __name__ == "__main__":
    main()
