"""API key tokens `scim_<key id>_<secret>`: format, parsing of the Authorization header, digests."""

from __future__ import annotations

import re

import pytest

from scim_endpoint.auth.tokens import (
    TOKEN_PREFIX,
    ParsedToken,
    bearer_token,
    digest,
    matches,
    new_token,
    parse_token,
    token_digest,
)

KEY_ID = "0123456789abcdef"
SECRET = "A" * 20 + "b_-" + "9" * 20  # 43 URL-safe characters
TOKEN = f"scim_{KEY_ID}_{SECRET}"
TOKEN_FORMAT = re.compile(r"scim_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def test_new_token_format() -> None:
    key_id, token = new_token()
    assert TOKEN_PREFIX == "scim_"
    assert TOKEN_FORMAT.fullmatch(token)
    assert re.fullmatch(r"[0-9a-f]{16}", key_id)
    assert token.startswith(f"scim_{key_id}_")
    assert parse_token(token) == ParsedToken(key_id, token[len(f"scim_{key_id}_") :])


def test_new_tokens_are_unique() -> None:
    pairs = [new_token() for _ in range(200)]
    assert len({key_id for key_id, _ in pairs}) == len(pairs)
    secrets = {token[len(f"scim_{key_id}_") :] for key_id, token in pairs}
    assert len(secrets) == len(pairs)


def test_new_token_round_trips_through_the_header_and_digest() -> None:
    key_id, token = new_token()
    parsed = bearer_token(f"Bearer {token}")
    assert parsed is not None and parsed.key_id == key_id
    assert matches(token_digest(token), parsed)


def test_parse_token() -> None:
    assert parse_token(TOKEN) == ParsedToken(KEY_ID, SECRET)


@pytest.mark.parametrize(
    "token",
    [
        "",
        SECRET,
        f"{KEY_ID}_{SECRET}",
        f"SCIM_{KEY_ID}_{SECRET}",
        f"scim-{KEY_ID}-{SECRET}",
        f"scim_{KEY_ID[:-1]}_{SECRET}",  # key id one short
        f"scim_{KEY_ID}0_{SECRET}",  # key id one long
        f"scim_{KEY_ID.upper()}_{SECRET}",  # not the lower-case hex the service issues
        f"scim_{'g' * 16}_{SECRET}",
        f"scim_{KEY_ID}_{SECRET[:-1]}",  # secret one short
        f"scim_{KEY_ID}_{SECRET}A",  # secret one long
        f"scim_{KEY_ID}_{SECRET[:-1]}=",  # not URL-safe base64
        f"scim_{KEY_ID}_{SECRET[:-1]}+",
        f" {TOKEN}",
        f"{TOKEN} {TOKEN}",
    ],
)
def test_parse_token_rejects_malformed(token: str) -> None:
    assert parse_token(token) is None


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"Bearer   {TOKEN}",
        f"  Bearer {TOKEN}  ",
    ],
)
def test_bearer_token_accepts(header: str) -> None:
    assert bearer_token(header) == ParsedToken(KEY_ID, SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Bearer",
        "Bearer ",
        TOKEN,  # no scheme
        f"Basic {TOKEN}",
        f"Token {TOKEN}",
        f"Bearer: {TOKEN}",
        f"Bearer{TOKEN}",
        # Tabs and line breaks are not the spaces RFC 7235 puts between scheme and token (WAF's rules count on it).
        f"Bearer\t{TOKEN}",
        f"\tBearer {TOKEN}",
        f"Bearer {TOKEN}\n",
        f"Bearer {TOKEN} {TOKEN}",  # two tokens
        f"Bearer {TOKEN}, Bearer {TOKEN}",
        f"Bearer {TOKEN},",
        f"Bearer {TOKEN[:-1]}",  # wrong lengths
        f"Bearer {TOKEN}x",
        f"Bearer scim_{KEY_ID}_",
        "Bearer REPLACE_WITH_SECRET_TOKEN",
        "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC8ifQ.c2ln",  # Entra's own JWT
    ],
)
def test_bearer_token_rejects(header: str | None) -> None:
    assert bearer_token(header) is None


def test_digest_is_a_sha256_hex_without_the_secret() -> None:
    value = digest(KEY_ID, SECRET)
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert SECRET not in value
    assert digest(KEY_ID, SECRET) == value  # deterministic
    assert token_digest(TOKEN) == value


def test_digest_binds_the_key_id() -> None:
    other_key = "fedcba9876543210"
    assert digest(KEY_ID, SECRET) != digest(other_key, SECRET)
    stored = digest(KEY_ID, SECRET)
    assert matches(stored, ParsedToken(KEY_ID, SECRET))
    # The same secret presented under another key id does not match that key's digest.
    assert not matches(stored, ParsedToken(other_key, SECRET))
    assert not matches(digest(other_key, SECRET), ParsedToken(KEY_ID, SECRET))


@pytest.mark.parametrize(
    "presented",
    [
        ParsedToken(KEY_ID, SECRET[:-1] + "B"),
        ParsedToken(KEY_ID, SECRET.lower()),
        ParsedToken(KEY_ID, ""),
    ],
)
def test_wrong_secret_does_not_match(presented: ParsedToken) -> None:
    assert not matches(digest(KEY_ID, SECRET), presented)


def test_token_digest_rejects_a_foreign_token() -> None:
    with pytest.raises(ValueError):
        token_digest("REPLACE_WITH_SECRET_TOKEN")


def test_parsed_token_repr_hides_the_secret() -> None:
    parsed = ParsedToken(KEY_ID, SECRET)
    for text in (repr(parsed), str(parsed), f"{parsed}", repr([parsed]), repr({"token": parsed})):
        assert SECRET not in text
        assert KEY_ID in text
    _, token = new_token()
    fresh = parse_token(token)
    assert fresh is not None and fresh.secret not in repr(fresh)


def test_access_tokens_that_are_no_jwt_at_all_are_invalid_never_an_error() -> None:
    from scim_endpoint.auth import access_tokens

    for garbage in ("eyJ.a.b", "eyJé.a.b", "eyJ\x00.a.b", "eyJ\ud800.a.b", "eyJ" + "A" * 10_000 + ".a.b",
                    "eyJhbGciOiJIUzI1NiIsImtpZCI6WzFdfQ.e30.x"):
        with pytest.raises(access_tokens.InvalidToken):
            access_tokens.verify(garbage, lambda kid: "k" * 64, "https://x", "https://x/v1/scim/i")
