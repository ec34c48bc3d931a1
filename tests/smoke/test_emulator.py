"""`make emulator` for `sam local` without an AWS account, tested without Docker: the emulator runs as `make
emulator` starts it, and a function's handler runs in a process of its own with exactly the environment sam local
would give it from the env-vars file the emulator wrote; Entra's Test Connection then answers as in AWS."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.emulator import function_environment
from devtools.local.template import REPO_ROOT
from tests.smoke.test_local_server import free_port, server_env

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 60

# What the function's process runs: the handler of one function, on one event, the answer printed as JSON.
INVOKE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
class Context:
    function_name = "UsersFunction"; memory_limit_in_mb = 512; aws_request_id = "sam-local"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:UsersFunction"
    def get_remaining_time_in_millis(self): return 28000
event = json.load(open(sys.argv[2]))
print("ANSWER " + json.dumps(module.lambda_handler(event, Context())))
"""


@pytest.fixture
def emulator(tmp_path: Path):
    port = free_port()
    directory = tmp_path / "emulator"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.emulator", "--port", str(port), "--dir", str(directory)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=server_env(),
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while not (directory / "credentials.json").exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the emulator did not start"
        time.sleep(0.2)
    try:
        yield port, directory
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def invoke(directory: Path, event_file: str, function: str = "users") -> dict:
    """A function's handler in a fresh process, with the environment sam local would give it (and the layers on
    its path, where Lambda puts them)."""
    environment = {name: str(value) for name, value in function_environment(directory / "env.json").items()}
    environment["PATH"] = os.environ.get("PATH", "")
    environment["PYTHONPATH"] = server_env()["PYTHONPATH"]
    result = subprocess.run(
        [sys.executable, "-c", INVOKE, str(REPO_ROOT / "functions" / function / "app.py"),
         str(directory / "events" / event_file)],
        capture_output=True, text=True, timeout=60, env=environment,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [text for text in result.stdout.splitlines() if text.startswith("ANSWER ")]
    return json.loads(line.removeprefix("ANSWER "))


def test_a_function_answers_test_connection_against_the_emulator(emulator) -> None:
    port, directory = emulator
    env = json.loads((directory / "env.json").read_text())["Parameters"]
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    credentials = json.loads((directory / "credentials.json").read_text())
    assert stat.S_IMODE((directory / "credentials.json").stat().st_mode) == 0o600
    # The token is in the events too: every file is its owner's alone, in directories only its owner can open.
    assert {stat.S_IMODE(path.stat().st_mode) for path in (directory / "events").iterdir()} == {0o600}
    assert stat.S_IMODE(directory.stat().st_mode) == stat.S_IMODE((directory / "events").stat().st_mode) == 0o700
    assert credentials["token"] in (directory / "events" / "get-users-filter.json").read_text()

    # Entra's Test Connection: a user that does not exist, found nowhere.
    answer = invoke(directory, "get-users-filter.json")
    assert answer["statusCode"] == 200, answer
    body = json.loads(answer["body"])
    assert body["totalResults"] == 0 and body["Resources"] == []

    # And a write and a read through the same emulator, as sam local start-api would serve them.
    created = invoke(directory, "post-user.json")
    assert created["statusCode"] == 201, created
    assert json.loads(created["body"])["meta"]["location"].startswith("http://127.0.0.1:3000/v1/scim/demo/Users/")
    assert invoke(directory, "get-service-provider-config.json", function="discovery")["statusCode"] == 200


def test_without_the_emulators_token_the_function_answers_401(emulator) -> None:
    _, directory = emulator
    sample = json.loads((REPO_ROOT / "events" / "get-users-filter.json").read_text())
    (directory / "events" / "unfilled.json").write_text(json.dumps(sample))
    assert invoke(directory, "unfilled.json")["statusCode"] == 401
