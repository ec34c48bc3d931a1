"""KeyCache: how often it reads an IdP's secret, and what it accepts. A fake secrets reader and a fake clock; no AWS."""

from __future__ import annotations

import pytest

from scim_endpoint.auth import tokens
from scim_endpoint.scim.errors import Forbidden, ServiceUnavailable, Unauthorized
from scim_endpoint.tenants import ApiKey, Idp, KeyCache, UnknownIdp

TTL = 60.0
MISS_REFRESH = 1.0
IDP = "contoso"
CREATED = "2026-01-01T00:00:00Z"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSecrets:
    """Stands in for the Secrets Manager reader: IdPs by id, and a count of reads per IdP."""

    def __init__(self) -> None:
        self.idps: dict[str, Idp] = {}
        self.reads: dict[str, int] = {}
        self.failure: Exception | None = None

    def read(self, idp_id: str) -> Idp:
        self.reads[idp_id] = self.reads.get(idp_id, 0) + 1
        if self.failure is not None:
            raise self.failure
        if idp_id not in self.idps:
            raise UnknownIdp(idp_id)
        return self.idps[idp_id]

    def add_key(self, idp_id: str, privileges: tuple[str, ...] = ("users:write",), revoked: str | None = None) -> str:
        """A new key for the IdP (created if need be); returns its token."""
        key_id, token = tokens.new_token()
        key = ApiKey(id=key_id, name="k", privileges=privileges, created=CREATED,
                     digest=tokens.token_digest(token), revoked=revoked)
        idp = self.idps.get(idp_id) or Idp(id=idp_id, name=idp_id, created=CREATED)
        self.idps[idp_id] = idp.model_copy(update={"keys": {**idp.keys, key_id: key}})
        return token

    def revoke(self, idp_id: str, token: str) -> None:
        idp = self.idps[idp_id]
        key_id = tokens.parse_token(token).key_id
        revoked = idp.keys[key_id].model_copy(update={"revoked": CREATED})
        self.idps[idp_id] = idp.model_copy(update={"keys": {**idp.keys, key_id: revoked}})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def secrets() -> FakeSecrets:
    return FakeSecrets()


@pytest.fixture
def cache(secrets: FakeSecrets, clock: Clock) -> KeyCache:
    return KeyCache(secrets, ttl=TTL, miss_refresh=MISS_REFRESH, clock=clock)


def parsed(token: str) -> tokens.ParsedToken:
    result = tokens.parse_token(token)
    assert result is not None
    return result


def made_up_token() -> tokens.ParsedToken:
    return parsed(tokens.new_token()[1])


def test_a_valid_token_gives_its_principal(cache: KeyCache, secrets: FakeSecrets) -> None:
    token = secrets.add_key(IDP, ("users:write", "groups:read"))
    principal = cache.authenticate(IDP, parsed(token))
    assert principal.idp_id == IDP
    assert principal.key_id == parsed(token).key_id
    assert principal.privileges == ("users:write", "groups:read")


def test_a_fresh_cache_does_not_read_again(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    token = parsed(secrets.add_key(IDP))
    for _ in range(5):
        cache.authenticate(IDP, token)
        clock.advance(TTL / 10)
    assert secrets.reads[IDP] == 1


def test_after_the_ttl_it_reads_again(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    token = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, token)
    clock.advance(TTL - 0.01)
    cache.authenticate(IDP, token)
    assert secrets.reads[IDP] == 1
    clock.advance(0.02)
    cache.authenticate(IDP, token)
    assert secrets.reads[IDP] == 2
    clock.advance(TTL / 2)
    cache.authenticate(IDP, token)
    assert secrets.reads[IDP] == 2  # the re-read restarted the TTL


def test_an_unknown_key_causes_one_early_read_then_at_most_one_per_interval(
    cache: KeyCache, secrets: FakeSecrets, clock: Clock
) -> None:
    token = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, token)
    assert secrets.reads[IDP] == 1

    clock.advance(0.1)
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, made_up_token())
    assert secrets.reads[IDP] == 2  # the first miss re-reads at once

    clock.advance(MISS_REFRESH / 2)
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, made_up_token())
    assert secrets.reads[IDP] == 2  # a second miss within the interval does not

    cache.authenticate(IDP, token)  # known keys are still served from the copy
    assert secrets.reads[IDP] == 2

    clock.advance(MISS_REFRESH)
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, made_up_token())
    assert secrets.reads[IDP] == 3  # after it, one more


