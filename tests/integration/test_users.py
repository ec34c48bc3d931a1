"""The Users endpoint through the real handlers: every create, read, replace, patch and delete that Entra ID and
the Microsoft SCIM Validator send (docs/entra.md §2.3–2.7, §3, §4, §8), with ETags, uniqueness, write-only
passwords, privileges and tenant isolation."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Tenant, new_guid
from tests.entra_requests import (
    COMPAT2020_ADD_DEPARTMENT, COMPAT2020_PRIMARY_AND_PATHLESS, COMPAT_ADD_WITH_FLAG, COMPAT_ADD_WITHOUT_FLAG,
    COMPAT_REPLACE_WITH_FLAG, COMPAT_REPLACE_WITHOUT_FLAG, DISABLE_PATHLESS, DISABLE_WITH_FLAG, DISABLE_WITHOUT_FLAG,
    META_CREATE, TUT_CREATE, TUT_DISABLE, TUT_EXAMPLE_2, TUT_EXAMPLE_5_ADD_MANAGER, TUT_RENAME_USER_NAME,
    TUT_UPDATE_MULTI_VALUED, VALIDATOR_CREATE, VALIDATOR_REMOVE_MANAGER,
)
from tests.support import ERROR_SCHEMA, GROUP_SCHEMA, Groups, Users, error, nones, ok, table_items

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PASSWORD = "Pa55w0rd!-never-stored-7f3a"


# --- helpers (also used by the other Users test modules) -----------------------------------------------------------


def attributes(resource: dict) -> dict:
    """A resource without what the service adds (`id`, `meta`)."""
    return {key: value for key, value in resource.items() if key not in ("id", "meta")}


def version(resource: dict) -> int:
    return int(resource["meta"]["version"].removeprefix('W/"').removesuffix('"'))


def patch_op(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user(user_name: str | None = None, **extra: Any) -> dict:
    body = {"schemas": [USER_SCHEMA], "userName": user_name or f"{new_guid()}@contoso.com"}
    body.update(extra)
    return body


def entra_user(user_name: str | None = None) -> dict:
    """A user as Entra creates it, with enterprise attributes."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": new_guid(),
        "userName": user_name or f"{new_guid()}@contoso.com",
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"primary": True, "type": "work", "value": "jyoung@Contoso.com"}],
        "name": {"formatted": "Joy Young", "familyName": "Young", "givenName": "Joy"},
        ENTERPRISE: {"employeeNumber": "1001", "department": "Sales"},
    }


def items_of(tenant: Tenant) -> list[dict]:
    return [item for item in table_items() if item["pk"]["S"].startswith(f"T#{tenant.idp_id}#User")]


def resource_item(tenant: Tenant, user_id: str) -> dict:
    (item,) = [i for i in items_of(tenant) if i["pk"]["S"] == f"T#{tenant.idp_id}#User" and i["sk"]["S"] == user_id]
    return item


def guard_items(tenant: Tenant) -> list[dict]:
    return [item for item in items_of(tenant) if item["sk"]["S"] == "UNIQUE"]


def guard_keys(tenant: Tenant) -> set[str]:
    return {item["pk"]["S"].removeprefix(f"T#{tenant.idp_id}#User#") for item in guard_items(tenant)}


def password_matches(stored: str, password: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    assert scheme == "scrypt"
    computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                              dklen=len(digest) // 2)
    return computed.hex() == digest


# --- create: the bodies of §2.3 ------------------------------------------------------------------------------------

# The reference Postman tests' "Post user OMalley" (§2.3, §8): `null` sub-values in addresses, `meta` dates in a POST,
# "True" strings.
REF_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "OMalley",
    "active": "True",
    "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": None, "region": None,
                   "postalCode": None, "country": None, "primary": "False"}],
    "meta": {"resourceType": "User", "created": "2016-01-01T00:00:00Z", "lastModified": "2016-01-01T00:00:00Z"},
}


def _tut_create_expected() -> dict:
    expected = copy.deepcopy(TUT_CREATE)
    del expected["meta"], expected["roles"]  # `roles: []` is no value at all
    expected["schemas"] = [USER_SCHEMA]  # no enterprise attribute
    return expected


def _example_2_expected() -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "name": {"familyName": "Young", "givenName": "Joy"},
    }


def _validator_expected() -> dict:
    expected = copy.deepcopy(VALIDATOR_CREATE)
    expected["roles"][0]["primary"] = True
    return expected


def _meta_expected() -> dict:
    expected = copy.deepcopy(META_CREATE)
    del expected["meta"]
    return expected


def _ref_expected() -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": "OMalley",
        "active": True,
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "primary": False}],
    }


CREATES = {
    "tut": (TUT_CREATE, _tut_create_expected),
    "tut-example-2": (TUT_EXAMPLE_2, _example_2_expected),
    "validator": (VALIDATOR_CREATE, _validator_expected),
    "meta-networks": (META_CREATE, _meta_expected),
    "ref-postman": (REF_CREATE, _ref_expected),
}


