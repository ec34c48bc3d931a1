"""Authentication and authorization through the real handlers: the bearer token against the IdP's keys in Secrets
Manager (moto), key privileges, revocation, new keys, and failing closed when Secrets Manager is away."""

from __future__ import annotations

import secrets

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from scim_endpoint import config, tenants
from tests.conftest import REGION, Tenant, new_guid

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
TEST_CONNECTION_USERS = '/Users?filter=userName%20eq%20%22{guid}%22'
TEST_CONNECTION_GROUPS = '/Groups?excludedAttributes=members&filter=displayName+eq+%22{guid}%22'
DISCOVERY = ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas"]


def endpoints() -> list[str]:
    guid = new_guid()
    return [TEST_CONNECTION_USERS.format(guid=guid), TEST_CONNECTION_GROUPS.format(guid=guid), *DISCOVERY]


def assert_scim_error(result, status: int) -> dict:
    got, headers, body = result
    assert got == status, body
    assert headers["content-type"].split(";")[0] == "application/scim+json"
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    return body


def assert_unauthorized(result) -> dict:
    body = assert_scim_error(result, 401)
    assert result.headers["www-authenticate"].startswith("Bearer")
    return body


def assert_ok(result) -> None:
    status, headers, body = result
    assert status == 200, body
    assert headers["content-type"].split(";")[0] == "application/scim+json"


def other_secret(token: str) -> str:
    """The same key id with another well-formed secret."""
    prefix, key_id, secret = token.split("_", 2)
    replacement = secrets.token_urlsafe(32)
    assert replacement != secret
    return f"{prefix}_{key_id}_{replacement}"


