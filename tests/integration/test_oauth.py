"""OAuth 2.0 client credentials (docs/authentication.md): clients through the management API, the token endpoint
(POST /v1/oauth2/token, functions/token/) with both client authentication methods and every RFC 6749 error, and its
access tokens on the SCIM routes: tenant binding, scope, expiry, signatures, algorithms, revocation, key rotation,
and an Entra-like run with a token in place of an API key."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote, urlencode

import boto3
import jwt
import pytest

from scim_endpoint.auth import access_tokens
from tests.conftest import HOST, REGION, SIGNING_SECRET
from tests.integration.test_users import patch_op, user

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN_URL = "/v1/oauth2/token"


@pytest.fixture
def idp(admin) -> str:
    return admin("POST", "/admin/v1/idps", {"name": "Contoso"}).body["idp_id"]


@pytest.fixture
def client(admin, idp) -> dict:
    made = admin("POST", f"/admin/v1/idps/{idp}/clients",
                 {"name": "Entra gallery", "privileges": ["users:write", "groups:write"]})
    assert made.status == 201, made.body
    return made.body


def basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: each form-url-encoded, then Basic.
    return "Basic " + base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()


def token_request(call, form: dict | None = None, *, authorization: str | None = None,
                  headers: dict | None = None, body: bytes | None = None):
    sent = dict(FORM if headers is None else headers)
    if authorization:
        sent["Authorization"] = authorization
    raw = body if body is not None else urlencode(form or {}).encode()
    return call("POST", TOKEN_URL, sent, raw)


def oauth_error(result, status: int, error: str) -> dict:
    assert result.status == status, (result.status, result.body)
    assert result.headers["content-type"] == "application/json"
    assert result.headers["cache-control"] == "no-store" and result.headers["pragma"] == "no-cache"
    assert result.body["error"] == error and result.body["error_description"]
    return result.body


def grant(call, client: dict, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope is not None else {})}
    answer = token_request(call, form, authorization=basic(client["client_id"], client["client_secret"]))
    assert answer.status == 200, answer.body
    return answer.body["access_token"]


def test_a_client_is_created_shown_once_listed_and_revoked(admin, idp, client) -> None:
    assert client["client_id"].startswith(f"{idp}.") and client["client_secret"]
    assert client["token_endpoint"] == f"https://{HOST}/v1/oauth2/token"
    assert client["tenant_url"] == f"https://{HOST}/v1/scim/{idp}" and client["privileges"] == ["users:write",
                                                                                                "groups:write"]
    listed = admin("GET", f"/admin/v1/idps/{idp}/clients").body["clients"]
    assert [c["client_id"] for c in listed] == [client["client_id"]]
    assert client["client_secret"] not in json.dumps(listed) and "digest" not in json.dumps(listed)
    stored = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=f"scim/test/idp/{idp}")["SecretString"]
    assert client["client_secret"] not in stored  # only its digest
    revoked = admin("DELETE", f"/admin/v1/idps/{idp}/clients/{client['client_id']}").body
    assert revoked["revoked"] and admin("DELETE", f"/admin/v1/idps/{idp}/clients/nope").status == 404


@pytest.mark.parametrize("how", ["basic", "post"])
def test_both_client_authentication_methods_get_a_token(call, idp, client, how) -> None:
    form = {"grant_type": "client_credentials"}
    if how == "post":
        answer = token_request(call, {**form, "client_id": client["client_id"],
                                      "client_secret": client["client_secret"]})
    else:
        answer = token_request(call, form, authorization=basic(client["client_id"], client["client_secret"]))
    assert answer.status == 200, answer.body
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    body = answer.body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "users:write groups:write"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "HS256" and header["typ"] == "at+jwt" and header["kid"] == "1"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == f"https://{HOST}" and claims["aud"] == f"https://{HOST}/v1/scim/{idp}"
    assert claims["sub"] == claims["client_id"] == client["client_id"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]


def test_every_error_of_rfc_6749(call, idp, client, admin) -> None:
    good = basic(client["client_id"], client["client_secret"])
    grant_form = {"grant_type": "client_credentials"}
    unauthorized = oauth_error(token_request(call, grant_form), 401, "invalid_client")
    assert unauthorized  # no client authentication at all
    refused = token_request(call, grant_form, authorization=basic(client["client_id"], "wrong"))
    oauth_error(refused, 401, "invalid_client")
    assert refused.headers["www-authenticate"].startswith("Basic")
    oauth_error(token_request(call, grant_form, authorization=basic(f"{idp}.0123456789abcdef", "x")), 401,
                "invalid_client")
    oauth_error(token_request(call, grant_form, authorization=basic("not-a-client", "x")), 401, "invalid_client")
    oauth_error(token_request(call, grant_form, authorization="Basic !!!"), 401, "invalid_client")
    oauth_error(token_request(call, grant_form, authorization="Basic é"), 401, "invalid_client")  # not ASCII
    oauth_error(token_request(call, grant_form, authorization="Basic " + base64.b64encode(b"\xff:\xfe").decode()),
                401, "invalid_client")  # not UTF-8
    oauth_error(token_request(call, {}, authorization=good), 400, "invalid_request")  # no grant_type
    oauth_error(token_request(call, {"grant_type": "password"}, authorization=good), 400, "unsupported_grant_type")
    oauth_error(token_request(call, {**grant_form, "client_secret": client["client_secret"]}, authorization=good),
                400, "invalid_request")  # two authentication methods
    oauth_error(token_request(call, body=b"grant_type=client_credentials&grant_type=client_credentials",
                              authorization=good), 400, "invalid_request")  # a parameter twice
    oauth_error(token_request(call, grant_form, authorization=good, headers={"Content-Type": "application/json"}),
                400, "invalid_request")
    oauth_error(token_request(call, {**grant_form, "scope": "users:admin"}, authorization=good), 400,
                "invalid_scope")
    narrow = admin("POST", f"/admin/v1/idps/{idp}/clients", {"name": "r", "privileges": ["users:read"]}).body
    oauth_error(token_request(call, {**grant_form, "scope": "users:write"},
                              authorization=basic(narrow["client_id"], narrow["client_secret"])), 400,
                "invalid_scope")
    assert call("GET", TOKEN_URL).status == 405
    admin("DELETE", f"/admin/v1/idps/{idp}/clients/{client['client_id']}")
    oauth_error(token_request(call, grant_form, authorization=good), 401, "invalid_client")  # revoked


def test_an_expired_client_is_invalid_client(call, admin, idp, monkeypatch) -> None:
    from datetime import datetime, timedelta, timezone

    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    made = admin("POST", f"/admin/v1/idps/{idp}/clients", {"name": "brief", "privileges": ["users:read"],
                                                            "expires_at": soon}).body
    assert grant(call, made)
    time.sleep(2.1)
    oauth_error(token_request(call, {"grant_type": "client_credentials"},
                              authorization=basic(made["client_id"], made["client_secret"])), 401, "invalid_client")


def test_a_narrower_scope_is_granted_and_is_all_the_token_may_do(call, idp, client) -> None:
    token = grant(call, client, "users:read")
    base = f"/v1/scim/{idp}"
    assert call("GET", f"{base}/Users", token=token).status == 200
    assert call("POST", f"{base}/Users", body=user("alice@contoso.com"), token=token).status == 403
    assert call("GET", f"{base}/Groups", token=token).status == 403
    wide = grant(call, client)  # no scope: all the client's privileges
    assert call("POST", f"{base}/Users", body=user("alice@contoso.com"), token=wide).status == 201


def invalid_token(result) -> None:
    assert result.status == 401, (result.status, result.body)
    assert result.headers["www-authenticate"] == 'Bearer realm="SCIM", error="invalid_token"'
    assert result.headers["content-type"].startswith("application/scim+json")


def test_a_token_is_good_only_for_its_own_tenant_url(call, admin, idp, client) -> None:
    token = grant(call, client)
    other = admin("POST", "/admin/v1/idps", {"name": "Fabrikam"}).body["idp_id"]
    invalid_token(call("GET", f"/v1/scim/{other}/Users", token=token))
    assert call("GET", f"/v1/scim/{idp}/Users", token=token).status == 200


def forged(claims: dict, key: str = "k" * 48, kid: str = "1", alg: str = "HS256", typ: str = "at+jwt") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": typ})


def signing_key() -> str:
    text = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=SIGNING_SECRET)["SecretString"]
    return json.loads(text)["key"]


def test_expired_forged_none_and_misaddressed_tokens_are_invalid_token(call, idp, client) -> None:
    base = f"/v1/scim/{idp}/Users"
    now = int(time.time())
    claims = {"iss": f"https://{HOST}", "aud": f"https://{HOST}/v1/scim/{idp}", "sub": client["client_id"],
              "client_id": client["client_id"], "scope": "users:write", "jti": "j", "iat": now, "exp": now + 600}
    assert call("GET", base, token=forged(claims, signing_key())).status == 200  # the real key: accepted
    invalid_token(call("GET", base, token=forged({**claims, "exp": now - 120, "iat": now - 3720}, signing_key())))
    invalid_token(call("GET", base, token=forged(claims)))  # a key that is not ours
    invalid_token(call("GET", base, token=forged(claims, signing_key(), kid="9")))  # a kid we never had
    invalid_token(call("GET", base, token=forged({**claims, "aud": f"https://{HOST}/v1/scim/other"}, signing_key())))
    invalid_token(call("GET", base, token=forged({**claims, "iss": "https://evil.example"}, signing_key())))
    invalid_token(call("GET", base, token=forged(claims, signing_key(), typ="JWT")))
    missing = {k: v for k, v in claims.items() if k != "jti"}
    invalid_token(call("GET", base, token=forged(missing, signing_key())))
    # alg none, and HS512 with the real key: the algorithm is pinned.
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "1", "typ": "at+jwt"})
    invalid_token(call("GET", base, token=unsigned))
    invalid_token(call("GET", base, token=forged(claims, signing_key(), alg="HS512")))
    # A client id of another IdP inside a token for this Tenant URL.
    invalid_token(call("GET", base, token=forged({**claims, "sub": "other.0123456789abcdef",
                                                  "client_id": "other.0123456789abcdef"}, signing_key())))
    assert access_tokens.looks_like_jwt(unsigned)


def test_a_revoked_clients_tokens_stop_at_the_next_request(call, admin, idp, client) -> None:
    token = grant(call, client)
    assert call("GET", f"/v1/scim/{idp}/Users", token=token).status == 200
    admin("DELETE", f"/admin/v1/idps/{idp}/clients/{client['client_id']}")
    invalid_token(call("GET", f"/v1/scim/{idp}/Users", token=token))
    admin("DELETE", f"/admin/v1/idps/{idp}")  # and a deleted IdP's
    fresh = admin("POST", "/admin/v1/idps", {"name": "Again"}).body["idp_id"]
    assert fresh != idp


def test_tokens_survive_a_rotation_of_the_signing_key(call, idp, client, monkeypatch) -> None:
    """docs/authentication.md: a new key first (tokens signed with the old one still pass), the old one dropped an
    hour later (its tokens have expired by then)."""
    from scim_endpoint import tenants

    before = grant(call, client)
    sm = boto3.client("secretsmanager", region_name=REGION)
    old = json.loads(sm.get_secret_value(SecretId=SIGNING_SECRET)["SecretString"])
    sm.put_secret_value(SecretId=SIGNING_SECRET, SecretString=json.dumps(
        {"keys": [{"kid": "2", "key": "n" * 64}, {"kid": old["kid"], "key": old["key"]}]}))
    tenants.signing_keys.cache_clear()  # a new container (a warm one reads it within its TTL, 5 minutes)
    after = grant(call, client)
    assert jwt.get_unverified_header(after)["kid"] == "2"
    for token in (before, after):
        assert call("GET", f"/v1/scim/{idp}/Users", token=token).status == 200
    sm.put_secret_value(SecretId=SIGNING_SECRET, SecretString=json.dumps({"keys": [{"kid": "2", "key": "n" * 64}]}))
    tenants.signing_keys.cache_clear()
    invalid_token(call("GET", f"/v1/scim/{idp}/Users", token=before))
    assert call("GET", f"/v1/scim/{idp}/Users", token=after).status == 200


def test_a_token_unknown_kid_is_read_again_once_then_refused(aws) -> None:
    from scim_endpoint.tenants import SigningKeys

    sm = boto3.client("secretsmanager", region_name=REGION)
    reads = {"n": 0}
    real = sm.get_secret_value

    def counted(**kwargs):
        reads["n"] += 1
        return real(**kwargs)

    sm.get_secret_value = counted
    clock = {"now": 0.0}
    keys = SigningKeys(sm, SIGNING_SECRET, ttl=300, miss_refresh=10, clock=lambda: clock["now"])
    assert keys.signing()[0] == "1" and reads["n"] == 1
    assert keys.get("1") and reads["n"] == 1  # cached: no AWS call per token
    for _ in range(5):
        assert keys.get("9") is None
    assert reads["n"] == 2  # one early read for the unknown kid, then none within the interval
    clock["now"] = 11
    assert keys.get("9") is None and reads["n"] == 3


def test_an_entra_like_run_with_an_access_token(call, idp, client) -> None:
    """Entra's gallery flow: a token from the token endpoint, then Test Connection, create, PATCH and delete."""
    answer = token_request(call, {"grant_type": "client_credentials", "client_id": client["client_id"],
                                  "client_secret": client["client_secret"]})
    token = answer.body["access_token"]
    base = f"/v1/scim/{idp}"
    probe = call("GET", f'{base}/Users?filter=userName+eq+%22{"nobody"}%22', token=token)
    assert probe.status == 200 and probe.body["totalResults"] == 0  # Test Connection
    created = call("POST", f"{base}/Users", body=user("alice@contoso.com", externalId="e1"), token=token)
    assert created.status == 201
    uid = created.body["id"]
    patched = call("PATCH", f"{base}/Users/{uid}", body=patch_op({"op": "Replace", "path": "active",
                                                                  "value": "False"}), token=token)
    assert patched.status == 200 and patched.body["active"] is False
    assert call("DELETE", f"{base}/Users/{uid}", token=token).status == 204
    assert call("GET", f"{base}/Users/{uid}", token=token).status == 404


