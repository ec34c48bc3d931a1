"""Helpers shared by several test modules: SCIM answers, the Users and Groups endpoints of one tenant through the
`call` fixture, the table's items, one warm "Lambda container" of a function, and requests sent at the same moment.
(The fixtures that make them, `users` and `groups`, are in tests/conftest.py.)"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3

from tests.conftest import HOST, REGION, TABLE_NAME, Tenant, response_headers
from tests.entra_requests import MEMBERSHIP_CHECK_FILTER

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def nones(value: Any, where: str = "") -> list[str]:
    """The paths of every None inside a JSON-like value (Entra: "don't send null values")."""
    if value is None:
        return [where or "<root>"]
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in nones(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in nones(item, f"{where}[{index}]")]
    return []


# --- answers of the `call` fixture -----------------------------------------------------------------------------------


def scim_json(headers: dict[str, str]) -> None:
    assert headers["content-type"].split(";")[0].strip() == "application/scim+json"


def ok(result, status: int = 200) -> dict:
    got, headers, body = result
    assert got == status, body
    scim_json(headers)
    if isinstance(body, dict) and "meta" in body:
        assert headers["etag"] == body["meta"]["version"]
    return body


def error(result, status: int, scim_type: str | None = None) -> dict:
    got, headers, body = result
    assert got == status, body
    scim_json(headers)
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


# --- the endpoints of one tenant ------------------------------------------------------------------------------------


class Endpoint:
    """One resource type's endpoint of one tenant through the `call` fixture."""

    path = ""  # "/Users"
    resource_type = ""  # "User"

    def __init__(self, call, tenant: Tenant):
        self.call = call
        self.tenant = tenant

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None,
                token: str | None = None):
        return self.call(method, f"{self.tenant.base}{path}", headers, body, token=token or self.tenant.token)

    def post(self, body: Any, **kwargs):
        return self.request("POST", self.path, body, **kwargs)

    def get(self, resource_id: str, query: str = "", **kwargs):
        return self.request("GET", f"{self.path}/{resource_id}{query}", **kwargs)

    def put(self, resource_id: str, body: Any, **kwargs):
        return self.request("PUT", f"{self.path}/{resource_id}", body, **kwargs)

    def patch(self, resource_id: str, body: Any, **kwargs):
        return self.request("PATCH", f"{self.path}/{resource_id}", body, **kwargs)

    def delete(self, resource_id: str, **kwargs):
        return self.request("DELETE", f"{self.path}/{resource_id}", **kwargs)

    def list(self, query: str = "", **kwargs):
        return self.request("GET", f"{self.path}{'?' + query if query else ''}", **kwargs)

    def search(self, body: dict, **kwargs):
        return self.request("POST", f"{self.path}/.search", body, **kwargs)

    def create(self, body: dict) -> dict:
        return self.created(self.post(body))

    def created(self, result) -> dict:
        """The new resource of a create's answer (201, its location and first version)."""
        body = ok(result, 201)
        meta = body["meta"]
        assert result.headers["location"] == meta["location"] == f"{self.tenant.url}{self.path}/{body['id']}"
        assert result.headers["etag"] == meta["version"] == 'W/"1"'
        assert meta["resourceType"] == self.resource_type
        assert TIMESTAMP.match(meta["created"]) and meta["lastModified"] == meta["created"]
        return body

    def read(self, resource_id: str, query: str = "") -> dict:
        return ok(self.get(resource_id, query))

    def filter(self, text: str, extra: str = "") -> list[dict]:
        """The resources a `filter=` query finds (encoded with `%20`), with `extra` query parameters."""
        query = f"filter={quote(text, safe='')}" + (f"&{extra}" if extra else "")
        body = ok(self.list(query))
        assert body["schemas"] == [LIST_RESPONSE]
        assert body["totalResults"] == len(body["Resources"]) == body["itemsPerPage"]
        return body["Resources"]


class Users(Endpoint):
    """The Users endpoint of one tenant through the `call` fixture."""

    path = "/Users"
    resource_type = "User"


class Groups(Endpoint):
    """The Groups endpoint of one tenant through the `call` fixture."""

    path = "/Groups"
    resource_type = "Group"

    def created(self, result) -> dict:
        body = super().created(result)
        assert body["schemas"] == [GROUP_SCHEMA]
        assert nones(body) == []
        return body

    def patched(self, group_id: str, body: dict, **kwargs) -> None:
        """A PATCH that must succeed: 204, no body (as Entra's documentation recommends for groups)."""
        status, _, answer = self.patch(group_id, body, **kwargs)
        assert status == 204, answer
        assert answer is None

    def filter(self, text: str, extra: str = "excludedAttributes=members") -> list[dict]:
        """The groups a `filter=` query finds, by default as Entra asks: without members."""
        return super().filter(text, extra)

    def is_member(self, group_id: str, user_id: str, text: str = MEMBERSHIP_CHECK_FILTER) -> bool:
        found = self.filter(text.format(group=group_id, user=user_id))
        assert len(found) <= 1
        if found:
            assert found[0]["id"] == group_id and "members" not in found[0]
        return bool(found)

    def members(self, group_id: str) -> list[dict]:
        return self.read(group_id).get("members", [])

    def member_ids(self, group_id: str) -> set[str]:
        return {m["value"] for m in self.members(group_id)}


def member_ids(idp_id: str, group_id: str) -> list[str]:
    """A group's members as the table holds them (strongly consistent)."""
    from scim_endpoint.store import store

    return list(store().memberships.member_ids(idp_id, group_id))