# --- 401 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic xyz",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Bearer scim_0123456789abcdef_short",
        "Bearer scim_0123456789ABCDEF_" + "a" * 43,  # key ids are lower-case hex
        "Token scim_0123456789abcdef_" + "a" * 43,
    ],
    ids=["missing", "empty", "basic", "basic-b64", "bearer-alone", "bearer-space", "not-a-token", "short", "upper-hex",
         "other-scheme"],
)
def test_missing_or_malformed_credentials(call, tenant: Tenant, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for path in endpoints():
        assert_unauthorized(call("GET", tenant.base + path, headers))


def test_a_valid_token_with_trailing_text_is_refused(call, tenant: Tenant) -> None:
    for authorization in (f"Bearer {tenant.token} extra", f"Bearer {tenant.token}x", f"Bearer x{tenant.token}"):
        assert_unauthorized(call("GET", tenant.base + DISCOVERY[0], {"Authorization": authorization}))


def test_the_scheme_is_case_insensitive(call, tenant: Tenant) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        assert_ok(call("GET", tenant.base + DISCOVERY[0], {"Authorization": f"{scheme} {tenant.token}"}))
    # A lower-case header name, as HTTP/2 clients send it.
    assert_ok(call("GET", tenant.base + DISCOVERY[0], {"authorization": f"Bearer {tenant.token}"}))


def test_unknown_key_id(call, tenant: Tenant) -> None:
    token = f"scim_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"
    for path in endpoints():
        assert_unauthorized(call("GET", tenant.base + path, token=token))


def test_right_key_id_wrong_secret(call, tenant: Tenant) -> None:
    for path in endpoints():
        assert_ok(call("GET", tenant.base + path, token=tenant.token))
        assert_unauthorized(call("GET", tenant.base + path, token=other_secret(tenant.token)))


def test_another_idps_valid_token(call, tenant: Tenant, make_tenant) -> None:
    other = make_tenant(name="Fabrikam")
    for path in endpoints():
        assert_ok(call("GET", other.base + path, token=other.token))
        assert_unauthorized(call("GET", tenant.base + path, token=other.token))
        assert_unauthorized(call("GET", other.base + path, token=tenant.token))


@pytest.mark.parametrize("idp_id", [new_guid(), "unknown-idp", "bad$id", "-starts-with-dash", "x" * 65])
def test_unknown_idp(call, tenant: Tenant, idp_id: str) -> None:
    for path in endpoints():
        assert_unauthorized(call("GET", f"/v1/scim/{idp_id}{path}", token=tenant.token))


def test_all_401s_look_alike(call, tenant: Tenant, make_tenant) -> None:
    """Nothing in the answer tells an unknown IdP from an unknown key or a wrong secret."""
    other = make_tenant()
    path = DISCOVERY[0]
    answers = [
        call("GET", tenant.base + path),
        call("GET", tenant.base + path, token=other.token),
        call("GET", tenant.base + path, token=other_secret(tenant.token)),
        call("GET", f"/v1/scim/{new_guid()}{path}", token=tenant.token),
    ]
    bodies = {str(assert_unauthorized(a)) for a in answers}
    challenges = [a.headers["www-authenticate"] for a in answers]
    assert len(bodies) == 1
    # RFC 6750 §3.1: no token, no error code; any token presented and refused, the same `invalid_token`.
    assert challenges[0] == 'Bearer realm="SCIM"'
    assert set(challenges[1:]) == {'Bearer realm="SCIM", error="invalid_token"'}


# --- revocation ----------------------------------------------------------------------------------------------------


def test_revoked_key_stops_working_with_a_zero_ttl(call, tenant: Tenant, add_key, directory, monkeypatch) -> None:
    monkeypatch.setenv("SECRETS_CACHE_TTL_SECONDS", "0")
    config.settings.cache_clear()
    tenants.key_cache.cache_clear()
    _, spare = add_key(tenant.idp_id, ["users:read", "groups:read"])
    for path in endpoints():
        assert_ok(call("GET", tenant.base + path, token=tenant.token))

    directory.revoke_key(tenant.idp_id, tenant.key_id)

    for path in endpoints():
        assert_unauthorized(call("GET", tenant.base + path, token=tenant.token))
        assert_ok(call("GET", tenant.base + path, token=spare))  # the IdP's other key is untouched


def test_revoked_key_stops_working_once_the_cache_is_refreshed(call, tenant: Tenant, directory) -> None:
    path = endpoints()[0]
    assert_ok(call("GET", tenant.base + path, token=tenant.token))
    directory.revoke_key(tenant.idp_id, tenant.key_id)
    tenants.key_cache.cache_clear()  # a new container, or the TTL elapsed
    assert_unauthorized(call("GET", tenant.base + path, token=tenant.token))


# --- new keys ------------------------------------------------------------------------------------------------------


def test_a_key_created_after_the_cache_was_loaded_works_at_once(call, tenant: Tenant, add_key) -> None:
    for path in endpoints():
        assert_ok(call("GET", tenant.base + path, token=tenant.token))  # the IdP's keys are now cached
    _, new_token = add_key(tenant.idp_id, ["users:write", "groups:write"])
    for path in endpoints():
        assert_ok(call("GET", tenant.base + path, token=new_token))


# --- privileges ----------------------------------------------------------------------------------------------------


def test_groups_write_key_may_not_use_users(call, tenant: Tenant, add_key) -> None:
    _, token = add_key(tenant.idp_id, ["groups:write"])
    guid = new_guid()
    body = assert_scim_error(call("GET", tenant.base + TEST_CONNECTION_USERS.format(guid=guid), token=token), 403)
    assert "Users" in body["detail"]
    assert_ok(call("GET", tenant.base + TEST_CONNECTION_GROUPS.format(guid=guid), token=token))


def test_users_read_key(call, tenant: Tenant, add_key) -> None:
    _, token = add_key(tenant.idp_id, ["users:read"])
    guid = new_guid()
    result = call("GET", tenant.base + TEST_CONNECTION_USERS.format(guid=guid), token=token)
    assert_ok(result)
    assert result.body["totalResults"] == 0
    assert_scim_error(call("GET", tenant.base + TEST_CONNECTION_GROUPS.format(guid=guid), token=token), 403)


def test_groups_read_key(call, tenant: Tenant, add_key) -> None:
    _, token = add_key(tenant.idp_id, ["groups:read"])
    guid = new_guid()
    assert_ok(call("GET", tenant.base + TEST_CONNECTION_GROUPS.format(guid=guid), token=token))
    assert_scim_error(call("GET", tenant.base + TEST_CONNECTION_USERS.format(guid=guid), token=token), 403)


@pytest.mark.parametrize("privileges", [["users:read"], ["users:write"], ["groups:read"], ["groups:write"]])
def test_discovery_works_for_any_valid_key(call, tenant: Tenant, add_key, privileges: list[str]) -> None:
    _, token = add_key(tenant.idp_id, privileges)
    for path in DISCOVERY:
        assert_ok(call("GET", tenant.base + path, token=token))


# --- Secrets Manager away: 503, never 200 or 500 --------------------------------------------------------------------


class FlakySecretsManager:
    """A real (moto) client whose GetSecretValue raises `failure` while it is set."""

    def __init__(self) -> None:
        self._client = boto3.client("secretsmanager", region_name=REGION)
        self.failure: Exception | None = None
        self.reads = 0

    def get_secret_value(self, **kwargs):
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return self._client.get_secret_value(**kwargs)

    def __getattr__(self, name: str):
        return getattr(self._client, name)


@pytest.fixture
def flaky(monkeypatch, aws) -> FlakySecretsManager:
    client = FlakySecretsManager()
    monkeypatch.setattr(tenants, "secretsmanager_client", lambda: client)
    tenants.key_cache.cache_clear()
    return client


SECRETS_MANAGER_URL = "https://secretsmanager.us-east-1.amazonaws.com"
FAILURES = {
    "endpoint-connection": lambda: EndpointConnectionError(endpoint_url=SECRETS_MANAGER_URL),
    "connect-timeout": lambda: ConnectTimeoutError(endpoint_url=SECRETS_MANAGER_URL),
    "read-timeout": lambda: ReadTimeoutError(endpoint_url=SECRETS_MANAGER_URL),
    "internal-service-error": lambda: ClientError(
        {"Error": {"Code": "InternalServiceError", "Message": "oops"}}, "GetSecretValue"
    ),
    "throttling": lambda: ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetSecretValue"
    ),
}


