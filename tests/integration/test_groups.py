"""The Groups endpoint through the real handlers: every group request of docs/entra.md §2.8, §3, §4 and §8
(create, lookup, membership check, both member-removal dialects, rename, the validator's replace, delete), members
kept as items of their own, User.groups, privileges and tenant isolation."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Tenant, new_guid
from tests.entra_requests import (
    COMPAT2020_GROUP_ADD_MEMBER, COMPAT_REMOVE_MEMBER_WITH_FLAG, COMPAT_REMOVE_MEMBER_WITHOUT_FLAG,
    MEMBERSHIP_CHECK_FILTER, REF_ADD_MEMBER, REF_GROUP_CREATE, REF_REMOVE_ALL_MEMBERS, REF_REMOVE_MEMBER,
    TUT_GROUP_ADD_MEMBERS, TUT_GROUP_CREATE, TUT_GROUP_LOOKUP_QUERY, TUT_GROUP_REMOVE_MEMBERS, TUT_GROUP_RENAME,
    VALIDATOR_ADD_THEN_REMOVE_MEMBER, VALIDATOR_GROUP_RENAME, VALIDATOR_GROUP_REPLACE_EXTERNAL_ID,
    VALIDATOR_REPLACE_MEMBERS, with_member_ids,
)
from tests.integration.test_users import SEARCH_REQUEST, attributes, patch_op, user, version
from tests.support import GROUP_SCHEMA, Groups, Users, error, ok, table_items

MS_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


# --- helpers (also used by the other Groups test modules) ----------------------------------------------------------


def group(display_name: str | None = None, **extra: Any) -> dict:
    body = {"schemas": [GROUP_SCHEMA], "displayName": display_name or f"Group {new_guid()}"}
    body.update(extra)
    return body


def tut_add(*user_ids: str) -> dict:
    """The tutorial's "Add members" with several values (the gallery checklist: several memberships in one PATCH)."""
    (operation,) = copy.deepcopy(TUT_GROUP_ADD_MEMBERS)["Operations"]
    operation["value"] = [{"$ref": None, "value": user_id} for user_id in user_ids]
    return patch_op(operation)


def remove_listed(*user_ids: str) -> dict:
    """Entra's default removal: path `members`, the members to remove in `value`."""
    (operation,) = copy.deepcopy(COMPAT_REMOVE_MEMBER_WITHOUT_FLAG)["Operations"]
    operation["value"] = [{"value": user_id} for user_id in user_ids]
    return patch_op(operation)


def new_users(users: Users, count: int) -> list[str]:
    return [users.create(user(f"member{n}-{new_guid()[:8]}@contoso.com", displayName=f"Member {n}"))["id"]
            for n in range(count)]


def seed_users(tenant: Tenant, count: int) -> list[str]:
    """Users written straight through the store (with their guards), as the endpoint would create them: faster."""
    from scim_endpoint.resources import common
    from scim_endpoint.scim.resource_types import USER
    from scim_endpoint.store import Stored, store

    ids = []
    now = common.timestamp()
    for n in range(count):
        attributes = {"schemas": [USER.schema], "userName": f"bulk{n}-{new_guid()[:8]}@contoso.com"}
        stored = Stored(new_guid(), attributes, now, now, 1)
        store().resources.create(tenant.idp_id, USER.name, stored, common.unique_keys(USER, attributes))
        ids.append(stored.id)
    return ids


def group_items(tenant: Tenant) -> list[dict]:
    """The tenant's group items, guards and member items (everything under `T#<idp>#Group` or `#Members#`)."""
    prefixes = (f"T#{tenant.idp_id}#Group", f"T#{tenant.idp_id}#Members#")
    return [item for item in table_items() if item["pk"]["S"].startswith(prefixes)]


def member_items(tenant: Tenant, group_id: str) -> set[str]:
    pk = f"T#{tenant.idp_id}#Members#{group_id}"
    return {item["sk"]["S"] for item in table_items() if item["pk"]["S"] == pk}


# --- create --------------------------------------------------------------------------------------------------------


def test_tut_create_with_the_microsoft_schema_uri(groups: Groups) -> None:
    body = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    assert body.get("members", []) == []
    assert attributes(body) in (
        {"schemas": [GROUP_SCHEMA], "externalId": TUT_GROUP_CREATE["externalId"], "displayName": "displayName"},
        {"schemas": [GROUP_SCHEMA], "externalId": TUT_GROUP_CREATE["externalId"], "displayName": "displayName",
         "members": []},
    )
    assert MS_GROUP_SCHEMA not in str(body)
    result = groups.get(body["id"], "?excludedAttributes=members")
    assert ok(result) == {k: v for k, v in body.items() if k != "members"}
    assert result.headers["etag"] == 'W/"1"'


def test_ref_create_with_an_empty_member_list(groups: Groups) -> None:
    body = groups.create(copy.deepcopy(REF_GROUP_CREATE))
    assert body.get("members", []) == []
    assert groups.read(body["id"]).get("members", []) == []
    assert groups.filter('displayName eq "GroupA"') == [{k: v for k, v in body.items() if k != "members"}]


def test_create_with_members(groups: Groups, users: Users, tenant: Tenant) -> None:
    alice, bob = new_users(users, 2)
    sent = [{"value": alice, "display": "Alice", "$ref": f"{tenant.url}/Users/{alice}"},
            {"value": bob, "type": "User"}]
    body = groups.create(group("Sales", members=copy.deepcopy(sent)))
    assert sorted(body["members"], key=lambda m: m["value"]) == sorted(sent, key=lambda m: m["value"])
    read = groups.read(body["id"])
    assert read == body
    assert sorted(read["members"], key=lambda m: m["value"]) == sorted(sent, key=lambda m: m["value"])
    assert groups.is_member(body["id"], alice) and groups.is_member(body["id"], bob)


def test_create_with_the_same_member_twice(groups: Groups, users: Users) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(group("Twice", members=[{"value": alice}, {"value": alice, "display": "Alice"}]))
    assert [m["value"] for m in body["members"]] == [alice]
    assert groups.member_ids(body["id"]) == {alice}


