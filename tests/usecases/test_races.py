"""Two write requests at once, in every order their store calls can take (tests/usecases/harness.py): after each
order, once the stream's cleanup has run, the invariants hold and each request's status matches what was stored."""

from __future__ import annotations

from tests.usecases.harness import IDP, Outcome, World, explore, scope

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def add(*user_ids: str) -> dict:
    return patch({"op": "add", "path": "members", "value": [{"value": u} for u in user_ids]})


def remove(*user_ids: str) -> dict:
    return patch({"op": "remove", "path": "members", "value": [{"value": u} for u in user_ids]})


def users_and_group(count: int, members: int = 0):
    def setup(world: World) -> dict:
        ids = [world.users.create(scope(), {"userName": f"u{n}@contoso.com"}).body["id"] for n in range(count)]
        team = world.groups.create(scope(), {"displayName": "Team",
                                             "members": [{"value": u} for u in ids[:members]]}).body["id"]
        return {"users": ids, "group": team}
    return setup


def test_two_creates_of_one_name() -> None:
    def create(world, given):
        return lambda: world.users.create(scope(), {"userName": "Same@contoso.com"})

    def create_other_case(world, given):
        return lambda: world.users.create(scope(), {"userName": "same@CONTOSO.com"})

    def check(world: World, given, a: Outcome, b: Outcome) -> None:
        assert sorted([a.status, b.status]) == [200, 409]
        assert len(world.user_ids()) == 1

    assert explore(lambda world: None, create, create_other_case, check) >= 2


def test_two_renames_of_one_user() -> None:
    def setup(world):
        return world.users.create(scope(), {"userName": "alice@contoso.com"}).body["id"]

    def rename(name):
        return lambda world, alice: lambda: world.users.patch(scope(), alice, patch(
            {"op": "replace", "path": "userName", "value": name}))

    def check(world: World, alice, a: Outcome, b: Outcome) -> None:
        assert a.status == b.status == 200  # the loser retried on the fresh version
        final = world.store.resources.get(IDP, "User", alice)
        assert final.attributes["userName"] in ("one@contoso.com", "two@contoso.com") and final.version == 3

    assert explore(setup, rename("one@contoso.com"), rename("two@contoso.com"), check) >= 3


def test_a_rename_against_a_create_of_the_same_name() -> None:
    def setup(world):
        return world.users.create(scope(), {"userName": "alice@contoso.com"}).body["id"]

    def rename(world, alice):
        return lambda: world.users.patch(scope(), alice, patch(
            {"op": "replace", "path": "userName", "value": "wanted@contoso.com"}))

    def create(world, alice):
        return lambda: world.users.create(scope(), {"userName": "Wanted@contoso.com"})

    def check(world: World, alice, a: Outcome, b: Outcome) -> None:
        assert sorted([a.status, b.status]) == [200, 409]
        owner = world.store.resources.find_unique(IDP, "User", "userName", "wanted@contoso.com")
        assert (owner.id == alice) == (a.status == 200)

    explore(setup, rename, create, check)


def test_adding_a_member_while_the_user_is_deleted() -> None:
    def add_member(world, given):
        return lambda: world.groups.patch(scope(), given["group"], add(given["users"][0]))

    def delete_user(world, given):
        return lambda: world.users.delete(scope(), given["users"][0])

    def check(world: World, given, added: Outcome, deleted: Outcome) -> None:
        assert deleted.status == 200 and added.status in (200, 400)
        assert world.memberships() == set()  # whichever came first, no member of a deleted user survives

    assert explore(users_and_group(1), add_member, delete_user, check) >= 3


def test_adding_many_members_while_one_of_them_is_deleted() -> None:
    """More additions than one transaction: checked up front, then written in steps, each checking its users."""

    def add_all(world, given):
        return lambda: world.groups.patch(scope(), given["group"], add(*given["users"]))

    def delete_user(world, given):
        return lambda: world.users.delete(scope(), given["users"][-1])

    def check(world: World, given, added: Outcome, deleted: Outcome) -> None:
        assert deleted.status == 200
        if added.status == 200:
            assert world.memberships() == {(given["group"], u) for u in given["users"][:-1]}
        else:
            assert added.status == 400 and world.memberships() == set()  # the up-front check saw it gone

    explore(users_and_group(52), add_all, delete_user, check)


def test_deleting_a_user_while_it_is_added_to_and_removed_from_groups() -> None:
    def setup(world):
        given = users_and_group(2, members=1)(world)
        given["other"] = world.groups.create(scope(), {"displayName": "Other"}).body["id"]
        return given

    def change(world, given):
        return lambda: world.groups.patch(scope(), given["other"], add(given["users"][0]))

    def delete_user(world, given):
        return lambda: world.users.delete(scope(), given["users"][0])

    def check(world: World, given, changed: Outcome, deleted: Outcome) -> None:
        assert deleted.status == 200 and changed.status in (200, 400)
        assert all(u != given["users"][0] for _, u in world.memberships())

    explore(setup, change, delete_user, check)


