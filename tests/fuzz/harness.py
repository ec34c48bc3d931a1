"""The fuzz suite's harness: one small tenant seeded once per test, every generated request sent through the real
handlers (the `call` fixture, or the same event with query parameters a URL cannot carry), and the properties every
answer must have whatever was sent:

- never a 5xx, never a 429 (a single client alone can lose no race: a 429 would be retried forever);
- every 4xx is a SCIM error body (the Error schema, `status` equal to the HTTP status, a `detail`) sent as
  `application/scim+json`; a 400 names one of RFC 7644's `scimType`s, a 409 `uniqueness`, a 405 its `Allow`;
- a 4xx changes nothing stored, and neither does a read (GET, `.search`), whatever its status.

Every example starts from the same stored state: after a request that changed the table (a 2xx write), the seeded
items are put back. So an example's answer depends only on the example, and hypothesis can replay and shrink it.
Resource ids are deterministic too (a seeded UUID source), so a failure reproduces with the same ids.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings

from tests.conftest import HOST, REGION, TABLE_NAME, Result, load_handler, response_headers
from tests.support import ERROR_SCHEMA, LIST_RESPONSE, table_items

# RFC 7644 §3.12, Table 9: the only `scimType`s a 400 may carry.
SCIM_TYPES = frozenset({
    "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax", "invalidPath", "noTarget",
    "invalidValue", "invalidVers", "sensitive",
})
# What this service answers at all; anything else (a 5xx, a 429 for input that can never succeed) is a bug.
KNOWN_STATUSES = frozenset({200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 412, 413})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

# Generated requests each test must send (its hypothesis `max_examples`; one request per example). The suite's
# acceptance is at least 2,000 per run: test_zz_budget.py checks the sum, and each test that it sent its share.
SHARES = {
    "user_bodies": 260,
    "group_bodies": 160,
    "raw_bodies": 220,
    "user_patches": 320,
    "group_patches": 300,
    "filters": 260,
    "key_filters": 160,
    "query_parameters": 220,
    "search_bodies": 160,
    "routes": 260,
}
# Requests actually sent, by share (filled as the tests run; read by test_zz_budget.py).
SENT: Counter[str] = Counter()
# What those requests were answered, by share, status and scimType (to see what a change to a strategy reaches).
ANSWERS: Counter[tuple[str, int, str | None]] = Counter()

# The seeded tenant's IdP id (tests/fuzz/conftest.py).
IDP_ID = "fuzz-tenant"
# Symbolic targets a strategy may name; `Fuzz.fill` puts the seeded resources' ids in their place.
USERS = ("@@user0@@", "@@user1@@", "@@user2@@")
GROUPS = ("@@group0@@", "@@group1@@")
MISSING = "@@missing@@"  # a well-formed id no resource has
TARGETS = (*USERS, *GROUPS, MISSING)


def fuzz_settings(examples: int) -> settings:
    """Seeded (derandomized: the same examples on every run), no example database, a fixed number of examples;
    no deadline (moto's timing is not the code's), and no health check that would refuse slow or large inputs,
    which are the point here."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.large_base_example],
    )


class SeededUuids:
    """Stands in for the `uuid` module where resources get their ids: the same ids on every run."""

    def __init__(self, seed: int):
        self._random = random.Random(seed)

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self._random.getrandbits(128), version=4)