def test_a_flood_of_made_up_tokens_is_bounded(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    secrets.add_key(IDP)
    for _ in range(1000):  # 100 a second for 10 seconds
        with pytest.raises(Unauthorized):
            cache.authenticate(IDP, made_up_token())
        clock.advance(0.01)
    assert secrets.reads[IDP] <= 10 / MISS_REFRESH + 1


def test_a_key_created_after_the_cache_was_loaded_works_at_once(
    cache: KeyCache, secrets: FakeSecrets, clock: Clock
) -> None:
    old = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, old)
    new = parsed(secrets.add_key(IDP))
    clock.advance(0.05)
    assert cache.authenticate(IDP, new).key_id == new.key_id
    assert secrets.reads[IDP] == 2


def test_a_key_created_after_a_miss_works_after_the_interval(
    cache: KeyCache, secrets: FakeSecrets, clock: Clock
) -> None:
    cache_token = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, cache_token)
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, made_up_token())  # spends the early re-read
    new = parsed(secrets.add_key(IDP))
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, new)
    clock.advance(MISS_REFRESH)
    assert cache.authenticate(IDP, new).key_id == new.key_id


def test_an_unknown_idp_is_remembered_for_the_interval(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    token = made_up_token()
    with pytest.raises(Unauthorized):
        cache.authenticate("nobody", token)
    assert secrets.reads["nobody"] == 1

    clock.advance(MISS_REFRESH / 2)
    for _ in range(10):
        with pytest.raises(Unauthorized):
            cache.authenticate("nobody", made_up_token())
    assert secrets.reads["nobody"] == 1

    clock.advance(MISS_REFRESH)
    with pytest.raises(Unauthorized):
        cache.authenticate("nobody", token)
    assert secrets.reads["nobody"] == 2


def test_an_idp_created_after_being_asked_for_works_after_the_interval(
    cache: KeyCache, secrets: FakeSecrets, clock: Clock
) -> None:
    with pytest.raises(Unauthorized):
        cache.authenticate("late", made_up_token())
    token = parsed(secrets.add_key("late"))
    clock.advance(MISS_REFRESH)
    assert cache.authenticate("late", token).idp_id == "late"


def test_intervals_are_per_idp(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    a = parsed(secrets.add_key("a"))
    b = parsed(secrets.add_key("b"))
    cache.authenticate("a", a)
    with pytest.raises(Unauthorized):
        cache.authenticate("a", made_up_token())
    cache.authenticate("b", b)
    assert secrets.reads == {"a": 2, "b": 1}


def test_a_revoked_key_is_rejected(cache: KeyCache, secrets: FakeSecrets) -> None:
    token = parsed(secrets.add_key(IDP, revoked=CREATED))
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, token)


def test_a_key_revoked_later_stops_working_within_the_ttl(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    token = secrets.add_key(IDP)
    other = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, parsed(token))
    secrets.revoke(IDP, token)
    clock.advance(TTL + 0.01)
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, parsed(token))
    assert cache.authenticate(IDP, other).key_id == other.key_id


def test_a_wrong_secret_is_rejected_without_a_read(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    token = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, token)
    forged = tokens.ParsedToken(token.key_id, tokens.new_token()[1].split("_", 2)[2])
    assert forged.secret != token.secret
    for _ in range(3):
        clock.advance(MISS_REFRESH * 2)
        with pytest.raises(Unauthorized):
            cache.authenticate(IDP, forged)
    assert secrets.reads[IDP] == 1  # the key is known: nothing to refresh