@pytest.mark.parametrize("name", CREATES)
def test_create_answers_201_with_what_was_sent(users: Users, tenant: Tenant, name: str) -> None:
    sent, expected = CREATES[name]
    body = users.create(copy.deepcopy(sent))
    assert attributes(body) == expected()
    assert nones(body) == []
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])

    # GET by id returns the same resource, with the same ETag.
    result = users.get(body["id"])
    assert ok(result) == body
    assert result.headers["etag"] == 'W/"1"'
    # Entra's matching lookup finds it.
    assert users.filter(f'userName eq "{sent["userName"]}"') == [body]


def test_create_with_the_enterprise_attributes_at_the_top_level(users: Users) -> None:
    """Old Entra (the tutorial's Example 2, docs/entra.md §2.3) puts `department` and `manager` at the top level; they
    land in the extension."""
    body = users.create(user("top@contoso.com", department="Sales", manager={"value": "m-1"}))
    assert body["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert body[ENTERPRISE] == {"department": "Sales", "manager": {"value": "m-1"}}
    assert "department" not in body and "manager" not in body


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/scim+json"])
def test_create_accepts_json_and_scim_json(users: Users, content_type: str) -> None:
    sent = user(displayName="Typed")
    body = users.created(users.post(sent, headers={"Content-Type": content_type}))
    assert attributes(body) == sent
    assert users.read(body["id"]) == body


def test_client_id_meta_and_groups_are_ignored(users: Users, tenant: Tenant) -> None:
    sent = user(
        "ignored@contoso.com",
        id="client-chosen-id",
        meta={"resourceType": "Group", "created": "2000-01-01T00:00:00Z", "version": 'W/"99"',
              "location": "https://evil.example/Users/x"},
        groups=[{"value": "g-1", "display": "Admins"}],
    )
    body = users.create(sent)
    assert body["id"] != "client-chosen-id"
    assert "groups" not in body
    assert attributes(body) == {"schemas": [USER_SCHEMA], "userName": "ignored@contoso.com"}
    error(users.get("client-chosen-id"), 404)

    replaced = ok(users.put(body["id"], {**sent, "displayName": "Put"}))
    assert replaced["id"] == body["id"]
    assert replaced["meta"]["resourceType"] == "User" and replaced["meta"]["created"] == body["meta"]["created"]
    assert replaced["meta"]["location"] == body["meta"]["location"]
    assert replaced["meta"]["version"] == 'W/"2"'
    assert attributes(replaced) == {"schemas": [USER_SCHEMA], "userName": "ignored@contoso.com", "displayName": "Put"}
    assert users.read(body["id"]) == replaced


# --- passwords --------------------------------------------------------------------------------------------------


def test_password_is_write_only_and_kept_only_as_a_hash(users: Users, tenant: Tenant) -> None:
    body = users.create(user("pw@contoso.com", password=PASSWORD))
    user_id = body["id"]

    def no_password(resource: dict) -> None:
        assert "password" not in json.dumps(resource).lower()

    no_password(body)
    no_password(users.read(user_id))
    no_password(ok(users.get(user_id, "?attributes=password")))
    no_password(ok(users.get(user_id, "?attributes=userName,password")))
    no_password(ok(users.list("attributes=password")))
    no_password(ok(users.list(f"filter={quote('userName eq \"pw@contoso.com\"')}")))
    no_password(ok(users.search({"schemas": [SEARCH_REQUEST], "attributes": ["password"]})))

    stored = resource_item(tenant, user_id)["password"]["S"]
    assert stored.startswith("scrypt$") and password_matches(stored, PASSWORD)

    # PUT without a password keeps it; PATCH of another attribute keeps it.
    no_password(ok(users.put(user_id, user("pw@contoso.com", displayName="PW"))))
    no_password(ok(users.patch(user_id, patch_op({"op": "replace", "path": "title", "value": "Boss"}))))
    assert resource_item(tenant, user_id)["password"]["S"] == stored

    # PUT and PATCH with a password replace the hash.
    no_password(ok(users.put(user_id, user("pw@contoso.com", password=PASSWORD + "-put"))))
    after_put = resource_item(tenant, user_id)["password"]["S"]
    assert after_put != stored and password_matches(after_put, PASSWORD + "-put")
    no_password(ok(users.patch(user_id, patch_op({"op": "replace", "path": "password", "value": PASSWORD + "-x"}))))
    after_patch = resource_item(tenant, user_id)["password"]["S"]
    assert password_matches(after_patch, PASSWORD + "-x")
    no_password(ok(users.patch(user_id, patch_op({"op": "replace", "value": {"password": PASSWORD + "-y"}}))))
    assert password_matches(resource_item(tenant, user_id)["password"]["S"], PASSWORD + "-y")

    # The clear text is nowhere in the table: not in the resource, not in its uniqueness guards.
    everything = json.dumps(table_items())
    for text in (PASSWORD, PASSWORD + "-put", PASSWORD + "-x", PASSWORD + "-y"):
        assert text not in everything
    guards = guard_items(tenant)
    assert guards and all("password" not in guard for guard in guards)


# --- uniqueness and validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("other_case", ["ALICE@CONTOSO.COM", "alice@contoso.com", "Alice@Contoso.com"])
def test_duplicate_user_name_in_any_case_is_409(users: Users, other_case: str) -> None:
    first = users.create(user("Alice@contoso.com"))
    body = error(users.post(user(other_case)), 409, "uniqueness")
    assert "userName" in body["detail"]
    assert users.filter('userName eq "alice@CONTOSO.com"') == [first]
    assert ok(users.list())["totalResults"] == 1


def test_duplicate_external_id_is_409_within_a_tenant_only(users: Users, make_tenant, call) -> None:
    first = users.create(user(externalId="ext-1"))
    body = error(users.post(user(externalId="ext-1")), 409, "uniqueness")
    assert "externalId" in body["detail"]
    # externalId is case-exact: another case is another value.
    users.create(user(externalId="EXT-1"))
    assert users.filter('externalId eq "ext-1"') == [first]

    other = Users(call, make_tenant(name="Fabrikam"))
    elsewhere = other.create(user(first["userName"], externalId="ext-1"))
    assert elsewhere["id"] != first["id"]
    assert users.filter('externalId eq "ext-1"') == [first]
    assert other.filter('externalId eq "ext-1"') == [elsewhere]


@pytest.mark.parametrize(
    "sent, scim_type",
    [
        ({"schemas": [USER_SCHEMA], "displayName": "No userName"}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": ""}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": None}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": "x@contoso.com", "favouriteColour": "blue"}, "invalidSyntax"),
        ({"schemas": [USER_SCHEMA], "userName": "x@contoso.com", "name": {"nickname": "x"}}, "invalidSyntax"),
        ({"schemas": [USER_SCHEMA], "userName": "x@contoso.com", "active": "maybe"}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": 42}, "invalidValue"),
        ([{"userName": "x@contoso.com"}], "invalidSyntax"),
    ],
    ids=["missing-userName", "empty-userName", "null-userName", "unknown-attribute", "unknown-sub-attribute",
         "bad-boolean", "number-userName", "not-an-object"],
)
def test_invalid_user_is_400(users: Users, sent: Any, scim_type: str) -> None:
    error(users.post(sent), 400, scim_type)
    assert ok(users.list())["totalResults"] == 0
    assert items_of(users.tenant) == []


@pytest.mark.parametrize("raw", [b"{not json", b'{"userName": "x"', b"", b"\xff\xfe", b"null"])
def test_malformed_json_is_400_invalid_syntax(users: Users, raw: bytes) -> None:
    error(users.post(raw), 400, "invalidSyntax")
    assert items_of(users.tenant) == []


def test_body_over_one_mib_is_413(users: Users) -> None:
    big = json.dumps(user("big@contoso.com", displayName="x" * (1024 * 1024))).encode()
    error(users.post(big), 413)
    assert items_of(users.tenant) == []
    created_user = users.create(user("small@contoso.com"))
    error(users.put(created_user["id"], big), 413)
    error(users.patch(created_user["id"], json.dumps(
        patch_op({"op": "replace", "path": "displayName", "value": "x" * (1024 * 1024)})).encode()), 413)
    assert users.read(created_user["id"]) == created_user


# --- PUT -------------------------------------------------------------------------------------------------------


def test_put_replaces_the_whole_user(users: Users, tenant: Tenant) -> None:
    before = users.create({**entra_user("put@contoso.com"), "password": PASSWORD, "title": "Engineer"})
    hashed = resource_item(tenant, before["id"])["password"]["S"]
    sent = user("put@contoso.com", displayName="Replaced", active="False")
    result = users.put(before["id"], sent)
    after = ok(result)
    assert attributes(after) == {"schemas": [USER_SCHEMA], "userName": "put@contoso.com", "displayName": "Replaced",
                                 "active": False}
    assert after["meta"]["created"] == before["meta"]["created"]
    assert after["meta"]["lastModified"] >= before["meta"]["lastModified"]
    assert after["meta"]["version"] == result.headers["etag"] == 'W/"2"'
    assert users.read(before["id"]) == after
    # The password not sent is kept; the externalId not sent is gone, and so is its guard.
    assert resource_item(tenant, before["id"])["password"]["S"] == hashed
    assert users.filter(f'externalId eq "{before["externalId"]}"') == []
    assert guard_keys(tenant) == {"userName#put@contoso.com"}
    users.create(user(externalId=before["externalId"]))


def test_put_renaming_user_name_moves_its_guard(users: Users, tenant: Tenant) -> None:
    renamed = users.create(user("old@contoso.com", externalId="e-1"))
    after = ok(users.put(renamed["id"], user("New@Contoso.com", externalId="e-1")))
    assert after["userName"] == "New@Contoso.com"
    assert users.filter('userName eq "new@contoso.com"') == [after]
    assert users.filter('userName eq "old@contoso.com"') == []
    assert users.filter('externalId eq "e-1"') == [after]
    assert guard_keys(tenant) == {"userName#new@contoso.com", "externalId#e-1"}
    # The old name is free again.
    taker = users.create(user("OLD@contoso.com"))
    assert users.filter('userName eq "old@contoso.com"') == [taker]
    error(users.post(user("NEW@contoso.com")), 409, "uniqueness")


def test_put_to_another_users_user_name_is_409_and_changes_nothing(users: Users, tenant: Tenant) -> None:
    alice = users.create(user("alice@contoso.com", externalId="a"))
    bob = users.create(user("bob@contoso.com", externalId="b", displayName="Bob"))
    guards = guard_keys(tenant)
    error(users.put(bob["id"], user("ALICE@contoso.com", externalId="b2", displayName="Changed")), 409, "uniqueness")
    error(users.put(bob["id"], user("bob@contoso.com", externalId="a")), 409, "uniqueness")
    assert users.read(alice["id"]) == alice
    assert users.read(bob["id"]) == bob
    assert guard_keys(tenant) == guards
    assert users.filter('userName eq "alice@contoso.com"') == [alice]
    assert users.filter('externalId eq "b2"') == []


def test_put_of_an_unknown_user_is_404(users: Users) -> None:
    error(users.put(new_guid(), user()), 404)
    assert items_of(users.tenant) == []


# --- PATCH: Entra's bodies, both dialects ------------------------------------------------------------------------


def _emails(value: str, **extra: Any) -> list[dict]:
    return [{"primary": True, "type": "work", "value": value, **extra}]


PATCHES = {
    # §2.5 the tutorial's "Update User [Multi-valued properties]"
    "tut-multi-valued": (
        TUT_UPDATE_MULTI_VALUED,
        lambda u: {**u, "emails": _emails("updatedEmail@microsoft.com"),
                   "name": {**u["name"], "familyName": "updatedFamilyName"}},
    ),
    # §2.5 the tutorial's single-valued update: rename userName
    "tut-rename": (
        TUT_RENAME_USER_NAME,
        lambda u: {**u, "userName": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
    ),
    # §2.5 the compatibility page: replace multiple attributes, without the flag
    "compat-replace-default": (
        COMPAT_REPLACE_WITHOUT_FLAG,
        lambda u: {**u, "displayName": "Pvlo", "emails": _emails("TestBcwqnm@test.microsoft.com"),
                   "name": {**u["name"], "givenName": "Gtfd", "familyName": "Pkqf"}, "externalId": "Eqpj",
                   ENTERPRISE: {**u[ENTERPRISE], "employeeNumber": "Eqpj"}},
    ),
    # §2.5 the compatibility page: the same with aadOptscim062020 (path-less value with dotted and URN keys)
    "compat-replace-flag": (
        COMPAT_REPLACE_WITH_FLAG,
        lambda u: {**u, "displayName": "Bjfe", "emails": _emails("TestMhvaes@test.microsoft.com"),
                   "name": {**u["name"], "givenName": "Kkom", "familyName": "Unua"},
                   ENTERPRISE: {**u[ENTERPRISE], "employeeNumber": "Aklq"}},
    ),
    # §2.5 the compatibility page: add a single-valued string attribute, both cases of op
    "compat-add-default": (COMPAT_ADD_WITHOUT_FLAG, lambda u: {**u, "nickName": "Babs"}),
    "compat-add-flag": (COMPAT_ADD_WITH_FLAG, lambda u: {**u, "nickName": "Babs"}),
    # §2.5 the compatibility page's 2020 revision: primary as a boolean, path-less active + userName
    "compat2020-primary-pathless": (
        COMPAT2020_PRIMARY_AND_PATHLESS,
        lambda u: {**u, "emails": _emails("someone@contoso.com"), "active": False, "userName": "someone"},
    ),
    # §2.5 the compatibility page's 2020 revision: add on an extension URN path
    "compat2020-add-department": (
        COMPAT2020_ADD_DEPARTMENT,
        lambda u: {**u, ENTERPRISE: {**u[ENTERPRISE], "department": "Tech Infrastructure"}},
    ),
    # §2.6 disable, without and with the flag, the tutorial's order of keys, and path-less
    "disable-default": (DISABLE_WITHOUT_FLAG, lambda u: {**u, "active": False}),
    "disable-flag": (DISABLE_WITH_FLAG, lambda u: {**u, "active": False}),
    "disable-tut": (TUT_DISABLE, lambda u: {**u, "active": False}),
    "disable-pathless": (DISABLE_PATHLESS, lambda u: {**u, "active": False}),
    "disable-lowercase-string": (
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "REPLACE", "path": "Active", "value": "false"}]},
        lambda u: {**u, "active": False},
    ),
    # §2.5 the tutorial's Example 5: the manager added with a bare path and an array value
    "manager-add": (
        TUT_EXAMPLE_5_ADD_MANAGER,
        lambda u: {**u, ENTERPRISE: {**u[ENTERPRISE], "manager": {
            "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}}},
    ),
    # §2.5 validator "Patch User – Add Manager" as the URN path with an object
    "manager-replace-urn": (
        {"schemas": [PATCH_OP], "Operations": [{
            "op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": {"value": "mgr-2"}}]},
        lambda u: {**u, ENTERPRISE: {**u[ENTERPRISE], "manager": {"value": "mgr-2"}}},
    ),
}


@pytest.mark.parametrize("name", PATCHES)
def test_patch_with_entra_bodies_answers_200_with_the_user(users: Users, name: str) -> None:
    body, change = PATCHES[name]
    before = users.create(entra_user("patch.me@contoso.com"))
    result = users.patch(before["id"], copy.deepcopy(body))
    after = ok(result)
    assert attributes(after) == change(attributes(before))
    assert after["id"] == before["id"]
    assert after["meta"]["version"] == result.headers["etag"] == 'W/"2"'
    assert after["meta"]["created"] == before["meta"]["created"]
    assert after["meta"]["location"] == before["meta"]["location"]
    assert users.read(before["id"]) == after
    # Entra's matching lookup sees the change too.
    assert users.filter(f'userName eq "{after["userName"]}"') == [after]
    # The same PATCH again changes nothing more (Entra resends what differs from its view).
    again = ok(users.patch(before["id"], copy.deepcopy(body)))
    assert again == after


def test_patch_filtered_paths_create_missing_entries(users: Users) -> None:
    """§2.5: the other paths of the tutorial's mapping table (capitalised sub-attributes included), Meta Networks'
    work phone, and the validator's `[primary eq true]` paths, on a user that has none of those entries yet."""
    before = users.create(user("paths@contoso.com", name={"givenName": "Pat", "familyName": "Hu"}))
    after = ok(users.patch(before["id"], patch_op(
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+16175551212"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "55555555555"},
        {"op": "Add", "path": 'emails[type eq "other"].Value', "value": "pat@home.example"},
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Microsoft Way"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
        {"op": "Add", "path": 'addresses[type eq "other"].Formatted', "value": "Somewhere"},
        {"op": "Replace", "path": "preferredLanguage", "value": "en-US"},
        {"op": "Replace", "path": "title", "value": "Engineer"},
    )))
    assert attributes(after) == {
        **attributes(before),
        "phoneNumbers": [{"type": "work", "value": "+16175551212"}, {"type": "mobile", "value": "55555555555"}],
        "emails": [{"type": "other", "value": "pat@home.example"}],
        "addresses": [{"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond"},
                      {"type": "other", "formatted": "Somewhere"}],
        "preferredLanguage": "en-US",
        "title": "Engineer",
    }
    # The validator's "Replace Attributes": primary-filtered paths mixed with a path-less replace.
    validator = ok(users.patch(before["id"], patch_op(
        {"op": "replace", "path": "emails[primary eq true].value", "value": "primary@contoso.com"},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+16175550000"},
        {"op": "replace", "value": {"displayName": "Pat Hu", "nickName": "PH", "active": "True"}},
    )))
    assert validator["emails"] == [{"type": "other", "value": "pat@home.example"},
                                   {"primary": True, "value": "primary@contoso.com"}]
    assert validator["phoneNumbers"][0] == {"type": "work", "value": "+16175550000"}
    assert (validator["displayName"], validator["nickName"], validator["active"]) == ("Pat Hu", "PH", True)
    assert users.read(before["id"]) == validator
    # Entra's removal of a value it no longer has, and the validator's several ops on one attribute.
    removed = ok(users.patch(before["id"], patch_op(
        {"op": "Remove", "path": 'phoneNumbers[type eq "mobile"]'},
        {"op": "Remove", "path": 'addresses[type eq "other"]'},
        {"op": "add", "path": "nickName", "value": "P"},
        {"op": "replace", "path": "nickName", "value": "Patty"},
    )))
    assert removed["phoneNumbers"] == [{"type": "work", "value": "+16175550000"}]
    assert removed["addresses"] == [{"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond"}]
    assert removed["nickName"] == "Patty"
    assert users.read(before["id"]) == removed


def test_disable_keeps_the_user_readable_and_re_enable_restores_it(users: Users) -> None:
    """Validator "Patch User – Disable User": GET by id and the filter both show `active: false`."""
    before = users.create(entra_user("Disabled.User@contoso.com"))
    disabled = ok(users.patch(before["id"], DISABLE_WITHOUT_FLAG))
    assert disabled["active"] is False
    assert users.read(before["id"])["active"] is False
    (found,) = users.filter('userName eq "disabled.user@contoso.com"')
    assert found == disabled and found["active"] is False
    assert users.filter("active eq false") == [disabled]
    assert ok(users.list())["totalResults"] == 1

    enable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    enabled = ok(users.patch(before["id"], enable))
    assert enabled["active"] is True and version(enabled) == 3
    assert attributes(enabled) == attributes(before)
    (found,) = users.filter('userName eq "Disabled.User@contoso.com"')
    assert found == enabled
    assert users.filter("active eq false") == []


def test_manager_add_remove_by_empty_value_and_by_filter(users: Users) -> None:
    before = users.create(entra_user("managed@contoso.com"))
    manager = users.create(user("boss@contoso.com"))
    user_id = before["id"]

    added = ok(users.patch(user_id, patch_op({"op": "Add", "path": "manager", "value": [
        {"$ref": manager["meta"]["location"], "value": manager["id"]}]})))
    assert added[ENTERPRISE]["manager"] == {"$ref": manager["meta"]["location"], "value": manager["id"]}
    # The manager check Entra does before updating it (the 2019 tutorial, docs/entra.md §2.5).
    query = quote(f'id eq "{user_id}" and manager eq "{manager["id"]}"', safe="")
    found = ok(users.list(f"filter={query}&attributes=id"))
    assert found["totalResults"] == 1 and found["Resources"] == [{"schemas": added["schemas"], "id": user_id}]

    # Validator "Patch User – Remove Manager": replace with {"value": ""}.
    removed = ok(users.patch(user_id, VALIDATOR_REMOVE_MANAGER))
    assert "manager" not in removed[ENTERPRISE]
    assert attributes(removed) == attributes(before)
    assert ok(users.list(f"filter={query}"))["totalResults"] == 0

    ok(users.patch(user_id, patch_op({"op": "add", "path": "manager", "value": {"value": manager["id"]}})))
    # A filter that does not match leaves it; one that does removes it (thomaspoignant/scim-patch#453).
    kept = ok(users.patch(user_id, patch_op({"op": "remove", "path": 'manager[value eq "someone-else"]'})))
    assert kept[ENTERPRISE]["manager"] == {"value": manager["id"]}
    gone = ok(users.patch(user_id, patch_op({"op": "remove", "path": f'manager[value eq "{manager["id"]}"]'})))
    assert "manager" not in gone[ENTERPRISE]
    assert users.read(user_id) == gone

    # With only the manager in the extension, removing it drops the extension from `schemas`.
    lone = users.create(user("lone@contoso.com", **{ENTERPRISE: {"manager": {"value": manager["id"]}}}))
    assert lone["schemas"] == [USER_SCHEMA, ENTERPRISE]
    alone = ok(users.patch(lone["id"], patch_op({"op": "replace", "path": f"{ENTERPRISE}:manager",
                                                 "value": {"value": ""}})))
    assert attributes(alone) == {"schemas": [USER_SCHEMA], "userName": "lone@contoso.com"}


def test_patch_renaming_to_a_taken_user_name_is_409_and_changes_nothing(users: Users, tenant: Tenant) -> None:
    alice = users.create(entra_user("alice@contoso.com"))
    bob = users.create(entra_user("bob@contoso.com"))
    guards = guard_keys(tenant)
    body = patch_op(
        {"op": "Replace", "path": "displayName", "value": "Changed"},
        {"op": "Replace", "path": "userName", "value": "ALICE@CONTOSO.COM"},
        {"op": "Replace", "path": "active", "value": "False"},
    )
    error(users.patch(bob["id"], body), 409, "uniqueness")
    error(users.patch(bob["id"], patch_op({"op": "replace", "value": {"externalId": alice["externalId"],
                                                                       "title": "x"}})), 409, "uniqueness")
    assert users.read(bob["id"]) == bob
    assert users.read(alice["id"]) == alice
    assert guard_keys(tenant) == guards
    assert users.filter('userName eq "bob@contoso.com"') == [bob]


def test_patch_renaming_user_name_moves_its_guard(users: Users, tenant: Tenant) -> None:
    before = users.create(user("before@contoso.com"))
    after = ok(users.patch(before["id"], patch_op({"op": "replace", "value": {"userName": "After@contoso.com"}})))
    assert users.filter('userName eq "after@contoso.com"') == [after]
    assert users.filter('userName eq "before@contoso.com"') == []
    assert guard_keys(tenant) == {"userName#after@contoso.com"}
    users.create(user("Before@contoso.com"))
    error(users.post(user("after@contoso.com")), 409, "uniqueness")


def test_patch_of_id_is_400_mutability_unless_it_is_the_same(users: Users) -> None:
    before = users.create(entra_user())
    error(users.patch(before["id"], patch_op({"op": "replace", "path": "id", "value": new_guid()})), 400,
          "mutability")
    error(users.patch(before["id"], patch_op({"op": "replace", "value": {"id": "other"}})), 400, "mutability")
    error(users.patch(before["id"], patch_op({"op": "remove", "path": "id"})), 400, "mutability")
    error(users.patch(before["id"], patch_op({"op": "replace", "path": "displayName", "value": "x"},
                                             {"op": "replace", "path": "id", "value": "x"})), 400, "mutability")
    assert users.read(before["id"]) == before

    same = users.patch(before["id"], patch_op({"op": "replace", "path": "id", "value": before["id"]}))
    assert ok(same) == before
    assert same.headers["etag"] == 'W/"1"'
    assert users.read(before["id"]) == before


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "displayName", "value": "Joy Young"}],
        [{"op": "Replace", "path": "active", "value": "True"}],
        [{"op": "add", "path": "emails", "value": [{"primary": True, "type": "work", "value": "jyoung@Contoso.com"}]}],
        [{"op": "remove", "path": "nickName"}],
        [{"op": "replace", "value": {"name.givenName": "Joy", f"{ENTERPRISE}:department": "Sales"}}],
        [{"op": "replace", "path": "title", "value": "Temp"}, {"op": "remove", "path": "title"}],
    ],
    ids=["same-value", "same-boolean-string", "same-email", "remove-absent", "pathless-same", "set-then-unset"],
)
def test_patch_that_changes_nothing_keeps_the_version(users: Users, operations: list) -> None:
    before = users.create(entra_user())
    result = users.patch(before["id"], patch_op(*operations))
    assert ok(result) == before
    assert result.headers["etag"] == 'W/"1"'
    assert users.read(before["id"]) == before


