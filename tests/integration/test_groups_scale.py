"""Groups at scale through the real handlers: a PATCH of 1,000 members, all or nothing; ten PATCHes of one group at
once; and what a request costs in DynamoDB calls, the same for a group of 1 member as for one of 2,000."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from scim_endpoint import store as store_module
from scim_endpoint.resources import retry
from scim_endpoint.store import DynamoStore
from tests.conftest import Tenant, new_guid
from tests.entra_requests import MEMBERSHIP_CHECK_FILTER
from tests.integration.test_groups import group, remove_listed, seed_users, tut_add
from tests.integration.test_users import patch_op, version
from tests.support import Container, Groups, at_once, error, is_admission, ok, seed_member_items


@pytest.fixture(autouse=True)
def _fast(fast_transactions) -> None:
    """Every test here writes thousands of items."""


def store() -> DynamoStore:
    return store_module.store()


def member_count(tenant: Tenant, group_id: str) -> int:
    return sum(1 for _ in store().memberships.member_ids(tenant.idp_id, group_id))


# --- one PATCH, 1,000 members ---------------------------------------------------------------------------------------


def test_one_patch_adds_and_removes_a_thousand_members(groups: Groups, tenant: Tenant) -> None:
    ids = seed_users(tenant, 1000)
    body = groups.create(group("Thousand"))
    groups.patched(body["id"], tut_add(*ids))
    assert set(store().memberships.member_ids(tenant.idp_id, body["id"])) == set(ids)
    assert groups.is_member(body["id"], ids[0]) and groups.is_member(body["id"], ids[-1])
    read = groups.read(body["id"])
    assert len(read["members"]) == 1000 and version(read) == 1

    groups.patched(body["id"], remove_listed(*ids))
    assert member_count(tenant, body["id"]) == 0
    assert not groups.is_member(body["id"], ids[500])


def test_a_thousand_adds_with_one_unknown_user_add_none(groups: Groups, tenant: Tenant) -> None:
    ids = seed_users(tenant, 999)
    body = groups.create(group("All or nothing"))
    members = ids[:700] + [new_guid()] + ids[700:]
    error(groups.patch(body["id"], tut_add(*members)), 400, "invalidValue")
    assert member_count(tenant, body["id"]) == 0
    # The same in the validator's replace: the current members stay.
    groups.patched(body["id"], tut_add(ids[0]))
    error(groups.patch(body["id"], patch_op({"op": "replace", "path": "members",
                                             "value": [{"value": m} for m in members]})), 400, "invalidValue")
    assert list(store().memberships.member_ids(tenant.idp_id, body["id"])) == [ids[0]]


# --- many writers at once -------------------------------------------------------------------------------------------


def test_ten_concurrent_patches_of_one_group_all_land(groups: Groups, tenant: Tenant, atomic_dynamodb) -> None:
    ids = seed_users(tenant, 1000)
    body = groups.create(group("Crowd"))
    containers = [Container("GroupsFunction", tenant, n) for n in range(10)]

    def send(index: int):
        return containers[index]("PATCH", f"{tenant.base}/Groups/{body['id']}",
                                 tut_add(*ids[index * 100:(index + 1) * 100]))

    results = at_once(len(containers), send)

    assert [r[0] if isinstance(r, tuple) else r for r in results] == [204] * 10, results
    assert sorted(store().memberships.member_ids(tenant.idp_id, body["id"])) == sorted(ids)
    assert version(groups.read(body["id"], "?excludedAttributes=members")) == 1


def test_ten_concurrent_mixed_patches_of_one_group(groups: Groups, tenant: Tenant, atomic_dynamodb) -> None:
    """Adds, removals and a rename at once, each from its own container: every change lands."""
    ids = seed_users(tenant, 200)
    body = groups.create(group("Mixed", members=[{"value": i} for i in ids[:40]]))
    containers = [Container("GroupsFunction", tenant, n) for n in range(10)]
    bodies = [tut_add(*ids[40 + n * 20:60 + n * 20]) for n in range(8)]  # ids[40:200]
    bodies.append(remove_listed(*ids[:40]))
    bodies.append(patch_op({"op": "Replace", "path": "displayName", "value": "Mixed renamed"}))

    def send(index: int):
        return containers[index]("PATCH", f"{tenant.base}/Groups/{body['id']}", bodies[index])

    results = at_once(len(containers), send)
    assert [r[0] if isinstance(r, tuple) else r for r in results] == [204] * 10, results
    assert sorted(store().memberships.member_ids(tenant.idp_id, body["id"])) == sorted(ids[40:])
    assert groups.read(body["id"], "?excludedAttributes=members")["displayName"] == "Mixed renamed"


def test_a_transaction_conflict_is_retried(groups: Groups, tenant: Tenant, monkeypatch) -> None:
    """DynamoDB cancels a transaction that meets another one on the same item (here the group's, which every member
    transaction checks): concurrent member PATCHes of one group. The change is written again, not a 500."""
    from botocore.exceptions import ClientError

    monkeypatch.setattr(retry, "RETRY_MAX_SECONDS", 0)
    alice, bob = seed_users(tenant, 2)
    body = groups.create(group("Conflicted"))
    client = store().table.client
    real = client._make_api_call
    conflicts = {"left": 2}

    def conflicting(operation_name: str, api_params: dict) -> dict:
        if operation_name == "TransactWriteItems" and conflicts["left"]:
            conflicts["left"] -= 1
            reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(api_params["TransactItems"]) - 1)
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                               "CancellationReasons": reasons}, operation_name)
        return real(operation_name, api_params)

    monkeypatch.setattr(client, "_make_api_call", conflicting)
    groups.patched(body["id"], tut_add(alice, bob))
    assert conflicts["left"] == 0
    assert set(store().memberships.member_ids(tenant.idp_id, body["id"])) == {alice, bob}

    # One that keeps conflicting: 429 with Retry-After, never a 500.
    conflicts["left"] = 10_000
    status, headers, answer = groups.patch(body["id"], remove_listed(alice))
    assert status == 429, answer
    assert int(headers["retry-after"]) >= 1
    conflicts["left"] = 0
    assert set(store().memberships.member_ids(tenant.idp_id, body["id"])) == {alice, bob}


# --- cost in DynamoDB calls -----------------------------------------------------------------------------------------


class Calls:
    """The DynamoDB operations the store's client sends (a botocore before-call hook)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        store().table.client.meta.events.register("before-call.dynamodb", self._seen)

    def _seen(self, model, params, **kwargs) -> None:
        if not is_admission(params):
            self.names.append(model.name)

    def during(self, request) -> list[str]:
        self.names = []
        request()
        return self.names


