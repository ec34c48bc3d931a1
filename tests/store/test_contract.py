"""The store's contract, run against both implementations of `scim_endpoint.store.interface`: DynamoDB (over moto)
and the in-memory store the use-case tests use (tests/fake_store.py). What one does, the other must do: the same
results, the same conditions, the same domain errors in the same order."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import boto3
import pytest

from scim_endpoint.scim.errors import Conflict, TooMany
from scim_endpoint.store import DynamoStore, GroupGone, MemberWrites, Stored, UnknownMember, VersionConflict
from tests.conftest import REGION, TABLE_NAME
from tests.fake_store import FakeStore

IDP = "idp-contract"
NOW = "2026-01-01T00:00:00.000Z"


@pytest.fixture(params=["dynamodb", "memory"])
def store(request) -> Iterator:
    if request.param == "memory":
        yield FakeStore()
    else:
        request.getfixturevalue("aws")
        yield DynamoStore.over(boto3.client("dynamodb", region_name=REGION), TABLE_NAME)


def user(user_id: str, name: str, version: int = 1, **more) -> Stored:
    return Stored(user_id, {"userName": name, **more}, NOW, NOW, version)


def group(group_id: str, name: str, version: int = 1) -> Stored:
    return Stored(group_id, {"displayName": name}, NOW, NOW, version)


def keys(name: str) -> dict[str, str]:
    return {"userName": name.casefold()}


def make_user(store, user_id: str, name: str | None = None) -> Stored:
    """A user as it is stored: with the guard keys it holds recorded."""
    stored = user(user_id, name or f"{user_id}@contoso.com")
    guard_keys = keys(stored.attributes["userName"])
    store.resources.create(IDP, "User", stored, guard_keys)
    return dataclasses.replace(stored, guards=guard_keys)


def make_group(store, group_id: str, name: str | None = None, members: list[str] = ()) -> Stored:
    stored = group(group_id, name or f"Group {group_id}")
    writes = MemberWrites(group_id, [{"value": m} for m in members], group_checked=True) if members else None
    guard_keys = {"displayName": stored.attributes["displayName"].casefold()}
    store.resources.create(IDP, "Group", stored, guard_keys, writes)
    return dataclasses.replace(stored, guards=guard_keys)


def member_ids(store, group_id: str) -> list[str]:
    return list(store.memberships.member_ids(IDP, group_id))


# --- resources -------------------------------------------------------------------------------------------------


def test_create_get_and_find_by_a_unique_value(store) -> None:
    alice = make_user(store, "u1", "Alice@contoso.com")
    assert store.resources.get(IDP, "User", "u1") == alice
    assert store.resources.find_unique(IDP, "User", "userName", "alice@contoso.com") == alice
    assert store.resources.get(IDP, "User", "u2") is None
    assert store.resources.get(IDP, "Group", "u1") is None
    assert store.resources.get("other-idp", "User", "u1") is None
    assert store.resources.get(IDP, "User", "") is None and store.resources.get(IDP, "User", "x" * 300) is None


def test_a_taken_unique_value_is_a_conflict_and_writes_nothing(store) -> None:
    make_user(store, "u1", "alice@contoso.com")
    with pytest.raises(Conflict, match="userName"):
        store.resources.create(IDP, "User", user("u2", "ALICE@contoso.com"), keys("alice@contoso.com"))
    assert store.resources.get(IDP, "User", "u2") is None
    assert store.resources.count(IDP, "User") == 1


def test_scan_count_existing_and_get_many(store) -> None:
    for user_id in ("u3", "u1", "u2"):
        make_user(store, user_id)
    assert [s.id for s in store.resources.scan_tenant(IDP, "User")] == ["u1", "u2", "u3"]
    assert store.resources.count(IDP, "User") == 3 and store.resources.count(IDP, "Group") == 0
    assert store.resources.existing(IDP, "User", ["u1", "u9", "u3", ""]) == {"u1", "u3"}
    assert set(store.resources.get_many(IDP, "User", ["u2", "u9"])) == {"u2"}


def test_reading_on_after_an_id_in_batches(store, monkeypatch) -> None:
    """What a cursor page reads: id order from just after an id (which need not exist), any length, in batches."""
    for user_id in ("u4", "u1", "u3", "u2", "u5"):
        make_user(store, user_id)
    make_group(store, "g1")
    assert [s.id for s in store.resources.after(IDP, "User", None, 2)] == ["u1", "u2", "u3", "u4", "u5"]
    assert [s.id for s in store.resources.after(IDP, "User", "u2", 2)] == ["u3", "u4", "u5"]
    assert [s.id for s in store.resources.after(IDP, "User", "u25", 10)] == ["u3", "u4", "u5"]
    assert list(store.resources.after(IDP, "User", "u5", 2)) == []
    assert [s.id for s in store.resources.after(IDP, "Group", None, 2)] == ["g1"]
    from scim_endpoint.store import resources

    monkeypatch.setattr(resources, "MAX_SCANNED_RESOURCES", 2)  # no bound: a page bounds what it reads itself
    assert len(list(store.resources.after(IDP, "User", None, 2))) == 5


def test_scan_refuses_more_than_the_bound(store, monkeypatch) -> None:
    from scim_endpoint.store import resources

    monkeypatch.setattr(resources, "MAX_SCANNED_RESOURCES", 2)
    monkeypatch.setattr("tests.fake_store.MAX_SCANNED_RESOURCES", 2)
    for user_id in ("u1", "u2", "u3"):
        make_user(store, user_id)
    with pytest.raises(TooMany):
        list(store.resources.scan_tenant(IDP, "User"))


def test_update_is_conditional_on_the_version_read(store) -> None:
    alice = make_user(store, "u1", "alice@contoso.com")
    renamed = user("u1", "alice2@contoso.com", version=2)
    store.resources.update(IDP, "User", alice, renamed, keys("alice@contoso.com"), keys("alice2@contoso.com"))
    renamed = dataclasses.replace(renamed, guards=keys("alice2@contoso.com"))
    assert store.resources.get(IDP, "User", "u1") == renamed
    assert store.resources.find_unique(IDP, "User", "userName", "alice@contoso.com") is None
    assert store.resources.find_unique(IDP, "User", "userName", "alice2@contoso.com") == renamed
    stale = user("u1", "alice3@contoso.com", version=2)
    with pytest.raises(VersionConflict):
        store.resources.update(IDP, "User", alice, stale, keys("alice@contoso.com"), keys("alice3@contoso.com"))
    assert store.resources.get(IDP, "User", "u1") == renamed


def test_a_lost_race_is_reported_before_a_taken_value(store) -> None:
    """Both conditions fail: the resource changed, and the new name is taken. The lost race wins (a retry on the
    fresh version decides the rest)."""
    alice = make_user(store, "u1", "alice@contoso.com")
    make_user(store, "u2", "bob@contoso.com")
    store.resources.update(IDP, "User", alice, user("u1", "alice@contoso.com", 2, title="x"),
                           keys("alice@contoso.com"), keys("alice@contoso.com"))
    with pytest.raises(VersionConflict):
        store.resources.update(IDP, "User", alice, user("u1", "bob@contoso.com", 2),
                               keys("alice@contoso.com"), keys("bob@contoso.com"))


def test_delete_is_conditional_and_takes_guards_and_listed_memberships(store) -> None:
    alice = make_user(store, "u1", "alice@contoso.com")
    make_user(store, "u2")
    make_group(store, "g1", members=["u1", "u2"])
    make_group(store, "g2", members=["u1"])
    with pytest.raises(VersionConflict):
        store.resources.delete(IDP, "User", user("u1", "alice@contoso.com", 7), keys("alice@contoso.com"), ["g1"])
    assert member_ids(store, "g1") == ["u1", "u2"]
    store.resources.delete(IDP, "User", alice, keys("alice@contoso.com"), ["g1", "g2", "g-none"])
    assert store.resources.get(IDP, "User", "u1") is None
    assert store.resources.find_unique(IDP, "User", "userName", "alice@contoso.com") is None
    assert member_ids(store, "g1") == ["u2"] and member_ids(store, "g2") == []


def test_a_resource_holds_the_guard_keys_it_was_written_with(store) -> None:
    """Recorded in the resource, so a change or a deletion moves exactly the guards it holds, however keys are made
    by then."""
    make_user(store, "u1", "Zoë@contoso.com")
    assert store.resources.get(IDP, "User", "u1").guards == {"userName": "zoë@contoso.com"}
    assert store.resources.find_unique(IDP, "User", "userName", "zoë@contoso.com").guards == {
        "userName": "zoë@contoso.com"}


def test_sizes_are_the_same(store) -> None:
    same, moved = {"displayName": "a"}, {"displayName": "b"}
    assert store.resources.update_size(same, same) == 2
    assert store.resources.update_size(same, moved) == 3
    assert store.resources.update_size({"displayName": "a", "externalId": "e"}, {"displayName": "a"}) == 3
    assert store.resources.create_size({"displayName": "a", "externalId": "e"}) == 3


# --- memberships -----------------------------------------------------------------------------------------------


def test_members_are_written_with_their_users_and_group_checked(store) -> None:
    make_user(store, "u1")
    make_user(store, "u2")
    make_group(store, "g1")
    store.memberships.write(IDP, MemberWrites("g1", [{"value": "u2"}, {"value": "u1", "display": "One"}]))
    assert store.memberships.members(IDP, "g1", None) == [{"value": "u1", "display": "One"}, {"value": "u2"}]
    assert store.memberships.get_member(IDP, "g1", "u1") == {"value": "u1", "display": "One"}
    assert store.memberships.groups_of(IDP, "u1") == ["g1"]
    # Again: nothing changes (idempotent), and a removal of an absent member is nothing to do.
    store.memberships.write(IDP, MemberWrites("g1", [{"value": "u2"}], ["u9"]))
    assert member_ids(store, "g1") == ["u1", "u2"]
    store.memberships.write(IDP, MemberWrites("g1", [], ["u1"]))
    assert member_ids(store, "g1") == ["u2"] and store.memberships.groups_of(IDP, "u1") == []


def test_a_membership_of_a_missing_user_or_group_is_never_written(store) -> None:
    make_user(store, "u1")
    make_group(store, "g1")
    with pytest.raises(UnknownMember) as raised:
        store.memberships.write(IDP, MemberWrites("g1", [{"value": "u1"}, {"value": "ghost"}]))
    assert raised.value.user_id == "ghost" and member_ids(store, "g1") == []
    with pytest.raises(GroupGone):
        store.memberships.write(IDP, MemberWrites("g-none", [{"value": "u1"}]))
    with pytest.raises(GroupGone):
        store.memberships.write(IDP, MemberWrites("", [{"value": "u1"}]))
    with pytest.raises(UnknownMember):
        store.memberships.write(IDP, MemberWrites("g1", [{"value": "x" * 2000}]))
    with pytest.raises(UnknownMember):
        store.resources.create(IDP, "Group", group("g2", "Two"), {"displayName": "two"},
                               MemberWrites("g2", [{"value": "ghost"}], group_checked=True))
    assert store.resources.get(IDP, "Group", "g2") is None
    assert store.memberships.groups_of(IDP, "ghost") == []


def test_a_write_conditional_on_the_groups_version(store) -> None:
    make_user(store, "u1")
    team = make_group(store, "g1")
    with pytest.raises(VersionConflict):
        store.memberships.write(IDP, MemberWrites("g1", [{"value": "u1"}], group_version=2))
    store.memberships.write(IDP, MemberWrites("g1", [{"value": "u1"}], group_version=team.version))
    assert member_ids(store, "g1") == ["u1"]


def test_a_group_change_and_its_members_in_one_transaction(store) -> None:
    make_user(store, "u1")
    make_user(store, "u2")
    team = make_group(store, "g1", "Team", members=["u1"])
    renamed = group("g1", "Renamed", version=2)
    with pytest.raises(UnknownMember):
        store.resources.update(IDP, "Group", team, renamed, {"displayName": "team"}, {"displayName": "renamed"},
                               MemberWrites("g1", [{"value": "ghost"}], ["u1"], group_checked=True))
    assert store.resources.get(IDP, "Group", "g1") == team and member_ids(store, "g1") == ["u1"]
    store.resources.update(IDP, "Group", team, renamed, {"displayName": "team"}, {"displayName": "renamed"},
                           MemberWrites("g1", [{"value": "u2"}], ["u1"], group_checked=True))
    renamed = dataclasses.replace(renamed, guards={"displayName": "renamed"})
    assert store.resources.get(IDP, "Group", "g1") == renamed and member_ids(store, "g1") == ["u2"]


def test_members_beyond_a_limit_are_too_many(store) -> None:
    for user_id in ("u1", "u2", "u3"):
        make_user(store, user_id)
    make_group(store, "g1", members=["u1", "u2", "u3"])
    assert len(store.memberships.members(IDP, "g1", 3)) == 3
    with pytest.raises(TooMany):
        store.memberships.members(IDP, "g1", 2)


def test_cleanup_deletions(store) -> None:
    for user_id in ("u1", "u2"):
        make_user(store, user_id)
    make_group(store, "g1", members=["u1", "u2"])
    make_group(store, "g2", members=["u1"])
    assert store.memberships.delete_memberships_of(IDP, "u1", deleted_at=0.0) == 2  # long ago: no wait
    assert member_ids(store, "g1") == ["u2"] and member_ids(store, "g2") == []
    assert store.memberships.delete_memberships_of(IDP, "u1") == 0
    store.memberships.delete_members(IDP, "g1", ["u2", "u9"])
    assert member_ids(store, "g1") == []


def test_tenants_never_meet(store) -> None:
    make_user(store, "u1")
    make_group(store, "g1", members=["u1"])
    assert member_ids(store, "g1") == ["u1"]
    assert list(store.memberships.member_ids("other", "g1")) == []
    assert store.memberships.groups_of("other", "u1") == []
    assert store.resources.count("other", "User") == 0
