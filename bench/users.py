"""Benchmark: an Entra-like user workload through the real handlers, in process.

    .venv/bin/python bench/users.py [--rounds 100] [--tenant-size 500] [--list-size 100000]

For each operation Entra performs on users it prints the DynamoDB calls one request makes and the median time spent
in our own code (the handler's time minus the time inside the AWS emulator). Targets: POST 1 call, GET 1 (2 with the
user's groups, which GET by id shows unless excluded), filter on userName/externalId/id 1, PATCH and PUT 2 (read +
conditional write), DELETE bounded (read, the user's groups, conditional delete; plus the memberships it leaves).

Then, over a tenant grown to --list-size users (written straight to the table), RFC 9865 cursor pages of 100: page 1
and page 1,000 must cost the same calls and the same own time (the cursor of page 1,000 is made as page 999 would
give it: following 999 pages through the emulator would take minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid

from harness import stack

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def new_user(n: int | str) -> dict:
    """The Microsoft SCIM Validator's create body (docs/entra.md §2.3), made unique by `n`."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": f"user{n}@contoso.com",
        "externalId": f"ext-{n}",
        "active": True,
        "displayName": f"User {n}",
        "emails": [{"type": "work", "value": f"user{n}@contoso.com", "primary": True}],
        "name": {"givenName": "Given", "familyName": f"Family{n}", "formatted": f"Given Family{n}"},
        "phoneNumbers": [{"type": "work", "value": "10-040-1308", "primary": True}, {"type": "mobile", "value": "1"}],
        ENTERPRISE: {"employeeNumber": str(n), "department": "Sales", "manager": {"value": "m-1"}},
        "roles": [{"primary": "True", "display": "R", "value": "r", "type": "t"}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--tenant-size", type=int, default=500, help="users created before measuring")
    parser.add_argument("--list-size", type=int, default=100_000, help="users for the cursor pages (>= 100,000 for "
                                                                        "page 1,000)")
    args = parser.parse_args()

    with stack() as s:
        ids = [json.loads(s.request("POST", f"{s.base}/Users", "", new_user(f"seed{n}"))["body"])["id"]
               for n in range(args.tenant_size)]
        target = ids[0]

        def create(i):
            return "POST", f"{s.base}/Users", "", new_user(uuid.uuid4().hex)

        def patch(i):
            return "PATCH", f"{s.base}/Users/{target}", "", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"new{i}@contoso.com"},
                    {"op": "Replace", "path": "name.familyName", "value": f"Family{i}"},
                ],
            }

        def put(i):
            return "PUT", f"{s.base}/Users/{target}", "", {**new_user("seed0"), "displayName": f"Renamed {i}"}

        def delete(i):
            response = s.request("POST", f"{s.base}/Users", "", new_user(uuid.uuid4().hex))
            return "DELETE", f"{s.base}/Users/{json.loads(response['body'])['id']}", "", None

        results = [
            s.measure("POST /Users", args.rounds, create, 201),
            s.measure("GET /Users/{id} (with its groups)", args.rounds,
                      lambda i: ("GET", f"{s.base}/Users/{target}", "", None), 200),
            s.measure("GET /Users/{id}?excludedAttributes=groups", args.rounds,
                      lambda i: ("GET", f"{s.base}/Users/{target}", "excludedAttributes=groups", None), 200),
            s.measure("GET /Users?filter=userName eq", args.rounds,
                      lambda i: ("GET", f"{s.base}/Users", "filter=userName+eq+%22USER{i % 50}%40contoso.com%22", None), 200),
            s.measure("GET /Users?filter=externalId eq", args.rounds,
                      lambda i: ("GET", f"{s.base}/Users", f"filter=externalId+eq+%22ext-seed{i % 50}%22", None), 200),
            s.measure("GET /Users?filter=id eq", args.rounds,
                      lambda i: ("GET", f"{s.base}/Users", f"filter=id+eq+%22{target}%22", None), 200),
            s.measure("PATCH /Users/{id} (Entra: work e-mail, name)", args.rounds, patch, 200),
            s.measure("PATCH /Users/{id} (disable/enable, \"False\")", args.rounds, lambda i: (
                "PATCH", f"{s.base}/Users/{target}", "", {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False" if i % 2 else "True"}]}),
                200),
            s.measure("PUT /Users/{id}", args.rounds, put, 200),
            s.measure("DELETE /Users/{id}", args.rounds, delete, 204),
            s.measure(f"GET /Users?filter=displayName co (over {args.tenant_size})", max(5, args.rounds // 10),
                      lambda i: ("GET", f"{s.base}/Users", "filter=displayName+co+%22seed1%22", None), 200),
        ]
        results += cursor_pages(s, args.list_size, max(5, args.rounds // 10))
    print(f"Users workload, {args.rounds} rounds per operation, tenant of {args.tenant_size} users "
          f"(Python {sys.version.split()[0]}):")
    for measured in results:
        print(measured.line())


def cursor_pages(s, list_size: int, rounds: int) -> list:
    """Page 1 and the deepest page of 100 (page 1,000 for 100,000 users) by cursor, over `list_size` users."""
    import time

    from scim_endpoint.scim import cursors
    from scim_endpoint.scim.paging import ListQuery
    from scim_endpoint.scim.resource_types import USER
    from scim_endpoint.store import Stored
    from scim_endpoint.store.resources import resource_pk
    from scim_endpoint.tenants import signing_keys

    store = s._store.store()
    have = store.resources.count(s.idp_id, "User")
    table, client = store.table, store.table.client
    for start in range(have, list_size, 25):
        items = []
        for n in range(start, min(start + 25, list_size)):
            stored = Stored(str(uuid.uuid4()), {"userName": f"listed{n}@contoso.com", "active": True},
                            "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", 1)
            body = store.resources._record(stored, {})
            items.append({"PutRequest": {"Item": {"pk": {"S": resource_pk(s.idp_id, USER.name)},
                                                  "sk": {"S": stored.id}, **body}}})
        client.batch_write_item(RequestItems={table.name: items})
    ids = sorted(item["id"] for item in table.query(resource_pk(s.idp_id, USER.name), ProjectionExpression="id"))
    deepest = min(1000, len(ids) // 100)
    kid, key = signing_keys().signing()
    bound = cursors.binding(s.idp_id, USER.endpoint, ListQuery(count=100, cursor=""))
    deep = cursors.encode(cursors.Position("User", ids[(deepest - 1) * 100 - 1]), bound, time.time(), kid, key)
    return [
        s.measure(f"GET /Users?cursor=&count=100 (page 1 of {len(ids)})", rounds,
                  lambda i: ("GET", f"{s.base}/Users", "cursor=&count=100", None), 200),
        s.measure(f"GET /Users?cursor=...&count=100 (page {deepest})", rounds,
                  lambda i: ("GET", f"{s.base}/Users", f"cursor={deep}&count=100", None), 200),
    ]


if __name__ == "__main__":
    main()
