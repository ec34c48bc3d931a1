"""IdPs' API keys, kept in AWS Secrets Manager: the only module that talks to it.

One secret per IdP, named `<prefix><idp id>`, holds its keys' metadata and digests (never a key's secret), its
allow-list of source networks, and a revision that every change of it increases. Request handlers read it through
`KeyCache`; the management use cases write it through `TenantDirectory`, one change at a time (the IdP's lock in the
registry), and record its revision in the registry, so that every container knows at once when its copy is stale.
AWS errors leave this module as domain errors: an unknown IdP is `UnknownIdp`, anything that stops us reading the
secret is `ServiceUnavailable` (the caller fails closed with 503).
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import cache, cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .auth import privileges as privilege_rules
from .auth import tokens
from .observability import logger
from .scim import extensions as extension_rules
from .scim.errors import Forbidden, ServiceUnavailable, Unauthorized
from .scim.resource_types import ResourceTypes
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


class KeysBehind(ServiceUnavailable):
    """The IdP's keys changed a moment ago and Secrets Manager still gives the copy from before: no token is judged
    on it (a revoked key could pass); 503 with Retry-After until it gives the new one (seconds at most)."""

    def __init__(self) -> None:
        super().__init__("This IdP's keys are changing; retry in a moment.", retry_after=1)


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
    expires_at: str | None = None  # ISO 8601, UTC: from then on the key answers 401, as a revoked one does

    def public(self) -> dict:
        """What an admin may see of a key: everything but its digest."""
        return {**self.model_dump(exclude={"digest"}), "privileges": list(self.privileges)}

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= parse_time(self.expires_at)


class Idp(BaseModel):
    """The document in an IdP's secret (one secret per IdP)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str = ""  # as created (the registry holds the current name)
    created: str = ""
    keys: dict[str, ApiKey] = {}
    # OAuth clients (client credentials grant): the same record as a key, the digest being the client secret's.
    clients: dict[str, ApiKey] = {}
    # The source networks (CIDR) requests to this IdP must come from; empty: any (docs/security.md).
    allowed_networks: tuple[str, ...] = ()
    # The IdP's own schema extensions (custom attributes), as declared (`scim.extensions`); in the same document as
    # its keys, so a request reads them with its keys, and a change reaches every container as a key's does.
    extensions: tuple[dict[str, Any], ...] = ()
    # Increased by every change; the registry records it (0: written before revisions were kept).
    revision: int = 0

    @cached_property
    def types(self) -> ResourceTypes:
        """The resource types this IdP is served (its extensions compiled once per copy read)."""
        return extension_rules.resource_types(self.extensions)

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)  # a secret edited by hand must still say exactly which networks
        return value

    @field_validator("extensions")
    @classmethod
    def _extensions(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        extension_rules.resource_types(value)  # as for the networks: a secret edited by hand must still be served
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


def now_text(moment: datetime | None = None) -> str:
    """A time as this service writes it: ISO 8601, UTC, whole seconds, with a Z."""
    return (moment or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with its offset (or Z); ValueError without one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a time needs its offset from UTC (e.g. Z)")
    return moment



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

    Each IdP's secret is re-read when its copy is older than `ttl` seconds, and at once when the registry says the
    secret has a newer revision than the copy (a key was created or revoked: every container sees it from its next
    request). Without a revision to go by (an IdP the registry does not know yet), a token naming a key the copy does
    not know causes one early re-read instead. Either early re-read happens at most once per IdP every `miss_refresh`
    seconds while the secret read is still behind. An IdP id that names no IdP is remembered as unknown for
    `miss_refresh` seconds too, in a cache of its own: one Secrets Manager read per made-up id per interval, however
    many requests name it.
    """

    def __init__(self, secrets: _Secrets, ttl: float, miss_refresh: float, clock=time.monotonic):
        self._secrets = secrets
        self._ttl = ttl
        self._miss_refresh = miss_refresh
        self._clock = clock
        # idp id -> (when read, the IdP, its allowed networks parsed, when a read last missed the asked key or None,
        # the registry revision that read fell short of or None)
        self._entries: OrderedDict[str, tuple[float, Idp, tuple, float | None, int | None]] = OrderedDict()
        # idp id -> when a read found no such IdP; when a read found a secret this service cannot read
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._unreadable: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, idp_id: str, token: tokens.ParsedToken | None, source_ip: str | None = None,
                     revision: int | None = None) -> Principal:
        """The principal of a valid token of this IdP (not revoked, not expired); 401 otherwise. `revision`: the
        IdP's secret revision the registry holds, when the caller has read it (a copy behind it is read again). An
        IdP with an allow-list refuses a valid token sent from another address with 403 (docs/security.md)."""
        if token is None or not is_idp_id(idp_id):
            raise Unauthorized()
        found = self._idp(idp_id, token.key_id, revision)
        if found is None:
            raise Unauthorized()
        idp, networks = found
        key = idp.keys.get(token.key_id)
        if key is None or key.revoked or key.expired(datetime.now(timezone.utc)) \
                or not tokens.matches(key.digest, token):
            raise Unauthorized()
        # Only a valid token learns that its address is not allowed: to anyone else the IdP looks like any other.
        if networks and not allowed(source_ip, networks):
            raise Forbidden("Requests to this IdP are accepted only from its allowed networks.")
        return Principal(idp_id=idp_id, key_id=key.id, privileges=key.privileges)

    def client(self, idp_id: str, client_id: str) -> ApiKey | None:
        """The IdP's OAuth client `client_id` in the cached copy (read again early, at most once per interval, when
        the copy does not know it), None if the copy does not know it; UnknownIdp for an IdP that does not exist
        (remembered as such: a made-up client id costs one Secrets Manager read per interval, and no table read)."""
        found = self._idp(idp_id, client_id, None, clients=True) if is_idp_id(idp_id) else None
        if found is None:
            raise UnknownIdp(idp_id)
        return found[0].clients.get(client_id)

    def copy(self, idp_id: str, revision: int) -> tuple[Idp, tuple]:
        """The IdP's keys and clients at `revision` at least (the registry's), with its allow-list parsed; read again
        only when the cached copy is behind. 401 for an IdP with no secret."""
        if not is_idp_id(idp_id):
            raise Unauthorized()
        found = self._idp(idp_id, "", revision)
        if found is None:
            raise Unauthorized()
        return found

    def types(self, idp_id: str) -> ResourceTypes:
        """The resource types the IdP is served, from the copy a request was just admitted with (no AWS call)."""
        with self._lock:
            cached = self._entries.get(idp_id)
        if cached is not None:
            return cached[1].types
        found = self._idp(idp_id, "", None)  # forgotten since (a full cache): read again
        if found is None:
            raise Unauthorized()
        return found[0].types

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._unknown.clear()
            self._unreadable.clear()

    def _idp(self, idp_id: str, key_id: str, revision: int | None,
             clients: bool = False) -> tuple[Idp, tuple] | None:
        now = self._clock()
        with self._lock:
            cached = self._entries.get(idp_id)
            unknown_since = self._unknown.get(idp_id)
            unreadable_since = self._unreadable.get(idp_id)
        if unknown_since is not None and now - unknown_since < self._miss_refresh:
            return None
        if unreadable_since is not None and now - unreadable_since < self._miss_refresh:
            raise UnreadableSecret("This IdP's keys cannot be read; retry later.")

        def current(idp: Idp) -> bool:
            if revision is not None:
                return idp.revision >= revision
            return key_id in (idp.clients if clients else idp.keys)

        missed_at = None
        fresh = False
        if cached is not None:
            fetched_at, idp, networks, missed_at, lagged = cached
            fresh = now - fetched_at < self._ttl
            recent_miss = missed_at is not None and now - missed_at < self._miss_refresh
            # The interval runs from the last read that missed, not from the last read: a key created just after
            # the copy was read must work at once.
            if fresh and current(idp):
                return idp, networks
            if fresh and recent_miss and revision is None:
                return idp, networks
            if fresh and recent_miss and lagged is not None and lagged >= revision:
                raise KeysBehind()  # read for this revision a moment ago, still behind: never judge a token on it
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
        if not current(idp) or (cached is not None and fresh):
            missed_at = now  # this read is still behind, or was the early re-read
        # The revision this read fell short of (Secrets Manager lagging the registry), if it did.
        lagged = revision if revision is not None and not current(idp) else None
        networks = parse_networks(idp.allowed_networks)
        with self._lock:
            self._unknown.pop(idp_id, None)
            self._unreadable.pop(idp_id, None)
            _remember(self._entries, idp_id, (now, idp, networks, missed_at, lagged), MAX_CACHED_IDPS)
        if not current(idp) and revision is not None:
            raise KeysBehind()
        return idp, networks


def _remember(cache: OrderedDict, key: str, value: Any, limit: int) -> None:
    """Put `key` last (the most recently read), forgetting the least recently read beyond `limit`."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)


