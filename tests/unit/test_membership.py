"""membership.split and MemberPlan.resolve: every group PATCH of docs/entra.md §2.8, §4 and §8 read as
changes to a set of user ids (pure: no AWS). The one thing other servers get wrong: `Remove` with `path: "members"`
and a value list removes only those members."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable

import pytest

from scim_endpoint.resources.memberships import MAX_MEMBERS_RETURNED
from scim_endpoint.scim import listing, membership, validation
from scim_endpoint.scim.errors import ScimError
from scim_endpoint.scim.resource_types import GROUP
from tests.entra_requests import (
    COMPAT2020_GROUP_ADD_MEMBER, COMPAT_REMOVE_MEMBER_WITH_FLAG, COMPAT_REMOVE_MEMBER_WITHOUT_FLAG, REF_ADD_MEMBER,
    REF_REMOVE_ALL_MEMBERS, REF_REMOVE_MEMBER, REF_SCALAR_MEMBER, TUT_GROUP_ADD_MEMBERS, TUT_GROUP_REMOVE_MEMBERS,
    TUT_GROUP_RENAME, VALIDATOR_ADD_THEN_REMOVE_MEMBER, VALIDATOR_GROUP_RENAME, VALIDATOR_GROUP_REPLACE_EXTERNAL_ID,
    VALIDATOR_REPLACE_MEMBERS, with_member_ids,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_CORE = "urn:ietf:params:scim:schemas:core:2.0:Group"
ALICE = {"value": "u-alice", "display": "Alice"}
BOB = {"value": "u-bob", "display": "Bob"}
CAROL = {"value": "u-carol", "display": "Carol"}


def patch_op(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def split(body: dict):
    return membership.split(GROUP, copy.deepcopy(body))


def never() -> list[dict]:
    raise AssertionError("the group's members were read, but this PATCH names the members it changes")


class Current:
    """The group's members for `resolve`, counting how often they are read."""

    def __init__(self, *members: dict):
        self.members = [dict(m) for m in members]
        self.calls = 0

    def __call__(self) -> list[dict]:
        self.calls += 1
        return self.members


def resolve(body: dict, current: Callable[[], list[dict]] = never) -> tuple[list[dict], list[str]]:
    attributes, plan = split(body)
    assert attributes is None, attributes
    assert plan
    return plan.resolve(current)


def scim_error(call: Callable[[], object], status: int, scim_type: str) -> ScimError:
    with pytest.raises(ScimError) as caught:
        call()
    assert caught.value.status == status and caught.value.scim_type == scim_type, caught.value.to_body()
    return caught.value


# --- adding --------------------------------------------------------------------------------------------------------


def test_tut_add_members_drops_the_null_ref() -> None:
    adds, removes = resolve(with_member_ids(TUT_GROUP_ADD_MEMBERS, "u-alice"))
    assert adds == [{"value": "u-alice"}] and removes == []


def test_add_of_several_members_in_one_operation() -> None:
    body = patch_op({"op": "Add", "path": "members", "value": [
        {"$ref": None, "value": "u-alice"}, {"$ref": None, "value": "u-bob"},
        {"value": "u-carol", "display": "Carol", "$ref": "https://scim.test/Users/u-carol", "type": "User"}]})
    attributes, plan = split(body)
    assert attributes is None and plan.additions == 3 and not plan.needs_current_members
    adds, removes = plan.resolve(never)
    assert adds == [{"value": "u-alice"}, {"value": "u-bob"},
                    {"value": "u-carol", "display": "Carol", "$ref": "https://scim.test/Users/u-carol",
                     "type": "User"}]
    assert removes == []


def test_compat2020_lower_case_add() -> None:
    assert resolve(with_member_ids(COMPAT2020_GROUP_ADD_MEMBER, "u-bob")) == ([{"value": "u-bob"}], [])


def test_the_same_member_twice_is_added_once() -> None:
    body = patch_op({"op": "add", "path": "members", "value": [{"value": "u-alice"}, {"value": "u-alice"}]},
                    {"op": "add", "path": "members", "value": [{"value": "u-alice", "display": "A"}]})
    assert resolve(body) == ([{"value": "u-alice", "display": "A"}], [])


@pytest.mark.parametrize("value", ["u-alice", {"value": "u-alice"}, ["u-alice"]])
def test_a_scalar_or_single_member_value(value) -> None:
    """Entra and the reference Postman tests' garbage test send a bare id, or one object instead of a list."""
    assert resolve(patch_op({"op": "add", "path": "members", "value": value})) == ([{"value": "u-alice"}], [])


def test_ref_scalar_member() -> None:
    assert resolve(with_member_ids(REF_SCALAR_MEMBER, "u-alice")) == ([{"value": "u-alice"}], [])


