"""The OAuth 2.0 token endpoint (`POST /v1/oauth2/token`, functions/token/): the client credentials grant (RFC 6749
§4.4) for the OAuth clients of the IdPs, the authentication Entra's application gallery uses.

The client authenticates with HTTP Basic (`client_secret_basic`: id and secret form-url-encoded, then Basic) or in
the form body (`client_secret_post`), never both. A client id names its IdP (`<IdP ID>.<16 hex digits>`); the
client is looked up in the IdP's secret as a key is (the cached copy, current to the revision in the IdP's registry
item), so a revoked or expired client, or a deleted IdP, is `invalid_client` at once. The access token is a JWT
(`auth.access_tokens`) for the IdP's Tenant URL, carrying the granted privileges as its scope.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qsl, unquote_plus

from .auth import access_tokens, privileges, tokens
from .observability import logger

FORM = "application/x-www-form-urlencoded"
GRANT_TYPE = "client_credentials"
# A token request is a few hundred bytes; anything much larger is not one.
MAX_BODY_BYTES = 8 * 1024


@dataclass
class OAuthError(Exception):
    """RFC 6749 §5.2: `error`, a description for a person (never a secret), the status, and its headers."""

    error: str
    description: str
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> dict:
        return _response(self.status, {"error": self.error, "error_description": self.description}, self.headers)


def invalid_client(description: str = "Client authentication failed.") -> OAuthError:
    return OAuthError("invalid_client", description, 401, {"WWW-Authenticate": 'Basic realm="SCIM"'})


@dataclass(frozen=True)
class Client:
    """An authenticated client: its IdP, its id, and what it may be granted."""

    idp_id: str
    client_id: str
    privileges: tuple[str, ...]


def handle(request: dict, authenticate, signing, base_url: str) -> dict:
    """The token endpoint's answer (a Lambda proxy response) to `request` (method, content type, authorization,
    body, source address); `authenticate` (client id, secret, source address) -> Client or None (or OAuthError);
    `signing` () -> (kid, key)."""
    try:
        client, scope = _grant(request, authenticate)
        kid, key = signing()
        token, lifetime = access_tokens.mint(kid, key, base_url, f"{base_url}/v1/scim/{client.idp_id}",
                                             client.client_id, scope)
    except OAuthError as error:
        logger.info("token request refused", extra={"error": error.error, "status": error.status})
        return error.response()
    logger.info("token issued", extra={"idp_id": client.idp_id, "client_id": client.client_id,
                                       "scope": " ".join(scope)})
    return _response(200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime,
                           "scope": " ".join(scope)}, {})


def _grant(request: dict, authenticate) -> tuple[Client, tuple[str, ...]]:
    if request.get("method") != "POST":
        raise OAuthError("invalid_request", "The token endpoint takes POST.", 405, {"Allow": "POST"})
    content_type = (request.get("content_type") or "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise OAuthError("invalid_request", f"The request body must be {FORM}.")
    form = _form(request.get("body") or "")
    from_header = _basic(request.get("authorization"))
    if from_header is not None and form.get("client_secret") is not None:
        raise OAuthError("invalid_request", "Authenticate the client one way only: HTTP Basic or the body.")
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required.")
    if from_header is not None:
        client_id, secret = from_header
        if form.get("client_id") not in (None, client_id):
            raise OAuthError("invalid_request", "client_id in the body is not the one authenticated.")
    elif form.get("client_id") and form.get("client_secret"):
        client_id, secret = form["client_id"], form["client_secret"]
    else:
        raise invalid_client("The client must authenticate: HTTP Basic, or client_id and client_secret.")
    client = authenticate(client_id, secret, request.get("source_ip"))
    if client is None:
        raise invalid_client()
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"Only {GRANT_TYPE} is supported.")
    return client, _scope(form.get("scope"), client)


def _form(body: str) -> dict[str, str]:
    """The form's parameters; one given with no value counts as omitted (RFC 6749 §3.2), one given twice is refused."""
    try:
        size = len(body.encode())
    except UnicodeEncodeError:
        raise OAuthError("invalid_request", "The request body is not form-encoded text.") from None
    if size > MAX_BODY_BYTES:
        raise OAuthError("invalid_request", "The request body is too large.")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_request", "The request body is not form-encoded.") from None
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise OAuthError("invalid_request", "A parameter is given more than once.")
    return {name: value for name, value in pairs if value}


def _basic(authorization: str | None) -> tuple[str, str] | None:
    """(client id, secret) of an `Authorization: Basic` header (RFC 6749 §2.3.1: each form-url-encoded first)."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("The client must authenticate with HTTP Basic or in the body.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 (both ValueErrors)
        raise invalid_client("The Basic credentials are not base64 of id:secret.") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("The Basic credentials are not base64 of id:secret.")
    return unquote_plus(client_id), unquote_plus(secret)


def _scope(requested: str | None, client: Client) -> tuple[str, ...]:
    """The privileges to grant: those asked (each one the client holds, or implied by one it holds), or else all of
    the client's."""
    if requested is None or not requested.strip(" "):
        return client.privileges
    asked = tuple(dict.fromkeys(p for p in requested.split(" ") if p))  # RFC 6749 §3.3: separated by spaces
    if any(p not in privileges.ALL or not privileges.grants(client.privileges, p) for p in asked):
        raise OAuthError("invalid_scope", "The scope asks for a privilege the client does not have (known: "
                                          + " ".join(privileges.ALL) + ").")
    return asked


def client_authenticator(registry, directory, cache):
    """authenticate(client id, secret, source address) -> Client or None, over the IdPs' registry items and the key
    cache: first the cached copy of the IdP's secret (a wrong secret costs no table read, and a client id of an IdP
    that does not exist one Secrets Manager read per interval), then the IdP's registry item (deleted? the revision
    of its secret, so a client created or revoked a moment ago is known) and the client again in a copy current to
    it; last, the IdP's allow-list of source networks."""
    from .management.access import adopt
    from .scim.errors import Unauthorized
    from .tenants import UnknownIdp, allowed

    def valid(client, client_id: str, secret: str) -> bool:
        return client is not None and not client.revoked and not client.expired(datetime.now(timezone.utc)) \
            and tokens.matches(client.digest, tokens.ParsedToken(client_id, secret))

    def authenticate(client_id: str, secret: str, source_ip: str | None = None) -> Client | None:
        idp_id = tokens.client_idp(client_id)
        if idp_id is None:
            return None
        try:
            cached = cache.client(idp_id, client_id)
        except UnknownIdp:
            return None
        if cached is not None and not valid(cached, client_id, secret):
            return None  # a wrong secret (or a revoked client) costs no table read; an unknown client, one
        record = registry.get(idp_id) or adopt(registry, directory, idp_id)
        if record is None or not record.active:
            return None
        try:
            idp, networks = cache.copy(idp_id, record.revision)
        except Unauthorized:
            return None
        client = idp.clients.get(client_id)
        if not valid(client, client_id, secret):
            return None
        if networks and not allowed(source_ip, networks):
            raise OAuthError("unauthorized_client", "This IdP accepts requests only from its allowed networks.")
        return Client(idp_id=idp_id, client_id=client_id, privileges=client.privileges)

    return authenticate


def _response(status: int, body: dict, headers: dict[str, str]) -> dict:
    return {"statusCode": status, "body": json.dumps(body, separators=(",", ":")),
            "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache",
                        **headers}}