def allowed(source_ip: str | None, networks: tuple) -> bool:
    """Whether the address is in one of the networks."""
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


class TenantDirectory:
    """The management side of the secrets: create, read, write and delete an IdP's secret. What a change does to the
    document is `with_key`, `with_key_revoked` and `with_networks` (pure); the management use cases serialize the
    changes of one IdP (its lock in the registry) and record the revision written."""

    def __init__(self, client: Any, prefix: str):
        self._secrets = _Secrets(client, prefix)
        self._client = client
        self._prefix = prefix

    def create(self, idp_id: str, name: str, created: str) -> Idp:
        """The IdP's secret, with no keys; ValueError when it exists."""
        from botocore.exceptions import ClientError

        idp = Idp(id=idp_id, name=name, created=created)
        try:
            self._client.create_secret(
                Name=self._secrets.name(idp.id),
                Description="SCIM API keys of one IdP (its digests, never a token)",
                SecretString=_encode(idp),
                Tags=[{"Key": "scim:idp-id", "Value": idp.id}],
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceExistsException":
                raise ValueError(f"IdP {idp.id} already exists") from None
            raise
        return idp

    def read(self, idp_id: str) -> Idp:
        """The secret as stored now (UnknownIdp when there is none)."""
        return self._secrets.read(idp_id)

    def exists(self, idp_id: str) -> bool:
        try:
            self._secrets.read(idp_id)
        except UnknownIdp:
            return False
        return True

    def write(self, idp: Idp) -> None:
        self._client.put_secret_value(SecretId=self._secrets.name(idp.id), SecretString=_encode(idp))

    def delete(self, idp_id: str) -> None:
        """Delete the IdP's secret at once, without the recovery window (an erasure); done if it is gone."""
        from botocore.exceptions import ClientError

        try:
            self._client.delete_secret(SecretId=self._secrets.name(idp_id), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise

    def idp_ids(self) -> Iterator[str]:
        """The ids of every IdP that has a secret (for adopting IdPs created before the registry)."""
        paginator = self._client.get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [self._prefix]}]):
            for entry in page.get("SecretList", []):
                if entry["Name"].startswith(self._prefix) and is_idp_id(entry["Name"][len(self._prefix):]):
                    yield entry["Name"][len(self._prefix):]


