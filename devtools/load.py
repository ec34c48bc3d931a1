"""A bounded local load run: Entra's initial sync of many users and groups against the local server.

    make load [USERS=10000] [GROUPS=500]
    .venv/bin/python -m devtools.load [--users 10000] [--groups 500] [--members-per-group 20] [--concurrency 8]
                                      [--batch 10] [--port P] [--timeout 1800] [--verify cursor] [--json]

Starts the local server (`scim-local`, as `make run` does) on a free loopback port, then replays the requests Entra
sends in an initial sync, in three phases, with a fixed pool of workers, each on its own kept-alive connection:

1. users: for each user, the lookup `GET /Users?filter=userName eq "…"` (an empty list), then `POST /Users`;
2. groups: for each group, `GET /Groups?excludedAttributes=members&filter=displayName eq "…"`, then `POST /Groups`;
3. memberships: `PATCH /Groups/{id}` adding a few members at a time (`--batch`), members drawn from the users.

It reports requests per second per phase, client-side p50/p99 latency per operation, and the DynamoDB calls per
operation that the server's own log lines count ("request handled", `dynamodb_calls`). Then it reads the whole
directory back through the SCIM API and checks it holds exactly what was sent: the same users (userName, externalId,
id, and every attribute sent), the same groups (displayName, externalId, id), and each group's members
(`GET /Groups/{id}?attributes=members`). Users and groups are listed by cursor (RFC 9865) unless --verify says
otherwise. Any answer other than 2xx, a difference, or the --timeout passing fails the run (exit 1). The server is
stopped at the end, also on a failure or Ctrl-C. All data is synthetic.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
REQUEST_TIMEOUT_SECONDS = 120
PAGE_SIZE = 100

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
MICROSOFT_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
NAMESPACE = uuid.UUID("6f1c3a52-2b7e-4c59-9a43-1d0c5e2f8b11")  # externalIds: the same for the same run sizes

# The operation kinds, in report order: (kind, phase, the server's name of the operation).
OPERATIONS = [
    ("lookup user", "users", "GET /Users"),
    ("create user", "users", "POST /Users"),
    ("lookup group", "groups", "GET /Groups"),
    ("create group", "groups", "POST /Groups"),
    ("add members", "memberships", "PATCH /Groups/{id}"),
]
PHASES = ["users", "groups", "memberships"]
# What the verification reads, reported apart from the load.
READS = [
    ("list users", "verify users", "GET /Users"),  # --verify cursor (the default) or index
    ("count users", "verify users count", "GET /Users"),  # --verify lookup
    ("look up user", "verify users", "GET /Users"),
    ("list groups", "verify groups", "GET /Groups"),
    ("read members", "verify members", "GET /Groups/{id}"),
]


class Failed(Exception):
    """The run cannot go on (the server did not start, the time is up, ...)."""


class TimeUp(Failed):
    pass


# --- the data sent: synthetic users and groups ---------------------------------------------------------------------

def user_body(number: int) -> dict:
    """A user as Entra creates one (docs/entra.md §2.3, the tutorial's "Create User" with the enterprise
    extension Entra's default mappings fill). Synthetic: numbered names on a reserved domain."""
    given, family = f"Given{number:05d}", "Loadtest"
    user_name = f"load.user{number:05d}@contoso.example"
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "externalId": str(uuid.uuid5(NAMESPACE, f"user-{number}")),
        "userName": user_name,
        "active": True,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "title": f"Title {number % 17}",
        "preferredLanguage": "en-US",
        "roles": [],
        ENTERPRISE_USER: {
            "employeeNumber": f"E{number:06d}",
            "department": f"Department {number % 23}",
            "costCenter": f"CC-{number % 11:03d}",
            "organization": "Contoso Load",
            "division": f"Division {number % 5}",
        },
    }