def test_another_idps_key_is_rejected(cache: KeyCache, secrets: FakeSecrets) -> None:
    token = parsed(secrets.add_key("a"))
    secrets.add_key("b")
    with pytest.raises(Unauthorized):
        cache.authenticate("b", token)


@pytest.mark.parametrize("idp_id", ["", "bad$id", "-x", "x" * 65, "../a"])
def test_no_token_or_a_malformed_idp_id_is_rejected_without_a_read(cache: KeyCache, secrets: FakeSecrets, idp_id: str):
    token = parsed(secrets.add_key(IDP))
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, None)
    with pytest.raises(Unauthorized):
        cache.authenticate(idp_id, token)
    assert secrets.reads == {}


def test_an_unavailable_key_store_is_not_remembered(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    token = parsed(secrets.add_key(IDP))
    secrets.failure = ServiceUnavailable("away")
    with pytest.raises(ServiceUnavailable):
        cache.authenticate(IDP, token)
    with pytest.raises(ServiceUnavailable):
        cache.authenticate(IDP, token)
    secrets.failure = None
    assert cache.authenticate(IDP, token).key_id == token.key_id
    assert secrets.reads[IDP] == 3


def test_clear_forgets_everything(cache: KeyCache, secrets: FakeSecrets) -> None:
    token = parsed(secrets.add_key(IDP))
    cache.authenticate(IDP, token)
    cache.clear()
    cache.authenticate(IDP, token)
    assert secrets.reads[IDP] == 2


# --- made-up IdP ids: a bounded negative cache of their own -------------------------------------------------------


def test_one_made_up_idp_id_costs_one_read_per_interval(cache: KeyCache, secrets: FakeSecrets, clock: Clock) -> None:
    for _ in range(500):  # 100 a second for 5 seconds, one made-up IdP id
        with pytest.raises(Unauthorized):
            cache.authenticate("made-up", made_up_token())
        clock.advance(0.01)
    assert secrets.reads["made-up"] == 5 / MISS_REFRESH


def test_a_flood_of_made_up_idp_ids_neither_grows_memory_nor_evicts_tenants(cache: KeyCache, secrets: FakeSecrets,
                                                                          clock: Clock) -> None:
    """Before, one cache held both: 1,000 made-up ids pushed every real tenant out, each of whose requests then cost
    a read again."""
    from scim_endpoint import tenants

    real = {f"tenant{n}": secrets.add_key(f"tenant{n}") for n in range(50)}
    for idp_id, token in real.items():
        cache.authenticate(idp_id, parsed(token))
    for n in range(tenants.MAX_UNKNOWN_IDPS + 5_000):
        with pytest.raises(Unauthorized):
            cache.authenticate(f"made-up-{n}", made_up_token())
    assert len(cache._unknown) == tenants.MAX_UNKNOWN_IDPS
    reads_before = dict(secrets.reads)
    for idp_id, token in real.items():
        assert cache.authenticate(idp_id, parsed(token)).idp_id == idp_id
    assert {i: secrets.reads[i] for i in real} == {i: reads_before[i] for i in real}  # no read: still cached


def test_an_idp_created_after_it_was_unknown_works_after_the_interval(cache: KeyCache, secrets: FakeSecrets,
                                                                      clock: Clock) -> None:
    with pytest.raises(Unauthorized):
        cache.authenticate("late", made_up_token())
    token = secrets.add_key("late")
    with pytest.raises(Unauthorized):
        cache.authenticate("late", parsed(token))
    clock.advance(MISS_REFRESH)
    assert cache.authenticate("late", parsed(token)).idp_id == "late"


# --- an IdP's allowed networks ------------------------------------------------------------------------------------


def with_networks(secrets: FakeSecrets, idp_id: str, networks: tuple[str, ...]) -> str:
    token = secrets.add_key(idp_id)
    secrets.idps[idp_id] = secrets.idps[idp_id].model_copy(update={"allowed_networks": networks})
    return token


@pytest.mark.parametrize("source_ip, allowed", [
    ("20.190.128.7", True), ("40.126.0.1", True), ("2603:1006:2000::5", True),
    ("20.190.200.1", False), ("127.0.0.1", False), ("", False), (None, False), ("not an address", False),
])
def test_an_allow_list_refuses_other_addresses(cache: KeyCache, secrets: FakeSecrets, source_ip, allowed) -> None:
    token = with_networks(secrets, IDP, ("20.190.128.0/18", "40.126.0.0/18", "2603:1006:2000::/48"))
    if allowed:
        assert cache.authenticate(IDP, parsed(token), source_ip).idp_id == IDP
    else:
        with pytest.raises(Forbidden):
            cache.authenticate(IDP, parsed(token), source_ip)
        with pytest.raises(Unauthorized):  # a made-up token learns nothing of the allow-list: 401 as anywhere
            cache.authenticate(IDP, made_up_token(), source_ip)


def test_without_an_allow_list_any_address_is_accepted(cache: KeyCache, secrets: FakeSecrets) -> None:
    token = secrets.add_key(IDP)
    assert cache.authenticate(IDP, parsed(token), "203.0.113.9").idp_id == IDP
    assert cache.authenticate(IDP, parsed(token), None).idp_id == IDP


def test_a_copy_behind_the_registrys_revision_never_judges_a_token(cache: KeyCache, secrets: FakeSecrets,
                                                                     clock: Clock) -> None:
    """The registry says the IdP's keys changed (revision 2) but Secrets Manager still gives the copy from before (a
    key revoked a moment ago would pass on it): 503 with Retry-After, at most one read per interval, until the new
    copy comes; then the revoked key is refused."""
    token = secrets.add_key(IDP)
    parsed = tokens.parse_token(token)
    secrets.idps[IDP] = secrets.idps[IDP].model_copy(update={"revision": 1})
    assert cache.authenticate(IDP, parsed, revision=1).key_id == parsed.key_id
    secrets.revoke(IDP, token)  # revision 2 written, but the read lags and still gives revision 1 (not revoked)
    lagging = secrets.idps[IDP]
    secrets.idps[IDP] = lagging.model_copy(update={"keys": {k: v.model_copy(update={"revoked": None})
                                                            for k, v in lagging.keys.items()}})
    reads = secrets.reads[IDP]
    for _ in range(3):
        with pytest.raises(ServiceUnavailable) as refused:
            cache.authenticate(IDP, parsed, revision=2)
        assert refused.value.headers["Retry-After"] == "1"
    assert secrets.reads[IDP] == reads + 1  # one read, then none within the interval
    secrets.idps[IDP] = lagging.model_copy(update={"revision": 2})  # the new copy arrives
    clock.advance(MISS_REFRESH)
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, parsed, revision=2)


def test_a_new_revision_right_after_a_read_is_read_at_once_not_refused(cache: KeyCache, secrets: FakeSecrets,
                                                                        clock: Clock) -> None:
    """Two changes of the IdP's keys a moment apart (a client created, then revoked): the second revision is read
    at once, not answered 503 as though Secrets Manager lagged."""
    token = secrets.add_key(IDP)
    parsed = tokens.parse_token(token)
    secrets.idps[IDP] = secrets.idps[IDP].model_copy(update={"revision": 1})
    cache.authenticate(IDP, parsed, revision=1)
    secrets.idps[IDP] = secrets.idps[IDP].model_copy(update={"revision": 2})
    cache.authenticate(IDP, parsed, revision=2)  # an early re-read
    secrets.revoke(IDP, token)
    secrets.idps[IDP] = secrets.idps[IDP].model_copy(update={"revision": 3})
    with pytest.raises(Unauthorized):
        cache.authenticate(IDP, parsed, revision=3)  # read again at once: revoked