def test_ref_add_with_an_operation_name_and_a_member_display_name() -> None:
    """The reference Postman tests name the operation and give the member a `displayName`: neither stops the member
    being added."""
    adds, removes = resolve(with_member_ids(REF_ADD_MEMBER, "u-alice"))
    assert [m["value"] for m in adds] == ["u-alice"] and removes == []


def test_add_without_a_value_adds_nothing() -> None:
    attributes, plan = split(patch_op({"op": "add", "path": "members"}))
    assert attributes is None
    assert plan.resolve(never) == ([], [])


# --- removing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [COMPAT_REMOVE_MEMBER_WITHOUT_FLAG, TUT_GROUP_REMOVE_MEMBERS],
                         ids=["compat-without-flag", "tut-null-ref"])
def test_remove_with_a_value_list_removes_only_those(body: dict) -> None:
    """Entra's default dialect: path `members` and the members in `value`. Never "empty the group"."""
    attributes, plan = split(with_member_ids(body, "u-bob"))
    assert attributes is None and not plan.needs_current_members
    assert plan.resolve(never) == ([], ["u-bob"])


def test_remove_of_several_in_one_value_list() -> None:
    body = patch_op({"op": "Remove", "path": "members", "value": [{"value": "u-alice"}, {"value": "u-bob"}]})
    assert resolve(body) == ([], ["u-alice", "u-bob"])


@pytest.mark.parametrize("body", [COMPAT_REMOVE_MEMBER_WITH_FLAG, REF_REMOVE_MEMBER], ids=["compat-flag", "ref"])
def test_remove_by_value_filter(body: dict) -> None:
    """The flag's dialect: `members[value eq "id"]`, no value; answered from the id, without reading members."""
    assert resolve(with_member_ids(body, "u-carol")) == ([], ["u-carol"])


def test_remove_by_value_filter_joined_with_or() -> None:
    body = patch_op({"op": "remove", "path": 'members[value eq "u-alice" or value eq "u-bob"]'})
    assert resolve(body) == ([], ["u-alice", "u-bob"])


def test_remove_without_value_or_filter_empties_the_group() -> None:
    """The reference Postman tests' "Patch remove all users": the only removal that clears the group."""
    current = Current(ALICE, BOB)
    attributes, plan = split(REF_REMOVE_ALL_MEMBERS)
    assert attributes is None and plan.needs_current_members
    assert plan.resolve(current) == ([], ["u-alice", "u-bob"])
    assert current.calls == 1


def test_remove_with_an_empty_value_list_never_empties_the_group() -> None:
    assert resolve(patch_op({"op": "remove", "path": "members", "value": []}), Current(ALICE, BOB)) == ([], [])


@pytest.mark.parametrize("path, removed", [
    ('members[display eq "Bob"]', ["u-bob"]),
    ('members[display sw "a" or display sw "c"]', ["u-alice", "u-carol"]),  # display is not case-exact
    ('members[value ne "u-alice"]', ["u-bob", "u-carol"]),
    ('members[value eq "u-alice" and display eq "Alice"]', ["u-alice"]),
    ('members[value sw "U-"]', []),  # value is case-exact: an id
])
def test_remove_by_another_filter_reads_the_members(path: str, removed: list[str]) -> None:
    current = Current(ALICE, BOB, CAROL)
    attributes, plan = split(patch_op({"op": "remove", "path": path}))
    assert attributes is None
    assert plan.needs_current_members
    adds, removes = plan.resolve(current)
    assert adds == [] and sorted(removes) == removed
    assert current.calls == 1


def test_remove_of_a_member_that_is_not_there_is_a_plain_removal() -> None:
    """The store deletes nothing then: removing a non-member must not fail (§4)."""
    assert resolve(patch_op({"op": "remove", "path": 'members[value eq "u-nobody"]'}), Current(ALICE)) == (
        [], ["u-nobody"])


# --- replacing, and several operations -----------------------------------------------------------------------------


def test_validator_replace_sets_the_list() -> None:
    current = Current(ALICE, CAROL)
    attributes, plan = split(with_member_ids(VALIDATOR_REPLACE_MEMBERS, "u-alice", "u-bob"))
    assert attributes is None and plan.needs_current_members
    adds, removes = plan.resolve(current)
    assert adds == [{"value": "u-alice"}, {"value": "u-bob"}]
    assert removes == ["u-carol"]
    assert current.calls == 1


def test_replace_with_nothing_empties_the_group() -> None:
    for value in (None, []):
        assert resolve(patch_op({"op": "Replace", "path": "members", "value": value}), Current(ALICE, BOB)) == (
            [], ["u-alice", "u-bob"])


