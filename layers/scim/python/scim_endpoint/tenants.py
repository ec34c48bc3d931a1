"""IdPs (the tenants) and their API keys, kept in AWS Secrets Manager: the only module that talks to it.

One secret per IdP, named `<prefix><idp id>`, holds the IdP's name and its keys' metadata and digests, never a
key's secret. Request handlers read it through `KeyCache`; the admin command line and the local server write it
through `TenantDirectory`. AWS errors leave this module as domain errors: an unknown IdP is `UnknownIdp`, anything
that stops us reading the secret is `ServiceUnavailable` (the caller fails closed with 503).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
import uuid
import ipaddress
from datetime import datetime, timezone
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .auth import privileges as privilege_rules
from .auth import tokens
from .observability import logger
from .scim.errors import Forbidden, ServiceUnavailable, Unauthorized
from .scope import Principal, is_idp_id

# IdPs a container remembers, and IdP ids it remembers are unknown: apart, so that a flood of made-up ids can neither
# grow memory without bound nor push real tenants out of the cache (each would then cost a read again).
MAX_CACHED_IDPS = 1000
MAX_UNKNOWN_IDPS = 10_000


class UnknownIdp(LookupError):
    pass


class UnknownKey(LookupError):
    pass


class KeyStoreUnavailable(ServiceUnavailable):
    """Secrets Manager could not be read: requests fail closed with 503 and Retry-After."""


class UnreadableSecret(KeyStoreUnavailable):
    """An IdP's secret holds what this service cannot read (edited by hand): its requests fail closed with 503."""


class ApiKey(BaseModel):
    """A key as the IdP's secret keeps it: its metadata and the digest of its token, never the token."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str = ""
    privileges: tuple[str, ...]
    created: str
    digest: str
    revoked: str | None = None

    def public(self) -> dict:
        """What an admin may see of a key: everything but its digest."""
        return {**self.model_dump(exclude={"digest"}), "privileges": list(self.privileges)}


class Idp(BaseModel):
    """The document in an IdP's secret (one secret per IdP)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    created: str
    keys: dict[str, ApiKey] = {}
    # The source networks (CIDR) requests to this IdP must come from; empty: any (docs/security.md).
    allowed_networks: tuple[str, ...] = ()

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)  # a secret edited by hand must still say exactly which networks
        return value


# Networks one IdP's allow-list may name: Entra's published ranges for its provisioning service are a few hundred.
MAX_ALLOWED_NETWORKS = 1000


