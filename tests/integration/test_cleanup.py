"""Deleting a group: gone for every reader at once, its member items deleted afterwards by the cleanup function
(template.yaml: CleanupFunction on the table's stream), run here on the records read from moto's stream; and the
memberships a user's deletion could not take with it, or that were written for a user or group already gone."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from devtools.local.template import stream_consumers
from scim_endpoint import cleanup
from scim_endpoint.store import store
from tests.conftest import REGION, TABLE_NAME, Tenant, load_handler
from tests.integration.test_groups import group, group_items, member_items, new_users, remove_listed, tut_add
from tests.integration.test_users import patch_op
from tests.support import Groups, Users, error, ok, seed_member_items, table_items


class Stream:
    """The table's stream as Lambda reads it: every record since the table was made, in order."""

    def __init__(self) -> None:
        self.client = boto3.client("dynamodbstreams", region_name=REGION)
        arn = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=TABLE_NAME)["Table"][
            "LatestStreamArn"]
        shards = self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterators = [self.client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                          for shard in shards]

    def read(self) -> list[dict]:
        """The records not read yet."""
        records = []
        for index, iterator in enumerate(self.iterators):
            page = self.client.get_records(ShardIterator=iterator)
            records += page["Records"]
            self.iterators[index] = page.get("NextShardIterator") or iterator
        return records


@pytest.fixture
def stream(aws) -> Stream:
    return Stream()


def keys(record: dict) -> tuple[str, str]:
    found = record["dynamodb"]["Keys"]
    return found["pk"]["S"], found["sk"]["S"]


def removals(records: list[dict]) -> list[dict]:
    return [r for r in records if r["eventName"] == "REMOVE"]


def filtered(records: list[dict]) -> list[dict]:
    """What the function's filter (`eventName: INSERT or REMOVE`) lets through."""
    return [r for r in records if r["eventName"] in ("INSERT", "REMOVE")]


def run_cleanup(records: list[dict]) -> dict:
    """The consumer on these records (what the function runs): what it did; it must report no failed record."""
    (consumer,) = [c for c in stream_consumers() if c.function == "CleanupFunction"]
    assert consumer.event_names == frozenset({"INSERT", "REMOVE"})
    summary = cleanup.handle_records(store(), records)
    assert summary.pop("batchItemFailures") == []
    return summary


def lambda_cleanup(records: list[dict]) -> dict:
    """The function itself, as Lambda calls it: its answer."""
    (consumer,) = [c for c in stream_consumers() if c.function == "CleanupFunction"]
    from devtools.local.server import LambdaContext

    handler = load_handler(consumer.code_dir, consumer.handler)
    return handler({"Records": records}, LambdaContext("CleanupFunction", "cleanup-test"))


def did(groups: int = 0, users: int = 0, checked: int = 0, deleted: int = 0) -> dict:
    return {"groups": groups, "users": users, "memberships_checked": checked, "memberships_deleted": deleted}


def user_groups(users: Users, user_id: str) -> list[str]:
    return [g["value"] for g in ok(users.get(user_id)).get("groups", [])]


def gsi_memberships(tenant: Tenant, user_id: str) -> list[str]:
    return store().memberships.groups_of(tenant.idp_id, user_id)


# --- deleting a group -----------------------------------------------------------------------------------------------


def test_a_deleted_group_is_gone_at_once_and_its_members_are_cleaned_up_after(
    groups: Groups, users: Users, tenant: Tenant, stream: Stream
) -> None:
    ids = new_users(users, 3)
    doomed = groups.create(group("Doomed", externalId="ext-doomed", members=[{"value": i} for i in ids]))
    kept = groups.create(group("Kept", members=[{"value": ids[0]}]))
    assert groups.delete(doomed["id"]).status == 204

    # The member items are still there...
    assert member_items(tenant, doomed["id"]) == set(ids)
    # ...but nothing of the group shows to any reader.
    error(groups.get(doomed["id"]), 404)
    error(groups.get(doomed["id"], "?excludedAttributes=members"), 404)
    assert groups.filter('displayName eq "Doomed"') == []
    assert groups.filter('externalId eq "ext-doomed"') == []
    assert groups.filter(f'id eq "{doomed["id"]}"') == []
    assert groups.filter(f'members eq "{ids[1]}"') == []
    for user_id in ids:
        assert not groups.is_member(doomed["id"], user_id)
        assert doomed["id"] not in user_groups(users, user_id)
    assert user_groups(users, ids[0]) == [kept["id"]]
    assert "groups" not in ok(users.get(ids[1]))
    listed = ok(groups.list())
    assert [g["id"] for g in listed["Resources"]] == [kept["id"]] and listed["totalResults"] == 1
    # Its writes fail as for any missing group, and write nothing.
    error(groups.patch(doomed["id"], tut_add(ids[1])), 404)
    error(groups.patch(doomed["id"], remove_listed(ids[1])), 404)

    records = stream.read()
    removed = removals(records)
    assert (f"T#{tenant.idp_id}#Group", doomed["id"]) in [keys(r) for r in removed]
    summary = run_cleanup(removed)
    assert summary == did(groups=1, deleted=3)
    assert member_items(tenant, doomed["id"]) == set()
    for user_id in ids:
        assert doomed["id"] not in gsi_memberships(tenant, user_id)
    # The other group is untouched.
    assert member_items(tenant, kept["id"]) == {ids[0]}
    assert groups.member_ids(kept["id"]) == {ids[0]}
    assert gsi_memberships(tenant, ids[0]) == [kept["id"]]
    # Nothing of the deleted group is left in the table.
    assert not [item for item in group_items(tenant) if doomed["id"] in str(item)]

    # Running it again (Lambda retries a batch) is harmless.
    assert run_cleanup(removed) == did(groups=1)
    assert run_cleanup(filtered(stream.read())) == did()
    assert member_items(tenant, kept["id"]) == {ids[0]}


