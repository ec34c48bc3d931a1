"""The race and fault harness: the write use cases run against the in-memory store, either two at a time interleaved
at every store-call boundary (every order the two can take), or one at a time with a fault injected at each of its
store calls. The table's stream is handed to the cleanup consumer as soon as each write lands (the quickest a
consumer can be, which is what exposes a write landing after the cleanup it needed), and once more when writes stop;
then the invariants are checked:

- no membership of a missing user or group;
- no guard without its resource, no resource without its guards;
- each request's status matches what was stored (a 2xx stored its change; a 4xx changed nothing; a 429 or 5xx
  changed nothing, or everything, or — for a group change written in steps — left what a retry finishes).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scim_endpoint import cleanup
from scim_endpoint.auth.privileges import ANY_KEY
from scim_endpoint.resources import retry
from scim_endpoint.resources.common import unique_keys
from scim_endpoint.resources.groups import Groups
from scim_endpoint.resources.memberships import Memberships
from scim_endpoint.resources.users import Users
from scim_endpoint.scim.errors import ScimError
from scim_endpoint.scim.resource_types import GROUP, USER
from scim_endpoint.scope import Principal, RequestScope
from tests.fake_store import FakeStore

IDP = "idp-harness"
TENANT_URL = f"https://scim.test/v1/scim/{IDP}"
# Explored so far in this test session, for the summary at the end (tests/usecases/conftest.py).
EXPLORED = {"interleavings": 0, "faults": 0, "pairs": 0, "operations": 0}


def scope(if_match: str | None = None) -> RequestScope:
    return RequestScope(IDP, Principal(IDP, "harness", ("users:write", "groups:write")), TENANT_URL,
                        route="/", privilege=ANY_KEY, if_match=if_match)


@dataclass
class World:
    """A fresh store with its use cases."""

    store: FakeStore = field(default_factory=FakeStore)
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        memberships = Memberships(self.store)
        self.users = Users(self.store, memberships)
        self.groups = Groups(self.store, memberships)

    def touch_all(self) -> None:
        """Another writer changes every resource (its version moves on, its attributes stay): what makes the next
        conditional write lose its race for real."""
        state = self.store.state
        with state.lock:
            for key, stored in list(state.resources.items()):
                state.resources[key] = dataclasses.replace(stored, version=stored.version + 1)

    def cleanup(self) -> None:
        """What the table's stream runs: every record, until there are none (deleting memberships emits records
        too). The consumer's own store calls are no boundaries of the requests'."""
        self._local.cleaning = True
        try:
            while records := self.store.state.take_stream():
                summary = cleanup.handle_records(self.store, records)
                assert summary["batchItemFailures"] == []
        finally:
            self._local.cleaning = False

    def hooked(self, boundary: Callable[[str], None]) -> Callable[[str], None]:
        """A store hook: `boundary` at each call of a request; after each write, the stream's consumer at once."""

        def hook(name: str) -> None:
            if getattr(self._local, "cleaning", False):
                return
            if name.endswith(":written"):
                self.cleanup()
                return
            boundary(name)

        return hook

    # -- reading the end state ---------------------------------------------------------------------------------

    def user_ids(self) -> set[str]:
        return {i for (idp, t, i) in self.store.state.resources if t == "User"}

    def group_ids(self) -> set[str]:
        return {i for (idp, t, i) in self.store.state.resources if t == "Group"}

    def memberships(self) -> set[tuple[str, str]]:
        return {(g, u) for (idp, g, u) in self.store.state.members}

    def check_invariants(self) -> None:
        state = self.store.state
        users, groups = self.user_ids(), self.group_ids()
        dangling = {(g, u) for g, u in self.memberships() if g not in groups or u not in users}
        assert not dangling, f"memberships of a missing user or group: {dangling}"
        for (idp, kind, attribute, key), owner in state.guards.items():
            resource = state.resources.get((idp, kind, owner))
            assert resource is not None, f"a guard without its resource: {kind} {attribute}"
            resource_type = USER if kind == "User" else GROUP
            assert unique_keys(resource_type, resource.attributes).get(attribute) == key, \
                f"a guard that is not its resource's: {kind} {attribute}"
        for (idp, kind, resource_id), resource in state.resources.items():
            resource_type = USER if kind == "User" else GROUP
            for attribute, key in unique_keys(resource_type, resource.attributes).items():
                assert state.guards.get((idp, kind, attribute, key)) == resource_id, \
                    f"a resource without its guard: {kind} {attribute}"