def test_a_mixed_group_patch_while_the_group_is_deleted() -> None:
    def mixed(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": u} for u in given["users"]]}))

    def delete_group(world, given):
        return lambda: world.groups.delete(scope(), given["group"])

    def check(world: World, given, patched: Outcome, deleted: Outcome) -> None:
        assert deleted.status == 200 and patched.status in (200, 404)
        assert world.group_ids() == set() and world.memberships() == set()

    explore(users_and_group(2), mixed, delete_group, check)


def test_a_member_add_is_never_lost_to_another_groups_change() -> None:
    """Two requests on one group: a PUT of its attributes and members, and a PATCH adding a member. Whatever their
    order, the group ends as the later one says, and a 2xx's change is there unless the other undid it."""

    def put(world, given):
        return lambda: world.groups.replace(scope(), given["group"], {
            "displayName": "Put", "members": [{"value": given["users"][0]}]})

    def add_second(world, given):
        return lambda: world.groups.patch(scope(), given["group"], add(given["users"][1]))

    def check(world: World, given, replaced: Outcome, added: Outcome) -> None:
        assert replaced.status == added.status == 200
        members = {u for _, u in world.memberships()}
        assert given["users"][0] in members  # the PUT's member
        assert members <= set(given["users"][:2])
        assert world.store.resources.get(IDP, "Group", given["group"]).attributes["displayName"] == "Put"

    explore(users_and_group(2), put, add_second, check)


def test_two_member_patches_of_one_group_both_land() -> None:
    def add_user(index):
        return lambda world, given: lambda: world.groups.patch(scope(), given["group"], add(given["users"][index]))

    def check(world: World, given, a: Outcome, b: Outcome) -> None:
        assert a.status == b.status == 200
        assert world.memberships() == {(given["group"], u) for u in given["users"]}

    explore(users_and_group(2), add_user(0), add_user(1), check)


def test_removing_and_adding_one_member_at_once() -> None:
    def remove_it(world, given):
        return lambda: world.groups.patch(scope(), given["group"], remove(given["users"][0]))

    def add_it(world, given):
        return lambda: world.groups.patch(scope(), given["group"], add(given["users"][0]))

    def check(world: World, given, removed: Outcome, added: Outcome) -> None:
        assert removed.status == added.status == 200
        assert world.memberships() in (set(), {(given["group"], given["users"][0])})

    explore(users_and_group(1, members=1), remove_it, add_it, check)


def test_a_delete_with_if_match_against_a_change() -> None:
    def setup(world):
        alice = world.users.create(scope(), {"userName": "alice@contoso.com"}).body["id"]
        team = world.groups.create(scope(), {"displayName": "Team", "members": [{"value": alice}]}).body["id"]
        return {"user": alice, "group": team}

    def delete(world, given):
        return lambda: world.users.delete(scope('W/"1"'), given["user"])

    def change(world, given):
        return lambda: world.users.patch(scope(), given["user"], patch({"op": "add", "path": "title", "value": "x"}))

    def check(world: World, given, deleted: Outcome, changed: Outcome) -> None:
        if deleted.status == 412:
            assert changed.status == 200  # the change came first: the user and its membership are as they were
            assert world.memberships() == {(given["group"], given["user"])}
        else:
            assert deleted.status == 200 and changed.status in (200, 404)
            assert world.user_ids() == set() and world.memberships() == set()

    explore(setup, delete, change, check)


def test_a_group_created_with_members_while_one_of_them_is_deleted() -> None:
    def create(world, given):
        return lambda: world.groups.create(scope(), {"displayName": "New", "members": [
            {"value": u} for u in given["users"]]})

    def delete_user(world, given):
        return lambda: world.users.delete(scope(), given["users"][0])

    def check(world: World, given, created: Outcome, deleted: Outcome) -> None:
        assert deleted.status == 200 and created.status in (200, 400)
        new = world.group_ids() - {given["group"]}
        assert len(new) == (1 if created.status == 200 else 0)
        assert all(u != given["users"][0] for _, u in world.memberships())

    explore(users_and_group(2), create, delete_user, check)


def test_a_large_group_change_while_the_group_is_renamed() -> None:
    """More members than one transaction: written in steps conditional on the version read. A rename landing
    between them is a lost race for the change, which reads the group again and finishes: both are 2xx, nothing
    is a 429, and the group ends with both changes."""

    def large(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "replace", "path": "externalId", "value": "large"},
            {"op": "add", "path": "members", "value": [{"value": u} for u in given["users"]]}))

    def rename(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "replace", "path": "displayName", "value": "Renamed"}))

    def check(world: World, given, changed: Outcome, renamed: Outcome) -> None:
        assert changed.status == renamed.status == 200, (changed, renamed)
        stored = world.store.resources.get(IDP, "Group", given["group"])
        assert stored.attributes["externalId"] == "large" and stored.attributes["displayName"] == "Renamed"
        assert world.memberships() == {(given["group"], u) for u in given["users"]}

    explore(users_and_group(52), large, rename, check)


def test_a_large_group_change_with_if_match_says_what_it_wrote() -> None:
    def large(world, given):
        return lambda: world.groups.patch(scope('W/"1"'), given["group"], patch(
            {"op": "replace", "path": "externalId", "value": "large"},
            {"op": "add", "path": "members", "value": [{"value": u} for u in given["users"]]}))

    def rename(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "replace", "path": "displayName", "value": "Renamed"}))

    def check(world: World, given, changed: Outcome, renamed: Outcome) -> None:
        assert renamed.status == 200
        stored = world.store.resources.get(IDP, "Group", given["group"])
        members = world.memberships()
        if changed.status == 200:
            assert stored.attributes["externalId"] == "large"
        else:
            assert changed.status == 412 and "externalId" not in stored.attributes
            said = "member changes were written" in changed.error.detail
            assert said == bool(members), changed.error.detail  # the 412 tells the truth about the steps

    explore(users_and_group(52), large, rename, check)