def test_cleanup_of_a_large_group(groups: Groups, users: Users, tenant: Tenant, stream: Stream) -> None:
    """More member items than a batch (25) and a query page can hold: all go."""
    (alice,) = new_users(users, 1)
    body = groups.create(group("Large", members=[{"value": alice}]))
    seed_member_items(tenant.idp_id, body["id"], [f"seeded-{n:04d}" for n in range(120)])
    assert len(member_items(tenant, body["id"])) == 121
    assert groups.delete(body["id"]).status == 204
    summary = run_cleanup(removals(stream.read()))
    assert summary == did(groups=1, deleted=121)
    assert member_items(tenant, body["id"]) == set()
    assert gsi_memberships(tenant, alice) == []


# --- deleting a user ------------------------------------------------------------------------------------------------


def test_a_users_memberships_go_with_it_and_one_added_meanwhile_after_it(groups: Groups, users: Users,
                                                                         tenant: Tenant, stream: Stream) -> None:
    alice, bob = new_users(users, 2)
    sales = groups.create(group("Sales", members=[{"value": alice}, {"value": bob}]))
    admins = groups.create(group("Admins"))
    stream.read()
    assert users.delete(alice).status == 204
    # The user's memberships went in its own transaction.
    assert member_items(tenant, sales["id"]) == {bob}
    # The race: a membership written just before the user went, which the inverse index did not show its deletion
    # (as a member transaction that checked the user a moment before could). Written here without any check.
    seed_member_items(tenant.idp_id, admins["id"], [alice])
    assert member_items(tenant, admins["id"]) == {alice}

    records = filtered(stream.read())
    assert (f"T#{tenant.idp_id}#User", alice) in [keys(r) for r in removals(records)]
    summary = run_cleanup(records)
    assert summary["users"] == 1 and summary["groups"] == 0 and summary["memberships_deleted"] >= 1
    assert member_items(tenant, admins["id"]) == set()
    assert gsi_memberships(tenant, alice) == []
    assert member_items(tenant, sales["id"]) == {bob}
    assert groups.member_ids(sales["id"]) == {bob} and groups.members(admins["id"]) == []
    assert run_cleanup(records)["groups"] == 0  # again: harmless


def test_a_membership_written_for_a_user_already_gone_is_deleted(groups: Groups, users: Users, tenant: Tenant,
                                                                stream: Stream) -> None:
    """Its insertion is checked against its user and group: the index of a user deleted before it was written could
    not show it to the user's deletion."""
    alice, bob = new_users(users, 2)
    admins = groups.create(group("Admins", members=[{"value": bob}]))
    assert users.delete(alice).status == 204
    stream.read()
    seed_member_items(tenant.idp_id, admins["id"], [alice])
    seed_member_items(tenant.idp_id, "no-such-group", [bob])
    records = filtered(stream.read())
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]
    assert run_cleanup(records) == did(checked=2, deleted=2)
    assert member_items(tenant, admins["id"]) == {bob}
    assert member_items(tenant, "no-such-group") == set()
    assert gsi_memberships(tenant, alice) == [] and gsi_memberships(tenant, bob) == [admins["id"]]


