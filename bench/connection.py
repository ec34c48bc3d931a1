"""Benchmark: cold import time of the handler modules, and what Entra's Test Connection costs once warm.

    .venv/bin/python bench/connection.py [--rounds 200] [--imports 7]

Prints, per API function, its cold start in a fresh interpreter (the handler module's import, and what the first
request adds: the AWS SDK's clients), as the code was before, with X-Ray off and active, and under SnapStart (our part
of a restore); then for the Test Connection requests the number of DynamoDB and Secrets Manager calls a warm container makes and the median time
spent in our own code (handler time minus the time inside the AWS emulator).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import uuid

from harness import ENV, ROOT, stack

# One cold start in a fresh interpreter, in ms: "init" (the handler module's import: what Lambda's Init phase runs),
# "first" (what the first request adds: the AWS SDK and its clients, made on first use), and for SnapStart "restore"
# (our part of a restore: the after-restore hooks, then the clients, from the SDK models the snapshot holds; Lambda's
# own restore of the snapshot is on top, and is not measurable here).
COLD_START_PROBE = """
import importlib.util, sys, time
mode = sys.argv[2]
started = time.perf_counter()
if mode == "before":  # the code before: Powertools' Tracer built (and the X-Ray SDK imported) on or off
    from aws_lambda_powertools import Tracer
    Tracer(disabled=True)
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
initialized = time.perf_counter()
from scim_endpoint import snapstart
if mode == "snapstart":
    snapstart.before_snapshot()  # at publish time, not on a request's path
    initialized = time.perf_counter()
    snapstart.after_restore()
import boto3
boto3.client("dynamodb")
boto3.client("secretsmanager")
done = time.perf_counter()
print((initialized - started) * 1000 if mode != "snapstart" else 0.0, (done - initialized) * 1000)
"""

# How a function's environment looks to the code: in Lambda with X-Ray active (the daemon's address is set), in
# Lambda without it; the code before this version (which imported the X-Ray SDK wherever it ran); and SnapStart.
VARIANTS = {
    "before": ("before", {"LAMBDA_TASK_ROOT": "/var/task"}),
    "X-Ray off": ("now", {"LAMBDA_TASK_ROOT": "/var/task"}),
    "X-Ray active": ("now", {"LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                             "POWERTOOLS_TRACE_DISABLED": "false"}),
    "SnapStart": ("snapstart", {"LAMBDA_TASK_ROOT": "/var/task"}),
}
FUNCTIONS = ("users", "groups", "discovery", "token")


def cold_starts(rounds: int) -> dict[tuple[str, str], tuple[float, float]]:
    """(function, variant) -> medians of (init ms, first-request ms) over `rounds` fresh interpreters; variants
    interleaved, so a noisy moment of this shared machine falls on all of them."""
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for name in FUNCTIONS:
            for variant, (mode, environment) in VARIANTS.items():
                out = subprocess.run(
                    [sys.executable, "-c", COLD_START_PROBE, str(ROOT / "functions" / name / "app.py"), mode],
                    env={**os.environ, **ENV, **environment, "PYTHONPATH": str(ROOT / "layers" / "scim" / "python")},
                    capture_output=True, text=True, check=True,
                )
                init, first = (float(x) for x in out.stdout.split())
                times.setdefault((name, variant), []).append((init, first))
    return {key: (statistics.median(i for i, _ in values), statistics.median(f for _, f in values))
            for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="warm requests per Test Connection probe")
    parser.add_argument("--imports", type=int, default=7, help="fresh interpreters per handler module")
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]} on {os.uname().machine}")
    print(f"\nCold start, in ms (medians of {args.imports} fresh interpreters): init + the first request's SDK "
          "clients = total; SnapStart: our part of a restore")
    medians = cold_starts(args.imports)
    print(f"  {'':28}" + "".join(f"{variant:>22}" for variant in VARIANTS))
    for name in FUNCTIONS:
        cells = []
        for variant in VARIANTS:
            init, first = medians[(name, variant)]
            cells.append(f"{first:.0f}" if variant == "SnapStart" else f"{init:.0f} + {first:.0f} = {init + first:.0f}")
        print(f"  functions/{name + '/app.py':18}" + "".join(f"{cell:>22}" for cell in cells))
    print(f"\nWarm Test Connection (median of {args.rounds} requests):")
    with stack() as s:
        users = s.measure("GET /Users?filter=userName eq <guid>", args.rounds, lambda i: (
            "GET", f"{s.base}/Users", f"filter=userName+eq+%22{uuid.uuid4()}%22", None), 200)
        groups = s.measure("GET /Groups?...displayName eq <guid>", args.rounds, lambda i: (
            "GET", f"{s.base}/Groups", f"excludedAttributes=members&filter=displayName+eq+%22{uuid.uuid4()}%22",
            None), 200)
        s.token = s.access_token()  # the same probe, with an OAuth access token (a JWT) in place of the API key
        oauth = s.measure("GET /Users?... with an OAuth access token", args.rounds, lambda i: (
            "GET", f"{s.base}/Users", f"filter=userName+eq+%22{uuid.uuid4()}%22", None), 200)
        s.token = s.api_key
        s.declare_extension()  # the same probe for an IdP with a schema extension of its own (10 attributes)
        extended = s.measure("GET /Users?... for an IdP with an extension", args.rounds, lambda i: (
            "GET", f"{s.base}/Users", f"filter=userName+eq+%22{uuid.uuid4()}%22", None), 200)
    for measured in (users, groups, oauth, extended):
        print(measured.line())


if __name__ == "__main__":
    main()