def group_body(number: int) -> dict:
    """A group as Entra creates one (the tutorial's group "Create"): no members; they come by PATCH."""
    return {
        "schemas": [CORE_GROUP, MICROSOFT_GROUP],
        "externalId": str(uuid.uuid5(NAMESPACE, f"group-{number}")),
        "displayName": f"Load Group {number:04d}",
        "meta": {"resourceType": "Group"},
    }


def add_members_body(user_ids: list[str]) -> dict:
    """Entra's "Add members" (docs/entra.md §2.8): one Add operation with a handful of values."""
    return {"schemas": [PATCH_OP],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": i} for i in user_ids]}]}


def eq_filter(attribute: str, value: str) -> str:
    """`attribute eq "value"` as Entra puts it in a query string: spaces as `+`, the value percent-encoded."""
    return f"{attribute}+eq+%22{quote(value, safe='')}%22"


def memberships_plan(groups: int, users: int, per_group: int, seed: int = 7) -> list[list[int]]:
    """For each group, the numbers of its members: `per_group` distinct users drawn at random (reproducibly)."""
    pick = random.Random(seed)
    size = min(per_group, users)
    return [sorted(pick.sample(range(users), size)) for _ in range(groups)]


# --- the local server ----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(port: int, credentials_file: Path) -> list[str]:
    """What `make run` runs: the virtualenv's scim-local (this Python's, when it has one)."""
    script = Path(sys.executable).with_name("scim-local")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "devtools.local.server"]
    return [*launcher, "--port", str(port), "--tenants", "1", "--credentials-file", str(credentials_file)]


def server_env() -> dict[str, str]:
    """The caller's environment without anything that would point the server's AWS calls elsewhere, running this
    checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for name in ("TABLE_NAME", "SECRETS_PREFIX", "SECRETS_CACHE_TTL_SECONDS", "SECRETS_MISS_REFRESH_SECONDS"):
        env.pop(name, None)
    python_paths = [str(REPO_ROOT / "layers" / "scim" / "python"), str(REPO_ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*python_paths, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Server:
    """scim-local as a subprocess: its output (the functions' log lines) goes to a file we read afterwards."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.credentials_file = workdir / "credentials.json"
        self.output = workdir / "server.out"
        self.process: subprocess.Popen | None = None
        self.tenant_url = ""
        self.token = ""

    def start(self, deadline: float) -> None:
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                server_command(self.port, self.credentials_file), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=server_env())
        limit = min(deadline, time.monotonic() + START_TIMEOUT_SECONDS)
        while not self.credentials_file.exists():
            if self.process.poll() is not None:
                raise Failed(f"the local server exited with {self.process.returncode}:\n{self.tail()}")
            if time.monotonic() > limit:
                raise (TimeUp if limit == deadline else Failed)(f"the local server was not ready in time:\n{self.tail()}")
            time.sleep(0.05)
        (tenant,) = json.loads(self.credentials_file.read_text(encoding="utf-8"))
        self.tenant_url, self.token = tenant["tenant_url"], tenant["token"]

    def stop(self) -> int | None:
        """SIGTERM (the server stops cleanly on it), then SIGKILL if it does not; its exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
        # The server also keeps its functions' lines in the checkout (for `make run`'s tools): ours are in the
        # output file, so that copy goes.
        (REPO_ROOT / f".local-server-{self.port}.log").unlink(missing_ok=True)
        return process.returncode

    def count(self, text: str) -> int:
        """Lines of the server's output holding this text."""
        try:
            with open(self.output, encoding="utf-8", errors="replace") as out:
                return sum(1 for line in out if text in line)
        except OSError:
            return 0

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.output.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def handled(self, start: int = 0) -> tuple[list[dict], int]:
        """The "request handled" lines written since byte `start`, and the offset after the last whole line."""
        with open(self.output, "rb") as out:
            out.seek(start)
            data = out.read()
        end = data.rfind(b"\n") + 1
        records = []
        for line in data[:end].decode("utf-8", errors="replace").splitlines():
            if '"request handled"' in line:
                records += [r for r in json_objects(line) if r.get("message") == "request handled"]
        return records, start + end