def parse_networks(networks: list[str] | tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CIDR blocks (or single addresses), as networks; ValueError naming the first that is not one."""
    if len(networks) > MAX_ALLOWED_NETWORKS:
        raise ValueError(f"an allow-list holds at most {MAX_ALLOWED_NETWORKS} networks")
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not a network (CIDR) or an address: {network!r}") from None
    return tuple(parsed)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _decode(secret_string: str) -> Idp:
    return Idp.model_validate_json(secret_string)


def _encode(idp: Idp) -> str:
    return idp.model_dump_json()


class _Secrets:
    """Reads and writes IdP secrets, turning AWS errors into domain errors."""

    def __init__(self, client: Any, prefix: str):
        self.client = client
        self.prefix = prefix

    def name(self, idp_id: str) -> str:
        return f"{self.prefix}{idp_id}"

    def read(self, idp_id: str) -> Idp:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_secret_value(SecretId=self.name(idp_id))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise UnknownIdp(idp_id) from None
            logger.error("secrets manager refused a read", extra={"error_code": code, "idp_id": idp_id})
            raise KeyStoreUnavailable("The key store is unavailable; retry later.") from None
        except BotoCoreError as error:
            logger.error("secrets manager unreachable", extra={"error_type": type(error).__name__})
            raise KeyStoreUnavailable("The key store is unreachable; retry later.") from None
        try:
            return _decode(response["SecretString"])
        except (ValidationError, ValueError, KeyError):
            # Never the secret's text in the log: it holds digests.
            logger.error("an IdP's secret is not what this service writes", extra={"idp_id": idp_id})
            raise UnreadableSecret("This IdP's keys cannot be read; retry later.") from None


class KeyCache:
    """Verifies bearer tokens against a per-container cache of the IdPs' keys.

    Each IdP's secret is re-read when its copy is older than `ttl` seconds (so a revoked key stops working within
    `ttl`). A token naming a key the copy does not know causes one early re-read, so a key created a moment ago
    works at once, but at most one such re-read per IdP every `miss_refresh` seconds. An IdP id that names no IdP
    is remembered as unknown for `miss_refresh` seconds too, in a cache of its own: one Secrets Manager read per
    made-up id per interval, however many requests name it.
    """

    def __init__(self, secrets: _Secrets, ttl: float, miss_refresh: float, clock=time.monotonic):
        self._secrets = secrets
        self._ttl = ttl
        self._miss_refresh = miss_refresh
        self._clock = clock
        # idp id -> (when read, the IdP, its allowed networks parsed, when a read last missed the asked key or None)
        self._entries: OrderedDict[str, tuple[float, Idp, tuple, float | None]] = OrderedDict()
        # idp id -> when a read found no such IdP; when a read found a secret this service cannot read
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._unreadable: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, idp_id: str, token: tokens.ParsedToken | None, source_ip: str | None = None) -> Principal:
        """The principal of a valid token of this IdP; 401 otherwise. An IdP with an allow-list refuses a valid
        token sent from another address with 403 (docs/security.md)."""
        if token is None or not is_idp_id(idp_id):
            raise Unauthorized()
        found = self._idp(idp_id, token.key_id)
        if found is None:
            raise Unauthorized()
        idp, networks = found
        key = idp.keys.get(token.key_id)
        if key is None or key.revoked or not tokens.matches(key.digest, token):
            raise Unauthorized()
        # Only a valid token learns that its address is not allowed: to anyone else the IdP looks like any other.
        if networks and not _allowed(source_ip, networks):
            raise Forbidden("Requests to this IdP are accepted only from its allowed networks.")
        return Principal(idp_id=idp_id, key_id=key.id, privileges=key.privileges)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._unknown.clear()
            self._unreadable.clear()

    def _idp(self, idp_id: str, key_id: str) -> tuple[Idp, tuple] | None:
        now = self._clock()
        with self._lock:
            cached = self._entries.get(idp_id)
            unknown_since = self._unknown.get(idp_id)
            unreadable_since = self._unreadable.get(idp_id)
        if unknown_since is not None and now - unknown_since < self._miss_refresh:
            return None
        if unreadable_since is not None and now - unreadable_since < self._miss_refresh:
            raise UnreadableSecret("This IdP's keys cannot be read; retry later.")
        missed_at = None
        fresh = False
        if cached is not None:
            fetched_at, idp, networks, missed_at = cached
            fresh = now - fetched_at < self._ttl
            # The interval runs from the last read that missed, not from the last read: a key created just after
            # the copy was read must work at once.
            if fresh and (key_id in idp.keys or (missed_at is not None and now - missed_at < self._miss_refresh)):
                return idp, networks
        try:
            idp = self._secrets.read(idp_id)
        except UnknownIdp:
            with self._lock:
                self._entries.pop(idp_id, None)
                _remember(self._unknown, idp_id, now, MAX_UNKNOWN_IDPS)
            return None
        except UnreadableSecret:
            # Failed closed, and read again at most once per interval (not on every request).
            with self._lock:
                self._entries.pop(idp_id, None)
                _remember(self._unreadable, idp_id, now, MAX_CACHED_IDPS)
            raise
        if key_id not in idp.keys or (cached is not None and fresh):
            missed_at = now  # this read missed the key, or was the early re-read for a miss
        networks = parse_networks(idp.allowed_networks)
        with self._lock:
            self._unknown.pop(idp_id, None)
            self._unreadable.pop(idp_id, None)
            _remember(self._entries, idp_id, (now, idp, networks, missed_at), MAX_CACHED_IDPS)
        return idp, networks


def _remember(cache: OrderedDict, key: str, value: Any, limit: int) -> None:
    """Put `key` last (the most recently read), forgetting the least recently read beyond `limit`."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)


