"""RFC 9865 cursors: opaque, tamper-proof positions in one IdP's list, for one query.

A cursor says where the next page starts (the resource type, and the id of the last resource the page read: the
store reads on from just after it, so a page at any depth costs what the first costs), until when it is good, and
which list it belongs to: a digest of the IdP, the endpoint, the filter and the projection. It is signed (HMAC-SHA256
with a key derived from the token signing key, named by its `kid`), so a cursor changed by a client, given to another
IdP, or used with another filter is `invalidCursor`, and one past its timeout `expiredCursor`. It is written with
RFC 3986 unreserved characters only (base64url, and a `.`), as RFC 9865 asks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ExpiredCursor, InvalidCursor
from .paging import ListQuery

# How long a cursor stays good (ServiceProviderConfig `pagination.cursorTimeout`).
CURSOR_TIMEOUT_SECONDS = 3600
MAX_CURSOR_LENGTH = 1024
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Each key's cursors are signed with a key derived from it, so a cursor's MAC can never pass for a token's.
_PURPOSE = b"scim-endpoint cursor v1"

Keys = Callable[[str], "str | None"]  # kid -> signing key (None: unknown)


@dataclass(frozen=True)
class Position:
    """Where a page starts: in the list of `resource_type`, just after the resource `after` (None: its first)."""

    resource_type: str
    after: str | None = None


def binding(idp_id: str, endpoint: str, query: ListQuery) -> str:
    """What a cursor is good for: this IdP, this endpoint, this filter and projection (not `count`, which a client
    may change from page to page)."""
    described = json.dumps([idp_id, endpoint, repr(query.filter), [a.lower() for a in query.attributes],
                            [a.lower() for a in query.excluded_attributes]], separators=(",", ":"))
    return _b64(hashlib.sha256(described.encode()).digest()[:18])


def encode(position: Position, bound_to: str, now: float, kid: str, key: str) -> str:
    payload = {"t": position.resource_type, "a": position.after, "b": bound_to,
               "e": int(now) + CURSOR_TIMEOUT_SECONDS, "k": kid}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def decode(cursor: str, bound_to: str, now: float, keys: Keys, types: tuple[str, ...]) -> Position:
    """The position a cursor names; InvalidCursor for anything this service did not give for this list, or
    ExpiredCursor once its time has passed (told only for a cursor that is genuine)."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _SHAPE.fullmatch(cursor):
        raise InvalidCursor(_INVALID)
    body, mac = cursor.split(".")
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        kid = payload["k"]
        key = keys(kid) if isinstance(kid, str) else None
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise InvalidCursor(_INVALID) from None
    if key is None or not hmac.compare_digest(_b64(_mac(key, body)), mac) or not isinstance(payload, dict):
        raise InvalidCursor(_INVALID)
    if payload.get("b") != bound_to or payload.get("t") not in types or not isinstance(payload.get("a"), (str, type(None))):
        raise InvalidCursor("This cursor belongs to another list: page on with the same filter, attributes and "
                            "endpoint it was given for, or start again with an empty cursor.")
    if not isinstance(payload.get("e"), int) or payload["e"] < now:
        raise ExpiredCursor(f"This cursor has expired (cursors are good for {CURSOR_TIMEOUT_SECONDS} seconds): "
                            "start again with an empty cursor.")
    return Position(payload["t"], payload["a"])


_INVALID = "The cursor is not one this service gave: use the nextCursor of the previous page, or an empty cursor."


def _mac(key: str, body: str) -> bytes:
    derived = hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(derived, body.encode(), hashlib.sha256).digest()[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