def json_objects(line: str) -> list[dict]:
    """The JSON objects of one line of the server's output. The functions of the local server are threads of one
    process writing to one stdout, so a line may hold two records glued together (a metrics line printed in two
    writes, the text then its newline, with another thread's line in between)."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    while position < len(line):
        start = line.find("{", position)
        if start < 0:
            break
        try:
            value, position = decoder.raw_decode(line, start)
        except ValueError:
            position = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


class Segments:
    """The server's "request handled" lines cut into the stretches of the run that sent them."""

    def __init__(self, server: Server, recorder: Recorder):
        self.server = server
        self.recorder = recorder
        self.lines: dict[str, list[dict]] = {}
        _, self._offset = server.handled(0)  # the server's start
        self._sent = len(recorder.samples)

    def mark(self, name: str) -> None:
        """The lines since the last mark belong to `name`: waits a moment for one line per request sent since."""
        expected = len(self.recorder.samples) - self._sent
        self._sent += expected
        lines, self._offset = wait_for_lines(self.server, self._offset, expected)
        self.lines.setdefault(name, []).extend(lines)


# --- the client: a pool of workers, one kept-alive connection each ---------------------------------------------------

@dataclass
class Sample:
    kind: str
    seconds: float
    status: int


@dataclass
class Recorder:
    """What the workers measured, and the first errors."""

    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.samples.append(Sample(kind, seconds, status))

    def error(self, text: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 10:
                self.errors.append(text)


class Client:
    """Requests to the tenant, over one kept-alive connection per worker thread."""

    def __init__(self, tenant_url: str, token: str, recorder: Recorder, deadline: float, stop: threading.Event):
        parts = urlsplit(tenant_url)
        self.host, self.port, self.base = parts.hostname, parts.port, parts.path
        assert self.host == "127.0.0.1", "the load run only talks to the local server"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        self.recorder = recorder
        self.deadline = deadline
        self.stop = stop
        self._local = threading.local()
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_SECONDS)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()

    def request(self, kind: str, method: str, path: str, body: dict | None = None,
                expect: Iterable[int] = (200,)) -> dict | None:
        """One request, timed and recorded; its JSON answer, or None (and an error recorded) on any other status."""
        if self.stop.is_set():
            raise Failed("stopped")
        if time.monotonic() > self.deadline:
            self.stop.set()
            raise TimeUp("the time is up")
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        connection = self._connection()
        started = time.perf_counter()
        try:
            connection.request(method, f"{self.base}{path}", body=data, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, ValueError) as error:  # http.client's errors are OSErrors or ValueErrors
            connection.close()  # the next request opens a new one
            self.recorder.add(kind, time.perf_counter() - started, 0)
            self.recorder.error(f"{kind}: {method} {path.split('?')[0]}: {type(error).__name__}: {error}")
            return None
        self.recorder.add(kind, time.perf_counter() - started, status)
        if response.will_close:
            connection.close()
        if status not in expect:
            self.recorder.error(f"{kind}: {method} {path.split('?')[0]}: {status} {payload[:300].decode(errors='replace')}")
            return None
        return json.loads(payload) if payload else {}


