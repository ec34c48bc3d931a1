"""Writes that never lose or dangle data, through the real handlers and DynamoDB (moto): each test is a defect that
deterministic interleavings and injected faults found, and fails on the code before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from scim_endpoint import store as store_module
from tests.conftest import Tenant
from tests.integration.test_groups import group, member_items, seed_users, tut_add
from tests.integration.test_users import patch_op, user
from tests.support import Groups, Users, error, ok


@pytest.fixture(autouse=True)
def _fast(fast_transactions) -> None:
    """Some tests here write hundreds of items."""


def dynamodb() -> Any:
    return store_module.store().table.client


def on_call(monkeypatch, operation: str, action) -> None:
    """Run `action(api_params)` before every `operation` the store's client sends (it may raise, or act as another
    writer would between two calls of a request)."""
    client = dynamodb()
    real = client._make_api_call

    def intercepted(operation_name: str, api_params: dict) -> dict:
        if operation_name == operation:
            action(api_params)
        return real(operation_name, api_params)

    monkeypatch.setattr(client, "_make_api_call", intercepted)


def cancelled(code: str, api_params: dict) -> ClientError:
    reasons = [{"Code": code}] + [{"Code": "None"}] * (len(api_params["TransactItems"]) - 1)
    return ClientError({"Error": {"Code": "TransactionCanceledException", "Message": code},
                        "CancellationReasons": reasons}, "TransactWriteItems")


def writes_a_membership(api_params: dict) -> bool:
    return any("#Members#" in next(iter(item.values())).get("Item", {}).get("pk", {}).get("S", "")
               for item in api_params["TransactItems"])


def test_a_user_deleted_during_a_large_member_change_is_no_member(groups: Groups, users: Users, tenant: Tenant,
                                                                  monkeypatch) -> None:
    """More than 49 additions: the users were checked once up front, then written without a check of their own, so a
    user deleted in between stayed a member for good (the PATCH answered 204, the user 404)."""
    ids = seed_users(tenant, 60)
    team = groups.create(group("Team"))
    doomed = ids[-1]
    deleted = {"done": False}

    def delete_the_user_after_the_check(api_params: dict) -> None:
        if not deleted["done"] and writes_a_membership(api_params):
            deleted["done"] = True
            assert users.delete(doomed).status == 204

    on_call(monkeypatch, "TransactWriteItems", delete_the_user_after_the_check)
    groups.patched(team["id"], tut_add(*ids))
    assert deleted["done"]
    error(users.get(doomed), 404)
    assert member_items(tenant, team["id"]) == set(ids[:-1])
    assert doomed not in groups.member_ids(team["id"])


def test_a_user_deletion_that_loses_its_race_keeps_every_membership(groups: Groups, users: Users,
                                                                    tenant: Tenant, monkeypatch) -> None:
    """DELETE used to take the user out of its groups first, then delete it conditionally: when another change of
    the user landed in between, the 412 (with If-Match) or the 429 left a user without any groups. Now the user and
    its memberships go in one transaction, or neither does."""
    alice = users.create(user("alice@contoso.com"))["id"]
    sales = groups.create(group("Sales", members=[{"value": alice}]))
    changed = {"done": False}

    def change_the_user_first(api_params: dict) -> None:
        deletes_user = any(item.get("Delete", {}).get("Key", {}).get("sk", {}).get("S") == alice
                           and item["Delete"]["Key"]["pk"]["S"].endswith("#User") for item in api_params["TransactItems"])
        if deletes_user and not changed["done"]:
            changed["done"] = True
            ok(users.patch(alice, patch_op({"op": "add", "path": "title", "value": "changed"})))

    on_call(monkeypatch, "TransactWriteItems", change_the_user_first)
    error(users.delete(alice, headers={"If-Match": 'W/"1"'}), 412)
    assert changed["done"]
    monkeypatch.undo()
    assert member_items(tenant, sales["id"]) == {alice}
    assert [g["value"] for g in ok(users.get(alice))["groups"]] == [sales["id"]]
    assert users.delete(alice, headers={"If-Match": 'W/"2"'}).status == 204
    assert member_items(tenant, sales["id"]) == set()  # in the same transaction as the user


def test_a_create_that_meets_another_transaction_is_retried_not_500(users: Users, groups: Groups,
                                                                    monkeypatch) -> None:
    """Two simultaneous creates of one name: DynamoDB cancels one with TransactionConflict. That was a 500."""
    left = {"n": 2}

    def conflict_once_each(api_params: dict) -> None:
        if left["n"]:
            left["n"] -= 1
            raise cancelled("TransactionConflict", api_params)

    on_call(monkeypatch, "TransactWriteItems", conflict_once_each)
    users.create(user("alice@contoso.com"))
    groups.create(group("Sales"))
    assert left["n"] == 0


@pytest.mark.parametrize("code, status", [("TransactionConflict", 429), ("ThrottlingError", 429)])
def test_a_transaction_that_keeps_being_cancelled_is_429_never_500(users: Users, monkeypatch, code: str,
                                                                   status: int) -> None:
    on_call(monkeypatch, "TransactWriteItems", lambda api_params: (_ for _ in ()).throw(cancelled(code, api_params)))
    result = users.post(user("alice@contoso.com"))
    error(result, status)
    assert int(result.headers["retry-after"]) >= 1


def test_a_group_change_that_fails_on_its_members_keeps_no_rename(groups: Groups, users: Users, tenant: Tenant,
                                                                  monkeypatch) -> None:
    """Attributes used to be written first and members second: a failure in the member phase answered 429 but kept
    the rename. Now one transaction holds both, so nothing is kept."""
    alice = users.create(user("alice@contoso.com"))["id"]
    team = groups.create(group("Team"))

    def throttle_member_writes(api_params: dict) -> None:
        if writes_a_membership(api_params):
            raise cancelled("ThrottlingError", api_params)

    on_call(monkeypatch, "TransactWriteItems", throttle_member_writes)
    mixed = patch_op({"op": "replace", "path": "displayName", "value": "Renamed"},
                     {"op": "add", "path": "members", "value": [{"value": alice}]})
    error(groups.patch(team["id"], mixed), 429)
    error(groups.put(team["id"], group("Renamed", members=[{"value": alice}])), 429)
    monkeypatch.undo()
    after = groups.read(team["id"])
    assert after["displayName"] == "Team" and "members" not in after
    groups.patched(team["id"], mixed)
    assert groups.read(team["id"])["displayName"] == "Renamed" and groups.member_ids(team["id"]) == {alice}


def test_reads_that_decide_writes_are_strongly_consistent(groups: Groups, users: Users, tenant: Tenant,
                                                          monkeypatch) -> None:
    """Lists, a group's members, the members a PUT or a "replace members" removes: every base-table Query asks for
    a strongly consistent read (only the inverse index, GSI1, cannot)."""
    alice, bob = (users.create(user(f"{n}@contoso.com"))["id"] for n in ("alice", "bob"))
    team = groups.create(group("Team", members=[{"value": alice}]))
    queries: list[dict] = []
    on_call(monkeypatch, "Query", queries.append)
    ok(users.list())
    ok(groups.list())
    groups.read(team["id"])
    ok(groups.put(team["id"], group("Team", members=[{"value": bob}])))
    groups.patched(team["id"], patch_op({"op": "replace", "path": "members", "value": [{"value": alice}]}))
    base_table = [q for q in queries if "IndexName" not in q]
    assert len(base_table) >= 5
    assert all(q.get("ConsistentRead") is True for q in base_table), [q for q in base_table
                                                                       if not q.get("ConsistentRead")]


# --- found by the review: guards an earlier version wrote ---------------------------------------------------------


def legacy_user(tenant: Tenant, user_id: str, user_name: str) -> None:
    """A user as the version before this one wrote it: its guard keyed by the case-folded name only, and no record
    of its keys in the item."""
    import boto3

    from scim_endpoint.store.resources import GUARD_SK, guard_pk, resource_pk
    from tests.conftest import REGION, TABLE_NAME

    item = {"id": {"S": user_id}, "resource": {"M": {"userName": {"S": user_name}}},
            "created": {"S": "2026-01-01T00:00:00.000Z"}, "lastModified": {"S": "2026-01-01T00:00:00.000Z"},
            "version": {"N": "1"}}
    client = boto3.client("dynamodb", region_name=REGION)
    client.put_item(TableName=TABLE_NAME, Item={"pk": {"S": resource_pk(tenant.idp_id, "User")},
                                                 "sk": {"S": user_id}, **item})
    client.put_item(TableName=TABLE_NAME, Item={
        "pk": {"S": guard_pk(tenant.idp_id, "User", "userName", user_name.casefold())}, "sk": {"S": GUARD_SK}, **item})


def test_a_user_an_earlier_version_wrote_keeps_working(users: Users, tenant: Tenant) -> None:
    """Its guard is under the old key (case-folded, not normalized): it is found, changed and deleted; it was
    refused 429 ("changing too often") on every change, missed by lookups, and its name could be taken twice."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Zoë@contoso.com")
    legacy_user(tenant, "old-user", decomposed)
    assert [u["id"] for u in users.filter(f'userName eq "{decomposed}"')] == ["old-user"]
    ok(users.patch("old-user", patch_op({"op": "add", "path": "title", "value": "moved"})))
    # Its guard moved to the current key with that change: the precomposed name is taken too now.
    error(users.post(user(unicodedata.normalize("NFC", "ZOË@contoso.com"))), 409, "uniqueness")
    assert users.delete("old-user").status == 204
    users.create(user(unicodedata.normalize("NFC", "Zoë@contoso.com")))


def test_migrate_guards_moves_every_old_guard(users: Users, tenant: Tenant, capsys) -> None:
    import unicodedata

    from devtools.migrate import migrate
    from scim_endpoint.store import store

    legacy_user(tenant, "old-1", unicodedata.normalize("NFD", "Zoë@contoso.com"))
    legacy_user(tenant, "old-2", "plain@contoso.com")
    new = users.create(user("new@contoso.com"))
    result = migrate(store())
    assert result.as_dict() == {"examined": 3, "moved": 2, "conflicts": []}
    assert migrate(store()).as_dict() == {"examined": 3, "moved": 0, "conflicts": []}  # idempotent
    error(users.post(user(unicodedata.normalize("NFC", "zoë@contoso.com"))), 409, "uniqueness")
    assert users.read(new["id"])["meta"]["version"] == 'W/"1"'  # resources already current are left alone
