"""The use cases (`scim_endpoint.resources`) against the in-memory store, in milliseconds: retries, If-Match, guards,
member plans and how a group change is committed. What they call of the store is counted, so "one read" is a fact."""

from __future__ import annotations

import pytest

from scim_endpoint.resources import retry
from scim_endpoint.scim.errors import InvalidValue, NotFound, PreconditionFailed, ScimError, Throttled
from scim_endpoint.store import Contention, MemberWrites, VersionConflict
from tests.usecases.harness import IDP, World, scope

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
def world() -> World:
    return World()


def new_user(world: World, name: str) -> str:
    return world.users.create(scope(), {"userName": name}).body["id"]


def new_group(world: World, name: str, members: list[str] = ()) -> str:
    return world.groups.create(scope(), {"displayName": name, "members": [{"value": m} for m in members]}).body["id"]


def calls_of(world: World, action) -> list[str]:
    world.store.state.calls.clear()
    action()
    return list(world.store.state.calls)


def fails(action, status: int, scim_type: str | None = None) -> ScimError:
    with pytest.raises(ScimError) as raised:
        action()
    assert raised.value.status == status
    if scim_type is not None:
        assert raised.value.scim_type == scim_type
    return raised.value


# --- users ---------------------------------------------------------------------------------------------------------