@pytest.mark.parametrize(
    "body, scim_type",
    [
        (patch_op({"op": "replace", "path": "nosuch", "value": "x"}), "invalidPath"),
        (patch_op({"op": "jump", "path": "displayName", "value": "x"}), "invalidSyntax"),
        (patch_op({"op": "replace", "path": "active", "value": "perhaps"}), "invalidValue"),
        (patch_op({"op": "replace", "path": "userName", "value": ""}), "invalidValue"),
        (patch_op({"op": "remove", "path": "userName"}), "invalidValue"),
        (patch_op({"op": "remove"}), "noTarget"),
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
        ({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "path": "title", "value": "x"}]}, "invalidValue"),
    ],
    ids=["unknown-path", "unknown-op", "bad-boolean", "empty-userName", "remove-userName", "remove-without-path",
         "no-operations", "wrong-schema"],
)
def test_invalid_patch_is_400_and_changes_nothing(users: Users, body: dict, scim_type: str) -> None:
    before = users.create(entra_user())
    error(users.patch(before["id"], body), 400, scim_type)
    assert users.read(before["id"]) == before


def test_patch_of_an_unknown_user_is_404(users: Users) -> None:
    error(users.patch(new_guid(), patch_op({"op": "replace", "path": "active", "value": False})), 404)