class Fuzz:
    """A seeded tenant and a way to send it requests whose answers are checked (see the module's docstring)."""

    def __init__(self, call: Callable[..., Result], tenant: Any, read_only_token: str, share: str):
        import boto3

        self.call = call
        self.tenant = tenant
        self.read_only_token = read_only_token
        self.share = share
        self.sent = 0
        self._client = boto3.client("dynamodb", region_name=REGION)
        self.ids: dict[str, str] = {MISSING: "0b7e4bd6-5f3c-4a59-9d55-fb1c0ba1f4a1"}
        self._seed_resources()
        self.seed_state = self.snapshot()
        # The snapshot reads moto's table directly: it must see what a Scan through the API sees.
        assert sorted(self.seed_state.values()) == sorted(json.dumps(item, sort_keys=True) for item in table_items())

    # -- the tenant -------------------------------------------------------------------------------------------

    def _seed_resources(self) -> None:
        """Three users (one with e-mails, a name, the enterprise extension and a manager) and two groups, one of
        them with two members: targets for PUT, PATCH, DELETE, value filters and membership checks."""
        base, token = self.tenant.base, self.tenant.token
        users = [
            {"userName": "alice@contoso.com", "externalId": "ext-alice", "displayName": "Alice Smith",
             "name": {"givenName": "Alice", "familyName": "Smith"}, "title": "Engineer",
             "emails": [{"type": "work", "value": "alice@contoso.com", "primary": True},
                        {"type": "home", "value": "alice@example.org"}],
             "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                 "department": "R&D", "employeeNumber": "42", "manager": {"value": "someone"}}},
            {"userName": "bob@contoso.com", "displayName": "Bob", "active": True,
             "emails": [{"type": "work", "value": "bob@contoso.com"}]},
            {"userName": "Zoë.Dupont@contoso.com", "active": False},
        ]
        for placeholder, body in zip(USERS, users):
            result = self.call("POST", f"{base}/Users", body=body, token=token)
            assert result.status == 201, result.body
            self.ids[placeholder] = result.body["id"]
        groups = [
            {"displayName": "Team A", "externalId": "ext-team-a",
             "members": [{"value": self.ids[USERS[0]]}, {"value": self.ids[USERS[1]]}]},
            {"displayName": "Empty group"},
        ]
        for placeholder, body in zip(GROUPS, groups):
            result = self.call("POST", f"{base}/Groups", body=body, token=token)
            assert result.status == 201, result.body
            self.ids[placeholder] = result.body["id"]

    def fill(self, text: str) -> str:
        """`text` with every symbolic target replaced by its seeded id."""
        if "@@" in text:
            for placeholder, value in self.ids.items():
                text = text.replace(placeholder, value)
        return text

    # -- the table ----------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[tuple[str, str], str]:
        """Every stored item, by key, as canonical JSON, without the time each API key was last used (bookkeeping
        any admitted request may write: `table_items`). Read from moto's table itself: a Scan through the API would
        cost more than the request it checks (moto serializes every item of every page)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE_NAME)
        return {(item.hash_key.value, item.range_key.value): json.dumps(
            {k: v for k, v in item.to_json()["Attributes"].items() if k != "last_used_at"}, sort_keys=True)
            for item in table.all_items()}

    def restore(self, current: dict[tuple[str, str], str]) -> None:
        """Put the table back to the seeded state after a request that (legitimately) changed it to `current`."""
        for key, item in self.seed_state.items():
            if current.get(key) != item:
                self._client.put_item(TableName=TABLE_NAME, Item=json.loads(item))
        for pk, sk in current.keys() - self.seed_state.keys():
            self._client.delete_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}, "sk": {"S": sk}})
        assert self.snapshot() == self.seed_state, "the table could not be restored to its seeded state"

    # -- requests -----------------------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        query: str = "",
        params: dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
        token: str | None = "rw",
        idp_segment: str | None = None,
    ) -> Result:
        """One request to `<Tenant URL><path>` (`idp_segment` replaces the tenant's id in the URL), checked. `path`
        and `query` are sent as given: percent-encoding them is the caller's (`url_segment`).

        `body` is sent as JSON (symbolic targets filled in), `raw` as exactly these bytes; `query` is a URL query
        string; `params` are query parameters put into the event as API Gateway hands them to the function (so they
        may hold what no URL can carry, such as a lone surrogate). `token` is "rw" (all privileges), "ro" (read
        only), None (no Authorization header) or a literal header value.
        """
        path = self.fill(path)
        target = f"/v1/scim/{idp_segment if idp_segment is not None else self.tenant.idp_id}{path}"
        header_list = [(name, self.fill(value)) for name, value in headers or []]
        if token == "rw":
            header_list.append(("Authorization", f"Bearer {self.tenant.token}"))
        elif token == "ro":
            header_list.append(("Authorization", f"Bearer {self.read_only_token}"))
        elif token is not None:
            header_list.append(("Authorization", token))
        if raw is None and body is not None:
            raw = self.fill(json.dumps(body)).encode()
        elif raw is not None and b"@@" in raw:
            for placeholder, value in self.ids.items():
                raw = raw.replace(placeholder.encode(), value.encode())
        if query:
            target += "?" + self.fill(query)

        if params is None:
            result = self.call(method, target, header_list, raw)
        else:
            result = self._invoke_with_parameters(method, target, header_list, raw or b"", {
                self.fill(name): self.fill(value) for name, value in params.items()})
        self.sent += 1
        SENT[self.share] += 1
        ANSWERS[self.share, result.status, scim_type_of(result)] += 1

        after = self.snapshot()
        self.check(method, path, result, self.seed_state, after,
                   if_none_match=any(name.lower() == "if-none-match" for name, _ in header_list))
        if after != self.seed_state:
            self.restore(after)
        return result

    def _invoke_with_parameters(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes,
                                params: dict[str, str]) -> Result:
        """As the `call` fixture sends a request, with the query parameters set in the event as given."""
        from devtools.local.events import build_event, match_route
        from devtools.local.server import LambdaContext
        from devtools.local.template import routes

        route, path_parameters, _ = match_route(routes(), method, target)
        assert route is not None, target
        header_list = [*headers, ("Host", HOST)]
        event = build_event(route, path_parameters, method, target, "", header_list, raw)
        event["queryStringParameters"] = params or None
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in params.items()} or None
        handler = load_handler(route.code_dir, route.handler)
        answer = handler(event, LambdaContext(route.function, event["requestContext"]["requestId"]))
        text = answer.get("body")
        return Result(int(answer["statusCode"]), response_headers(answer), json.loads(text) if text else None, event)

    # -- what every answer must be ------------------------------------------------------------------------------

    def check(self, method: str, path: str, result: Result, before: dict, after: dict, if_none_match: bool) -> None:
        status, headers, body = result
        where = f"{method} {path} -> {status} {body!r:.300}"
        assert status < 500, where
        assert status != 429, f"a 429 for a request a lone client sent: {where}"
        assert status in KNOWN_STATUSES, where
        if status == 304:
            assert if_none_match, where
        if status >= 400:
            assert headers.get("content-type", "").split(";")[0].strip() == "application/scim+json", where
            assert isinstance(body, dict), where
            assert body.get("schemas") == [ERROR_SCHEMA], where
            assert body.get("status") == str(status), where
            assert isinstance(body.get("detail"), str) and body["detail"], where
            if status == 400:
                assert body.get("scimType") in SCIM_TYPES, where
            elif status == 409:
                assert body.get("scimType") == "uniqueness", where
            elif status == 403:
                assert body.get("scimType") in (None, "sensitive"), where  # the only 403 of RFC 7644's Table 9
            else:
                assert "scimType" not in body, where  # Table 9's keywords are for 400, 403 and 409
            if status == 405:
                allowed = [m.strip() for m in headers.get("allow", "").split(",") if m.strip()]
                assert allowed and set(allowed) <= set(METHODS) and method not in allowed, where
            if status == 401:
                assert headers.get("www-authenticate", "").startswith("Bearer"), where
            assert after == before, f"a {status} changed stored state: {where}"
        elif status < 300 and body is not None:
            assert headers.get("content-type", "").split(";")[0].strip() == "application/scim+json", where
            if isinstance(body, dict) and body.get("schemas") == [LIST_RESPONSE]:
                assert body["itemsPerPage"] == len(body["Resources"]) <= body["totalResults"], where
        if method in ("GET", "HEAD") or path.endswith(".search"):
            assert after == before, f"a read changed stored state: {where}"

    def assert_sent_share(self) -> None:
        """The test sent at least its share of generated requests (hypothesis ran every example it was asked)."""
        assert self.sent >= SHARES[self.share], f"{self.share}: sent {self.sent}, share {SHARES[self.share]}"


def url_segment(text: str) -> str:
    """Text as one percent-encoded path segment or query value (a lone surrogate as the bytes a client could still
    send: its UTF-8 encoding, which is not valid UTF-8)."""
    return quote(text, safe="", errors="surrogatepass")


# --- what a body is, as the service must read it -------------------------------------------------------------------


class _Twice(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict:
    if len({name.lower() for name, _ in pairs}) != len(pairs):
        raise _Twice()
    return dict(pairs)


def unreadable(raw: bytes) -> bool:
    """Whether a request body is not one the service may read (docs/limits.md), which it must answer 400
    invalidSyntax: empty, not JSON, nested deeper than 32 levels, holding a lone surrogate, or naming one member twice
    (names ignore case). The body reaches the function as API Gateway passes it: as text when it is UTF-8, else as
    bytes (base64). (A body over 1 MiB is 413 whatever it holds: not one of these.)"""
    if not raw:
        return True
    if len(raw) > 1024 * 1024:
        return False
    try:
        text: str | bytes = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw
    try:
        value = json.loads(text, object_pairs_hook=_object)
    except (ValueError, RecursionError):
        return True
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, (dict, list)):
            if depth > 32:
                return True
            if isinstance(item, dict):
                for key, element in item.items():
                    pending.append((key, depth))
                    pending.append((element, depth + 1))
            else:
                pending.extend((element, depth + 1) for element in item)
    return False


def has_surrogate(text: str) -> bool:
    return any("\ud800" <= character <= "\udfff" for character in text)


def expect(result: Result, status: int, scim_type: str | None = None, why: str = "") -> None:
    """A sharper rule for this request: exactly this status (and scimType)."""
    where = f"{why}: {result.event['httpMethod']} {result.event['path']} -> {result.status} {result.body!r:.300}"
    assert result.status == status, where
    if scim_type is not None:
        assert scim_type_of(result) == scim_type, where


def scim_type_of(result: Result) -> str | None:
    return result.body.get("scimType") if isinstance(result.body, dict) else None