@dataclass(frozen=True)
class Outcome:
    status: int
    value: Any = None
    error: BaseException | None = None


def outcome(operation: Callable[[], Any]) -> Outcome:
    """Run a use case as its route would: its result (2xx) or its SCIM error's status; anything else is a 500."""
    try:
        return Outcome(200, operation())
    except ScimError as error:
        return Outcome(error.status, error=error)
    except Exception as error:  # a bug: the edge would answer 500
        return Outcome(500, error=error)


# --- interleavings ------------------------------------------------------------------------------------------------


class Scheduler:
    """Lets two threads take turns at store-call boundaries, in the order `choices` gives (0 or 1 at each point where
    both are waiting), and records the points where there was a choice, for the exploration."""

    def __init__(self, choices: list[int]):
        self.choices = choices
        self.points: list[int] = []  # the choice made at each decision point, in order
        self._condition = threading.Condition()
        self._waiting: set[int] = set()
        self._done: set[int] = set()
        self._running: int | None = None
        self._local = threading.local()

    def hook(self, name: str) -> None:
        me = self._local.index
        with self._condition:
            self._waiting.add(me)
            self._running = None
            self._condition.notify_all()
            while self._running != me:
                self._condition.wait()

    def run(self, operations: list[Callable[[], Outcome]]) -> list[Outcome]:
        results: list[Outcome | None] = [None, None]

        def body(index: int) -> None:
            self._local.index = index
            with self._condition:
                self._waiting.add(index)
                self._condition.notify_all()
                while self._running != index:
                    self._condition.wait()
            try:
                results[index] = operations[index]()
            finally:
                with self._condition:
                    self._done.add(index)
                    self._running = None
                    self._condition.notify_all()

        threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in (0, 1)]
        for thread in threads:
            thread.start()
        with self._condition:
            while len(self._done) < 2:
                self._condition.wait_for(
                    lambda: self._running is None and (self._waiting | self._done) >= {0, 1}, timeout=10)
                if len(self._done) == 2:
                    break
                assert self._running is None, "a thread neither reached a boundary nor finished"
                ready = sorted(self._waiting - self._done)
                if len(ready) == 2:
                    position = len(self.points)
                    pick = self.choices[position] if position < len(self.choices) else 0
                    self.points.append(pick)
                else:
                    pick = ready[0]
                self._waiting.discard(pick)
                self._running = pick
                self._condition.notify_all()
        for thread in threads:
            thread.join(timeout=10)
        return [r for r in results if r is not None]


