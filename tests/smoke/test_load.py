"""`make load` at a tiny size: it starts the local server, replays Entra's initial sync, reports, checks, and stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.local.server import log_path, state_file

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("verify", ["cursor", "index", "lookup"])
def test_a_small_load_run_reports_every_operation_and_finds_what_it_sent(verify: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "devtools.load", "--users", "40", "--groups", "4", "--members-per-group", "12",
         "--concurrency", "4", "--timeout", "50", "--verify", verify, "--json"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and "failure" not in result and result["error_count"] == 0, result

    # Every kind of request, as many as were sent: two PATCHes a group (12 members, 10 a PATCH).
    operations = {o["operation"]: o for o in result["summary"]["operations"]}
    expected = {"lookup user": 40, "create user": 40, "lookup group": 4, "create group": 4, "add members": 8}
    assert {kind: o["requests"] for kind, o in operations.items()} == expected
    for o in operations.values():
        assert o["errors"] == 0
        assert 0 < o["p50_ms"] <= o["p99_ms"] <= o["max_ms"]
        assert o["server_lines"] == o["requests"]  # each request's own log line, read from the server's output
        assert o["dynamodb_calls_mean"] >= 1 and o["dynamodb_calls_max"] >= 1
    phases = {p["phase"]: p for p in result["summary"]["phases"]}
    assert phases["total"]["requests"] == sum(expected.values())
    assert all(phases[p]["requests_per_second"] > 0 for p in ("users", "groups", "memberships", "total"))

    verification = result["verification"]
    assert verification["ok"] and verification["problems"] == []
    assert (verification["users"], verification["groups"], verification["memberships"]) == (40, 4, 48)
    reads = {o["operation"]: o["requests"] for o in verification["operations"]}
    users = {"cursor": {"list users": 1}, "index": {"list users": 1},
             "lookup": {"count users": 1, "look up user": 40}}[verify]
    assert reads == {**users, "list groups": 1, "read members": 4}
    assert all(o["server_lines"] == o["requests"] and o["dynamodb_calls_mean"] >= 1 for o in verification["operations"])

    # The server it started is gone, and so are the files it keeps in the checkout.
    port = result["settings"]["port"]
    assert not state_file(port).exists() and not log_path(port).exists()


def test_the_comparison_finds_what_differs() -> None:
    """What the verification calls a difference: a value changed or dropped, a resource missing, extra or twice."""
    from devtools.load import differences, unlike, user_body

    sent = user_body(7)
    got = json.loads(json.dumps({**sent, "id": "x", "meta": {"resourceType": "User", "version": "W/\"1\""}}))
    del got["roles"]  # an empty list sent reads back as absent
    assert unlike(sent, got) is None
    got["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] = "Other"
    assert unlike(sent, got) == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department"
    del got["emails"]
    assert unlike(sent, got) == "emails"
    assert differences("id", ["a", "b"], ["a", "b"]) == []
    assert differences("id", ["a", "b", "c"], ["a", "b", "b", "d"]) == [
        "id: 1 missing: c", "id: 1 not sent: d", "id: 1 listed twice: b"]