def run_pool(concurrency: int, tasks: list[Callable[[], None]], deadline: float, stop: threading.Event) -> None:
    """Run the tasks on a fixed pool; stop early when the time is up or a task fails unexpectedly."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load")
    try:
        futures: list[Future] = [pool.submit(task) for task in tasks]
        done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None and not isinstance(error, Failed):
                raise error
        if pending or any(f.exception() is not None for f in done):  # a task saw the time up (or the stop)
            raise TimeUp("the time is up")
    except BaseException:  # also Ctrl-C: the workers stop after the request they are in
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- the run -------------------------------------------------------------------------------------------------------

@dataclass
class Sent:
    """What was sent, and the ids the server gave."""

    users: int
    groups: int
    members: list[list[int]]
    user_ids: dict[int, str] = field(default_factory=dict)
    group_ids: dict[int, str] = field(default_factory=dict)


def lookup_then_create(client: Client, lock: threading.Lock, kind: str, query: str, path: str, body: dict,
                       ids: dict[int, str], number: int) -> None:
    """What Entra does for each user and group of an initial sync: look it up (nothing is found), then create it."""
    found = client.request(f"lookup {kind}", "GET", f"{path}?{query}")
    if found is None:
        return
    if found.get("totalResults") != 0:
        client.recorder.error(f"lookup {kind}: found {found.get('totalResults')} before the create")
    created = client.request(f"create {kind}", "POST", path, body, expect=(201,))
    if created is not None:
        with lock:
            ids[number] = created["id"]


def users_phase(client: Client, sent: Sent, lock: threading.Lock) -> list[Callable[[], None]]:
    def task(number: int) -> Callable[[], None]:
        body = user_body(number)
        query = f"filter={eq_filter('userName', body['userName'])}"
        return lambda: lookup_then_create(client, lock, "user", query, "/Users", body, sent.user_ids, number)
    return [task(n) for n in range(sent.users)]


def groups_phase(client: Client, sent: Sent, lock: threading.Lock) -> list[Callable[[], None]]:
    def task(number: int) -> Callable[[], None]:
        body = group_body(number)
        query = f"excludedAttributes=members&filter={eq_filter('displayName', body['displayName'])}"
        return lambda: lookup_then_create(client, lock, "group", query, "/Groups", body, sent.group_ids, number)
    return [task(n) for n in range(sent.groups)]


def memberships_phase(client: Client, sent: Sent, batch: int) -> list[Callable[[], None]]:
    """The PATCHes, round robin over the groups (each group's first batch, then each group's second, ...): as Entra,
    which works through many objects at once, a group's PATCHes rarely race one another."""
    batches: list[list[tuple[str, list[str]]]] = []
    for number, members in enumerate(sent.members):
        group_id = sent.group_ids.get(number)
        if group_id is None:  # its create failed, already an error
            continue
        ids = [sent.user_ids[m] for m in members if m in sent.user_ids]
        for index, start in enumerate(range(0, len(ids), batch)):
            while len(batches) <= index:
                batches.append([])
            batches[index].append((group_id, ids[start : start + batch]))

    def task(group_id: str, user_ids: list[str]) -> Callable[[], None]:
        def run() -> None:
            client.request("add members", "PATCH", f"/Groups/{group_id}", add_members_body(user_ids),
                           expect=(200, 204))
        return run
    return [task(g, u) for round_ in batches for g, u in round_]


def read_all(client: Client, kind: str, resource: str, query: str, paging: str) -> tuple[int | None, list[dict]]:
    """Every resource of a list, page after page, one page at a time: by cursor (RFC 9865: `cursor=`, then each
    page's nextCursor; no totalResults, so None) or by index (startIndex/count, and totalResults).

    One page at a time: by index, each page of a list without a filter reads the whole tenant, and the local server's
    moto answers one call at a time, so pages read in parallel only queue behind one another there (until the
    functions' AWS clients time out: a 503)."""
    resources: list[dict] = []
    if paging == "cursor":
        cursor = ""
        while True:
            page = client.request(kind, "GET", f"/{resource}?{query}cursor={quote(cursor, safe='')}&count={PAGE_SIZE}")
            if page is None:
                raise Failed(f"could not list {resource} (cursor page {len(resources) // PAGE_SIZE + 1})")
            resources += page.get("Resources", [])
            cursor = page.get("nextCursor")
            if not cursor:
                return None, resources
    total, start = None, 1
    while total is None or start <= total:
        page = client.request(kind, "GET", f"/{resource}?{query}startIndex={start}&count={PAGE_SIZE}")
        if page is None:
            raise Failed(f"could not list {resource} (startIndex={start})")
        total = int(page.get("totalResults", 0))
        got = page.get("Resources", [])
        resources += got
        if not got:
            break
        start += len(got)
    return total, resources


