"""Benchmark: cold import time of the handler modules, and what Entra's Test Connection costs once warm.

    .venv/bin/python bench/connection.py [--rounds 200] [--imports 7]

Prints, per handler module, the median wall time of a cold `import` in a fresh interpreter, and for the two Test
Connection requests the number of DynamoDB and Secrets Manager calls a warm container makes and the median time
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

IMPORT_PROBE = """
import importlib.util, sys, time
started = time.perf_counter()
if sys.argv[2] == "before":  # what every environment paid before: Powertools' Tracer imports the X-Ray SDK, on or off
    from aws_lambda_powertools import Tracer
    Tracer(disabled=True)
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


# How a function's environment looks to the code: in Lambda with X-Ray active (the daemon's address is set), in
# Lambda without it, and the code before it imported the X-Ray SDK only where it traces.
VARIANTS = {
    "X-Ray active": {"LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                     "POWERTOOLS_TRACE_DISABLED": "false"},
    "X-Ray off": {"LAMBDA_TASK_ROOT": "/var/task"},
    "before (X-Ray SDK always)": {"LAMBDA_TASK_ROOT": "/var/task"},
}


def cold_imports(rounds: int) -> dict[tuple[str, str], float]:
    """(function, variant) -> median seconds of a cold import of its handler module in a fresh interpreter (the
    init a cold start runs, and what a SnapStart snapshot holds done); variants interleaved, so a noisy moment of
    the machine falls on all of them."""
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for name in ("users", "groups", "discovery", "token"):
            for variant, environment in VARIANTS.items():
                out = subprocess.run(
                    [sys.executable, "-c", IMPORT_PROBE, str(ROOT / "functions" / name / "app.py"),
                     "before" if variant.startswith("before") else "now"],
                    env={**os.environ, **ENV, **environment, "PYTHONPATH": str(ROOT / "layers" / "scim" / "python")},
                    capture_output=True, text=True, check=True,
                )
                times.setdefault((name, variant), []).append(float(out.stdout.strip()))
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="warm requests per Test Connection probe")
    parser.add_argument("--imports", type=int, default=7, help="fresh interpreters per handler module")
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]} on {os.uname().machine}")
    print(f"\nCold import of a handler module (median of {args.imports} fresh interpreters), in ms:")
    medians = cold_imports(args.imports)
    print(f"  {'':28}" + "".join(f"{variant:>28}" for variant in VARIANTS))
    for name in ("users", "groups", "discovery", "token"):
        print(f"  functions/{name + '/app.py':20}" + "".join(
            f"{medians[(name, variant)] * 1000:28.1f}" for variant in VARIANTS))
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