def costs(groups: Groups, calls: Calls, group_id: str, user_id: str) -> dict[str, list[str]]:
    """What each of Entra's group requests costs, for one group and one user (not a member at first)."""
    check = quote(MEMBERSHIP_CHECK_FILTER.format(group=group_id, user=user_id), safe="")
    measured = {
        "add one member": calls.during(lambda: groups.patched(group_id, tut_add(user_id))),
        "membership check": calls.during(
            lambda: ok(groups.list(f"filter={check}&excludedAttributes=members"))["totalResults"] == 1 or 1 / 0),
        "get without members": calls.during(lambda: groups.read(group_id, "?excludedAttributes=members")),
        "remove one member": calls.during(lambda: groups.patched(group_id, remove_listed(user_id))),
        "remove one member by filter": calls.during(lambda: groups.patched(
            group_id, patch_op({"op": "remove", "path": f'members[value eq "{user_id}"]'}))),
        "membership check, not a member": calls.during(
            lambda: ok(groups.list(f"filter={check}&excludedAttributes=members"))["totalResults"] == 0 or 1 / 0),
        "rename": calls.during(lambda: groups.patched(
            group_id, patch_op({"op": "Replace", "path": "displayName", "value": f"Renamed {group_id}"}))),
        "lookup by displayName": calls.during(lambda: groups.filter(f'displayName eq "Renamed {group_id}"')),
        "delete": calls.during(lambda: groups.delete(group_id).status == 204 or 1 / 0),
    }
    return measured


def test_request_costs_do_not_grow_with_the_group(groups: Groups, tenant: Tenant) -> None:
    small_user, big_user, alone = seed_users(tenant, 3)
    small = groups.create(group("Small", members=[{"value": alone}]))
    big = groups.create(group("Big"))
    # 2,000 member items for the big group, written straight through the store (these ids are no users).
    seed_member_items(tenant.idp_id, big["id"], [f"seeded-{n:05d}" for n in range(2000)])
    assert member_count(tenant, big["id"]) == 2000

    calls = Calls()
    expected = {
        "add one member": ["TransactWriteItems"],
        "membership check": ["GetItem", "GetItem"],
        "get without members": ["GetItem"],
        "remove one member": ["TransactWriteItems"],
        "remove one member by filter": ["TransactWriteItems"],
        "membership check, not a member": ["GetItem", "GetItem"],
        "rename": ["GetItem", "TransactWriteItems"],
        "lookup by displayName": ["GetItem"],
        "delete": ["GetItem", "TransactWriteItems"],
    }
    assert costs(groups, calls, small["id"], small_user) == expected
    assert costs(groups, calls, big["id"], big_user) == expected