# --- ETags --------------------------------------------------------------------------------------------------------


def test_if_match_current_succeeds_and_stale_is_412(users: Users) -> None:
    before = users.create(entra_user("etag@contoso.com"))
    user_id = before["id"]
    change = patch_op({"op": "replace", "path": "title", "value": "One"})

    patched = users.patch(user_id, change, headers={"If-Match": 'W/"1"'})
    assert ok(patched)["title"] == "One" and patched.headers["etag"] == 'W/"2"'
    stale = error(users.patch(user_id, patch_op({"op": "replace", "path": "title", "value": "Two"}),
                              headers={"If-Match": 'W/"1"'}), 412)
    assert stale["status"] == "412"
    put = users.put(user_id, user("etag@contoso.com", title="Put"), headers={"If-Match": '"2"'})  # strong form
    assert ok(put)["title"] == "Put" and put.headers["etag"] == 'W/"3"'
    error(users.put(user_id, user("etag@contoso.com", title="Lost"), headers={"If-Match": 'W/"2"'}), 412)
    # A list of tags matches when one of them does; `*` matches any version.
    listed = users.patch(user_id, patch_op({"op": "replace", "path": "title", "value": "Listed"}),
                         headers={"If-Match": 'W/"1", W/"3"'})
    assert ok(listed)["title"] == "Listed" and listed.headers["etag"] == 'W/"4"'
    star = users.patch(user_id, patch_op({"op": "replace", "path": "title", "value": "Star"}),
                       headers={"If-Match": "*"})
    assert ok(star)["title"] == "Star"
    assert ok(users.put(user_id, user("etag@contoso.com", title="StarPut"), headers={"if-match": "*"}))

    current = users.read(user_id)
    assert current["title"] == "StarPut" and version(current) == 6
    error(users.delete(user_id, headers={"If-Match": 'W/"5"'}), 412)
    assert users.read(user_id) == current
    deleted = users.delete(user_id, headers={"If-Match": current["meta"]["version"]})
    assert deleted.status == 204 and deleted.body is None
    error(users.get(user_id), 404)