# --- the review's findings, each a regression test ------------------------------------------------------------------


def _count_calls(monkeypatch) -> dict:
    import botocore.client

    counts: dict[str, int] = {}
    real = botocore.client.BaseClient._make_api_call

    def counting(self, operation, params):
        counts[operation] = counts.get(operation, 0) + 1
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return counts


def test_made_up_client_ids_cost_at_most_one_secrets_read_per_interval_and_no_table_read(call, monkeypatch) -> None:
    counts = _count_calls(monkeypatch)
    for _ in range(20):
        oauth_error(token_request(call, {"grant_type": "client_credentials"},
                                  authorization=basic("nosuchidp.0123456789abcdef", "x")), 401, "invalid_client")
    assert counts.get("GetSecretValue", 0) <= 1 and counts.get("GetItem", 0) == 0, counts
    # A client id whose IdP part is no IdP id (too long for a key, say): refused before any AWS call.
    counts.clear()
    oauth_error(token_request(call, {"grant_type": "client_credentials", "client_id": "a" * 3000 + ".0123456789abcdef",
                                     "client_secret": "x"}), 401, "invalid_client")
    assert counts == {}


def test_the_token_endpoint_keeps_to_the_idps_allowed_networks(call, admin, idp, client) -> None:
    assert admin("PATCH", f"/admin/v1/idps/{idp}", {"allowed_networks": ["10.0.0.0/8"]}).status == 200
    refused = token_request(call, {"grant_type": "client_credentials"},
                            authorization=basic(client["client_id"], client["client_secret"]))  # from 127.0.0.1
    assert oauth_error(refused, 400, "unauthorized_client")
    assert admin("PATCH", f"/admin/v1/idps/{idp}", {"allowed_networks": []}).status == 200
    assert grant(call, client)