@pytest.mark.parametrize("who", ["unknown", "other-tenant", "group"])
def test_create_with_a_member_who_is_not_a_user_of_the_tenant_leaves_nothing(
    groups: Groups, users: Users, call, make_tenant, who: str
) -> None:
    (alice,) = new_users(users, 1)
    if who == "unknown":
        stranger = new_guid()
    elif who == "other-tenant":
        stranger = Users(call, make_tenant(name="Fabrikam")).create(user("elsewhere@fabrikam.com"))["id"]
    else:
        stranger = groups.create(group("Nested"))["id"]  # nested groups are not supported: members are users
    sent = group("Doomed", externalId="ext-doomed", members=[{"value": alice}, {"value": stranger}])
    error(groups.post(sent), 400, "invalidValue")
    assert groups.filter('displayName eq "Doomed"') == []
    assert groups.filter('externalId eq "ext-doomed"') == []
    assert ok(users.get(alice)).get("groups") is None
    assert ok(groups.list())["totalResults"] == (1 if who == "group" else 0)
    # In the table: no group item, guard or member item of it (only the nested group's item and name guard).
    items = [(item["pk"]["S"].removeprefix(f"T#{groups.tenant.idp_id}#"), item["sk"]["S"])
             for item in group_items(groups.tenant)]
    assert sorted(items) == ([("Group", stranger), ("Group#displayName#nested", "UNIQUE")] if who == "group" else [])
    # The name and externalId are free again.
    groups.create(group("Doomed", externalId="ext-doomed"))


def test_create_with_many_members_and_one_unknown_leaves_nothing(groups: Groups, users: Users,
                                                                fast_transactions) -> None:
    """More members than one transaction checks: the users are checked before anything is written."""
    known = seed_users(users.tenant, 60)
    members = [{"value": user_id} for user_id in known[:30]] + [{"value": new_guid()}] + [
        {"value": user_id} for user_id in known[30:]]
    error(groups.post(group("Big", members=members)), 400, "invalidValue")
    assert groups.filter('displayName eq "Big"') == []
    body = groups.create(group("Big", members=[{"value": user_id} for user_id in known]))
    assert groups.member_ids(body["id"]) == set(known)


@pytest.mark.parametrize("count", [1, 60])
def test_create_that_fails_writing_its_members_leaves_nothing(groups: Groups, users: Users, monkeypatch,
                                                              fast_transactions, count: int) -> None:
    """DynamoDB throttling the members' transaction: the client gets 429 and may retry the POST (not a 409 on a
    half-made group of its own). A few members are written with the group, in its transaction; more than fit one
    transaction after it, and then the group is taken back."""
    from scim_endpoint.scim.errors import Throttled
    from scim_endpoint.store.memberships import DynamoMembershipStore
    from scim_endpoint.store.resources import DynamoResourceStore

    members = [{"value": user_id} for user_id in seed_users(users.tenant, count)]
    real_create = DynamoResourceStore.create

    def throttled(self, *args, **kwargs):
        raise Throttled("DynamoDB is busy.", retry_after=1)

    def create_without_members_only(self, idp_id, resource_type, stored, unique_keys, members=None):
        if members is not None:
            raise Throttled("DynamoDB is busy.", retry_after=1)
        return real_create(self, idp_id, resource_type, stored, unique_keys, members)

    with monkeypatch.context() as patched:
        patched.setattr(DynamoMembershipStore, "write", throttled)
        patched.setattr(DynamoResourceStore, "create", create_without_members_only)
        error(groups.post(group("Busy", members=members)), 429)
    assert groups.filter('displayName eq "Busy"') == []
    body = groups.create(group("Busy", members=members))
    assert groups.member_ids(body["id"]) == {m["value"] for m in members}


def test_a_large_create_whose_undo_fails_too_answers_the_first_error(groups: Groups, users: Users, monkeypatch,
                                                                     fast_transactions, caplog) -> None:
    """Members throttled, and then the undo too: the client gets the throttling (not the undo's error), the log says
    which group stayed, and a client's path on — 409 on the retried POST, lookup by displayName, PATCH of the
    members — ends with the whole group."""
    from scim_endpoint.scim.errors import ServiceUnavailable, Throttled
    from scim_endpoint.store.memberships import DynamoMembershipStore
    from scim_endpoint.store.resources import DynamoResourceStore

    members = [{"value": user_id} for user_id in seed_users(users.tenant, 120)]
    real_write = DynamoMembershipStore.write
    writes = {"n": 0}

    def second_step_throttled(self, idp_id, member_writes):
        writes["n"] += 1
        if writes["n"] > 1:
            raise Throttled("DynamoDB is busy.", retry_after=1)
        return real_write(self, idp_id, member_writes)

    def unavailable(self, *args, **kwargs):
        raise ServiceUnavailable("DynamoDB is unreachable.")

    with monkeypatch.context() as patched:
        patched.setattr(DynamoMembershipStore, "write", second_step_throttled)
        patched.setattr(DynamoResourceStore, "delete", unavailable)
        error(groups.post(group("Stuck", members=members)), 429)
    (stayed,) = groups.filter('displayName eq "Stuck"')
    assert any(r.getMessage() == "a group whose members failed could not be deleted again"
               and getattr(r, "resource_id", None) == stayed["id"] for r in caplog.records)
    assert 0 < len(groups.member_ids(stayed["id"])) < len(members)
    error(groups.post(group("Stuck", members=members)), 409, "uniqueness")
    groups.patched(stayed["id"], patch_op({"op": "add", "path": "members", "value": members}))
    assert groups.member_ids(stayed["id"]) == {m["value"] for m in members}


def test_create_with_an_invalid_member_is_400(groups: Groups) -> None:
    for members in ([{"value": "u", "type": "Group"}], [{"display": "no value"}], [{"value": ""}], [{"value": 7}],
                    [{"value": "x" * 2000}], [{}], "not a list of members"):
        error(groups.post(group("Invalid", members=members)), 400, "invalidValue")
        assert groups.filter('displayName eq "Invalid"') == [], members


def test_duplicate_display_name_in_any_case_is_409(groups: Groups) -> None:
    first = groups.create(group("Sales"))
    for other_case in ("SALES", "sales", "Sales"):
        body = error(groups.post(group(other_case)), 409, "uniqueness")
        assert "displayName" in body["detail"]
    assert groups.filter('displayName eq "sAlEs"') == [first]
    assert ok(groups.list())["totalResults"] == 1


def test_duplicate_external_id_is_409(groups: Groups) -> None:
    first = groups.create(group("One", externalId="ext-1"))
    body = error(groups.post(group("Two", externalId="ext-1")), 409, "uniqueness")
    assert "externalId" in body["detail"]
    assert groups.filter('displayName eq "Two"') == []
    assert groups.filter('externalId eq "ext-1"') == [first]