def test_if_match_star_on_delete(users: Users) -> None:
    before = users.create(user())
    assert users.delete(before["id"], headers={"If-Match": "*"}).status == 204
    error(users.delete(before["id"], headers={"If-Match": "*"}), 404)


def test_if_none_match(users: Users) -> None:
    before = users.create(user())
    plain = "?excludedAttributes=groups"  # the version follows everything the response carries
    for tag in ('W/"1"', '"1"', "*", 'W/"7", W/"1"'):
        result = users.get(before["id"], plain, headers={"If-None-Match": tag})
        assert result.status == 304, (tag, result.body)
        assert result.body is None
        assert result.headers.get("etag") == 'W/"1"'
    result = users.get(before["id"], plain, headers={"If-None-Match": 'W/"0"'})
    assert ok(result) == before
    ok(users.patch(before["id"], patch_op({"op": "add", "path": "title", "value": "x"})))
    assert ok(users.get(before["id"], plain, headers={"If-None-Match": 'W/"1"'}))["title"] == "x"
    assert users.get(before["id"], plain, headers={"If-None-Match": 'W/"2"'}).status == 304
    assert users.get(before["id"], "?attributes=title", headers={"If-None-Match": 'W/"2"'}).status == 304


def test_if_none_match_is_never_304_for_a_user_with_its_groups(users: Users, groups: Groups) -> None:
    """A user's `groups` change without its version changing (membership is the group's), so a read that carries
    them is answered in full: a 304 would hide a membership written since."""
    member = users.create(user())
    assert ok(users.get(member["id"], headers={"If-None-Match": 'W/"1"'})).get("groups") is None
    group = groups.create({"schemas": [GROUP_SCHEMA], "displayName": "Readers", "members": [{"value": member["id"]}]})
    for query in ("", "?attributes=groups", "?excludedAttributes=title"):
        result = users.get(member["id"], query, headers={"If-None-Match": 'W/"1"'})
        assert [g["value"] for g in ok(result)["groups"]] == [group["id"]], query
        assert result.headers.get("etag") == 'W/"1"'