def differences(label: str, expected: Iterable[Any], got: list[Any]) -> list[str]:
    """What differs between the values sent and those read back (missing, unexpected, repeated)."""
    want = set(expected)
    found: dict[Any, int] = defaultdict(int)
    for value in got:
        found[value] += 1
    out = []
    missing = sorted(str(v) for v in want - found.keys())
    extra = sorted(str(v) for v in found.keys() - want)
    repeated = sorted(str(v) for v, n in found.items() if n > 1)
    for name, values in (("missing", missing), ("not sent", extra), ("listed twice", repeated)):
        if values:
            shown = ", ".join(values[:3]) + (f" and {len(values) - 3} more" if len(values) > 3 else "")
            out.append(f"{label}: {len(values)} {name}: {shown}")
    return out


def unlike(sent: Any, got: Any, path: str = "") -> str | None:
    """Where a resource read back differs from the body sent (None when it holds every value sent): objects compared
    by the keys sent, lists item by item; what only the server adds (id, meta, ...) is left aside."""
    if isinstance(sent, dict):
        if not isinstance(got, dict):
            return path or "the resource"
        for key, value in sent.items():
            if key in ("schemas", "meta") or value in ([], None):
                continue  # the server's own; an empty value reads back as absent
            found = unlike(value, got.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            return path
        return next((d for d in (unlike(a, b, f"{path}[{i}]") for i, (a, b) in enumerate(zip(sent, got))) if d), None)
    return None if sent == got else path


def read_users(client: Client, sent: Sent, mode: str, concurrency: int, deadline: float, stop: threading.Event,
               segments: Segments) -> tuple[int, list[dict]]:
    """totalResults and every user: by paging through the list, or by looking each up (and counting them all)."""
    if mode != "lookup":
        return read_all(client, "list users", "Users", "", mode)
    counted = client.request("count users", "GET", "/Users?count=0")
    if counted is None:
        raise Failed("could not count the users")
    segments.mark("verify users count")
    found: dict[int, list[dict]] = {}

    def task(number: int) -> Callable[[], None]:
        def run() -> None:
            answer = client.request("look up user", "GET",
                                    f"/Users?filter={eq_filter('userName', user_body(number)['userName'])}")
            if answer is not None:
                found[number] = answer.get("Resources", [])
        return run
    run_pool(concurrency, [task(n) for n in range(sent.users)], deadline, stop)
    return int(counted.get("totalResults", 0)), [u for n in sorted(found) for u in found[n]]


def verify(client: Client, sent: Sent, mode: str, concurrency: int, deadline: float, stop: threading.Event,
           segments: Segments) -> dict:
    """Read the directory back and compare it with what was sent: the users (all their attributes sent), the groups,
    and each group's members."""
    problems: list[str] = []
    step = time.monotonic()
    total, users = read_users(client, sent, mode, concurrency, deadline, stop, segments)
    segments.mark("verify users")
    progress(f"  users read back in {time.monotonic() - step:.1f} s ({mode})")
    if total is not None and total != sent.users:
        problems.append(f"users: totalResults {total}, {sent.users} sent")
    problems += differences("userName", (user_body(n)["userName"] for n in range(sent.users)),
                            [u.get("userName") for u in users])
    problems += differences("user externalId", (user_body(n)["externalId"] for n in range(sent.users)),
                            [u.get("externalId") for u in users])
    problems += differences("user id", sent.user_ids.values(), [u.get("id") for u in users])
    bodies = {user_body(n)["userName"]: user_body(n) for n in range(sent.users)}
    changed = [(u.get("userName"), where) for u in users if u.get("userName") in bodies
               for where in [unlike(bodies[u["userName"]], u)] if where]
    if changed:
        problems.append(f"users: {len(changed)} differ from what was sent, the first: {changed[0][0]} at {changed[0][1]}")

    step = time.monotonic()
    total, groups = read_all(client, "list groups", "Groups", "excludedAttributes=members&",
                             "index" if mode == "index" else "cursor")
    segments.mark("verify groups")
    if total is not None and total != sent.groups:
        problems.append(f"groups: totalResults {total}, {sent.groups} sent")
    problems += differences("displayName", (group_body(n)["displayName"] for n in range(sent.groups)),
                            [g.get("displayName") for g in groups])
    problems += differences("group externalId", (group_body(n)["externalId"] for n in range(sent.groups)),
                            [g.get("externalId") for g in groups])
    problems += differences("group id", sent.group_ids.values(), [g.get("id") for g in groups])
    if any("members" in g for g in groups):
        problems.append("groups: a list with excludedAttributes=members carried members")

    members: dict[str, list[str]] = {}

    def task(group_id: str) -> Callable[[], None]:
        def run() -> None:
            group = client.request("read members", "GET", f"/Groups/{group_id}?attributes=members")
            if group is not None:
                members[group_id] = [m.get("value") for m in group.get("members", [])]
        return run
    run_pool(concurrency, [task(g) for g in sent.group_ids.values()], deadline, stop)
    segments.mark("verify members")
    progress(f"  groups and their members read back in {time.monotonic() - step:.1f} s")
    memberships = 0
    for number, group_id in sorted(sent.group_ids.items()):
        expected = [sent.user_ids[m] for m in sent.members[number] if m in sent.user_ids]
        memberships += len(expected)
        if group_id not in members:
            problems.append(f"members of {group_body(number)['displayName']}: not read")
        else:
            problems += differences(f"members of {group_body(number)['displayName']}", expected, members[group_id])
    return {"ok": not problems, "mode": mode, "users": len(users), "groups": len(groups),
            "memberships": memberships, "problems": problems}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def operations_summary(by_kind_: dict[str, list[Sample]], server_lines: dict[str, list[dict]],
                       kinds: list[tuple[str, str, str]]) -> list[dict]:
    """Per operation kind: the client's count, errors and latency; the server's DynamoDB calls and handler time."""
    operations = []
    for kind, phase, operation in kinds:
        samples = by_kind_.get(kind, [])
        seconds = [s.seconds for s in samples]
        lines = [r for r in server_lines.get(phase, []) if r.get("operation") == operation]
        calls = [int(r.get("dynamodb_calls", 0)) for r in lines]
        handler_ms = [float(r.get("duration_ms", 0)) for r in lines]
        operations.append({
            "operation": kind, "request": operation, "phase": phase, "requests": len(samples),
            "errors": sum(1 for s in samples if not 200 <= s.status < 300),
            "p50_ms": round(statistics.median(seconds) * 1000, 1) if seconds else None,
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 1) if seconds else None,
            "max_ms": round(max(seconds) * 1000, 1) if seconds else None,
            "server_lines": len(lines),
            "server_p50_ms": round(statistics.median(handler_ms), 1) if handler_ms else None,
            "dynamodb_calls_mean": round(statistics.fmean(calls), 2) if calls else None,
            "dynamodb_calls_max": max(calls) if calls else None,
        })
    return operations


