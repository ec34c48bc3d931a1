"""OAuth 2.0 access tokens: JWTs in the RFC 9068 profile, signed HS256 with the stack's signing key (PyJWT).

Claims: `iss` (the API's base URL), `aud` (the IdP's Tenant URL: a token is good for that IdP only), `sub` and
`client_id` (the OAuth client), `scope` (space-separated privileges), `jti`, `iat`, `exp`; header `typ: at+jwt` and
`kid` (the signing key, so a rotation goes without downtime). Verification pins the algorithm (never `none`, never
an asymmetric one whose public key could pose as the HMAC key) and requires every claim.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"
LIFETIME_SECONDS = 3600
# Clocks of the token endpoint and of the functions checking its tokens may differ this much.
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["iss", "aud", "sub", "client_id", "scope", "jti", "iat", "exp"]


# Ours are about 500 characters; a longer one is not ours (and its JSON is not worth parsing).
MAX_TOKEN_CHARS = 4096
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _canonical(part: str) -> bool:
    """Whether a JWT part is unpadded base64url in its one spelling (a decoder is lenient: other characters, padding,
    or other unused bits in the last character decode to the same bytes; one token must be one string, as the WAF's
    per-client buckets and any de-duplication count it)."""
    if not _BASE64URL.fullmatch(part) or len(part) % 4 == 1:
        return False
    decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return base64.urlsafe_b64encode(decoded).decode().rstrip("=") == part


class InvalidToken(Exception):
    """Not an access token this service would accept here (RFC 6750: `invalid_token`). The reason is for the log."""


@dataclass(frozen=True)
class AccessToken:
    client_id: str
    scope: tuple[str, ...]
    jti: str
    expires_at: int


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


def mint(kid: str, key: str, issuer: str, audience: str, client_id: str, scope: tuple[str, ...],
         now: float | None = None) -> tuple[str, int]:
    """A signed access token, and its lifetime in seconds."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": issuer, "aud": audience, "sub": client_id, "client_id": client_id, "scope": " ".join(scope),
              "jti": uuid.uuid4().hex, "iat": issued, "exp": issued + LIFETIME_SECONDS}
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": TOKEN_TYPE})
    return token, LIFETIME_SECONDS


def verify(token: str, key_of: Callable[[str], str | None], issuer: str, audience: str) -> AccessToken:
    """The access token's grant, if it is ours, for this audience, and current; InvalidToken otherwise."""
    if len(token) > MAX_TOKEN_CHARS or not all(_canonical(part) for part in token.split(".")):
        raise InvalidToken("not a JWT in its one encoding")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, RecursionError):  # not even JSON a JWT could hold
        raise InvalidToken("not a JWT") from None
    if header.get("alg") != ALGORITHM or str(header.get("typ", "")).lower() not in (TOKEN_TYPE, "application/at+jwt"):
        raise InvalidToken("not an access token of this service (alg or typ)")
    kid = header.get("kid")
    key = key_of(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise InvalidToken("signed with no key of this service")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                            leeway=LEEWAY_SECONDS, options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("expired") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("for another Tenant URL") from None
    except (jwt.PyJWTError, RecursionError) as error:
        raise InvalidToken(type(error).__name__) from None
    if claims["sub"] != claims["client_id"] or not isinstance(claims["scope"], str):
        raise InvalidToken("malformed claims")
    return AccessToken(client_id=str(claims["client_id"]), scope=tuple(claims["scope"].split()),
                       jti=str(claims["jti"]), expires_at=int(claims["exp"]))
