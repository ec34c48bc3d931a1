"""RFC 9865 cursors: opaque, tamper-proof positions in one IdP's list, for one query.

A cursor says where the next page starts (the resource type, and the id of the last resource read: the store reads
on from just after it, so a page at any depth costs what the first costs), until when it is good, and which list it
belongs to: a digest of the IdP, the endpoint, the filter and the projection. Its content is encrypted and
authenticated (an HMAC-SHA256 keystream, then HMAC-SHA256 over the nonce and ciphertext, with keys derived from the
token signing key its `kid` names), so a client can neither read it nor change it. A cursor that was changed, was not
made here, or was made for another IdP, endpoint, filter or projection is `invalidCursor`, all with one message; a
genuine one past its timeout is `expiredCursor`. It is written with RFC 3986 unreserved characters only (base64url
and `.`), as RFC 9865 asks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ExpiredCursor, InvalidCursor
from .paging import ListQuery

# How long a cursor stays good (ServiceProviderConfig `pagination.cursorTimeout`).
CURSOR_TIMEOUT_SECONDS = 3600
MAX_CURSOR_LENGTH = 1024
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_NONCE_BYTES = 12
_MAC_BYTES = 24
INVALID = ("The cursor is not one this service gave for this list: use the nextCursor of the previous page with the "
           "same filter, attributes and endpoint, or start again with an empty cursor.")

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
    payload = json.dumps({"t": position.resource_type, "a": position.after, "b": bound_to,
                          "e": int(now) + CURSOR_TIMEOUT_SECONDS}, separators=(",", ":")).encode()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = nonce + _xor(payload, _keystream(key, nonce, len(payload)))
    head = f"{_b64(kid.encode())}.{_b64(sealed)}"
    return f"{head}.{_b64(_mac(key, head))}"


def decode(cursor: str, bound_to: str, now: float, keys: Keys, types: tuple[str, ...]) -> Position:
    """The position a cursor names; InvalidCursor for anything this service did not give for this list, or
    ExpiredCursor once its time has passed (told only for a cursor that is genuine)."""
    payload = _opened(cursor, keys)
    after = payload.get("a")
    if payload.get("b") != bound_to or payload.get("t") not in types or not isinstance(after, (str, type(None))):
        raise InvalidCursor(INVALID)
    if not isinstance(payload.get("e"), int) or payload["e"] < now:
        raise ExpiredCursor(f"This cursor has expired (cursors are good for {CURSOR_TIMEOUT_SECONDS} seconds): "
                            "start again with an empty cursor.")
    return Position(payload["t"], after)


def _opened(cursor: str, keys: Keys) -> dict:
    """The cursor's content, once its MAC is verified; InvalidCursor for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _SHAPE.fullmatch(cursor):
        raise InvalidCursor(INVALID)
    kid_text, sealed_text, mac = cursor.split(".")
    try:
        key = keys(_unb64(kid_text).decode())
        sealed = _unb64(sealed_text)
    except (ValueError, binascii.Error):
        raise InvalidCursor(INVALID) from None
    if key is None or len(sealed) <= _NONCE_BYTES or \
            not hmac.compare_digest(_b64(_mac(key, f"{kid_text}.{sealed_text}")), mac):
        raise InvalidCursor(INVALID)
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        payload = json.loads(_xor(ciphertext, _keystream(key, nonce, len(ciphertext))))
    except ValueError:
        raise InvalidCursor(INVALID) from None
    if not isinstance(payload, dict):
        raise InvalidCursor(INVALID)
    return payload


def _derived(key: str, purpose: bytes) -> bytes:
    """A key of its own for each use, so a cursor's MAC or keystream can never pass for a token's signature."""
    return hmac.new(key.encode(), b"scim-endpoint cursor v2 " + purpose, hashlib.sha256).digest()


def _keystream(key: str, nonce: bytes, length: int) -> bytes:
    """HMAC-SHA256 in counter mode over a fresh nonce: a stream cipher's keystream."""
    derived = _derived(key, b"encryption")
    blocks = (hmac.new(derived, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
              for counter in range(-(-length // 32)))
    return b"".join(blocks)[:length]


def _mac(key: str, text: str) -> bytes:
    return hmac.new(_derived(key, b"authentication"), text.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
