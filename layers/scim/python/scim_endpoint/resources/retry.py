"""Lost races, tried again: the one retry loop of the use cases.

Every change is conditional on what it read. When another writer got there first — the resource changed since it was
read (`VersionConflict`) or another transaction held one of the items (`Contention`) — nothing was written, and the
change is computed again from a fresh read, after a short random wait that grows with each loss, so writers who lost
to each other do not collide again at once. A client that named the version it changes (`If-Match`) gets 412
instead: the version it named is gone. After MAX_ATTEMPTS losses the client is told to retry (429 with Retry-After).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..scim.errors import PreconditionFailed, Throttled
from ..scope import RequestScope
from ..store import Contention, VersionConflict

MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 0.005
RETRY_MAX_SECONDS = 0.2

T = TypeVar("T")


def retried(scope: RequestScope, what: str, attempt: Callable[[], T],
            precondition_failed: Callable[[], PreconditionFailed] | None = None, own_read: bool = True) -> T:
    """`attempt()` until it does not lose a race. `what` names the thing changing ("the user"), for the 429;
    `precondition_failed` builds the 412 (by default: the version in If-Match is gone). An attempt that does not
    read what it is conditional on (`own_read=False`: a step of a larger change) is retried on contention only; a
    lost race is its caller's to handle, with a fresh read."""
    for number in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except VersionConflict:
            if not own_read:
                raise
            if scope.if_match is not None:
                raise (precondition_failed or _stale)() from None
        except Contention:
            pass
        back_off(number)
    raise Throttled(f"{what[0].upper()}{what[1:]} is changing too often to change now; retry.", retry_after=1)


def back_off(attempt: int) -> None:
    if attempt + 1 < MAX_ATTEMPTS:
        time.sleep(random.uniform(0, min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**attempt)))


def _stale() -> PreconditionFailed:
    return PreconditionFailed("The resource changed since the version in If-Match.")