def seed_member_items(idp_id: str, group_id: str, user_ids: list[str]) -> None:
    """Membership items written straight into the table, in the store's own format, without any check (the users
    need not exist): for scale tests and for the cleanup's orphans."""
    from scim_endpoint.store import store
    from scim_endpoint.store.memberships import member_of_pk, members_pk

    client = boto3.client("dynamodb", region_name=REGION)
    requests = [{"PutRequest": {"Item": {
        "pk": {"S": members_pk(idp_id, group_id)}, "sk": {"S": user_id},
        "member": {"M": {"value": {"S": user_id}}},
        "gsi1pk": {"S": member_of_pk(idp_id, user_id)}, "gsi1sk": {"S": group_id},
    }}} for user_id in user_ids]
    for start in range(0, len(requests), 25):
        client.batch_write_item(RequestItems={store().table.name: requests[start : start + 25]})


def table_items(with_key_uses: bool = False) -> list[dict]:
    """Every item of the table (moto's), all pages; without the time each API key was last used (the bookkeeping
    any admitted request may write, a 400 too: docs/management-api.md) unless `with_key_uses`."""
    client = boto3.client("dynamodb", region_name=REGION)
    items, request = [], {"TableName": TABLE_NAME}
    while True:
        page = client.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if with_key_uses:
        return items
    return [{k: v for k, v in item.items() if k != "last_used_at"} for item in items]


# --- many writers at once -------------------------------------------------------------------------------------------


class Container:
    """One warm "Lambda container" of a function of template.yaml (`UsersFunction`, `GroupsFunction`): its own import
    of the function's module (a module's resolver serves one request at a time, as in Lambda), sharing the process's
    store client as containers share DynamoDB. Called as `call` is, with the tenant's token."""

    def __init__(self, function: str, tenant: Tenant, number: int):
        from devtools.local.template import routes

        self.tenant = tenant
        self.routes = routes()
        route = next(r for r in self.routes if r.function == function)
        name = f"_test_container_{function}_{number}_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(name, Path(route.code_dir) / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.handler = module.lambda_handler

    def __call__(self, method: str, target: str, body: Any = None, headers: dict | None = None):
        from devtools.local.events import build_event, match_route
        from devtools.local.server import LambdaContext

        parts = urlsplit(target)
        route, params, _ = match_route(self.routes, method, parts.path)
        header_list = [("Host", HOST), ("Authorization", f"Bearer {self.tenant.token}"), *(headers or {}).items()]
        raw = b"" if body is None else json.dumps(body).encode()
        event = build_event(route, params, method, parts.path, parts.query, header_list, raw)
        result = self.handler(event, LambdaContext(route.function, event["requestContext"]["requestId"]))
        return int(result["statusCode"]), response_headers(result), json.loads(result["body"] or "null")


def at_once(count: int, send: Callable[[int], Any], timeout: float = 60) -> list[Any]:
    """`send(0)` … `send(count - 1)`, each in a thread of its own, released together by a barrier; what each returned
    or the exception it raised (for the caller's assertions), None where a thread had not ended (each is waited for
    `timeout` s at most)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = send(index)
        except Exception as exc:  # reported by the caller's assertions
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


class ManagementDirectory:
    """IdPs and keys made through the management use cases (as the management API makes them), with the shapes the
    tests use: an IdP with `.id`, a key with `.id` and `.privileges`, ValueError for what the API refuses as
    invalid."""

    def __init__(self) -> None:
        from scim_endpoint.management import services

        self.services = services()

    def create_idp(self, name: str, idp_id: str | None = None):
        from types import SimpleNamespace

        from scim_endpoint.management.idps import Idps
        from scim_endpoint.management.models import IdpCreate

        created = Idps(self.services).create(IdpCreate(name=name, idp_id=idp_id))
        return SimpleNamespace(id=created.idp_id, name=created.name, tenant_url=created.tenant_url)

    def create_key(self, idp_id: str, name: str, description: str, privileges: list[str],
                   expires_at: str | None = None):
        from types import SimpleNamespace

        from scim_endpoint.management.keys import Keys
        from scim_endpoint.management.models import KeyCreate

        created = Keys(self.services).create(idp_id, KeyCreate(name=name, description=description,
                                                               privileges=privileges, expires_at=expires_at))
        return SimpleNamespace(id=created.id, privileges=tuple(created.privileges)), created.token

    def revoke_key(self, idp_id: str, key_id: str):
        from scim_endpoint.management.keys import Keys

        return Keys(self.services).revoke(idp_id, key_id)

    def set_allowed_networks(self, idp_id: str, networks: list[str]):
        from scim_endpoint.management.errors import InvalidRequest
        from scim_endpoint.management.keys import Keys

        try:
            Keys(self.services).set_allowed_networks(idp_id, networks)
        except InvalidRequest as error:
            raise ValueError(error.message) from None
        return self.get_idp(idp_id)

    def get_idp(self, idp_id: str):
        """The IdP's secret as stored (its keys, allow-list, revision)."""
        return self.services.directory.read(idp_id)


def is_admission(params: dict) -> bool:
    """Whether a DynamoDB call (its parameters) is the request's admission (`management.access`): the GetItem of
    the IdP's registry item every request makes, or the key's last use (at most once a minute per container). The
    cost tests count the use cases' own calls; `test_admission_costs_one_read` counts these."""
    if "body" in params:  # botocore's before-call: the request as serialized
        params = json.loads(params["body"] or b"{}")
    key = params.get("Key") or {}
    return str(key.get("pk", {}).get("S", "")).endswith("#Idp")