def test_replace_then_add() -> None:
    body = patch_op({"op": "replace", "path": "members", "value": [{"value": "u-alice"}]},
                    {"op": "add", "path": "members", "value": [{"value": "u-bob"}]})
    adds, removes = resolve(body, Current(BOB, CAROL))
    assert adds == [{"value": "u-alice"}, {"value": "u-bob"}]
    assert removes == ["u-carol"]  # Bob was there and stays (written again)


def test_add_then_replace() -> None:
    body = patch_op({"op": "add", "path": "members", "value": [{"value": "u-bob"}]},
                    {"op": "replace", "path": "members", "value": [{"value": "u-alice"}]})
    adds, removes = resolve(body, Current(BOB, CAROL))
    assert adds == [{"value": "u-alice"}]
    assert sorted(removes) == ["u-bob", "u-carol"]


def test_validator_add_then_remove_of_the_same_member_ends_without_it() -> None:
    adds, removes = resolve(with_member_ids(VALIDATOR_ADD_THEN_REMOVE_MEMBER, "u-alice"))
    assert adds == [] and removes == ["u-alice"]


def test_remove_then_add_of_the_same_member_ends_with_it() -> None:
    body = patch_op({"op": "remove", "path": 'members[value eq "u-alice"]'},
                    {"op": "add", "path": "members", "value": [{"value": "u-alice"}]})
    assert resolve(body) == ([{"value": "u-alice"}], [])


def test_clear_then_add_then_remove_by_filter() -> None:
    current = Current(ALICE, BOB)
    body = patch_op({"op": "remove", "path": "members"},
                    {"op": "add", "path": "members", "value": [{"value": "u-carol", "display": "Carol"},
                                                               {"value": "u-dan", "display": "Dan"}]},
                    {"op": "remove", "path": 'members[display eq "Dan"]'})
    adds, removes = resolve(body, current)
    assert adds == [{"value": "u-carol", "display": "Carol"}]
    assert sorted(removes) == ["u-alice", "u-bob"]
    assert current.calls == 1  # read once, however many steps need it


def test_a_filtered_removal_sees_members_added_earlier_in_the_patch() -> None:
    body = patch_op({"op": "add", "path": "members", "value": [{"value": "u-dan", "display": "Dan"}]},
                    {"op": "remove", "path": 'members[display eq "Dan"]'})
    adds, removes = resolve(body, Current(ALICE))
    assert adds == [] and removes == ["u-dan"]


# --- path-less forms and attribute operations ----------------------------------------------------------------------


def test_tut_rename_has_no_member_plan() -> None:
    attributes, plan = split(TUT_GROUP_RENAME)
    assert not plan and plan.additions == 0
    assert attributes == {"schemas": [PATCH_OP], "Operations": TUT_GROUP_RENAME["Operations"]}


@pytest.mark.parametrize("body", [VALIDATOR_GROUP_RENAME, VALIDATOR_GROUP_REPLACE_EXTERNAL_ID])
def test_validator_path_less_attribute_replace_has_no_member_plan(body: dict) -> None:
    attributes, plan = split(body)
    assert not plan
    assert attributes["Operations"] == body["Operations"]


@pytest.mark.parametrize("op", ["add", "Add", "ADD"])
def test_path_less_members(op: str) -> None:
    attributes, plan = split(patch_op({"op": op, "value": {"members": [{"value": "u-alice"}]}}))
    assert attributes is None
    assert plan.resolve(never) == ([{"value": "u-alice"}], [])


def test_path_less_replace_of_members_and_display_name() -> None:
    current = Current(BOB)
    attributes, plan = split(patch_op({"op": "replace", "value": {
        "displayName": "Renamed", "Members": [{"value": "u-alice"}]}}))
    assert attributes == {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"displayName": "Renamed"}}]}
    assert plan.resolve(current) == ([{"value": "u-alice"}], ["u-bob"])


def test_path_less_members_under_the_core_schema_urn_are_members_too() -> None:
    """A key naming `members` by its full URN is still members: it must not land in the group's own item."""
    attributes, plan = split(patch_op({"op": "add", "value": {f"{GROUP_CORE}:members": [{"value": "u-alice"}],
                                                              "displayName": "X"}}))
    assert plan.resolve(never) == ([{"value": "u-alice"}], [])
    assert attributes == {"schemas": [PATCH_OP], "Operations": [{"op": "add", "value": {"displayName": "X"}}]}


def test_paths_in_other_cases_and_under_the_urn() -> None:
    for path in ("Members", "MEMBERS", f"{GROUP_CORE}:members"):
        assert resolve(patch_op({"op": "add", "path": path, "value": [{"value": "u-alice"}]})) == (
            [{"value": "u-alice"}], [])