def test_a_user_change_is_one_read_and_one_write(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    assert calls_of(world, lambda: world.users.patch(scope(), alice, patch(
        {"op": "replace", "path": "title", "value": "x"}))) == ["get", "update"]
    # Nothing to change: no write, the same version.
    assert calls_of(world, lambda: world.users.patch(scope(), alice, patch(
        {"op": "replace", "path": "title", "value": "x"}))) == ["get"]


def test_a_stale_if_match_is_412_and_writes_nothing(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    before = world.store.state.snapshot()
    fails(lambda: world.users.patch(scope('W/"7"'), alice, patch({"op": "add", "path": "title", "value": "x"})), 412)
    fails(lambda: world.users.delete(scope('W/"7"'), alice), 412)
    assert world.store.state.snapshot() == before
    world.users.delete(scope('W/"1"'), alice)
    assert world.user_ids() == set()


def test_a_lost_race_is_retried_on_the_fresh_version(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    raced = {"done": False}

    def interloper(name: str) -> None:
        if name == "update" and not raced["done"]:
            raced["done"] = True
            world.store.state.hook = None
            world.users.patch(scope(), alice, patch({"op": "add", "path": "nickName", "value": "theirs"}))

    world.store.state.hook = interloper
    shown = world.users.patch(scope(), alice, patch({"op": "add", "path": "title", "value": "ours"}))
    assert shown.body["title"] == "ours" and shown.body["nickName"] == "theirs" and shown.version == 3


def test_with_if_match_a_lost_race_is_412(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")

    def interloper(name: str) -> None:
        if name == "update":
            world.store.state.hook = None
            world.users.patch(scope(), alice, patch({"op": "add", "path": "nickName", "value": "theirs"}))

    world.store.state.hook = interloper
    fails(lambda: world.users.patch(scope('W/"1"'), alice, patch({"op": "add", "path": "title", "value": "x"})), 412)
    assert "title" not in world.store.resources.get(IDP, "User", alice).attributes


def test_contention_is_retried_and_then_429(world: World, monkeypatch) -> None:
    alice = new_user(world, "alice@contoso.com")
    left = {"n": 2}

    def contended(name: str) -> None:
        if name == "update" and left["n"]:
            left["n"] -= 1
            raise Contention()

    world.store.state.hook = contended
    world.users.patch(scope(), alice, patch({"op": "add", "path": "title", "value": "x"}))
    left["n"] = 1000
    error = fails(lambda: world.users.patch(scope(), alice, patch({"op": "add", "path": "title", "value": "y"})), 429)
    assert error.headers["Retry-After"] == "1"
    assert left["n"] == 1000 - retry.MAX_ATTEMPTS


def test_a_create_that_meets_contention_is_retried_not_500(world: World) -> None:
    left = {"n": 1}

    def contended(name: str) -> None:
        if name == "create" and left["n"]:
            left["n"] -= 1
            raise Contention()

    world.store.state.hook = contended
    assert new_user(world, "alice@contoso.com") in world.user_ids()


def test_a_taken_name_is_409_and_writes_nothing(world: World) -> None:
    new_user(world, "alice@contoso.com")
    bob = new_user(world, "bob@contoso.com")
    before = world.store.state.snapshot()
    fails(lambda: world.users.create(scope(), {"userName": "ALICE@contoso.com"}), 409, "uniqueness")
    fails(lambda: world.users.patch(scope(), bob, patch(
        {"op": "replace", "path": "userName", "value": "Alice@Contoso.com"})), 409, "uniqueness")
    assert world.store.state.snapshot() == before


def test_a_users_memberships_go_in_its_own_deletion(world: World) -> None:
    alice, bob = new_user(world, "alice@contoso.com"), new_user(world, "bob@contoso.com")
    sales = new_group(world, "Sales", [alice, bob])
    admins = new_group(world, "Admins", [alice])
    assert calls_of(world, lambda: world.users.delete(scope(), alice)) == ["get", "groups_of", "delete"]
    assert world.memberships() == {(sales, bob)}
    records = [r for r in world.store.state.take_stream() if r["eventName"] == "REMOVE"]
    assert len(records) == 4  # the user, its userName guard, two memberships: one transaction
    assert admins in world.group_ids()


def test_a_412_on_a_users_deletion_leaves_every_membership(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    sales = new_group(world, "Sales", [alice])
    world.users.patch(scope(), alice, patch({"op": "add", "path": "title", "value": "x"}))
    fails(lambda: world.users.delete(scope('W/"1"'), alice), 412)
    assert world.memberships() == {(sales, alice)} and alice in world.user_ids()


# --- groups --------------------------------------------------------------------------------------------------------


def test_a_member_only_patch_reads_nothing(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    team = new_group(world, "Team")
    add = patch({"op": "add", "path": "members", "value": [{"value": alice}]})
    assert calls_of(world, lambda: world.groups.patch(scope(), team, add)) == ["write"]
    assert world.memberships() == {(team, alice)}


def test_a_patch_of_attributes_and_members_reads_the_group_once_and_writes_once(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    team = new_group(world, "Team")
    mixed = patch({"op": "replace", "path": "displayName", "value": "Renamed"},
                  {"op": "add", "path": "members", "value": [{"value": alice}]})
    assert calls_of(world, lambda: world.groups.patch(scope(), team, mixed)) == ["get", "update"]
    assert world.store.resources.get(IDP, "Group", team).attributes["displayName"] == "Renamed"
    assert world.memberships() == {(team, alice)}


def test_an_unknown_member_in_a_mixed_patch_changes_nothing(world: World) -> None:
    team = new_group(world, "Team")
    before = world.store.state.snapshot()
    mixed = patch({"op": "replace", "path": "displayName", "value": "Renamed"},
                  {"op": "add", "path": "members", "value": [{"value": "ghost"}]})
    fails(lambda: world.groups.patch(scope(), team, mixed), 400, "invalidValue")
    assert world.store.state.snapshot() == before


def test_a_large_change_writes_members_in_steps_and_its_attributes_last(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(60)]
    team = new_group(world, "Team")
    mixed = patch({"op": "replace", "path": "displayName", "value": "Renamed"},
                  {"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    calls = calls_of(world, lambda: world.groups.patch(scope(), team, mixed))
    assert calls == ["get", "existing", "write", "write", "update"]  # 49 + 11 additions, then the rename
    assert world.memberships() == {(team, u) for u in users}
    assert world.store.resources.get(IDP, "Group", team).version == 2


def test_a_large_change_that_fails_leaves_the_attributes_and_a_retry_finishes(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(60)]
    team = new_group(world, "Team")
    mixed = patch({"op": "replace", "path": "displayName", "value": "Renamed"},
                  {"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    writes = {"n": 0}

    def throttled_second_step(name: str) -> None:
        if name == "write":
            writes["n"] += 1
            if writes["n"] == 2:
                raise Throttled()

    world.store.state.hook = throttled_second_step
    fails(lambda: world.groups.patch(scope(), team, mixed), 429)
    world.store.state.hook = None
    assert world.store.resources.get(IDP, "Group", team).attributes["displayName"] == "Team"
    assert len(world.memberships()) == 49
    world.groups.patch(scope(), team, mixed)
    assert world.store.resources.get(IDP, "Group", team).attributes["displayName"] == "Renamed"
    assert world.memberships() == {(team, u) for u in users}


def test_with_if_match_a_412_after_steps_says_what_was_written(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(60)]
    team = new_group(world, "Team")
    mixed = patch({"op": "replace", "path": "displayName", "value": "Renamed"},
                  {"op": "add", "path": "members", "value": [{"value": u} for u in users]})

    def renamed_before_the_last_write(name: str) -> None:
        if name == "update":
            world.store.state.hook = None
            world.groups.patch(scope(), team, patch({"op": "replace", "path": "externalId", "value": "e"}))

    world.store.state.hook = renamed_before_the_last_write
    error = fails(lambda: world.groups.patch(scope('W/"1"'), team, mixed), 412)
    assert "member changes were written" in error.detail
    assert world.store.resources.get(IDP, "Group", team).attributes["displayName"] == "Team"


def test_a_user_deleted_during_a_large_change_is_left_out(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(60)]
    team = new_group(world, "Team")
    add = patch({"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    doomed = users[55]

    def delete_during_the_steps(name: str) -> None:
        if name == "write":
            world.store.state.hook = None
            world.users.delete(scope(), doomed)

    world.store.state.hook = delete_during_the_steps
    world.groups.patch(scope(), team, add)
    assert world.memberships() == {(team, u) for u in users if u != doomed}


def test_an_unknown_member_in_a_large_change_is_a_400_before_anything_is_written(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(60)]
    team = new_group(world, "Team", users[:1])
    before = world.store.state.snapshot()
    add = patch({"op": "add", "path": "members", "value": [{"value": u} for u in [*users, "ghost"]]})
    fails(lambda: world.groups.patch(scope(), team, add), 400, "invalidValue")
    replace_all = patch({"op": "replace", "path": "members", "value": [{"value": u} for u in ["ghost", *users]]})
    fails(lambda: world.groups.patch(scope(), team, replace_all), 400, "invalidValue")
    assert world.store.state.snapshot() == before


def test_additions_come_before_removals(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(150)]
    team = new_group(world, "Team", users[:100])
    world.store.state.calls.clear()
    seen: list[MemberWrites] = []
    real = world.store.memberships.write

    def recording(idp_id: str, writes: MemberWrites) -> None:
        seen.append(writes)
        real(idp_id, writes)

    world.store.memberships.write = recording
    world.groups.replace(scope(), team, {"displayName": "Team", "members": [{"value": u} for u in users[100:]]})
    assert [bool(w.adds) for w in seen] == [True, True, False, False]
    assert world.memberships() == {(team, u) for u in users[100:]}


def test_a_put_rewrites_only_the_members_that_change(world: World) -> None:
    alice, bob, carol = (new_user(world, f"{n}@contoso.com") for n in ("alice", "bob", "carol"))
    team = new_group(world, "Team", [alice, bob])
    seen: list[MemberWrites] = []
    real_update = world.store.resources.update

    def recording(*args, **kwargs):
        seen.append(args[6] if len(args) > 6 else kwargs.get("members"))
        return real_update(*args, **kwargs)

    world.store.resources.update = recording
    world.groups.replace(scope(), team, {"displayName": "Team B", "members": [{"value": bob}, {"value": carol}]})
    (writes,) = seen
    assert [m["value"] for m in writes.adds] == [carol] and writes.removes == [alice]


def test_a_group_created_with_many_members_is_taken_back_if_they_fail(world: World) -> None:
    users = [new_user(world, f"u{n}@contoso.com") for n in range(60)]

    def throttled(name: str) -> None:
        if name == "write":
            raise Throttled()

    world.store.state.hook = throttled
    fails(lambda: world.groups.create(scope(), {"displayName": "Big", "members": [{"value": u} for u in users]}),
          429)
    world.store.state.hook = None
    world.cleanup()
    assert world.group_ids() == set() and world.memberships() == set()
    world.check_invariants()


def test_member_changes_of_a_missing_group_are_404(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    fails(lambda: world.groups.patch(scope(), "nope", patch({"op": "add", "path": "members",
                                                              "value": [{"value": alice}]})), 404)
    fails(lambda: world.groups.patch(scope(), "nope", patch({"op": "remove", "path": "members"})), 404)
    assert world.memberships() == set()


def test_the_stream_cleans_up_after_a_group(world: World) -> None:
    alice = new_user(world, "alice@contoso.com")
    team = new_group(world, "Team", [alice])
    world.groups.delete(scope(), team)
    assert world.memberships() == {(team, alice)}  # gone for readers, its items not yet
    world.cleanup()
    assert world.memberships() == set()
    world.check_invariants()


def test_errors_are_the_use_cases_own(world: World) -> None:
    """What the store raises never leaves a use case raw (a raw one would be a 500 at the edge)."""
    team = new_group(world, "Team")
    for error in (VersionConflict(), Contention()):
        def failing(name: str, error=error) -> None:
            if name in ("update", "write"):
                raise error

        world.store.state.hook = failing
        fails(lambda: world.groups.patch(scope(), team, patch({"op": "replace", "path": "displayName",
                                                                "value": "x"})), 429)
    world.store.state.hook = None
    assert isinstance(fails(lambda: world.groups.get(scope(), "nope"), 404), NotFound)
    assert isinstance(fails(lambda: world.groups.patch(scope('W/"5"'), team, patch(
        {"op": "replace", "path": "displayName", "value": "y"})), 412), PreconditionFailed)
    assert isinstance(fails(lambda: world.groups.create(scope(), {"displayName": "Bad", "members": [
        {"value": "ghost"}]}), 400), InvalidValue)