def test_missing_display_name_is_400(groups: Groups) -> None:
    error(groups.post({"schemas": [GROUP_SCHEMA], "externalId": "x"}), 400, "invalidValue")
    assert ok(groups.list())["totalResults"] == 0


# --- reading and filtering -----------------------------------------------------------------------------------------


def test_tut_lookup_by_display_name_in_any_case(groups: Groups, users: Users) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    groups.patched(body["id"], tut_add(alice))
    without = {k: v for k, v in body.items() if k != "members"}

    found = ok(groups.list(TUT_GROUP_LOOKUP_QUERY))
    assert found["totalResults"] == 1 and found["Resources"] == [without]
    for text in ('displayName eq "DISPLAYNAME"', 'DisplayName eq "displayname"', 'displayName eq displayName'):
        assert groups.filter(text) == [without]  # the validator's "different case"; unquoted (older docs)
    assert groups.filter(f'externalId eq "{TUT_GROUP_CREATE["externalId"]}"') == [without]
    assert groups.filter(f'externalId eq "{TUT_GROUP_CREATE["externalId"].upper()}"') == []  # case-exact
    assert groups.filter(f'id eq "{body["id"]}"') == [without]
    assert groups.filter('displayName eq "nothing like it"') == []
    assert groups.filter(f'id eq "{new_guid()}"') == []
    # Without excludedAttributes the members come along.
    (full,) = groups.filter('displayName eq "displayName"', extra="")
    assert full["members"] == [{"value": alice}]
    # .search as well.
    searched = ok(groups.search({"schemas": [SEARCH_REQUEST], "filter": 'displayName eq "DisplayName"',
                                 "excludedAttributes": ["members"]}))
    assert searched["Resources"] == [without]


def test_get_with_and_without_members(groups: Groups, users: Users, tenant: Tenant) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Readers"))
    groups.patched(body["id"], patch_op({"op": "add", "path": "members", "value": [
        {"value": alice, "display": "Alice A.", "$ref": f"{tenant.url}/Users/{alice}"},
        {"value": bob, "$ref": None}]}))

    result = groups.get(body["id"], "?excludedAttributes=members")
    assert "members" not in ok(result) and result.headers["etag"] == 'W/"1"'
    assert "members" not in groups.read(body["id"], "?excludedAttributes=Members")
    assert "members" not in groups.read(body["id"], f"?excludedAttributes={GROUP_SCHEMA}:members")
    assert "members" not in groups.read(body["id"], "?attributes=displayName")
    full = groups.read(body["id"])
    assert sorted(full["members"], key=lambda m: m["value"]) == sorted([
        {"value": alice, "display": "Alice A.", "$ref": f"{tenant.url}/Users/{alice}"}, {"value": bob}],
        key=lambda m: m["value"])
    assert groups.read(body["id"], "?attributes=members")["members"] == full["members"]
    # Members do not change the group's version.
    assert version(full) == 1


def test_if_none_match_answers_304_only_without_members(groups: Groups, users: Users) -> None:
    """Members change without the group's version changing, so a read that carries them is answered in full: a 304
    would hide a member written since. Without members the version says everything (Entra reads groups so)."""
    alice, = new_users(users, 1)
    body = groups.create(group("Watchers"))
    unchanged = {"If-None-Match": 'W/"1"'}
    assert groups.get(body["id"], "?excludedAttributes=members", headers=unchanged).status == 304
    assert groups.get(body["id"], "?attributes=displayName", headers=unchanged).status == 304
    groups.patched(body["id"], patch_op({"op": "add", "path": "members", "value": [{"value": alice}]}))
    for query in ("", "?attributes=members", "?excludedAttributes=externalId"):
        result = groups.get(body["id"], query, headers=unchanged)
        assert [m["value"] for m in ok(result)["members"]] == [alice], query
        assert result.headers["etag"] == 'W/"1"'
    assert groups.get(body["id"], "?excludedAttributes=members", headers=unchanged).status == 304


def test_list_of_groups(groups: Groups, users: Users) -> None:
    (alice,) = new_users(users, 1)
    first = groups.create(group("A"))
    second = groups.create(group("B", members=[{"value": alice}]))
    listed = ok(groups.list())
    assert listed["totalResults"] == 2
    by_id = {r["id"]: r for r in listed["Resources"]}
    assert "members" not in by_id[first["id"]]
    assert by_id[second["id"]]["members"] == [{"value": alice}]
    without = ok(groups.list("excludedAttributes=members"))
    assert all("members" not in r for r in without["Resources"])


MEMBERSHIP_CHECKS = [
    MEMBERSHIP_CHECK_FILTER,
    'id eq "{group}" and members.value eq "{user}"',
    'members eq "{user}" and id eq "{group}"',
    'members.value eq "{user}" and id eq "{group}"',
    "id eq {group} and members eq {user}",
    'ID eq "{group}" AND Members eq "{user}"',
    'id eq "{group}" and urn:ietf:params:scim:schemas:core:2.0:Group:members eq "{user}"',
]


def test_searches_show_all_of_a_groups_members_never_just_those_a_filter_read(groups: Groups, users: Users) -> None:
    """A filter on members reads only the members it asks about; a response that shows members shows all of them,
    at `/Groups/.search`, in `GET /Groups` and at the root `/.search` alike (which used to show none, or only the
    filtered one)."""
    alice, bob = new_users(users, 2)
    team = groups.create(group("Team", members=[{"value": alice}, {"value": bob}]))
    groups.create(group("Empty"))
    everyone = sorted([alice, bob])
    member_filter = f'members eq "{alice}"'
    shown = [
        ok(groups.search({"filter": member_filter}))["Resources"],
        ok(groups.list(f"filter={quote(member_filter)}"))["Resources"],
        ok(groups.request("POST", "/.search", {"filter": member_filter}))["Resources"],
        [r for r in ok(groups.request("POST", "/.search", {}))["Resources"] if r["id"] == team["id"]],
    ]
    for resources in shown:
        assert [r["id"] for r in resources] == [team["id"]]
        assert [m["value"] for m in resources[0]["members"]] == everyone
        assert list(resources[0])[-1] == "meta"
    root = ok(groups.request("POST", "/.search", {"filter": 'displayName eq "Empty"'}))["Resources"]
    assert len(root) == 1 and "members" not in root[0]
    excluded = ok(groups.request("POST", "/.search", {"filter": member_filter, "excludedAttributes": ["members"]}))
    assert "members" not in excluded["Resources"][0]


