"""Benchmark: the local server's requests per second over one kept-alive HTTP/1.1 connection, beside a fresh
connection per request.

    .venv/bin/python bench/keepalive.py [--requests 200] [--rounds 5]

Starts the local server (`scim-local`, one seeded IdP) on a free loopback port and sends it, in each round and for
each request, `--requests` sequential requests over one kept-alive connection, then as many each on a connection of
its own (`Connection: close`, as urllib sends). Prints per request and connection mode the median over the rounds of
the requests per second, and the median time of one request. Unlike the other benchmarks this is end to end: HTTP,
the event, the handler and moto, all on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path

from harness import ROOT

sys.path.insert(0, str(ROOT))  # this checkout's devtools, as the server below runs it
from devtools.local.server import log_path  # noqa: E402

START_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, directory: Path) -> tuple[subprocess.Popen, dict]:
    """The server as `make run` starts it, with nothing in the environment pointing its AWS calls elsewhere;
    returns it and its seeded IdP once it is ready."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("AWS_") and name not in ("TABLE_NAME", "SECRETS_PREFIX")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "scim" / "python"), str(ROOT)])
    credentials, output = directory / "creds.json", directory / "server.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.local.server", "--port", str(port), "--tenants", "1",
             "--credentials-file", str(credentials)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not credentials.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the local server did not start:\n{output.read_text()}")
        time.sleep(0.05)
    (tenant,) = json.loads(credentials.read_text(encoding="utf-8"))
    return process, tenant


def send(connection: HTTPConnection, target: str, headers: dict[str, str]) -> None:
    connection.request("GET", target, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, (target, response.status)


def kept_alive(port: int, targets: list[str], headers: dict[str, str]) -> list[float]:
    """Seconds per request, all over one connection (opened before the first)."""
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    connection.connect()
    sock, seconds = connection.sock, []
    for target in targets:
        started = time.perf_counter()
        send(connection, target, headers)
        seconds.append(time.perf_counter() - started)
    # http.client reconnects silently when the server closes: then this would not measure what it says.
    assert connection.sock is sock, "the server closed the kept-alive connection"
    connection.close()
    return seconds


def fresh(port: int, targets: list[str], headers: dict[str, str]) -> list[float]:
    """Seconds per request, each on a connection of its own (connect included)."""
    seconds = []
    for target in targets:
        started = time.perf_counter()
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        send(connection, target, {**headers, "Connection": "close"})
        connection.close()
        seconds.append(time.perf_counter() - started)
    return seconds


MODES: dict[str, Callable[[int, list[str], dict[str, str]], list[float]]] = {
    "one kept-alive connection": kept_alive,
    "a connection per request": fresh,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per round and mode")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the medians are over these")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process, tenant = start_server(port, Path(directory))
        try:
            base = f"/v1/scim/{tenant['idp_id']}"
            headers = {"Authorization": f"Bearer {tenant['token']}", "Accept": "application/scim+json"}
            requests = {
                "GET /ServiceProviderConfig": lambda: f"{base}/ServiceProviderConfig",
                "GET /Users?filter=userName eq <guid>": lambda: f'{base}/Users?filter=userName+eq+%22{uuid.uuid4()}%22',
            }
            print(f"Python {sys.version.split()[0]} on {os.uname().machine}; local server on 127.0.0.1:{port}")
            print(f"{args.requests} sequential requests per round, medians of {args.rounds} rounds:")
            for label, target in requests.items():
                for measure in MODES.values():  # warm-up, unmeasured
                    measure(port, [target() for _ in range(20)], headers)
                rates: dict[str, list[float]] = {mode: [] for mode in MODES}
                latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
                for _ in range(args.rounds):  # the modes take turns, so drift over time touches both alike
                    for mode, measure in MODES.items():
                        seconds = measure(port, [target() for _ in range(args.requests)], headers)
                        rates[mode].append(len(seconds) / sum(seconds))
                        latencies[mode].extend(seconds)
                for mode in MODES:
                    print(f"  {label:38s} {mode:27s} {statistics.median(rates[mode]):7.0f} req/s"
                          f"  {statistics.median(latencies[mode]) * 1000:6.2f} ms/request")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
            log_path(port).unlink(missing_ok=True)  # the functions' log lines of this run: nothing to keep


if __name__ == "__main__":
    main()