def by_kind(recorder: Recorder) -> dict[str, list[Sample]]:
    kinds: dict[str, list[Sample]] = defaultdict(list)
    for sample in recorder.samples:
        kinds[sample.kind].append(sample)
    return kinds


def summarize(recorder: Recorder, server_lines: dict[str, list[dict]], phase_seconds: dict[str, float]) -> dict:
    by_kind_ = by_kind(recorder)
    operations = operations_summary(by_kind_, server_lines, OPERATIONS)
    phases = []
    for phase in PHASES:
        kinds = {k for k, p, _ in OPERATIONS if p == phase}
        count = sum(len(by_kind_.get(k, [])) for k in kinds)
        seconds = phase_seconds.get(phase)
        phases.append({"phase": phase, "requests": count, "seconds": round(seconds, 2) if seconds else None,
                       "requests_per_second": round(count / seconds, 1) if seconds else None})
    count = sum(p["requests"] for p in phases)
    seconds = sum(phase_seconds.get(p, 0.0) for p in PHASES)
    phases.append({"phase": "total", "requests": count, "seconds": round(seconds, 2),
                   "requests_per_second": round(count / seconds, 1) if seconds else None})
    return {"operations": operations, "phases": phases}


def report_text(result: dict) -> str:
    args = result["settings"]
    out = [f"load: {args['users']} users, {args['groups']} groups, {args['members_per_group']} members per group "
           f"({args['batch']} per PATCH), concurrency {args['concurrency']}, local server on 127.0.0.1:{args['port']}"]
    if result.get("summary"):
        out.append("")
        out.append(f"{'phase':<12} {'requests':>9} {'seconds':>9} {'req/s':>8}")
        for p in result["summary"]["phases"]:
            out.append(f"{p['phase']:<12} {p['requests']:>9} {_num(p['seconds']):>9} {_num(p['requests_per_second']):>8}")
        out.append("")
        out += operations_table(result["summary"]["operations"])
    if result.get("server_tracebacks"):
        out.append("")
        out.append(f"the server's output holds {result['server_tracebacks']} traceback(s)")
    if result.get("errors"):
        out.append("")
        out.append(f"errors: {result['error_count']}, the first:")
        out += [f"  {e}" for e in result["errors"]]
    verification = result.get("verification")
    if verification:
        out.append("")
        head = (f"verification by {verification['mode']} ({verification['requests']} requests, "
                f"{verification['seconds']:.1f} s): "
                f"{verification['users']} users, {verification['groups']} groups, "
                f"{verification['memberships']} memberships read back: ")
        if verification["ok"]:
            out.append(head + "OK, exactly what was sent")
        else:
            out.append(head + "DIFFERENT")
            out += [f"  {p}" for p in verification["problems"][:20]]
        if verification.get("operations"):
            out += operations_table(verification["operations"])
    times = result["seconds"]
    out.append("")
    out.append("time: " + ", ".join(f"{name} {value:.1f} s" for name, value in times.items()))
    if result.get("failure"):
        out.append(f"FAILED: {result['failure']}")
    else:
        out.append("PASSED" if result["ok"] else "FAILED")
    return "\n".join(out)