def test_membership_check(groups: Groups, users: Users) -> None:
    """Entra's `id eq "g" and members eq "u"`, and the variants §2.8 asks to accept: 1 result when a member."""
    alice, bob = new_users(users, 2)
    body = groups.create(group("Checked"))
    other = groups.create(group("Other", members=[{"value": bob}]))

    def answers(user_id: str, group_id: str | None = None) -> list[bool]:
        return [groups.is_member(group_id or body["id"], user_id, form) for form in MEMBERSHIP_CHECKS]

    assert answers(alice) == [False] * len(MEMBERSHIP_CHECKS)
    groups.patched(body["id"], tut_add(alice))
    assert answers(alice) == [True] * len(MEMBERSHIP_CHECKS)
    assert answers(bob) == [False] * len(MEMBERSHIP_CHECKS)
    assert answers(alice, other["id"]) == [False] * len(MEMBERSHIP_CHECKS)
    assert answers(bob, other["id"]) == [True] * len(MEMBERSHIP_CHECKS)
    assert answers(alice, new_guid()) == [False] * len(MEMBERSHIP_CHECKS)
    groups.patched(body["id"], remove_listed(alice))
    assert answers(alice) == [False] * len(MEMBERSHIP_CHECKS)


def test_membership_check_with_attributes_id(groups: Groups, users: Users) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(group("Checked", members=[{"value": alice}]))
    text = quote(MEMBERSHIP_CHECK_FILTER.format(group=body["id"], user=alice), safe="")
    found = ok(groups.list(f"filter={text}&attributes=id"))
    assert found["totalResults"] == 1
    assert found["Resources"][0]["id"] == body["id"] and "members" not in found["Resources"][0]