def assert_unavailable(result) -> None:
    assert result.status not in (200, 500)
    assert_scim_error(result, 503)
    retry_after = result.headers["retry-after"]
    assert retry_after.isdigit() and int(retry_after) > 0


@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
def test_secrets_manager_unavailable_on_a_cold_cache(call, tenant: Tenant, flaky, failure: str) -> None:
    flaky.failure = FAILURES[failure]()
    for path in endpoints():
        assert_unavailable(call("GET", tenant.base + path, token=tenant.token))
        # Bad credentials cannot be judged either: still 503, not 401 and not 200.
        assert_unavailable(call("GET", tenant.base + path, token=other_secret(tenant.token)))
    assert flaky.reads > 0


@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
def test_secrets_manager_unavailable_when_the_cache_expires(call, tenant: Tenant, flaky, monkeypatch, failure) -> None:
    monkeypatch.setenv("SECRETS_CACHE_TTL_SECONDS", "0")
    config.settings.cache_clear()
    tenants.key_cache.cache_clear()
    path = endpoints()[0]
    assert_ok(call("GET", tenant.base + path, token=tenant.token))
    flaky.failure = FAILURES[failure]()
    assert_unavailable(call("GET", tenant.base + path, token=tenant.token))
    flaky.failure = None
    assert_ok(call("GET", tenant.base + path, token=tenant.token))  # and it recovers


# --- an IdP's allow-list of source networks -----------------------------------------------------------------------


def test_an_idp_with_an_allow_list_refuses_other_addresses_before_any_data_access(call, tenant: Tenant, directory,
                                                                                  captured) -> None:
    """403 having read nothing of the tenant's data: only the IdP's registry item (its state, and the revision of its
    secret, so that a change of the allow-list applies at once)."""
    directory.set_allowed_networks(tenant.idp_id, ["20.190.128.0/18", "2603:1006:2000::/48"])
    tenants.key_cache().clear()  # as a container does within SecretsCacheTtlSeconds
    for path in endpoints():
        assert_ok(call("GET", f"{tenant.base}{path}", token=tenant.token, source_ip="20.190.130.4"))
    for source_ip in ("198.51.100.7", "::1", "127.0.0.1"):
        for path in endpoints():
            # A client's own claim of where it comes from changes nothing: only API Gateway's source address counts.
            result = call("GET", f"{tenant.base}{path}", {"X-Forwarded-For": "20.190.130.4"}, token=tenant.token,
                          source_ip=source_ip)
            body = assert_scim_error(result, 403)
            assert "allowed networks" in body["detail"]
    refused = [line for line in captured.handled() if line["status"] == 403]
    assert refused and all(line["dynamodb_calls"] == 1 for line in refused)
    assert_scim_error(call("POST", f"{tenant.base}/Users", body={"userName": "x"}, token=tenant.token,
                           source_ip="198.51.100.7"), 403)

    directory.set_allowed_networks(tenant.idp_id, [])  # off again: any address
    tenants.key_cache().clear()
    assert_ok(call("GET", f"{tenant.base}/ServiceProviderConfig", token=tenant.token, source_ip="198.51.100.7"))