def test_member_and_attribute_operations_are_split_in_order() -> None:
    rename = {"op": "Replace", "path": "displayName", "value": "New"}
    external = {"op": "replace", "path": "externalId", "value": "ext-2"}
    body = patch_op(rename, {"op": "Add", "path": "members", "value": [{"value": "u-alice"}]}, external,
                    {"op": "Remove", "path": "members", "value": [{"value": "u-bob"}]})
    attributes, plan = split(body)
    assert attributes == {"schemas": [PATCH_OP], "Operations": [rename, external]}
    assert plan.resolve(never) == ([{"value": "u-alice"}], ["u-bob"])


# --- refused -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["members.value", "members.display", 'members[value eq "u-alice"].display',
                                  f"{GROUP_CORE}:members.value"])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_member_sub_attribute_path_is_400_mutability(op: str, path: str) -> None:
    scim_error(lambda: split(patch_op({"op": op, "path": path, "value": "x"})), 400, "mutability")


@pytest.mark.parametrize("member_type", ["Group", "group", "Device", ""])
def test_a_member_type_other_than_user_is_400(member_type: str) -> None:
    body = patch_op({"op": "add", "path": "members", "value": [{"value": "u-alice", "type": member_type}]})
    scim_error(lambda: split(body), 400, "invalidValue")


@pytest.mark.parametrize("member_type", ["User", "user"])
def test_member_type_user_is_fine(member_type: str) -> None:
    body = patch_op({"op": "add", "path": "members", "value": [{"value": "u-alice", "type": member_type}]})
    (added,), _ = resolve(body)
    assert added["value"] == "u-alice"


@pytest.mark.parametrize("member", [{"display": "No id"}, {"value": ""}, {"$ref": None}, {}, {"value": 42},
                                    {"value": ["u-alice"]}, 17, True])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_member_without_a_user_id_is_400(op: str, member) -> None:
    body = patch_op({"op": op, "path": "members", "value": [{"value": "u-ok"}, member]})
    scim_error(lambda: split(body), 400, "invalidValue")


@pytest.mark.parametrize("op", ["add", "replace"])
def test_add_or_replace_with_a_value_filter_is_400(op: str) -> None:
    body = patch_op({"op": op, "path": 'members[value eq "u-alice"]', "value": [{"value": "u-alice"}]})
    scim_error(lambda: split(body), 400, "invalidPath")


@pytest.mark.parametrize("body, scim_type", [
    ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
    ({"schemas": [PATCH_OP]}, "invalidSyntax"),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "members", "value": []}]}, "invalidSyntax"),
    ({"schemas": [PATCH_OP], "Operations": ["add members"]}, "invalidSyntax"),
    ({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "path": "members", "value": "u"}]}, "invalidValue"),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members[value eq]"}]}, "invalidPath"),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "owners", "value": "u"}]}, "invalidPath"),
])
def test_malformed_patches_are_400(body: dict, scim_type: str) -> None:
    scim_error(lambda: split(body), 400, scim_type)


# --- the size of a member ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("character, fitting", [("x", 256), ('"', 64), ("é", 42), ("\U0001F600", 21)])
def test_display_and_ref_are_capped_in_escaped_bytes(character: str, fitting: int) -> None:
    """Caps in characters let a member of non-ASCII or quotes take six times the bytes in a response."""
    for name in ("display", "$ref"):
        assert membership.members_of([{"value": "u-1", name: character * fitting}])[0][name] == character * fitting
        with pytest.raises(ScimError) as raised:
            membership.members_of([{"value": "u-1", name: character * (fitting + 1)}])
        assert raised.value.scim_type == "invalidValue" and "bytes" in raised.value.detail


def test_a_group_of_the_most_members_returned_always_fits_the_response_budget() -> None:
    """A group with MAX_MEMBERS_RETURNED of the largest members allowed, and own attributes as large as a resource
    may be, is still one response: `GET /Groups/{id}` under that count never fails for its size."""
    worst_member = membership.members_of([{"value": str(uuid.uuid4()), "display": '"' * 64, "$ref": '"' * 64,
                                           "type": "User"}])[0]
    own = {"externalId": '"' * (validation.MAX_RESOURCE_BYTES // 2 - 64)}  # 100 KB stored; twice that escaped
    assert len(json.dumps(own)) <= validation.MAX_RESOURCE_BYTES
    group = {"schemas": [GROUP.schema], "id": str(uuid.uuid4()), **own,
             "members": [worst_member] * MAX_MEMBERS_RETURNED,
             "meta": {"resourceType": "Group", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z",
                      "location": "https://" + "h" * 253 + "/v1/scim/" + "i" * 36 + "/Groups/" + str(uuid.uuid4()),
                      "version": 'W/"1000000000"'}}
    assert listing.fits(listing.to_json(group))