def operations_table(operations: list[dict]) -> list[str]:
    out = [f"{'operation':<13} {'request':<19} {'count':>6} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} "
           f"{'max ms':>7} {'server p50':>10} {'DynamoDB calls mean/max':>24}"]
    for o in operations:
        calls = (f"{o['dynamodb_calls_mean']:.2f} / {o['dynamodb_calls_max']}"
                 if o["dynamodb_calls_mean"] is not None else "-")
        out.append(f"{o['operation']:<13} {o['request']:<19} {o['requests']:>6} {o['errors']:>6} "
                   f"{_num(o['p50_ms']):>7} {_num(o['p99_ms']):>7} {_num(o['max_ms']):>7} "
                   f"{_num(o['server_p50_ms']):>10} {calls:>24}")
    return out


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    deadline = started + args.timeout
    stop = threading.Event()
    recorder = Recorder()
    settings = {"users": args.users, "groups": args.groups, "members_per_group": min(args.members_per_group, args.users),
                "batch": args.batch, "concurrency": args.concurrency, "port": args.port, "timeout": args.timeout}
    result: dict[str, Any] = {"settings": settings, "ok": False, "seconds": {}}
    sent = Sent(args.users, args.groups, memberships_plan(args.groups, args.users, args.members_per_group))
    lock = threading.Lock()
    phase_seconds: dict[str, float] = {}
    segments: Segments | None = None
    with tempfile.TemporaryDirectory(prefix="scim-load-") as workdir:
        server = Server(args.port, Path(workdir))
        client = None
        try:
            server.start(deadline)
            progress(f"local server ready on 127.0.0.1:{args.port} in {time.monotonic() - started:.1f} s")
            result["seconds"]["server start"] = time.monotonic() - started
            client = Client(server.tenant_url, server.token, recorder, deadline, stop)
            segments = Segments(server, recorder)
            load_started = time.monotonic()
            for phase, tasks in (("users", lambda: users_phase(client, sent, lock)),
                                 ("groups", lambda: groups_phase(client, sent, lock)),
                                 ("memberships", lambda: memberships_phase(client, sent, args.batch))):
                phase_started = time.monotonic()
                sent_before = len(recorder.samples)
                try:
                    run_pool(args.concurrency, tasks(), deadline, stop)
                finally:
                    phase_seconds[phase] = time.monotonic() - phase_started
                    progress(f"{phase}: {len(recorder.samples) - sent_before} requests in {phase_seconds[phase]:.1f} s")
                    segments.mark(phase)
            result["seconds"]["load"] = time.monotonic() - load_started
            result["summary"] = summarize(recorder, segments.lines, phase_seconds)
            verify_started = time.monotonic()
            before = len(recorder.samples)
            progress("reading the directory back")
            verification = verify(client, sent, args.verify, args.concurrency, deadline, stop, segments)
            verification["requests"] = len(recorder.samples) - before
            verification["seconds"] = time.monotonic() - verify_started
            verification["operations"] = [o for o in operations_summary(by_kind(recorder), segments.lines, READS)
                                          if o["requests"]]
            result["seconds"]["verification"] = verification["seconds"]
            result["verification"] = verification
        except Failed as failure:
            result["failure"] = str(failure) if not isinstance(failure, TimeUp) else (
                f"the run did not finish within --timeout {args.timeout} s")
            if "summary" not in result and recorder.samples:
                result["summary"] = summarize(recorder, segments.lines if segments else {}, phase_seconds)
        finally:
            stop.set()
            if client is not None:
                client.close()
            code = server.stop()
            if code not in (0, None) and "failure" not in result:
                result["failure"] = f"the local server exited with {code}:\n{server.tail()}"
            result["server_tracebacks"] = server.count("Traceback")
        result["errors"] = recorder.errors
        result["error_count"] = recorder.error_count
        result["seconds"]["overall"] = time.monotonic() - started
        result["seconds"] = {k: round(v, 2) for k, v in result["seconds"].items()}
        result["ok"] = ("failure" not in result and recorder.error_count == 0
                        and bool(result.get("verification", {}).get("ok")))
    return result