# --- DELETE -------------------------------------------------------------------------------------------------------


def test_delete(users: Users, tenant: Tenant) -> None:
    before = users.create(user("gone@contoso.com", externalId="gone-ext", password=PASSWORD))
    result = users.delete(before["id"])
    assert result.status == 204
    assert result.body is None  # no body at all
    body = error(users.get(before["id"]), 404)
    assert body["schemas"] == [ERROR_SCHEMA]
    error(users.delete(before["id"]), 404)
    error(users.delete(new_guid()), 404)
    error(users.delete("x" * 300), 404)
    assert users.filter('userName eq "gone@contoso.com"') == []
    assert items_of(tenant) == []  # the guards went with it
    # The userName and externalId are free for a new user.
    again = users.create(user("GONE@contoso.com", externalId="gone-ext"))
    assert again["id"] != before["id"]
    assert users.filter('externalId eq "gone-ext"') == [again]


# --- privileges and tenants ----------------------------------------------------------------------------------------


def test_a_read_key_reads_but_cannot_write(users: Users, add_key) -> None:
    existing = users.create(entra_user("read.me@contoso.com"))
    _, token = add_key(users.tenant.idp_id, ["users:read"])
    assert ok(users.get(existing["id"], token=token)) == existing
    assert ok(users.list(token=token))["Resources"] == [existing]
    assert ok(users.search({"schemas": [SEARCH_REQUEST], "filter": 'userName eq "read.me@contoso.com"'},
                           token=token))["Resources"] == [existing]
    assert ok(users.request("POST", "/.search", {"schemas": [SEARCH_REQUEST]}, token=token))["totalResults"] == 1

    error(users.post(user(), token=token), 403)
    error(users.put(existing["id"], user("read.me@contoso.com"), token=token), 403)
    error(users.patch(existing["id"], patch_op({"op": "replace", "path": "active", "value": False}), token=token), 403)
    error(users.delete(existing["id"], token=token), 403)
    assert users.read(existing["id"]) == existing
    assert ok(users.list())["totalResults"] == 1


