"""Every write request with a fault at each of its store calls (tests/usecases/harness.py): a failed condition,
another transaction holding an item, throttling, and a timeout after the write landed. Whatever the fault, the
status tells the truth (a 4xx changed nothing; a 2xx stored the change), the invariants hold once the stream's cleanup
has run, and the same request sent again succeeds and finishes the job."""

from __future__ import annotations

import pytest

from tests.usecases.harness import IDP, Outcome, World, scope, with_faults

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def users_and_group(count: int, members: int = 0):
    def setup(world: World) -> dict:
        ids = [world.users.create(scope(), {"userName": f"u{n}@contoso.com"}).body["id"] for n in range(count)]
        team = world.groups.create(scope(), {"displayName": "Team", "externalId": "ext-team",
                                             "members": [{"value": u} for u in ids[:members]]}).body["id"]
        return {"users": ids, "group": team}
    return setup


def converged(outcome: Outcome, faulted: bool, done: bool) -> None:
    """After a fault: a 2xx means done; any other answer is a retryable one or the fault's own (a 409 for a taken
    name, a 404 for a group gone), and said nothing false. After the retry: done."""
    if not faulted:
        assert outcome.status == 200, outcome
        assert done
    elif outcome.status == 200:
        assert done
    else:
        assert outcome.status in (404, 409, 429, 503), outcome


def test_creating_a_user() -> None:
    def create(world, given):
        return lambda: world.users.create(scope(), {"userName": "alice@contoso.com", "externalId": "e-1"})

    assert with_faults(lambda world: None, create, _create_check) >= 3


def _create_check(world: World, given, outcome: Outcome, faulted: bool) -> None:
    users = list(world.store.resources.scan_tenant(IDP, "User"))
    if outcome.status == 200:
        assert [u.attributes["userName"] for u in users] == ["alice@contoso.com"]
    elif faulted:
        assert outcome.status in (409, 429, 503)
        assert len(users) <= 1  # nothing, or the user whose write landed before the timeout
    else:
        # The retry of a create whose first write landed (a timeout after it): the name is taken, by that user.
        assert outcome.status == 409 and len(users) == 1


def test_renaming_a_user() -> None:
    def setup(world):
        return world.users.create(scope(), {"userName": "alice@contoso.com"}).body["id"]

    def rename(world, alice):
        return lambda: world.users.patch(scope(), alice, patch(
            {"op": "replace", "path": "userName", "value": "alice2@contoso.com"}))

    def check(world: World, alice, outcome: Outcome, faulted: bool) -> None:
        name = world.store.resources.get(IDP, "User", alice).attributes["userName"]
        converged(outcome, faulted, name == "alice2@contoso.com")
        assert name in ("alice@contoso.com", "alice2@contoso.com")

    with_faults(setup, rename, check)


def test_deleting_a_user_in_groups() -> None:
    def delete(world, given):
        return lambda: world.users.delete(scope(), given["users"][0])

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        gone = given["users"][0] not in world.user_ids()
        if not faulted and outcome.status == 404:
            gone = True  # the retry of a deletion that landed before its timeout
            outcome = Outcome(200)
        converged(outcome, faulted, gone)
        if gone:
            assert all(u != given["users"][0] for _, u in world.memberships())
        else:
            assert (given["group"], given["users"][0]) in world.memberships()

    with_faults(users_and_group(2, members=2), delete, check)


@pytest.mark.parametrize("count", [1, 60])
def test_adding_members(count: int) -> None:
    def add(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "add", "path": "members", "value": [{"value": u} for u in given["users"]]}))

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        members = {u for _, u in world.memberships()}
        converged(outcome, faulted, members == set(given["users"]))
        assert members <= set(given["users"])

    with_faults(users_and_group(count), add, check)


def test_removing_members() -> None:
    def remove(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "remove", "path": "members", "value": [{"value": u} for u in given["users"]]}))

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        converged(outcome, faulted, world.memberships() == set())

    with_faults(users_and_group(3, members=3), remove, check)


@pytest.mark.parametrize("count", [2, 60])
def test_a_group_patch_of_attributes_and_members(count: int) -> None:
    def mixed(world, given):
        return lambda: world.groups.patch(scope(), given["group"], patch(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": u} for u in given["users"]]}))

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        stored = world.store.resources.get(IDP, "Group", given["group"])
        members = {u for _, u in world.memberships()}
        renamed = stored.attributes["displayName"] == "Renamed"
        converged(outcome, faulted, renamed and members == set(given["users"]))
        if renamed:
            assert members == set(given["users"])  # the attributes are written last, or with the members
        if count <= 49 and not renamed:
            assert members == set()  # one transaction: all or nothing

    with_faults(users_and_group(count), mixed, check)


def test_replacing_a_group() -> None:
    def put(world, given):
        return lambda: world.groups.replace(scope(), given["group"], {
            "displayName": "Replaced", "members": [{"value": given["users"][1]}]})

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        stored = world.store.resources.get(IDP, "Group", given["group"])
        members = {u for _, u in world.memberships()}
        done = stored.attributes == {"displayName": "Replaced"} and members == {given["users"][1]}
        converged(outcome, faulted, done)
        if not done:
            assert stored.attributes["displayName"] == "Team" and members == {given["users"][0]}

    with_faults(users_and_group(2, members=1), put, check)


def test_creating_a_group_with_members() -> None:
    def create(world, given):
        return lambda: world.groups.create(scope(), {"displayName": "New", "members": [
            {"value": u} for u in given["users"]]})

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        new = [g for g in world.group_ids() if g != given["group"]]
        if not faulted and outcome.status == 409:
            return  # the retry of a create whose write landed before its timeout
        converged(outcome, faulted, len(new) == 1)
        if new:
            assert {u for g, u in world.memberships() if g == new[0]} == set(given["users"])

    with_faults(users_and_group(3), create, check)


def test_deleting_a_group() -> None:
    def delete(world, given):
        return lambda: world.groups.delete(scope(), given["group"])

    def check(world: World, given, outcome: Outcome, faulted: bool) -> None:
        gone = given["group"] not in world.group_ids()
        if not faulted and outcome.status == 404:
            gone, outcome = True, Outcome(200)
        converged(outcome, faulted, gone)
        if gone:
            assert world.memberships() == set()

    with_faults(users_and_group(2, members=2), delete, check)
