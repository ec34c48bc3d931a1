"""Benchmark: an Entra-like user workload through the real handlers, in process.

    .venv/bin/python bench/users.py [--rounds 100] [--tenant-size 500]

For each operation Entra performs on users it prints the DynamoDB calls one request makes and the median time spent
in our own code (the handler's time minus the time inside the AWS emulator). Targets: POST 1 call, GET 1 (2 with the
user's groups, which GET by id shows unless excluded), filter on userName/externalId/id 1, PATCH and PUT 2 (read +
conditional write), DELETE bounded (read, the user's groups, conditional delete; plus the memberships it leaves).
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
    print(f"Users workload, {args.rounds} rounds per operation, tenant of {args.tenant_size} users "
          f"(Python {sys.version.split()[0]}):")
    for measured in results:
        print(measured.line())


if __name__ == "__main__":
    main()