def test_a_groups_key_cannot_touch_users(users: Users, add_key) -> None:
    existing = users.create(user("mine@contoso.com"))
    _, token = add_key(users.tenant.idp_id, ["groups:write"])
    error(users.get(existing["id"], token=token), 403)
    error(users.list(token=token), 403)
    error(users.list('filter=userName+eq+"mine@contoso.com"', token=token), 403)
    error(users.search({"schemas": [SEARCH_REQUEST]}, token=token), 403)
    error(users.post(user(), token=token), 403)
    error(users.put(existing["id"], user("mine@contoso.com"), token=token), 403)
    error(users.patch(existing["id"], patch_op({"op": "replace", "path": "active", "value": False}), token=token), 403)
    error(users.delete(existing["id"], token=token), 403)
    # At the root, the key sees only what it may read: groups, not the user.
    root = ok(users.request("POST", "/.search", {"schemas": [SEARCH_REQUEST]}, token=token))
    assert root["totalResults"] == 0
    assert users.read(existing["id"]) == existing


def test_another_tenant_cannot_reach_a_users_id(users: Users, make_tenant, call) -> None:
    mine = users.create(entra_user("isolated@contoso.com"))
    other = Users(call, make_tenant(name="Fabrikam"))
    error(other.get(mine["id"]), 404)
    error(other.put(mine["id"], user("isolated@contoso.com")), 404)
    error(other.patch(mine["id"], patch_op({"op": "replace", "path": "active", "value": "False"})), 404)
    error(other.delete(mine["id"]), 404)
    assert other.filter('userName eq "isolated@contoso.com"') == []
    assert other.filter(f'id eq "{mine["id"]}"') == []
    assert other.filter('userName co "isolated"') == []
    assert ok(other.list())["totalResults"] == 0
    # Tenant A's token on tenant B's URL is refused outright.
    error(other.get(mine["id"], token=users.tenant.token), 401)
    assert users.read(mine["id"]) == mine
    # The same userName is free in the other tenant.
    theirs = other.create(user("isolated@contoso.com"))
    assert theirs["id"] != mine["id"]
    assert users.filter('userName eq "isolated@contoso.com"') == [mine]
