"""API key tokens: `scim_<key id>_<secret>`; OAuth client ids and secrets, kept the same way.

The token names its key, so verification is one lookup of the key's record and one constant-time comparison of
digests. The secret is 256 random bits, so a plain SHA-256 digest is as strong as a slow password hash would be,
and costs microseconds on every request instead of tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "scim_"
_TOKEN = re.compile(r"scim_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
_CLIENT_SUFFIX = re.compile(r"[0-9a-f]{16}")
# RFC 7235: the scheme in any case, then spaces (never tabs or line breaks), then the token, and nothing else. WAF's
# per-client rate limit keys on this header lower-cased with spaces compressed (template.yaml: RatePerClient), and its
# token-guessing rule expects exactly this shape: a token the app accepts counts once, in one bucket.
_BEARER = re.compile(r"bearer +(?P<token>[^\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedToken:
    key_id: str
    secret: str

    def __repr__(self) -> str:  # never let the secret reach a log or a traceback
        return f"ParsedToken(key_id={self.key_id!r}, secret=***)"


def new_token() -> tuple[str, str]:
    """A fresh (key id, token) pair. The token is shown to the admin once and never stored."""
    key_id = secrets.token_hex(8)
    return key_id, f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def new_client(idp_id: str) -> tuple[str, str]:
    """A fresh OAuth client: (client id, client secret). The client id names its IdP (the token endpoint serves every
    IdP: `<IdP ID>.<16 hex digits>`; an IdP ID has no dot); the secret is shown to the admin once and never stored."""
    return f"{idp_id}.{secrets.token_hex(8)}", secrets.token_urlsafe(32)


def client_idp(client_id: str) -> str | None:
    """The IdP a client id names, None for anything that is no client id of this service."""
    from ..scope import is_idp_id

    idp_id, dot, suffix = client_id.rpartition(".")
    return idp_id if dot and _CLIENT_SUFFIX.fullmatch(suffix) and is_idp_id(idp_id) else None


def digest(key_id: str, secret: str) -> str:
    """What is stored in place of the secret; binding the key id stops one key's digest vouching for another."""
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def token_digest(token: str) -> str:
    parsed = parse_token(token)
    if parsed is None:
        raise ValueError("not a token of this service")
    return digest(parsed.key_id, parsed.secret)


def parse_token(token: str) -> ParsedToken | None:
    match = _TOKEN.fullmatch(token)
    return ParsedToken(match["key_id"], match["secret"]) if match else None


def bearer_token(authorization: str | None) -> ParsedToken | None:
    """The API key of an `Authorization: Bearer <token>` header, or None when absent or malformed."""
    value = bearer_value(authorization)
    return parse_token(value) if value else None


def bearer_value(authorization: str | None) -> str | None:
    """What an `Authorization: Bearer <token>` header carries (an API key or an access token), None if none."""
    if not authorization:
        return None
    match = _BEARER.fullmatch(authorization.strip(" "))  # a header's surrounding spaces are not part of its value
    return match["token"] if match else None


def matches(stored_digest: str, token: ParsedToken) -> bool:
    return hmac.compare_digest(stored_digest, digest(token.key_id, token.secret))
