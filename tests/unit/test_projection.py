"""`attributes` and `excludedAttributes` (RFC 7644 §3.9): `project` picks what a response carries."""

from __future__ import annotations

import copy

import pytest

from scim_endpoint.scim.projection import project

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

USER = {
    "schemas": [CORE_USER, ENTERPRISE],
    "id": "2441309d85324e7793ae",
    "externalId": "7fce0092",
    "userName": "jyoung@contoso.com",
    "name": {"familyName": "Young", "givenName": "Joy", "formatted": "Joy Young"},
    "active": True,
    "emails": [
        {"value": "jyoung@contoso.com", "type": "work", "primary": True},
        {"value": "joy@home.example", "type": "home"},
    ],
    "meta": {"resourceType": "User", "lastModified": "2018-03-27T19:59:26.000Z"},
    ENTERPRISE: {"department": "Engineering", "employeeNumber": "701984", "manager": {"value": "m-1"}},
}

GROUP = {
    "schemas": [CORE_GROUP],
    "id": "g1",
    "externalId": "8aa1a0c0",
    "displayName": "Engineering",
    "members": [{"value": "u1"}, {"value": "u2"}],
    "meta": {"resourceType": "Group"},
}

ALWAYS = {"schemas": USER["schemas"], "id": USER["id"]}


@pytest.fixture
def user() -> dict:
    return copy.deepcopy(USER)


def test_no_projection_returns_the_resource(user: dict) -> None:
    assert project(user) == USER


@pytest.mark.parametrize(
    "attributes, extra",
    [
        (("userName",), {"userName": "jyoung@contoso.com"}),
        (("USERNAME",), {"userName": "jyoung@contoso.com"}),
        (("userName", "active"), {"userName": "jyoung@contoso.com", "active": True}),
        (("name",), {"name": USER["name"]}),
        (("name.givenName",), {"name": {"givenName": "Joy"}}),
        (("NAME.GIVENNAME",), {"name": {"givenName": "Joy"}}),
        (("name.givenName", "name.familyName"), {"name": {"givenName": "Joy", "familyName": "Young"}}),
        (("emails.value",), {"emails": [{"value": "jyoung@contoso.com"}, {"value": "joy@home.example"}]}),
        (
            ("emails.value", "emails.type"),
            {
                "emails": [
                    {"value": "jyoung@contoso.com", "type": "work"},
                    {"value": "joy@home.example", "type": "home"},
                ]
            },
        ),
        (("emails", "emails.value"), {"emails": USER["emails"]}),
        (("emails.value", "emails"), {"emails": USER["emails"]}),
        (("name", "name.givenName"), {"name": USER["name"]}),
        (("meta.lastModified",), {"meta": {"lastModified": "2018-03-27T19:59:26.000Z"}}),
        # URN-qualified core names, in any case.
        ((f"{CORE_USER}:userName",), {"userName": "jyoung@contoso.com"}),
        ((f"{CORE_USER}:name.givenName",), {"name": {"givenName": "Joy"}}),
        ((f"{CORE_USER.upper()}:USERNAME",), {"userName": "jyoung@contoso.com"}),
        # The extension: whole, one attribute, a sub-attribute, in any case.
        ((ENTERPRISE,), {ENTERPRISE: USER[ENTERPRISE]}),
        ((f"{ENTERPRISE}:department",), {ENTERPRISE: {"department": "Engineering"}}),
        ((f"{ENTERPRISE.lower()}:DEPARTMENT",), {ENTERPRISE: {"department": "Engineering"}}),
        ((f"{ENTERPRISE}:manager.value",), {ENTERPRISE: {"manager": {"value": "m-1"}}}),
        (
            (f"{ENTERPRISE}:department", f"{ENTERPRISE}:employeeNumber"),
            {ENTERPRISE: {"department": "Engineering", "employeeNumber": "701984"}},
        ),
        # Unknown names are ignored; id and schemas are always there.
        (("nickName",), {}),
        (("name.middleName",), {}),
        (("id",), {}),
        (("schemas",), {}),
    ],
)
def test_attributes_keeps_id_schemas_and_the_asked_ones(user: dict, attributes: tuple[str, ...], extra: dict) -> None:
    assert project(user, attributes=attributes) == {**ALWAYS, **extra}


@pytest.mark.parametrize(
    "excluded, expected_missing, changed",
    [
        (("userName",), {"userName"}, {}),
        (("USERNAME", "Active"), {"userName", "active"}, {}),
        (("emails",), {"emails"}, {}),
        (("name.givenName",), set(), {"name": {"familyName": "Young", "formatted": "Joy Young"}}),
        (
            ("emails.primary",),
            set(),
            {
                "emails": [
                    {"value": "jyoung@contoso.com", "type": "work"},
                    {"value": "joy@home.example", "type": "home"},
                ]
            },
        ),
        ((f"{CORE_USER}:externalId",), {"externalId"}, {}),
        ((ENTERPRISE,), {ENTERPRISE}, {}),
        (
            (f"{ENTERPRISE}:manager",),
            set(),
            {ENTERPRISE: {"department": "Engineering", "employeeNumber": "701984"}},
        ),
        (
            (f"{ENTERPRISE.upper()}:Department",),
            set(),
            {ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m-1"}}},
        ),
        # id and schemas are never dropped; unknown names are ignored.
        (("id", "schemas"), set(), {}),
        (("nickName", "name.middleName"), set(), {}),
    ],
)
def test_excluded_attributes_drops_them(
    user: dict, excluded: tuple[str, ...], expected_missing: set[str], changed: dict
) -> None:
    expected = {key: value for key, value in USER.items() if key not in expected_missing}
    expected.update(changed)
    assert project(user, excluded=excluded) == expected


def test_entra_group_lookup_without_members() -> None:
    group = copy.deepcopy(GROUP)
    shown = project(group, excluded=("members",))
    assert "members" not in shown
    assert shown == {key: value for key, value in GROUP.items() if key != "members"}
    assert group == GROUP


def test_attributes_wins_over_excluded_attributes(user: dict) -> None:
    assert project(user, attributes=("userName",), excluded=("userName",)) == {
        **ALWAYS,
        "userName": "jyoung@contoso.com",
    }


def test_extension_absent_from_the_resource_is_ignored() -> None:
    group = copy.deepcopy(GROUP)
    assert project(group, attributes=(f"{ENTERPRISE}:department",)) == {"schemas": GROUP["schemas"], "id": "g1"}
    assert project(group, excluded=(f"{ENTERPRISE}:department",)) == GROUP


@pytest.mark.parametrize(
    "attributes, excluded",
    [
        (("name.givenName", "emails.value", f"{ENTERPRISE}:manager.value", ENTERPRISE, "name"), ()),
        (("name", "name.givenName", "emails", "emails.type", ENTERPRISE, f"{ENTERPRISE}:department"), ()),
        ((), ("name.givenName", "emails.value", f"{ENTERPRISE}:manager", f"{ENTERPRISE}:department", "userName")),
        ((), (ENTERPRISE, "members", "meta.lastModified")),
    ],
)
def test_the_original_is_never_mutated(user: dict, attributes: tuple[str, ...], excluded: tuple[str, ...]) -> None:
    project(user, attributes=attributes, excluded=excluded)
    assert user == USER