def test_a_record_that_fails_is_reported_so_lambda_retries_from_it(groups: Groups, users: Users, tenant: Tenant,
                                                                   stream: Stream, monkeypatch) -> None:
    """The function answers Lambda with the first record it could not handle (ReportBatchItemFailures): the ones
    before it are not handled twice; after Lambda's retries the batch goes to the dead-letter queue."""
    from scim_endpoint.store.memberships import DynamoMembershipStore

    ids = new_users(users, 2)
    first = groups.create(group("First", members=[{"value": ids[0]}]))
    second = groups.create(group("Second", members=[{"value": ids[1]}]))
    stream.read()
    groups.delete(first["id"])
    groups.delete(second["id"])
    records = [r for r in filtered(stream.read()) if keys(r)[0] == f"T#{tenant.idp_id}#Group"]
    assert len(records) == 2
    real = DynamoMembershipStore.delete_members
    calls = {"n": 0}

    def failing_on_the_second(self, idp_id, group_id, user_ids):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("DynamoDB is away")
        return real(self, idp_id, group_id, user_ids)

    monkeypatch.setattr(DynamoMembershipStore, "delete_members", failing_on_the_second)
    answer = lambda_cleanup(records)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert member_items(tenant, first["id"]) == set() and member_items(tenant, second["id"]) == {ids[1]}
    assert lambda_cleanup(records[1:]) == {"batchItemFailures": []}  # Lambda's retry, from the failed record
    assert member_items(tenant, second["id"]) == set()


# --- what the cleanup leaves alone ----------------------------------------------------------------------------------


def test_unrelated_records_are_ignored(groups: Groups, users: Users, tenant: Tenant, call, make_tenant,
                                       stream: Stream) -> None:
    """Guards (a rename removes the old name's), member items (a removal), inserts and changes: none of them is a
    group or user going, so nothing is deleted."""
    alice, bob, carol = new_users(users, 3)
    body = groups.create(group("Before", externalId="ext-1", members=[{"value": alice}, {"value": bob}]))
    groups.patched(body["id"], patch_op({"op": "Replace", "path": "displayName", "value": "After"},
                                        {"op": "replace", "path": "externalId", "value": "ext-2"}))
    groups.patched(body["id"], remove_listed(bob))
    groups.patched(body["id"], tut_add(carol))
    ok(users.patch(alice, patch_op({"op": "replace", "path": "userName", "value": "renamed@contoso.com"})))
    other = Groups(call, make_tenant(name="Fabrikam"))
    other_users = Users(call, other.tenant)
    (dave,) = new_users(other_users, 1)
    theirs = other.create(group("Theirs", members=[{"value": dave}]))

    records = stream.read()
    names = {r["eventName"] for r in records}
    assert names == {"INSERT", "MODIFY", "REMOVE"}
    removed_keys = [keys(r) for r in removals(records)]
    assert (f"T#{tenant.idp_id}#Group#displayName#before", "UNIQUE") in removed_keys
    assert (f"T#{tenant.idp_id}#Members#{body['id']}", bob) in removed_keys
    assert all(pk.count("#") != 2 for pk, _ in removed_keys)  # no group or user went
    before = table_items()

    # Every record, as if the function had no filter, and only the insertions and removals, as it has: the
    # memberships written (alice, bob, carol, dave) are checked, and stay.
    assert run_cleanup(records) == did(checked=4)
    assert run_cleanup(filtered(records)) == did(checked=4)
    # Records of other shapes: no keys, another table's keys, an unknown event.
    assert run_cleanup([{"eventName": "REMOVE"}, {"eventName": "REMOVE", "dynamodb": {"Keys": {"id": {"S": "x"}}}},
                        {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "U#x#Group"}, "sk": {"S": "g"}}}},
                        {"eventName": "TTL"}]) == did()
    assert sorted(map(str, table_items())) == sorted(map(str, before))
    assert groups.member_ids(body["id"]) == {alice, carol}
    assert other.member_ids(theirs["id"]) == {dave}


def test_another_tenants_group_going_leaves_this_tenants_members(groups: Groups, users: Users, tenant: Tenant,
                                                                  call, make_tenant, stream: Stream) -> None:
    (alice,) = new_users(users, 1)
    mine = groups.create(group("Mine", members=[{"value": alice}]))
    other = Groups(call, make_tenant(name="Fabrikam"))
    (dave,) = new_users(Users(call, other.tenant), 1)
    theirs = other.create(group("Theirs", members=[{"value": dave}]))
    assert other.delete(theirs["id"]).status == 204
    stream.read()
    # A record naming this tenant's group id under the other tenant deletes nothing here.
    forged: dict[str, Any] = {"eventName": "REMOVE", "dynamodb": {"Keys": {
        "pk": {"S": f"T#{other.tenant.idp_id}#Group"}, "sk": {"S": mine["id"]}}}}
    assert run_cleanup([forged])["memberships_deleted"] == 0
    assert groups.member_ids(mine["id"]) == {alice}