def with_key(idp: Idp, name: str, description: str, privileges: list[str], expires_at: str | None,
             created: str) -> tuple[Idp, ApiKey, str]:
    """The document with a new key (its digest only), the key, and its token, which exists nowhere else from now
    on."""
    key_id, token = tokens.new_token()
    key = ApiKey(id=key_id, name=name, description=description,
                 privileges=tuple(privilege_rules.normalize(privileges)), created=created,
                 digest=tokens.token_digest(token), expires_at=expires_at)
    return idp.model_copy(update={"keys": {**idp.keys, key.id: key}}), key, token


def with_key_revoked(idp: Idp, key_id: str, when: str) -> tuple[Idp, ApiKey]:
    """The document with the key marked revoked (kept for the record; revoking twice keeps the first time)."""
    key = idp.keys.get(key_id)
    if key is None:
        raise UnknownKey(key_id)
    revoked = key.model_copy(update={"revoked": key.revoked or when})
    return idp.model_copy(update={"keys": {**idp.keys, key_id: revoked}}), revoked


def with_client(idp: Idp, name: str, description: str, privileges: list[str], expires_at: str | None,
                created: str) -> tuple[Idp, ApiKey, str]:
    """The document with a new OAuth client (its secret's digest only), the client, and its secret, which exists
    nowhere else from now on."""
    client_id, secret = tokens.new_client(idp.id)
    client = ApiKey(id=client_id, name=name, description=description,
                    privileges=tuple(privilege_rules.normalize(privileges)), created=created,
                    digest=tokens.digest(client_id, secret), expires_at=expires_at)
    return idp.model_copy(update={"clients": {**idp.clients, client.id: client}}), client, secret


