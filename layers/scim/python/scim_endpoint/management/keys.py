"""An IdP's API keys (and its allow-list, which lives in the same secret): create, list, revoke, set.

The secret is one document, read, changed and written whole, and Secrets Manager has no conditional write; so each
change takes the IdP's lock in the registry (a lease of LOCK_LEASE_SECONDS), reads the secret (waiting for it to
reach the revision the registry holds, should a read lag behind the last write), writes it with the next revision,
and releases the lock recording that revision. Two changes of one IdP never lose each other, and every container
sees the new revision on its next request (`access`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from ..observability import logger
from ..store.registry import Busy as LockBusy
from ..store.registry import CLIENT_SK, IdpNotActive
from ..tenants import (
    Idp, UnknownIdp, UnknownKey, now_text, parse_time, with_client, with_client_revoked, with_key, with_key_revoked,
    with_networks,
)
from . import Services
from .errors import Busy, Conflict, InvalidRequest, NotFound, Unavailable
from .models import Client, ClientCreate, ClientCreated, ClientList, Key, KeyCreate, KeyCreated, KeyList

T = TypeVar("T")

LOCK_LEASE_SECONDS = 60.0
# How long a change waits for another change of the same IdP before answering 429.
LOCK_WAIT_SECONDS = 5.0
# How long a read of the secret may lag behind the revision the registry holds before the change gives up (503).
SECRET_LAG_SECONDS = 5.0
# A holder writes the secret only with this much of its lease left: a stalled holder must not write after another
# has taken the lock. Longer than the longest a write can take (the Secrets Manager client's timeouts and retries,
# tenants.secretsmanager_client: about 12 s).
LEASE_MARGIN_SECONDS = 30.0


class Keys:
    def __init__(self, services: Services, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self._services = services
        self._registry = services.store.registry
        self._directory = services.directory
        self._clock = clock
        self._sleep = sleep

    def create(self, idp_id: str, request: KeyCreate) -> KeyCreated:
        if request.expires_at is not None and parse_time(request.expires_at) <= datetime.now(timezone.utc):
            raise InvalidRequest("expires_at is in the past: a key must be usable when it is created.")
        created = now_text()
        expires = now_text(parse_time(request.expires_at)) if request.expires_at else None
        key, token = self.change_secret(idp_id, lambda secret: _created(secret, request, expires, created))
        self._registry.put_key(idp_id, key.id, key.created, key.name, key.privileges, key.expires_at)
        return KeyCreated(**_public(key), idp_id=idp_id, tenant_url=self._services.tenant_url(idp_id), token=token)

    def list(self, idp_id: str) -> KeyList:
        self.require(idp_id)
        try:
            secret = self._directory.read(idp_id)
        except UnknownIdp:
            return KeyList(keys=[])
        used = self._registry.key_uses(idp_id)
        keys = sorted(secret.keys.values(), key=lambda key: (key.created, key.id))
        return KeyList(keys=[Key(**_public(key), last_used_at=used.get(key.id)) for key in keys])

    def revoke(self, idp_id: str, key_id: str) -> Key:
        """Revoke a key: from the next request on, in every container, it answers 401. Revoking twice keeps the
        first time."""
        def revoked(secret: Idp) -> tuple[Idp, Any]:
            try:
                return with_key_revoked(secret, key_id, now_text())
            except UnknownKey:
                raise NotFound(f"IdP {idp_id} has no key {key_id}.") from None

        key = self.change_secret(idp_id, revoked)
        self._registry.mark_key_revoked(idp_id, key.id, key.revoked)
        return Key(**_public(key), last_used_at=self._registry.key_uses(idp_id).get(key.id))

    # -- OAuth clients: kept beside the keys, changed the same way --------------------------------------------------

    def create_client(self, idp_id: str, request: ClientCreate) -> ClientCreated:
        if request.expires_at is not None and parse_time(request.expires_at) <= datetime.now(timezone.utc):
            raise InvalidRequest("expires_at is in the past: a client must be usable when it is created.")
        created = now_text()

        def added(secret: Idp) -> tuple[Idp, Any]:
            updated, client, client_secret = with_client(secret, request.name, request.description,
                                                         list(request.privileges), request.expires_at, created)
            return updated, (client, client_secret)

        client, client_secret = self.change_secret(idp_id, added)
        self._registry.put_key(idp_id, client.id, client.created, client.name, client.privileges, client.expires_at,
                               kind=CLIENT_SK)
        return ClientCreated(**_client(client), idp_id=idp_id, tenant_url=self._services.tenant_url(idp_id),
                             token_endpoint=self._services.token_endpoint(), client_secret=client_secret)

    def list_clients(self, idp_id: str) -> ClientList:
        self.require(idp_id)
        try:
            secret = self._directory.read(idp_id)
        except UnknownIdp:
            return ClientList(clients=[])
        clients = sorted(secret.clients.values(), key=lambda client: (client.created, client.id))
        return ClientList(clients=[Client(**_client(client)) for client in clients])

    def revoke_client(self, idp_id: str, client_id: str) -> Client:
        """Revoke a client: its secret gets no token, and its tokens are refused, from the next request on."""
        def revoked(secret: Idp) -> tuple[Idp, Any]:
            try:
                return with_client_revoked(secret, client_id, now_text())
            except UnknownKey:
                raise NotFound(f"IdP {idp_id} has no client {client_id}.") from None

        client = self.change_secret(idp_id, revoked)
        self._registry.mark_key_revoked(idp_id, client.id, client.revoked, kind=CLIENT_SK)
        return Client(**_client(client))

    def set_allowed_networks(self, idp_id: str, networks: list[str]) -> list[str]:
        def replaced(secret: Idp) -> tuple[Idp, Any]:
            try:
                updated = with_networks(secret, networks)
            except ValueError as error:
                raise InvalidRequest(str(error)) from None
            return updated, list(updated.allowed_networks)

        networks = self.change_secret(idp_id, replaced)
        # The registry's copy, for listings (the secret's list is what requests are checked against).
        self._registry.update(idp_id, {"allowed_networks": networks})
        return networks

    # -- one change of the secret, under the IdP's lock ---------------------------------------------------------------

    def change_secret(self, idp_id: str, change: Callable[[Idp], tuple[Idp, T]]) -> T:
        """Apply `change` to the IdP's secret under its lock (keys, clients, allow-list, extensions: one document)."""
        self.require(idp_id)
        owner = uuid.uuid4().hex
        record = self._lock(idp_id, owner)
        taken = time.monotonic()
        revision = None
        try:
            secret = self._current(idp_id, record.revision)
            updated, result = change(secret)
            revision = max(secret.revision, record.revision) + 1
            if time.monotonic() - taken > LOCK_LEASE_SECONDS - LEASE_MARGIN_SECONDS:
                revision = None
                raise Unavailable("The change took too long and was not written; retry.")
            written = updated.model_copy(update={"revision": revision})
            self._directory.write(written)
        except BaseException:
            self._registry.unlock(idp_id, owner, None)
            raise
        if not self._registry.unlock(idp_id, owner, revision) and self._directory.read(idp_id) != written:
            # The lease ran out before the lock was released and another change took it: this one may have been
            # overwritten. Never report a change as done that the secret does not hold.
            logger.error("a change of an idp's keys outlived its lock", extra={"idp_id": idp_id})
            raise Unavailable("Another change of this IdP's keys overlapped this one, which may not have been kept: "
                              "list the keys, then retry.")
        return result

    def _lock(self, idp_id: str, owner: str) -> Any:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return self._registry.lock(idp_id, owner, self._clock(), LOCK_LEASE_SECONDS)
            except LockBusy:
                if time.monotonic() > deadline:
                    raise Busy(f"Another change of IdP {idp_id}'s keys is under way; retry.") from None
                self._sleep(0.1)
            except IdpNotActive:
                raise self._gone(idp_id) from None

    def _current(self, idp_id: str, revision: int) -> Idp:
        """The secret, at least at `revision` (a read may lag a moment behind the last write); an IdP whose secret
        was never written (its creation stopped half-way) starts from an empty one."""
        deadline = time.monotonic() + SECRET_LAG_SECONDS
        while True:
            try:
                secret = self._directory.read(idp_id)
            except UnknownIdp:
                record = self._registry.get(idp_id)
                try:
                    created = self._directory.create(idp_id, record.name if record else idp_id, now_text())
                except ValueError:  # its creation has just written it after all: read it
                    continue
                logger.info("idp secret created late", extra={"idp_id": idp_id})
                return created
            if secret.revision >= revision:
                return secret
            if time.monotonic() > deadline:
                raise Unavailable("The IdP's keys cannot be read at their latest revision yet; retry.")
            self._sleep(0.2)

    def require(self, idp_id: str) -> None:
        """NotFound, or Conflict while it is being deleted, for an IdP that is not active."""
        from .idps import Idps

        Idps(self._services).active(idp_id)

    def _gone(self, idp_id: str) -> Exception:
        record = self._registry.get(idp_id)
        if record is None or record.state == "deleted":
            return NotFound(f"No IdP {idp_id}.")
        return Conflict(f"IdP {idp_id} is being deleted.", "idp_deleting")


def _created(secret: Idp, request: KeyCreate, expires_at: str | None, created: str) -> tuple[Idp, tuple]:
    updated, key, token = with_key(secret, request.name, request.description, list(request.privileges), expires_at,
                                   created)
    return updated, (key, token)


def _client(client: Any) -> dict:
    return {"client_id": client.id, "name": client.name, "description": client.description,
            "privileges": list(client.privileges), "created": client.created, "expires_at": client.expires_at,
            "revoked": client.revoked}


def _public(key: Any) -> dict:
    return {"id": key.id, "name": key.name, "description": key.description, "privileges": list(key.privileges),
            "created": key.created, "expires_at": key.expires_at, "revoked": key.revoked}