def progress(text: str) -> None:
    """A line on stderr as the run goes (the report itself goes to stdout at the end)."""
    print(f"load: {text}", file=sys.stderr, flush=True)


def wait_for_lines(server: Server, offset: int, expected: int, seconds: float = 5.0) -> tuple[list[dict], int]:
    """The server's "request handled" lines since `offset`, waiting a moment for the last ones to reach the file."""
    limit = time.monotonic() + seconds
    lines: list[dict] = []
    while True:
        more, offset = server.handled(offset)
        lines += more
        if len(lines) >= expected or time.monotonic() > limit:
            return lines, offset
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10000, help="users to create (default 10000)")
    parser.add_argument("--groups", type=int, default=500, help="groups to create (default 500)")
    parser.add_argument("--members-per-group", type=int, default=20,
                        help="members of each group, drawn from the users (default 20)")
    parser.add_argument("--batch", type=int, default=10, help="members added per PATCH (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--port", type=int, default=0, help="the local server's port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="stop and fail past this many seconds in all (default 1800)")
    parser.add_argument("--verify", choices=["cursor", "index", "lookup"], default="cursor",
                        help="how users and groups are read back: GET /Users and /Groups paged by cursor (RFC 9865, "
                             "the default), or by startIndex/count (each page reads the whole tenant: slow at "
                             "10,000 users), or each user looked up by userName and all counted")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    for name in ("users", "groups", "members_per_group"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be 0 or more")
    if args.batch < 1 or args.concurrency < 1 or args.timeout <= 0:
        parser.error("--batch and --concurrency must be 1 or more, --timeout more than 0")
    args.port = args.port or free_port()

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # the same clean stop as Ctrl-C: the server goes too

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        result = run(args)
    except KeyboardInterrupt:
        print("load: interrupted; the local server was stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(json.dumps(result, indent=2) if args.json else report_text(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