def test_outside_an_allow_list_only_a_valid_token_learns_it_is_refused_for_its_address(call, tenant: Tenant,
                                                                                       directory, make_tenant) -> None:
    """A made-up or wrong token sent from outside gets the same 401 as for an IdP that does not exist: the 403 would
    tell that this IdP exists, and has an allow-list."""
    directory.set_allowed_networks(tenant.idp_id, ["20.190.128.0/18"])
    tenants.key_cache().clear()
    path = DISCOVERY[0]
    outside = "198.51.100.7"
    answers = [
        call("GET", tenant.base + path, source_ip=outside),
        call("GET", tenant.base + path, token=make_tenant().token, source_ip=outside),
        call("GET", tenant.base + path, token=other_secret(tenant.token), source_ip=outside),
        call("GET", f"/v1/scim/{new_guid()}{path}", token=tenant.token, source_ip=outside),
    ]
    assert len({str(assert_unauthorized(answer)) for answer in answers}) == 1
    assert_scim_error(call("GET", tenant.base + path, token=tenant.token, source_ip=outside), 403)


def test_an_idp_secret_edited_into_nonsense_fails_closed_and_is_not_read_on_every_request(
        call, tenant: Tenant, captured, monkeypatch) -> None:
    """A hand-edited allow-list that is no network list: 503 (not 500), logged once per read, and read again at most
    once per SECRETS_MISS_REFRESH_SECONDS rather than on every request."""
    import json

    client = boto3.client("secretsmanager", region_name=REGION)
    name = f"{config.settings().secrets_prefix}{tenant.idp_id}"
    document = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    document["allowed_networks"] = ["20.190.128.0/18 # entra"]
    client.put_secret_value(SecretId=name, SecretString=json.dumps(document))
    tenants.key_cache().clear()
    reads = []
    real = tenants._Secrets.read
    monkeypatch.setattr(tenants._Secrets, "read", lambda self, idp_id: reads.append(idp_id) or real(self, idp_id))
    for _ in range(5):
        body = assert_scim_error(call("GET", tenant.base + DISCOVERY[0], token=tenant.token), 503)
        assert "cannot be read" in body["detail"]
    assert reads == [tenant.idp_id]
    assert not any(tenant.token in json.dumps(line) for line in captured.lines())
    assert any(line["message"] == "an IdP's secret is not what this service writes" for line in captured.lines())


@pytest.mark.parametrize("networks", [["not-a-network"], ["10.0.0.0/33"], ["10.0.0.1"] * 1001])
def test_an_allow_list_takes_only_networks(tenant: Tenant, directory, networks: list[str]) -> None:
    with pytest.raises(ValueError):
        directory.set_allowed_networks(tenant.idp_id, networks)
    assert directory.get_idp(tenant.idp_id).allowed_networks == ()


# --- made-up IdP ids ------------------------------------------------------------------------------------------------


def test_a_made_up_idp_id_costs_one_secrets_manager_read_per_interval(call, tenant: Tenant, captured,
                                                                      monkeypatch) -> None:
    """Through the handlers: a flood naming one made-up IdP id reads Secrets Manager once, touches no table, and
    answers 401 every time; the tenants' own keys are unaffected."""
    reads = []
    real = tenants._Secrets.read
    monkeypatch.setattr(tenants._Secrets, "read", lambda self, idp_id: reads.append(idp_id) or real(self, idp_id))
    made_up = new_guid()
    for _ in range(50):
        assert_unauthorized(call("GET", f"/v1/scim/{made_up}{DISCOVERY[0]}", token=tenant.token))
    assert reads == [made_up]
    refused = [line for line in captured.handled() if line["status"] == 401]
    assert len(refused) == 50 and all(line["dynamodb_calls"] == 0 for line in refused)
    assert_ok(call("GET", tenant.base + DISCOVERY[0], token=tenant.token))


def test_distinct_made_up_idp_ids_are_remembered_in_bounded_memory(call, tenant: Tenant, monkeypatch) -> None:
    """Each distinct made-up id is one read; the memory of them stays within MAX_UNKNOWN_IDPS, and the tenants'
    cache is apart (a real tenant is not pushed out, so it costs no extra read)."""
    monkeypatch.setattr(tenants, "MAX_UNKNOWN_IDPS", 20)
    assert_ok(call("GET", tenant.base + DISCOVERY[0], token=tenant.token))
    reads = []
    real = tenants._Secrets.read
    monkeypatch.setattr(tenants._Secrets, "read", lambda self, idp_id: reads.append(idp_id) or real(self, idp_id))
    for _ in range(60):
        assert_unauthorized(call("GET", f"/v1/scim/{new_guid()}{DISCOVERY[0]}", token=tenant.token))
    assert len(reads) == 60
    assert len(tenants.key_cache()._unknown) == 20
    assert_ok(call("GET", tenant.base + DISCOVERY[0], token=tenant.token))
    assert len(reads) == 60  # the tenant's copy is still cached