def explore(setup: Callable[[World], Any], first: Callable[[World, Any], Callable[[], Any]],
            second: Callable[[World, Any], Callable[[], Any]],
            check: Callable[[World, Any, Outcome, Outcome], None], limit: int = 400) -> int:
    """Run `first` and `second` against a fresh world from `setup`, in every order their store calls can take (up to
    `limit` orders), and `check` each end state after the stream's cleanup; returns how many orders ran."""
    retry.RETRY_MAX_SECONDS = 0.0  # losers retry at once: the interleavings are what varies
    pending: list[list[int]] = [[]]
    runs = 0
    while pending and runs < limit:
        choices = pending.pop()
        world = World()
        given = setup(world)
        world.store.state.take_stream()
        world.cleanup()
        # From here the inverse index lags: it shows what the setup wrote, and no later write until the stream's
        # consumer waits for it (the longest DynamoDB could take, for each request that reads it).
        world.store.state.catch_up_index()
        world.store.state.index_lags = True
        scheduler = Scheduler(choices)
        world.store.state.hook = world.hooked(scheduler.hook)
        a, b = first(world, given), second(world, given)
        results = scheduler.run([lambda: outcome(a), lambda: outcome(b)])
        world.store.state.hook = None
        assert len(results) == 2
        for result in results:
            assert result.status != 500, f"a 500 under {scheduler.points}: {result.error!r}"
        world.cleanup()
        world.check_invariants()
        check(world, given, *results)
        runs += 1
        # Every decision point past the given prefix that took 0 could have taken 1: explore those orders too.
        for position in range(len(choices), len(scheduler.points)):
            if scheduler.points[position] == 0:
                pending.append(scheduler.points[:position] + [1])
    EXPLORED["interleavings"] += runs
    EXPLORED["pairs"] += 1
    return runs


# --- faults -------------------------------------------------------------------------------------------------------

# A failed condition (another writer changed what was read, for real), another transaction holding an item,
# throttling, and a timeout after DynamoDB applied the write.
FAULTS = ("condition", "contention", "throttling", "timeout-after-write")
WRITES = {"update", "delete", "write"}  # the writes that are conditional on what was read


class Injector:
    """Makes the `target`-th store call of its kind fail (for a timeout after the write: the `target`-th write, once
    applied)."""

    def __init__(self, world: World, kind: str, target: int):
        self.world, self.kind, self.target = world, kind, target
        self.seen = 0
        self.fired = False

    def hook(self, name: str) -> None:
        from scim_endpoint.scim.errors import ServiceUnavailable, Throttled
        from scim_endpoint.store import Contention

        written = name.endswith(":written")
        call = name.removesuffix(":written")
        if written != (self.kind == "timeout-after-write"):
            return
        if self.kind == "condition" and call not in WRITES:
            return
        if self.kind in ("contention", "timeout-after-write") and call not in WRITES | {"create"}:
            return
        self.seen += 1
        if self.seen != self.target or self.fired:
            return
        self.fired = True
        if self.kind == "condition":
            self.world.touch_all()
            return
        raise {"contention": Contention(), "throttling": Throttled()}.get(self.kind, ServiceUnavailable())


def with_faults(setup: Callable[[World], Any], operation: Callable[[World, Any], Callable[[], Any]],
                check: Callable[[World, Any, Outcome, bool], None]) -> int:
    """Run `operation` once with each fault at each of its calls; `check(world, given, outcome, faulted)` after the
    stream's cleanup, then the same request again without faults (a retry) must succeed and `check` again."""
    retry.RETRY_MAX_SECONDS = 0.0
    runs = 0
    for kind in FAULTS:
        target = 1
        while True:
            world = World()
            given = setup(world)
            world.cleanup()
            before = world.store.state.snapshot()
            injector = Injector(world, kind, target)
            world.store.state.hook = injector.hook
            result = outcome(operation(world, given))
            world.store.state.hook = None
            if not injector.fired:
                break  # the operation has fewer calls of this kind than `target`: all explored
            assert result.status != 500, f"a 500 with {kind} at call {target}: {result.error!r}"
            if 400 <= result.status < 500 and result.status != 429:
                assert world.store.state.snapshot() == before, f"a {result.status} changed the table ({kind})"
            world.cleanup()
            world.check_invariants()
            check(world, given, result, True)
            retried = outcome(operation(world, given))
            world.cleanup()
            world.check_invariants()
            check(world, given, retried, False)
            runs += 1
            target += 1
    EXPLORED["faults"] += runs
    EXPLORED["operations"] += 1
    return runs


def replace(scope_: RequestScope, **changes: Any) -> RequestScope:
    return dataclasses.replace(scope_, **changes)