def with_client_revoked(idp: Idp, client_id: str, when: str) -> tuple[Idp, ApiKey]:
    """The document with the client marked revoked (its tokens refused from the next request; twice keeps the
    first time)."""
    client = idp.clients.get(client_id)
    if client is None:
        raise UnknownKey(client_id)
    revoked = client.model_copy(update={"revoked": client.revoked or when})
    return idp.model_copy(update={"clients": {**idp.clients, client_id: revoked}}), revoked


def with_networks(idp: Idp, networks: list[str]) -> Idp:
    """The document with this allow-list of source networks (empty: any address); ValueError for anything that is
    not a network."""
    parsed = parse_networks(networks)
    return idp.model_copy(update={"allowed_networks": tuple(str(network) for network in parsed)})


class SigningKeys:
    """The keys access tokens are signed with (one Secrets Manager secret of the stack's: `{"kid", "key"}` as the
    stack made it, or `{"keys": [{"kid", "key"}, ...]}` once rotated, the first signing), read once per container
    and again every `ttl` seconds; a token naming a key the copy does not know makes one early read, at most once per
    `miss_refresh` seconds. So verifying a token costs no AWS call, and a rotation (docs/authentication.md) is seen
    within `ttl` by every container."""

    def __init__(self, client: Any, secret_id: str, ttl: float = 300.0, miss_refresh: float = 10.0,
                 clock=time.monotonic):
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl
        self._miss_refresh = miss_refresh
        self._clock = clock
        self._keys: dict[str, str] = {}
        self._current: str | None = None
        self._read_at: float | None = None
        self._missed_at: float | None = None
        self._lock = threading.Lock()

    def signing(self) -> tuple[str, str]:
        """(kid, key) to sign with."""
        self._fresh()
        if self._current is None:
            raise KeyStoreUnavailable("The token signing key cannot be read; retry later.")
        return self._current, self._keys[self._current]

    def get(self, kid: str) -> str | None:
        """The key `kid` names, None if there is none (after at most one early read)."""
        self._fresh()
        if kid not in self._keys and (self._missed_at is None or self._clock() - self._missed_at >= self._miss_refresh):
            self._missed_at = self._clock()
            try:
                self._read()
            except KeyStoreUnavailable:
                pass  # the keys known are still good: a token naming another is refused, not answered 503
        return self._keys.get(kid)

    def _fresh(self) -> None:
        if self._read_at is None or self._clock() - self._read_at >= self._ttl:
            self._read()

    def _read(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            text = self._client.get_secret_value(SecretId=self._secret_id)["SecretString"]
        except (ClientError, BotoCoreError):
            logger.warning("the token signing key could not be read")
            raise KeyStoreUnavailable("The token signing key cannot be read; retry later.") from None
        keys = parse_signing_keys(text)
        with self._lock:
            self._keys = dict(keys)
            self._current = keys[0][0]
            self._read_at = self._clock()


# A signing key shorter than this is refused (HS256 wants at least 256 bits of key).
MIN_SIGNING_KEY_CHARS = 32


def parse_signing_keys(text: str) -> list[tuple[str, str]]:
    """[(kid, key)], the signing one first, from the signing secret's text; never the text in an error."""
    try:
        document = json.loads(text)
        entries = document["keys"] if "keys" in document else [document]
        keys = [(str(entry["kid"]), str(entry["key"])) for entry in entries]
    except (ValueError, KeyError, TypeError):
        raise KeyStoreUnavailable("The token signing key is not what this service writes.") from None
    if not keys or any(not kid or len(key) < MIN_SIGNING_KEY_CHARS for kid, key in keys):
        raise KeyStoreUnavailable("The token signing key is not what this service writes.")
    return keys


@cache
def signing_keys() -> SigningKeys:
    from .config import settings

    secret = settings().token_signing_secret
    if not secret:
        raise KeyStoreUnavailable("This function has no token signing key (TOKEN_SIGNING_SECRET).")
    return SigningKeys(secretsmanager_client(), secret)


def secretsmanager_client() -> Any:
    import boto3
    from botocore.config import Config

    # Short timeouts and few retries: when Secrets Manager is away we answer 503 quickly instead of letting
    # API Gateway time out after 29 s.
    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("secretsmanager", config=config)


def preload_sdk_model() -> None:
    """Load the SDK's Secrets Manager model into the default session, as `store.preload_sdk_model` does DynamoDB's."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    boto3.DEFAULT_SESSION._session.get_service_model("secretsmanager")


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