def test_too_narrow_a_scope_is_403_insufficient_scope(call, idp, client) -> None:
    answer = call("POST", f"/v1/scim/{idp}/Users", body=user("alice@contoso.com"), token=grant(call, client,
                                                                                               "users:read"))
    assert answer.status == 403
    assert answer.headers["www-authenticate"] == (
        'Bearer realm="SCIM", error="insufficient_scope", scope="users:write"')
    assert "access token" in answer.body["detail"]


def test_an_empty_parameter_counts_as_omitted_and_a_trailing_ampersand_is_a_form(call, client) -> None:
    good = basic(client["client_id"], client["client_secret"])
    assert token_request(call, body=b"grant_type=client_credentials&client_secret=", authorization=good).status == 200
    assert token_request(call, body=b"grant_type=client_credentials&", authorization=good).status == 200


def test_a_body_that_is_not_text_is_invalid_request_not_a_500(aws) -> None:
    from pathlib import Path

    from devtools.local.server import LambdaContext
    from tests.conftest import load_handler

    root = Path(__file__).resolve().parents[2]
    event = json.loads((root / "events" / "post-token.json").read_text())
    event["body"] = "grant_type=client_credentials&x=\ud800"
    answer = load_handler(root / "functions" / "token", "app.lambda_handler")(
        event, LambdaContext("TokenFunction", "r1"))
    assert answer["statusCode"] == 400 and json.loads(answer["body"])["error"] == "invalid_request"