def test_groups_of_a_member_by_filter(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    first = groups.create(group("First", members=[{"value": alice}]))
    groups.create(group("Second", members=[{"value": bob}]))
    found = groups.filter(f'members eq "{alice}"')
    assert [g["id"] for g in found] == [first["id"]]
    found = groups.filter('members.display pr', extra="attributes=id")
    assert found == []


# --- PATCH: members -------------------------------------------------------------------------------------------------


def test_tut_add_several_members_in_one_patch(groups: Groups, users: Users) -> None:
    ids = new_users(users, 5)
    body = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    groups.patched(body["id"], tut_add(*ids))
    assert groups.member_ids(body["id"]) == set(ids)
    assert all(m == {"value": m["value"]} for m in groups.members(body["id"]))  # `"$ref": null` is no value
    # Members do not change the group's version or lastModified.
    after = groups.read(body["id"], "?excludedAttributes=members")
    assert after == {k: v for k, v in body.items() if k != "members"}


@pytest.mark.parametrize("sent", [TUT_GROUP_ADD_MEMBERS, COMPAT2020_GROUP_ADD_MEMBER, REF_ADD_MEMBER],
                         ids=["tut", "compat2020", "ref"])
def test_every_add_dialect(groups: Groups, users: Users, sent: dict) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(group("Dialects"))
    groups.patched(body["id"], with_member_ids(sent, alice))
    assert groups.member_ids(body["id"]) == {alice}


def test_adding_an_existing_member_is_a_no_op(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Idempotent", members=[{"value": alice}]))
    groups.patched(body["id"], tut_add(alice))
    groups.patched(body["id"], tut_add(alice, bob))
    groups.patched(body["id"], tut_add(alice, bob))
    assert sorted(m["value"] for m in groups.members(body["id"])) == sorted([alice, bob])


@pytest.mark.parametrize("sent", [COMPAT_REMOVE_MEMBER_WITHOUT_FLAG, TUT_GROUP_REMOVE_MEMBERS],
                         ids=["compat-without-flag", "tut-null-ref"])
def test_remove_with_a_value_list_removes_only_those_members(groups: Groups, users: Users, sent: dict) -> None:
    """The famous failure of other servers: Entra's default removal must not empty the group."""
    ids = new_users(users, 4)
    body = groups.create(group("Keep the others"))
    groups.patched(body["id"], tut_add(*ids))
    groups.patched(body["id"], with_member_ids(sent, ids[1]))
    assert groups.member_ids(body["id"]) == {ids[0], ids[2], ids[3]}
    groups.patched(body["id"], remove_listed(ids[0], ids[3]))
    assert groups.member_ids(body["id"]) == {ids[2]}
    assert groups.is_member(body["id"], ids[2]) and not groups.is_member(body["id"], ids[0])


@pytest.mark.parametrize("sent", [COMPAT_REMOVE_MEMBER_WITH_FLAG, REF_REMOVE_MEMBER], ids=["compat-flag", "ref"])
def test_remove_by_value_filter(groups: Groups, users: Users, sent: dict) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Filtered", members=[{"value": alice}, {"value": bob}]))
    groups.patched(body["id"], with_member_ids(sent, alice))
    assert groups.member_ids(body["id"]) == {bob}


def test_remove_by_another_filter(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("By display", members=[{"value": alice, "display": "Alice"},
                                                      {"value": bob, "display": "Bob"}]))
    groups.patched(body["id"], patch_op({"op": "remove", "path": 'members[display eq "bob"]'}))
    assert groups.member_ids(body["id"]) == {alice}


def test_removing_an_absent_member_is_a_no_op(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Absent", members=[{"value": alice}]))
    groups.patched(body["id"], remove_listed(bob))
    groups.patched(body["id"], remove_listed(new_guid()))
    groups.patched(body["id"], with_member_ids(COMPAT_REMOVE_MEMBER_WITH_FLAG, bob))
    assert groups.member_ids(body["id"]) == {alice}


def test_remove_without_a_value_empties_the_group(groups: Groups, users: Users) -> None:
    ids = new_users(users, 3)
    body = groups.create(group("Emptied", members=[{"value": i} for i in ids]))
    groups.patched(body["id"], copy.deepcopy(REF_REMOVE_ALL_MEMBERS))
    assert groups.members(body["id"]) == []
    assert "members" not in groups.read(body["id"])
    groups.patched(body["id"], copy.deepcopy(REF_REMOVE_ALL_MEMBERS))  # an empty group stays empty
    assert all(not groups.is_member(body["id"], i) for i in ids)


def test_validator_replace_sets_the_member_list(groups: Groups, users: Users) -> None:
    ids = new_users(users, 4)
    body = groups.create(group("Replaced", members=[{"value": ids[0]}, {"value": ids[2]}, {"value": ids[3]}]))
    groups.patched(body["id"], with_member_ids(VALIDATOR_REPLACE_MEMBERS, ids[0], ids[1]))
    assert groups.member_ids(body["id"]) == {ids[0], ids[1]}
    assert member_items(groups.tenant, body["id"]) == {ids[0], ids[1]}
    groups.patched(body["id"], patch_op({"op": "Replace", "path": "members", "value": []}))
    assert groups.members(body["id"]) == []


def test_validator_add_then_remove_of_the_same_member(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Preview", members=[{"value": bob}]))
    groups.patched(body["id"], with_member_ids(VALIDATOR_ADD_THEN_REMOVE_MEMBER, alice))
    assert groups.member_ids(body["id"]) == {bob}
    groups.patched(body["id"], tut_add(alice))
    groups.patched(body["id"], with_member_ids(VALIDATOR_ADD_THEN_REMOVE_MEMBER, alice))
    assert groups.member_ids(body["id"]) == {bob}


def test_scalar_member_value(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Scalar"))
    groups.patched(body["id"], patch_op({"op": "Add", "path": "members", "value": alice}))
    groups.patched(body["id"], patch_op({"op": "add", "path": "members", "value": [bob]}))
    assert groups.member_ids(body["id"]) == {alice, bob}
    groups.patched(body["id"], patch_op({"op": "Remove", "path": "members", "value": alice}))
    assert groups.member_ids(body["id"]) == {bob}


def test_path_less_members(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Pathless", members=[{"value": alice}]))
    groups.patched(body["id"], patch_op({"op": "add", "value": {"members": [{"value": bob}]}}))
    assert groups.member_ids(body["id"]) == {alice, bob}
    groups.patched(body["id"], patch_op({"op": "replace", "value": {"displayName": "Pathless 2",
                                                                    "members": [{"value": alice}]}}))
    after = groups.read(body["id"])
    assert after["displayName"] == "Pathless 2" and {m["value"] for m in after["members"]} == {alice}
    # Named by its URN, members are still members: checked, and kept as items, never in the group's own item.
    error(groups.patch(body["id"], patch_op({"op": "add", "value": {f"{GROUP_SCHEMA}:members": [
        {"value": new_guid()}]}})), 400, "invalidValue")
    groups.patched(body["id"], patch_op({"op": "add", "value": {f"{GROUP_SCHEMA}:members": [{"value": bob}]}}))
    assert member_items(groups.tenant, body["id"]) == {alice, bob}
    (item,) = [i for i in group_items(groups.tenant)
               if i["pk"]["S"] == f"T#{groups.tenant.idp_id}#Group" and i["sk"]["S"] == body["id"]]
    assert "members" not in item["resource"]["M"]


def test_members_and_attributes_in_one_patch(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Mixed", members=[{"value": alice}]))
    groups.patched(body["id"], patch_op(
        {"op": "Replace", "path": "displayName", "value": "Mixed 2"},
        {"op": "Add", "path": "members", "value": [{"value": bob}]},
        {"op": "Remove", "path": "members", "value": [{"value": alice}]},
        {"op": "replace", "path": "externalId", "value": "ext-mixed"}))
    after = groups.read(body["id"])
    assert after["displayName"] == "Mixed 2" and after["externalId"] == "ext-mixed"
    assert {m["value"] for m in after["members"]} == {bob}
    assert version(after) == 2


def test_adding_a_non_user_writes_nothing_of_the_patch(groups: Groups, users: Users, call, make_tenant) -> None:
    alice, bob, carol = new_users(users, 3)
    elsewhere = Users(call, make_tenant(name="Fabrikam")).create(user("x@fabrikam.com"))["id"]
    body = groups.create(group("Atomic", members=[{"value": carol}]))
    for stranger in (new_guid(), elsewhere, body["id"]):
        error(groups.patch(body["id"], tut_add(alice, stranger)), 400, "invalidValue")
        error(groups.patch(body["id"], patch_op(
            {"op": "Add", "path": "members", "value": [{"value": alice}]},
            {"op": "Remove", "path": "members", "value": [{"value": carol}]},
            {"op": "Add", "path": "members", "value": [{"value": stranger}]})), 400, "invalidValue")
        # With an attribute change: the rename does not happen either.
        error(groups.patch(body["id"], patch_op(
            {"op": "Replace", "path": "displayName", "value": "Renamed"},
            {"op": "Add", "path": "members", "value": [{"value": bob}, {"value": stranger}]})), 400, "invalidValue")
        # A replace of the whole list: the current members stay.
        error(groups.patch(body["id"], patch_op({"op": "replace", "path": "members", "value": [
            {"value": alice}, {"value": stranger}]})), 400, "invalidValue")
    after = groups.read(body["id"])
    assert after["displayName"] == "Atomic" and version(after) == 1
    assert {m["value"] for m in after["members"]} == {carol}
    assert member_items(groups.tenant, body["id"]) == {carol}


INVALID_MEMBER_OPERATIONS = [
    ({"op": "add", "path": "members.value", "value": "x"}, "mutability"),
    ({"op": "replace", "path": 'members[value eq "x"].display', "value": "x"}, "mutability"),
    ({"op": "add", "path": "members", "value": [{"value": "x", "type": "Group"}]}, "invalidValue"),
    ({"op": "add", "path": "members", "value": [{"display": "no id"}]}, "invalidValue"),
    ({"op": "remove", "path": "members", "value": [{"$ref": None}]}, "invalidValue"),
    ({"op": "add", "path": 'members[value eq "x"]', "value": [{"value": "x"}]}, "invalidPath"),
    ({"op": "move", "path": "members", "value": [{"value": "x"}]}, "invalidSyntax"),
    ({"op": "add", "path": "members", "value": [{"value": "x" * 2000}]}, "invalidValue"),
    # A path-less remove names no target, whatever its value holds (RFC 7644 §3.5.2.2), as on a group's own attributes.
    ({"op": "remove", "value": {"members": [{"value": "x"}]}}, "noTarget"),
]


def test_invalid_member_patches_change_nothing(groups: Groups, users: Users) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(group("Invalid", members=[{"value": alice}]))
    for operation, scim_type in INVALID_MEMBER_OPERATIONS:
        error(groups.patch(body["id"], patch_op(operation)), 400, scim_type)
    # Removing ids no user can have: nothing to remove.
    groups.patched(body["id"], patch_op({"op": "remove", "path": "members", "value": [{"value": "x" * 2000}]}))
    groups.patched(body["id"], patch_op({"op": "remove", "path": "members",
                                         "value": [{"value": "x" * 2000}, {"value": "y"}]}))
    assert groups.member_ids(body["id"]) == {alice}


# --- PATCH: attributes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [TUT_GROUP_RENAME, VALIDATOR_GROUP_RENAME], ids=["tut", "validator-path-less"])
def test_rename_moves_the_uniqueness_guard(groups: Groups, users: Users, sent: dict) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    groups.patched(body["id"], tut_add(alice))
    new_name = (sent["Operations"][0].get("value") if "path" in sent["Operations"][0]
                else sent["Operations"][0]["value"]["displayName"])
    groups.patched(body["id"], copy.deepcopy(sent))

    after = groups.read(body["id"])
    assert after["displayName"] == new_name and version(after) == 2
    assert {m["value"] for m in after["members"]} == {alice}  # members stay
    assert groups.filter('displayName eq "displayName"') == []
    assert [g["id"] for g in groups.filter(f'displayName eq "{new_name.upper()}"')] == [body["id"]]
    assert ok(users.get(alice))["groups"][0]["display"] == new_name
    # The old name is free.
    groups.create(group("displayName"))


def test_rename_to_a_taken_name_is_409_and_changes_nothing(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    taken = groups.create(group("Taken"))
    mine = groups.create(group("Mine", members=[{"value": alice}]))
    error(groups.patch(mine["id"], patch_op({"op": "Replace", "path": "displayName", "value": "TAKEN"})),
          409, "uniqueness")
    error(groups.patch(mine["id"], patch_op({"op": "replace", "value": {"displayName": "taken"}},
                                            {"op": "add", "path": "members", "value": [{"value": bob}]})),
          409, "uniqueness")
    after = groups.read(mine["id"])
    assert after["displayName"] == "Mine" and version(after) == 1
    assert {m["value"] for m in after["members"]} == {alice}
    assert [g["id"] for g in groups.filter('displayName eq "mine"')] == [mine["id"]]
    assert [g["id"] for g in groups.filter('displayName eq "taken"')] == [taken["id"]]


def test_rename_in_another_case_of_its_own_name(groups: Groups) -> None:
    body = groups.create(group("Case"))
    groups.patched(body["id"], patch_op({"op": "replace", "path": "displayName", "value": "CASE"}))
    assert groups.read(body["id"])["displayName"] == "CASE"
    assert [g["id"] for g in groups.filter('displayName eq "case"')] == [body["id"]]


def test_validator_path_less_external_id(groups: Groups) -> None:
    body = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    groups.patched(body["id"], copy.deepcopy(VALIDATOR_GROUP_REPLACE_EXTERNAL_ID))
    new_external_id = VALIDATOR_GROUP_REPLACE_EXTERNAL_ID["Operations"][0]["value"]["externalId"]
    assert groups.read(body["id"])["externalId"] == new_external_id
    assert [g["id"] for g in groups.filter(f'externalId eq "{new_external_id}"')] == [body["id"]]
    assert groups.filter(f'externalId eq "{TUT_GROUP_CREATE["externalId"]}"') == []


# --- PATCH: missing groups, versions --------------------------------------------------------------------------------


def test_patch_of_a_deleted_or_unknown_group_is_404(groups: Groups, users: Users) -> None:
    ids = new_users(users, 2)
    gone = groups.create(group("Gone", members=[{"value": ids[1]}]))
    assert groups.delete(gone["id"]).status == 204
    bodies = {
        "add": tut_add(ids[0]),
        "remove-listed": remove_listed(ids[0]),
        "remove-absent": remove_listed(new_guid()),
        "remove-filter": with_member_ids(COMPAT_REMOVE_MEMBER_WITH_FLAG, ids[0]),
        "remove-all": copy.deepcopy(REF_REMOVE_ALL_MEMBERS),
        "replace": with_member_ids(VALIDATOR_REPLACE_MEMBERS, ids[0], ids[1]),
        "remove-other-filter": patch_op({"op": "remove", "path": 'members[display eq "x"]'}),
        "add-then-remove": with_member_ids(VALIDATOR_ADD_THEN_REMOVE_MEMBER, ids[0]),
        "rename": copy.deepcopy(TUT_GROUP_RENAME),
        "rename-and-add": patch_op({"op": "replace", "path": "displayName", "value": "x"},
                                   {"op": "add", "path": "members", "value": [{"value": ids[0]}]}),
    }
    for name, body in bodies.items():
        for group_id in (gone["id"], new_guid(), "x" * 300):
            result = groups.patch(group_id, copy.deepcopy(body))
            assert result.status == 404, (name, result.body)
            error(result, 404)
    # Nothing was written for the deleted group (its one member item is the cleanup's to delete).
    assert member_items(groups.tenant, gone["id"]) <= {ids[1]}
    assert groups.filter('displayName eq "Gone"') == []


def test_stale_if_match_is_412(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(group("Versioned", members=[{"value": alice}]))
    groups.patched(body["id"], patch_op({"op": "replace", "path": "displayName", "value": "Versioned 2"}),
                   headers={"If-Match": 'W/"1"'})
    stale = {"If-Match": 'W/"1"'}
    error(groups.patch(body["id"], tut_add(bob), headers=stale), 412)
    error(groups.patch(body["id"], remove_listed(alice), headers=stale), 412)
    error(groups.patch(body["id"], copy.deepcopy(TUT_GROUP_RENAME), headers=stale), 412)
    error(groups.put(body["id"], group("Put", members=[{"value": bob}]), headers=stale), 412)
    error(groups.delete(body["id"], headers=stale), 412)
    after = groups.read(body["id"])
    assert after["displayName"] == "Versioned 2" and version(after) == 2
    assert {m["value"] for m in after["members"]} == {alice}
    # The current version goes through.
    groups.patched(body["id"], tut_add(bob), headers={"If-Match": 'W/"2"'})
    assert groups.member_ids(body["id"]) == {alice, bob}


# --- PUT ---------------------------------------------------------------------------------------------------------


def test_put_replaces_attributes_and_members(groups: Groups, users: Users) -> None:
    ids = new_users(users, 4)
    body = groups.create(group("Before", externalId="ext-before", members=[{"value": ids[0]}, {"value": ids[1]}]))
    replaced = ok(groups.put(body["id"], group("After", members=[{"value": ids[1], "display": "B"},
                                                                 {"value": ids[2]}, {"value": ids[2]}])))
    assert replaced["displayName"] == "After" and "externalId" not in replaced and version(replaced) == 2
    assert sorted(replaced["members"], key=lambda m: m["value"]) == sorted(
        [{"value": ids[1], "display": "B"}, {"value": ids[2]}], key=lambda m: m["value"])
    assert groups.read(body["id"]) == replaced
    assert member_items(groups.tenant, body["id"]) == {ids[1], ids[2]}
    assert groups.filter('externalId eq "ext-before"') == [] and groups.filter('displayName eq "Before"') == []
    # Without members: emptied.
    replaced = ok(groups.put(body["id"], group("After")))
    assert "members" not in replaced and groups.members(body["id"]) == []
    # A non-user: 400, nothing changes.
    error(groups.put(body["id"], group("Again", members=[{"value": ids[3]}, {"value": new_guid()}])), 400,
          "invalidValue")
    after = groups.read(body["id"])
    assert after["displayName"] == "After" and "members" not in after
    error(groups.put(new_guid(), group("Nobody")), 404)


# --- DELETE --------------------------------------------------------------------------------------------------------


def test_delete(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    body = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    groups.patched(body["id"], tut_add(alice, bob))
    result = groups.delete(body["id"])
    assert result.status == 204 and result.body is None
    error(groups.get(body["id"]), 404)
    error(groups.get(body["id"], "?excludedAttributes=members"), 404)
    error(groups.delete(body["id"]), 404)
    error(groups.delete(new_guid()), 404)
    assert groups.filter('displayName eq "displayName"') == []
    assert groups.filter(f'id eq "{body["id"]}"') == []
    assert not groups.is_member(body["id"], alice)
    assert "groups" not in ok(users.get(alice))
    assert ok(groups.list())["totalResults"] == 0
    # The name is free again; the new group starts empty.
    again = groups.create(copy.deepcopy(TUT_GROUP_CREATE))
    assert groups.members(again["id"]) == []


# --- User.groups ---------------------------------------------------------------------------------------------------


def test_user_groups(groups: Groups, users: Users, tenant: Tenant) -> None:
    alice, bob = new_users(users, 2)
    sales = groups.create(group("Sales"))
    admins = groups.create(group("Admins"))
    assert "groups" not in ok(users.get(alice))
    groups.patched(sales["id"], tut_add(alice, bob))
    groups.patched(admins["id"], tut_add(alice))

    def expected(*found: dict) -> list[dict]:
        return sorted(({"value": g["id"], "$ref": f"{tenant.url}/Groups/{g['id']}", "display": g["displayName"],
                        "type": "direct"} for g in found), key=lambda g: g["value"])

    read = ok(users.get(alice))
    assert sorted(read["groups"], key=lambda g: g["value"]) == expected(sales, admins)
    assert list(read)[-1] == "meta"
    assert ok(users.get(bob))["groups"] == expected(sales)

    # Not in lists or filters; dropped by excludedAttributes; alone with attributes=groups.
    listed = ok(users.list())
    assert listed["totalResults"] == 2 and all("groups" not in u for u in listed["Resources"])
    assert all("groups" not in u for u in users.filter(f'userName eq "{read["userName"]}"'))
    assert all("groups" not in u for u in users.filter(f'id eq "{alice}"'))
    assert "groups" not in ok(users.get(alice, "?excludedAttributes=groups"))
    assert sorted(ok(users.get(alice, "?attributes=groups"))["groups"], key=lambda g: g["value"]) == expected(
        sales, admins)

    # Follows removals and renames.
    groups.patched(admins["id"], remove_listed(alice))
    assert ok(users.get(alice))["groups"] == expected(sales)
    groups.patched(sales["id"], patch_op({"op": "Replace", "path": "displayName", "value": "Sales EMEA"}))
    assert ok(users.get(alice))["groups"][0]["display"] == "Sales EMEA"
    groups.patched(sales["id"], copy.deepcopy(REF_REMOVE_ALL_MEMBERS))
    assert "groups" not in ok(users.get(alice)) and "groups" not in ok(users.get(bob))
    # A user's PUT or PATCH cannot set them.
    groups.patched(sales["id"], tut_add(alice))
    patched = ok(users.patch(alice, patch_op({"op": "replace", "path": "displayName", "value": "A"})))
    assert ok(users.get(alice))["groups"][0]["value"] == sales["id"]
    assert "groups" not in patched or patched["groups"][0]["value"] == sales["id"]


def test_deleting_a_user_removes_it_from_its_groups(groups: Groups, users: Users) -> None:
    alice, bob = new_users(users, 2)
    sales = groups.create(group("Sales", members=[{"value": alice}, {"value": bob}]))
    admins = groups.create(group("Admins", members=[{"value": alice}]))
    assert users.delete(alice).status == 204
    assert groups.member_ids(sales["id"]) == {bob}
    assert groups.members(admins["id"]) == []
    assert not groups.is_member(sales["id"], alice) and not groups.is_member(admins["id"], alice)
    assert member_items(groups.tenant, sales["id"]) == {bob} and member_items(groups.tenant, admins["id"]) == set()
    # A deleted user cannot be added back.
    error(groups.patch(sales["id"], tut_add(alice)), 400, "invalidValue")


# --- privileges and tenants ----------------------------------------------------------------------------------------


def test_a_read_key_reads_groups_but_cannot_write(groups: Groups, users: Users, add_key) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(group("Readable", members=[{"value": alice}]))
    _, token = add_key(groups.tenant.idp_id, ["groups:read"])
    assert ok(groups.get(body["id"], token=token))["members"] == [{"value": alice}]
    assert ok(groups.list(TUT_GROUP_LOOKUP_QUERY, token=token))["totalResults"] == 0
    found = ok(groups.list(f"filter={quote(MEMBERSHIP_CHECK_FILTER.format(group=body['id'], user=alice))}",
                           token=token))
    assert found["totalResults"] == 1
    assert ok(groups.search({"schemas": [SEARCH_REQUEST], "filter": 'displayName eq "readable"'},
                            token=token))["totalResults"] == 1
    error(groups.post(group("New"), token=token), 403)
    error(groups.patch(body["id"], copy.deepcopy(REF_REMOVE_ALL_MEMBERS), token=token), 403)
    error(groups.patch(body["id"], copy.deepcopy(TUT_GROUP_RENAME), token=token), 403)
    error(groups.put(body["id"], group("Put"), token=token), 403)
    error(groups.delete(body["id"], token=token), 403)
    error(users.get(alice, token=token), 403)
    after = groups.read(body["id"])
    assert after["displayName"] == "Readable" and after["members"] == [{"value": alice}]


def test_a_users_only_key_gets_403_on_groups(groups: Groups, users: Users, add_key) -> None:
    body = groups.create(group("Hidden"))
    _, token = add_key(groups.tenant.idp_id, ["users:write"])
    (alice,) = new_users(users, 1)
    assert ok(users.get(alice, token=token))["id"] == alice
    error(groups.get(body["id"], token=token), 403)
    error(groups.list(token=token), 403)
    error(groups.list(TUT_GROUP_LOOKUP_QUERY, token=token), 403)
    error(groups.search({"schemas": [SEARCH_REQUEST]}, token=token), 403)
    error(groups.post(group("New"), token=token), 403)
    error(groups.patch(body["id"], tut_add(alice), token=token), 403)
    error(groups.put(body["id"], group("Put"), token=token), 403)
    error(groups.delete(body["id"], token=token), 403)
    assert groups.members(body["id"]) == [] and ok(groups.list())["totalResults"] == 1


def test_tenant_isolation(groups: Groups, users: Users, call, make_tenant) -> None:
    alice, bob = new_users(users, 2)
    mine = groups.create(group("Shared name", externalId="ext-shared", members=[{"value": alice}]))
    other_tenant = make_tenant(name="Fabrikam")
    theirs = Groups(call, other_tenant)
    their_users = Users(call, other_tenant)
    (carol,) = new_users(their_users, 1)

    # B sees nothing of A's group.
    error(theirs.get(mine["id"]), 404)
    assert theirs.filter('displayName eq "Shared name"') == []
    assert theirs.filter(f'id eq "{mine["id"]}"') == []
    assert not theirs.is_member(mine["id"], alice)
    assert ok(theirs.list())["totalResults"] == 0
    # B changes nothing of it.
    error(theirs.patch(mine["id"], tut_add(carol)), 404)
    error(theirs.patch(mine["id"], remove_listed(alice)), 404)
    error(theirs.patch(mine["id"], copy.deepcopy(REF_REMOVE_ALL_MEMBERS)), 404)
    error(theirs.patch(mine["id"], copy.deepcopy(TUT_GROUP_RENAME)), 404)
    error(theirs.put(mine["id"], group("Stolen")), 404)
    error(theirs.delete(mine["id"]), 404)
    # B's own group may have the same name and externalId, and cannot hold A's users.
    yours = theirs.create(group("Shared name", externalId="ext-shared"))
    error(theirs.patch(yours["id"], tut_add(alice)), 400, "invalidValue")
    error(theirs.post(group("With a stranger", members=[{"value": bob}])), 400, "invalidValue")
    theirs.patched(yours["id"], tut_add(carol))
    # A cannot add B's user either; A's user has no B groups.
    error(groups.patch(mine["id"], tut_add(carol)), 400, "invalidValue")
    assert theirs.member_ids(yours["id"]) == {carol}
    assert ok(users.get(alice))["groups"] == [{"value": mine["id"], "$ref": f"{groups.tenant.url}/Groups/{mine['id']}",
                                               "display": "Shared name", "type": "direct"}]
    after = groups.read(mine["id"])
    assert after["displayName"] == "Shared name" and {m["value"] for m in after["members"]} == {alice}
    assert version(after) == 1


# --- ids no resource can have ---------------------------------------------------------------------------------------


@pytest.fixture
def dynamodb_key_limits(aws) -> list[str]:
    """DynamoDB refuses a partition key over 2048 bytes and a sort key over 1024 (moto checks only some requests):
    every request the store sends is checked, and refused as DynamoDB would. Returns the refusals."""
    from botocore.exceptions import ClientError

    from scim_endpoint.store import store

    refused: list[str] = []
    limits = {"pk": 2048, "gsi1pk": 2048, "sk": 1024, "gsi1sk": 1024}

    def walk(value: Any):
        if isinstance(value, dict):
            for name, item in value.items():
                if name in limits and isinstance(item, dict) and isinstance(item.get("S"), str):
                    yield name, item["S"]
                else:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    def check(params: dict, model, **kwargs) -> None:
        for name, text in walk(params):
            if len(text.encode()) > limits[name]:
                refused.append(f"{model.name} {name}")
                raise ClientError({"Error": {"Code": "ValidationException", "Message": "key too long"}}, model.name)

    store().table.client.meta.events.register("before-parameter-build.dynamodb", check)
    return refused


def test_ids_longer_than_any_key_are_no_user_and_no_group(groups: Groups, users: Users,
                                                          dynamodb_key_limits: list[str]) -> None:
    (alice,) = new_users(users, 1)
    body = groups.create(group("Keys", members=[{"value": alice}]))
    long_id = "x" * 2000
    # As a member: not a user (add), not a member (remove, membership check).
    error(groups.post(group("Long", members=[{"value": long_id}])), 400, "invalidValue")
    error(groups.post(group("Long", members=[{"value": alice}] + [{"value": long_id}] * 60)), 400, "invalidValue")
    error(groups.patch(body["id"], tut_add(long_id)), 400, "invalidValue")
    error(groups.patch(body["id"], patch_op({"op": "Replace", "path": "displayName", "value": "K"},
                                            {"op": "Add", "path": "members", "value": [{"value": long_id}]})),
          400, "invalidValue")
    error(groups.put(body["id"], group("Keys", members=[{"value": long_id}])), 400, "invalidValue")
    groups.patched(body["id"], remove_listed(long_id))
    groups.patched(body["id"], patch_op({"op": "remove", "path": f'members[value eq "{long_id}"]'}))
    assert not groups.is_member(body["id"], long_id)
    assert groups.filter(f'members eq "{long_id}"') == []
    # As a group: not found.
    for request in (lambda: groups.patch(long_id, tut_add(alice)), lambda: groups.patch(long_id, remove_listed(alice)),
                    lambda: groups.patch(long_id, copy.deepcopy(REF_REMOVE_ALL_MEMBERS)),
                    lambda: groups.patch(long_id, copy.deepcopy(TUT_GROUP_RENAME)),
                    lambda: groups.put(long_id, group("Long")), lambda: groups.delete(long_id),
                    lambda: groups.get(long_id)):
        error(request(), 404)
    assert not groups.is_member(long_id, alice)
    assert dynamodb_key_limits == []
    assert groups.member_ids(body["id"]) == {alice}
