"""Benchmark: group operations on a group of 100,000 members against the same on an empty group.

    .venv/bin/python bench/groups.py [--members 100000] [--rounds 50] [--slow-rounds 3]

Members are items of their own (docs/data-model.md), so every operation on one member, on the group's attributes, or one
membership check must cost the same in both groups. For each operation it prints, per group, the DynamoDB calls one
request makes and the median time spent in our own code (the handler's time minus the time inside the AWS emulator),
then what deleting the big group costs: the request itself, and the cleanup run by the table's stream afterwards
(`cleanup.handle_records` on the group's REMOVE record), which deletes the membership items in batches.

The members and their users are written straight into DynamoDB with BatchWriteItem (25 items a call), not through
the API; the groups, and the users that are deleted, are created through the real code. moto's TransactWriteItems
copies the whole table for each action (a PATCH adding one member took 42 s at this size), so the benchmark installs
the local speed patch (devtools.local.moto_speed) first; it changes how moto backs a transaction up, not what the
code under test does or which calls it makes. moto still answers every Query, on the table or its GSI, by reading all
the table's items (a few seconds a page at this size): that is most of the cleanup's total time and of the run's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from harness import Measured, stack

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BATCH = 25


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


class Seeder:
    """Writes users and membership items straight into the table, in the store's own record format."""

    def __init__(self, idp_id: str) -> None:
        from scim_endpoint import store
        from scim_endpoint.resources import common
        from scim_endpoint.store import memberships as member_keys
        from scim_endpoint.store import resources as resource_keys
        from scim_endpoint.scim.resource_types import USER
        from scim_endpoint.scim.validation import normalize

        self.idp_id = idp_id
        self.store = store.store()
        self._client = self.store.table.client
        self._table = self.store.table.name
        self._resource_keys, self._member_keys, self._common = resource_keys, member_keys, common
        # One canonical user, as POST /Users would keep it; each seeded user differs by its userName.
        self._template = normalize(USER, {"schemas": [CORE_USER], "userName": "x", "active": True})
        self.calls = 0

    def users(self, count: int, prefix: str) -> list[str]:
        now = self._common.timestamp()
        ids = [str(uuid.uuid4()) for _ in range(count)]
        pk = self._resource_keys.resource_pk(self.idp_id, "User")
        stored = self._resource_keys.Stored
        self._put_all(
            {"pk": {"S": pk}, "sk": {"S": user_id},
             **self.store.resources._record(stored(user_id, {**self._template, "userName": f"{prefix}{n}@contoso.com"},
                                         now, now, 1))}
            for n, user_id in enumerate(ids)
        )
        return ids

    def members(self, group_id: str, user_ids: list[str]) -> None:
        """Membership items as the store writes them."""
        pk = self._member_keys.members_pk(self.idp_id, group_id)
        self._put_all(
            {"pk": {"S": pk}, "sk": {"S": user_id}, "member": {"M": {"value": {"S": user_id}}},
             "gsi1pk": {"S": self._member_keys.member_of_pk(self.idp_id, user_id)}, "gsi1sk": {"S": group_id}}
            for user_id in user_ids
        )

    def memberships(self, user_id: str, group_ids: list[str]) -> None:
        for group_id in group_ids:
            self.members(group_id, [user_id])

    def drop_members(self, group_id: str, user_ids: list[str]) -> None:
        self.store.memberships.delete_members(self.idp_id, group_id, user_ids)

    def _put_all(self, items) -> None:
        batch: list[dict] = []
        for item in items:
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == BATCH:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)

    def _write(self, requests: list[dict]) -> None:
        pending = {self._table: requests}
        while pending:
            self.calls += 1
            pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def line(m: Measured) -> str:
    shown = ", ".join(f"{op.split(':')[1]} x{n}" for op, n in sorted(m.calls.items())) or "none"
    return f"  {m.label:54s} {sum(m.calls.values()):>4} call(s)  own code {m.median_ms:8.2f} ms   ({shown})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="members of the big group")
    parser.add_argument("--rounds", type=int, default=50, help="requests per single-member operation")
    parser.add_argument("--slow-rounds", type=int, default=3,
                        help="requests for the 1,000-member PATCH and the DELETE of a user in 1,000 groups")
    parser.add_argument("--groups-per-user", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=1_000, help="members added by one PATCH")
    args = parser.parse_args()
    big_label = f"{args.members:,}"
    print(f"Groups workload: a group of {args.members:,} members against an empty one (Python "
          f"{sys.version.split()[0]}). Per request: the DynamoDB calls it makes and the median time in our own code\n"
          f"(handler time minus time inside the AWS emulator); {args.rounds} requests per operation, "
          f"{args.slow_rounds} for the slow ones (after one unmeasured warm-up), one for deleting the big group.",
          flush=True)

    with stack() as s:
        from devtools.local import moto_speed
        from scim_endpoint import cleanup
        from scim_endpoint.resources import common
        from scim_endpoint.scim.resource_types import GROUP
        from scim_endpoint.scope import Principal, RequestScope

        patched = moto_speed.install()
        started = time.perf_counter()
        # One request first, so that the store exists and the meter is attached to its client.
        big = json.loads(s.request("POST", f"{s.base}/Groups", "", {"displayName": "Big group"})["body"])["id"]
        empty = json.loads(s.request("POST", f"{s.base}/Groups", "", {"displayName": "Empty group"})["body"])["id"]
        seeder = Seeder(s.idp_id)
        members = seeder.users(args.members, "member")
        seeder.members(big, members)
        seeded_members = time.perf_counter() - started
        singles = seeder.users(args.rounds + 1, "single")  # added then removed, one a request
        batches = [seeder.users(args.batch, f"batch{b}-") for b in range(args.slow_rounds + 1)]
        scope = RequestScope(s.idp_id, Principal(s.idp_id, "bench", ("groups:write",)), f"https://bench.local{s.base}",
                             route="/Groups", privilege="groups:write")
        many = [common.create(seeder.store, scope, GROUP, {"displayName": f"Team {n}"}).body["id"]
                for n in range(args.groups_per_user)]
        seeded = time.perf_counter() - started
        print(f"\nSeeded in {seeded:.1f} s ({'with' if patched else 'WITHOUT'} the moto speed patch): "
              f"{args.members:,} users and their memberships in {seeded_members:.1f} s, then "
              f"{len(singles) + sum(map(len, batches)):,} more users, and {len(many):,} groups "
              f"({seeder.calls:,} BatchWriteItem calls in all).", flush=True)

        groups = {big_label: big, "empty": empty}
        results: list[tuple[str, list[Measured]]] = []

        def both(operation: str, rounds: int, prepare_for, expect: int) -> None:
            measured = []
            for name, group_id in groups.items():
                measured.append(s.measure(f"{operation} [{name}]", rounds, prepare_for(group_id), expect))
            results.append((operation, measured))
            for m in measured:
                print(line(m), file=sys.stderr, flush=True)

        both("PATCH Add members (one)", args.rounds, lambda gid: lambda i: (
            "PATCH", f"{s.base}/Groups/{gid}", "",
            patch_body({"op": "Add", "path": "members", "value": [{"value": singles[i + 1]}]})), 204)
        both("PATCH Remove members (one)", args.rounds, lambda gid: lambda i: (
            "PATCH", f"{s.base}/Groups/{gid}", "",
            patch_body({"op": "Remove", "path": "members", "value": [{"value": singles[i + 1]}]})), 204)
        both("GET filter=id eq & members eq", args.rounds, lambda gid: lambda i: (
            "GET", f"{s.base}/Groups",
            f"filter=id+eq+%22{gid}%22+and+members+eq+%22{members[i % len(members)]}%22"
            "&excludedAttributes=members", None), 200)
        for gid, expected in ((big, 1), (empty, 0)):  # the check answers right, not only fast
            query = f"filter=id+eq+%22{gid}%22+and+members+eq+%22{members[0]}%22&excludedAttributes=members"
            found = json.loads(s.request("GET", f"{s.base}/Groups", query)["body"])["totalResults"]
            assert found == expected, (gid, found)
        both("GET /Groups/{id}?excludedAttributes=members", args.rounds, lambda gid: lambda i: (
            "GET", f"{s.base}/Groups/{gid}", "excludedAttributes=members", None), 200)
        both("PATCH Replace displayName", args.rounds, lambda gid: lambda i: (
            "PATCH", f"{s.base}/Groups/{gid}", "",
            patch_body({"op": "Replace", "path": "displayName", "value": f"Renamed {gid[:8]} {i}"})), 204)

        def add_batch(gid):
            def prepare(i):
                if i >= 0:  # take the previous request's members out again (unmeasured), so groups keep their size
                    seeder.drop_members(gid, batches[i])
                return "PATCH", f"{s.base}/Groups/{gid}", "", patch_body(
                    {"op": "Add", "path": "members", "value": [{"value": u} for u in batches[i + 1]]})
            return prepare

        both(f"PATCH Add members ({args.batch:,})", args.slow_rounds, add_batch, 204)
        for gid in groups.values():
            seeder.drop_members(gid, batches[-1])

        # DELETE: the warm-up request deletes a group of its own; the big group can be deleted once.
        def throwaway_group() -> str:
            body = {"displayName": f"Throwaway {uuid.uuid4()}"}
            return json.loads(s.request("POST", f"{s.base}/Groups", "", body)["body"])["id"]

        deletes = [
            s.measure(f"DELETE /Groups/{{id}} [{big_label}]", 1, lambda i: (
                "DELETE", f"{s.base}/Groups/{big if i == 0 else throwaway_group()}", "", None), 204),
            s.measure("DELETE /Groups/{id} [empty]", args.slow_rounds, lambda i: (
                "DELETE", f"{s.base}/Groups/{empty if i == 0 else throwaway_group()}", "", None), 204),
        ]
        results.append(("DELETE /Groups/{id}", deletes))
        for m in deletes:
            print(line(m), file=sys.stderr, flush=True)

        def cleanup_of(group_id: str) -> tuple[Measured, float]:
            record = {"eventName": "REMOVE",
                      "dynamodb": {"Keys": {"pk": {"S": f"T#{s.idp_id}#Group"}, "sk": {"S": group_id}}}}
            s.meter.reset()
            began = time.perf_counter()
            summary = cleanup.handle_records(seeder.store, [record])
            elapsed = time.perf_counter() - began
            label = f"cleanup: {summary['memberships_deleted']:,} memberships"
            return Measured(label, dict(s.meter.calls), [elapsed - s.meter.seconds]), elapsed

        cleanups = [cleanup_of(big), cleanup_of(empty)]
        remaining = sum(1 for _ in seeder.store.memberships.member_ids(s.idp_id, big))
        assert remaining == 0, f"{remaining} memberships of the deleted group left"

        def delete_user(in_groups: int):
            def prepare(i):
                response = s.request("POST", f"{s.base}/Users", "", {
                    "schemas": [CORE_USER], "userName": f"leaver-{uuid.uuid4()}@contoso.com", "active": True})
                user_id = json.loads(response["body"])["id"]
                if i >= 0:
                    seeder.memberships(user_id, many[:in_groups])
                return "DELETE", f"{s.base}/Users/{user_id}", "", None
            return prepare

        user_deletes = [
            s.measure(f"DELETE /Users/{{id}} [in {args.groups_per_user:,} groups]", args.slow_rounds,
                      delete_user(args.groups_per_user), 204),
            s.measure("DELETE /Users/{id} [in no group]", args.slow_rounds, delete_user(0), 204),
        ]
        for m in user_deletes:
            print(line(m), file=sys.stderr, flush=True)
        total = time.perf_counter() - started

    print()
    for operation, measured in results:
        for m in measured:
            print(line(m))
        same = len({tuple(sorted(m.calls.items())) for m in measured}) == 1
        print(f"  {'':54s} {'(same calls in both groups)' if same else '(CALLS DIFFER between the groups)'}")
    print("\nAfter DELETE of a group, the table's stream runs the cleanup (scim_endpoint.cleanup.handle_records on "
          "the group's REMOVE record);\none run, all of its calls, own-code time and total time including the emulator:")
    for m, elapsed in cleanups:
        print(f"{line(m)}  total {elapsed:.1f} s")
    print("\nDeleting a user leaves its groups first (GSI1 query, then BatchWriteItem of 25 memberships):")
    for m in user_deletes:
        print(line(m))
    print(f"\nSeeding {seeded:.1f} s; whole run {total:.1f} s; moto speed patch {'installed' if patched else 'NOT installed'}.")


if __name__ == "__main__":
    main()
