"""Admitting a SCIM request: who is calling, and whether the IdP still admits anyone.

1. The token against the IdP's keys (`tenants.KeyCache`: Secrets Manager, cached per container). A missing,
   malformed, unknown, revoked or expired token is a 401 here, with no table access; an IdP id that names nothing
   costs at most one Secrets Manager read per interval.
2. The IdP's registry item (one strongly consistent GetItem): an IdP being deleted, or erased, admits no one, from
   the request after its deletion on, in every container. It also holds the revision of the IdP's secret: a copy
   behind it is read again at once, so a revoked key stops working at once, and a change of the allow-list applies
   at once (a valid token from outside it is a 403, never having read any of the tenant's data).
3. The key's last use, written at most once per key per container per `KEY_USE_INTERVAL_SECONDS`.

An IdP created before the registry existed has a secret and no registry item: its first request adopts it (writes
the item from the secret), so an upgrade needs no step before provisioning goes on.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import cache
from typing import Any

from datetime import datetime, timezone

from ..auth import access_tokens, privileges, tokens
from ..observability import logger
from ..scim.errors import Forbidden, Unauthorized
from ..scope import Principal
from ..store.registry import IdpExists, IdpRecord
from ..tenants import UnknownIdp, allowed, key_cache, now_text, signing_keys

# Keys whose last recorded use one container remembers (least recently used forgotten first).
MAX_REMEMBERED_KEYS = 10_000


class KeyUses:
    """When this container last recorded each key's use: one write per key per interval, never one per request."""

    def __init__(self, registry: Any, interval: float, clock=time.monotonic):
        self._registry = registry
        self._interval = interval
        self._clock = clock
        self._last: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, idp_id: str, key_id: str) -> None:
        now = self._clock()
        with self._lock:
            last = self._last.get((idp_id, key_id))
            if last is not None and now - last < self._interval:
                return
            self._last.pop((idp_id, key_id), None)
            self._last[(idp_id, key_id)] = now
            while len(self._last) > MAX_REMEMBERED_KEYS:
                self._last.popitem(last=False)
        try:
            self._registry.record_key_use(idp_id, key_id, now_text())
        except Exception:  # a request never fails for its bookkeeping
            logger.warning("a key's last use could not be recorded", extra={"key_id": key_id})


def admit(registry: Any, directory: Any, uses: KeyUses, idp_id: str, token: tokens.ParsedToken | None,
          source_ip: str | None) -> Principal:
    """The principal of a request to `idp_id`, or 401/403 (see the module's docstring)."""
    cache = key_cache()
    try:
        cache.authenticate(idp_id, token, source_ip)  # no table access for a token that is no valid key
    except Forbidden:
        pass  # a valid token from outside the allow-list: refused below, once the copy is known to be current
    record = registry.get(idp_id) or adopt(registry, directory, idp_id)
    if record is None or not record.active:
        raise Unauthorized()
    principal = cache.authenticate(idp_id, token, source_ip, revision=record.revision)
    uses.record(idp_id, principal.key_id)
    return principal


def adopt(registry: Any, directory: Any, idp_id: str) -> IdpRecord | None:
    """The registry item of an IdP that has only a secret (made before the registry), written from the secret; None
    if there is no secret. Never over an item that exists, a deleted IdP's tombstone included."""
    try:
        secret = directory.read(idp_id)
    except UnknownIdp:
        return None
    record = IdpRecord(id=idp_id, state="active", name=secret.name or idp_id, created=secret.created or now_text(),
                       revision=secret.revision, allowed_networks=secret.allowed_networks)
    try:
        registry.create(record)
    except IdpExists:
        return registry.get(idp_id)
    for key in secret.keys.values():
        registry.put_key(idp_id, key.id, key.created, key.name, key.privileges, key.expires_at, key.revoked)
    logger.info("idp adopted into the registry", extra={"idp_id": idp_id})
    return record


def admit_token(registry: Any, directory: Any, idp_id: str, token: str, issuer: str, audience: str,
                source_ip: str | None) -> Principal:
    """The principal of a request to `idp_id` bearing an OAuth access token: its signature and claims (for this
    Tenant URL, unexpired) with no AWS call; then, as for a key, the IdP's registry item (one read), and its client in
    the cached copy of its secret (current to the registry's revision): a revoked or expired client's tokens stop at
    once. Its privileges are the token's scope."""
    try:
        granted = access_tokens.verify(token, signing_keys().get, issuer, audience)
    except access_tokens.InvalidToken as error:
        logger.info("an access token was refused", extra={"reason": str(error)})
        raise InvalidAccessToken() from None
    if tokens.client_idp(granted.client_id) != idp_id:
        raise InvalidAccessToken()
    record = registry.get(idp_id) or adopt(registry, directory, idp_id)
    if record is None or not record.active:
        raise InvalidAccessToken()
    idp, networks = key_cache().copy(idp_id, record.revision)
    client = idp.clients.get(granted.client_id)
    if client is None or client.revoked or client.expired(datetime.now(timezone.utc)):
        raise InvalidAccessToken()
    if networks and not allowed(source_ip, networks):
        raise Forbidden("Requests to this IdP are accepted only from its allowed networks.")
    return Principal(idp_id=idp_id, key_id=client.id, access_token=True, privileges=tuple(
        p for p in granted.scope if privileges.grants(client.privileges, p)))


class InvalidAccessToken(Unauthorized):
    """401 with RFC 6750's `error="invalid_token"`: a token that is not (or no longer) good here."""

    def __init__(self) -> None:
        super().__init__("Authentication failed: the access token is invalid, expired or not for this Tenant URL.")
        self.headers = {"WWW-Authenticate": 'Bearer realm="SCIM", error="invalid_token"'}


@cache
def key_uses() -> KeyUses:
    from ..config import settings
    from ..store import store

    return KeyUses(store().registry, settings().key_use_interval_seconds)


def admit_access_token(idp_id: str, token: str, issuer: str, audience: str, source_ip: str | None) -> Principal:
    """`admit_token` with the container's store and secrets (the SCIM edge's entry point for OAuth tokens)."""
    from . import services

    found = services()
    return admit_token(found.store.registry, found.directory, idp_id, token, issuer, audience, source_ip)


def admit_request(idp_id: str, token: tokens.ParsedToken | None, source_ip: str | None) -> Principal:
    """`admit` with the container's store, key cache and secrets (the SCIM edge's entry point)."""
    from . import services

    found = services()
    return admit(found.store.registry, found.directory, key_uses(), idp_id, token, source_ip)