def _allowed(source_ip: str | None, networks: tuple) -> bool:
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


class TenantDirectory:
    """The admin side: create IdPs, create, list and revoke their API keys."""

    def __init__(self, client: Any, prefix: str):
        self._secrets = _Secrets(client, prefix)
        self._client = client
        self._prefix = prefix

    def create_idp(self, name: str, idp_id: str | None = None) -> Idp:
        from botocore.exceptions import ClientError

        idp = Idp(id=idp_id or str(uuid.uuid4()), name=name, created=_now())
        if not is_idp_id(idp.id):
            raise ValueError("an IdP id is 1-64 letters, digits, '-' or '_', starting with a letter or digit")
        try:
            self._client.create_secret(
                Name=self._secrets.name(idp.id),
                Description=f"SCIM API keys of IdP '{name}'",
                SecretString=_encode(idp),
                Tags=[{"Key": "scim:idp-id", "Value": idp.id}],
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceExistsException":
                raise ValueError(f"IdP {idp.id} already exists") from None
            raise
        return idp

    def get_idp(self, idp_id: str) -> Idp:
        return self._secrets.read(idp_id)

    def list_idps(self) -> list[Idp]:
        paginator = self._client.get_paginator("list_secrets")
        found = []
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [self._prefix]}]):
            for entry in page.get("SecretList", []):
                if entry["Name"].startswith(self._prefix):
                    found.append(self.get_idp(entry["Name"][len(self._prefix) :]))
        return sorted(found, key=lambda idp: idp.created)

    def create_key(self, idp_id: str, name: str, description: str, privileges: list[str]) -> tuple[ApiKey, str]:
        """Create a key; returns it and its token, which exists nowhere else from now on."""
        idp = self.get_idp(idp_id)
        key_id, token = tokens.new_token()
        key = ApiKey(
            id=key_id,
            name=name,
            description=description,
            privileges=tuple(privilege_rules.normalize(privileges)),
            created=_now(),
            digest=tokens.token_digest(token),
        )
        self._save(idp.model_copy(update={"keys": {**idp.keys, key.id: key}}))
        return key, token

    def list_keys(self, idp_id: str) -> list[ApiKey]:
        return sorted(self.get_idp(idp_id).keys.values(), key=lambda key: key.created)

    def revoke_key(self, idp_id: str, key_id: str) -> ApiKey:
        """Mark a key revoked (kept for the record); containers stop accepting it within the cache TTL."""
        idp = self.get_idp(idp_id)
        key = idp.keys.get(key_id)
        if key is None:
            raise UnknownKey(key_id)
        revoked = key.model_copy(update={"revoked": key.revoked or _now()})
        self._save(idp.model_copy(update={"keys": {**idp.keys, key_id: revoked}}))
        return revoked

    def set_allowed_networks(self, idp_id: str, networks: list[str]) -> Idp:
        """Replace an IdP's allow-list of source networks (empty: any address); containers apply it within the cache
        TTL. ValueError for anything that is not a network."""
        parsed = parse_networks(networks)
        idp = self.get_idp(idp_id)
        updated = idp.model_copy(update={"allowed_networks": tuple(str(network) for network in parsed)})
        self._save(updated)
        return updated

    def _save(self, idp: Idp) -> None:
        self._client.put_secret_value(SecretId=self._secrets.name(idp.id), SecretString=_encode(idp))


def secretsmanager_client() -> Any:
    import boto3
    from botocore.config import Config

    # Short timeouts and few retries: when Secrets Manager is away we answer 503 quickly instead of letting
    # API Gateway time out after 29 s.
    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("secretsmanager", config=config)


@cache
def key_cache() -> KeyCache:
    """The container's cache, built on first use from the settings."""
    from .config import settings

    current = settings()
    return KeyCache(
        _Secrets(secretsmanager_client(), current.secrets_prefix),
        ttl=current.secrets_cache_ttl_seconds,
        miss_refresh=current.secrets_miss_refresh_seconds,
    )