def test_an_unknown_kid_is_invalid_token_even_while_secrets_manager_fails(call, idp, client, monkeypatch) -> None:
    import botocore.client
    from botocore.exceptions import ClientError

    assert call("GET", f"/v1/scim/{idp}/Users", token=grant(call, client)).status == 200
    real = botocore.client.BaseClient._make_api_call

    def down(self, operation, params):
        if operation == "GetSecretValue":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", down)
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"at+jwt","kid":"nope"}').rstrip(b"=").decode()
    invalid_token(call("GET", f"/v1/scim/{idp}/Users", token=f"{header}.e30.sig"))


def test_a_client_revocation_audit_line_names_the_client(admin, idp, client, captured) -> None:
    admin("DELETE", f"/admin/v1/idps/{idp}/clients/{client['client_id']}")
    lines = [line for line in captured.lines() if line.get("action") == "client.revoke"]
    assert lines and lines[-1]["key_id"] == client["client_id"]
    assert client["client_secret"] not in captured.text()


def test_one_token_has_one_spelling_and_oversized_or_deep_tokens_are_invalid(call, idp, client) -> None:
    """A base64url part spelt another way (padding, other unused bits in its last character) decodes to the same
    bytes: refused, so one token is one string (the WAF's per-client bucket). A token far longer than ours, or one
    whose header nests deeper than a JSON parser goes, is invalid_token, never a 500."""
    token = grant(call, client)
    base = f"/v1/scim/{idp}/Users"
    assert call("GET", base, token=token).status == 200
    header, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = [c for c in alphabet if c != signature[-1] and base64.urlsafe_b64decode(
        signature[:-1] + c + "=" * (-len(signature) % 4)) == base64.urlsafe_b64decode(signature + "=" * (-len(
            signature) % 4))]
    assert same_bytes  # HS256's 32-byte signature leaves unused bits in its last character
    for variant in [f"{header}.{payload}.{signature[:-1]}{same_bytes[0]}", f"{token}=", f"{header}=.{payload}.{signature}"]:
        invalid_token(call("GET", base, token=variant))
    deep = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"1","typ":"at+jwt","x":' + b"[" * 3000 + b"]" * 3000
                                    + b"}").decode().rstrip("=")
    invalid_token(call("GET", base, token=f"{deep}.e30.AAAA"))
    invalid_token(call("GET", base, token="eyJ.a.b.c"))  # not a JWT, not a key: the same challenge
