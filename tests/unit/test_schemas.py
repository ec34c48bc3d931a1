"""The schema definitions (RFC 7643 §7, §8.7.1), typed, and their RFC 7643 §7 form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from scim_endpoint.scim import definitions as schemas
from scim_endpoint.scim import schemas as typed
from scim_endpoint.scim.definitions import Attribute
from scim_endpoint.scim.schemas import ENTERPRISE_USER, GROUP, USER
from tests.support import nones

# Their RFC 7643 §7 form, as /Schemas serves them.
USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA = (
    typed.USER_SCHEMA.to_scim(), typed.ENTERPRISE_USER_SCHEMA.to_scim(), typed.GROUP_SCHEMA.to_scim())

ALL_SCHEMAS = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]

REQUIRED_KEYS = {
    "name",
    "type",
    "multiValued",
    "description",
    "required",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
}
OPTIONAL_KEYS = {"canonicalValues", "referenceTypes", "subAttributes"}


def walk(attributes: list[dict[str, Any]], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every attribute and sub-attribute, with its dotted path."""
    for attribute in attributes:
        path = f"{prefix}{attribute['name']}"
        yield path, attribute
        yield from walk(attribute.get("subAttributes", []), f"{path}.")


def all_definitions() -> Iterator[tuple[str, dict[str, Any]]]:
    for schema in ALL_SCHEMAS:
        for path, attribute in walk(schema["attributes"]):
            yield f"{schema['name']}:{path}", attribute


DEFINITIONS = list(all_definitions())
DEFINITION_IDS = [path for path, _ in DEFINITIONS]


def find(schema: dict[str, Any], path: str) -> dict[str, Any]:
    found = dict(walk(schema["attributes"]))
    return found[path]


def sub_names(schema: dict[str, Any], name: str) -> list[str]:
    return [sub["name"] for sub in find(schema, name)["subAttributes"]]


# --- every definition is complete and valid ---------------------------------------------------------------------


@pytest.mark.parametrize("path, attribute", DEFINITIONS, ids=DEFINITION_IDS)
def test_every_attribute_has_every_characteristic_with_a_valid_value(path: str, attribute: dict[str, Any]) -> None:
    assert REQUIRED_KEYS <= attribute.keys(), f"{path} lacks {REQUIRED_KEYS - attribute.keys()}"
    assert attribute.keys() <= REQUIRED_KEYS | OPTIONAL_KEYS, f"{path} has unknown keys"
    assert isinstance(attribute["name"], str) and attribute["name"]
    assert attribute["type"] in schemas.TYPES
    assert isinstance(attribute["multiValued"], bool)
    assert isinstance(attribute["description"], str) and attribute["description"].strip()
    assert isinstance(attribute["required"], bool)
    assert isinstance(attribute["caseExact"], bool)
    assert attribute["mutability"] in schemas.MUTABILITY
    assert attribute["returned"] in schemas.RETURNED
    assert attribute["uniqueness"] in schemas.UNIQUENESS


@pytest.mark.parametrize("path, attribute", DEFINITIONS, ids=DEFINITION_IDS)
def test_optional_characteristics_are_well_formed(path: str, attribute: dict[str, Any]) -> None:
    if attribute["type"] == "complex":
        assert attribute.get("subAttributes"), f"{path} is complex without sub-attributes"
    else:
        assert "subAttributes" not in attribute, f"{path} has sub-attributes but is not complex"
    if "referenceTypes" in attribute:
        assert attribute["type"] == "reference"
        assert attribute["referenceTypes"] and all(isinstance(item, str) for item in attribute["referenceTypes"])
    if attribute["type"] == "reference":
        assert "referenceTypes" in attribute, f"{path} is a reference without referenceTypes"
    if "canonicalValues" in attribute:
        assert isinstance(attribute["canonicalValues"], list)
        assert all(isinstance(item, str) for item in attribute["canonicalValues"])


def test_sub_attributes_are_never_complex() -> None:
    # RFC 7643 §2.3.8: a complex attribute MUST NOT contain sub-attributes that have sub-attributes.
    for path, attribute in all_definitions():
        for sub in attribute.get("subAttributes", []):
            assert sub["type"] != "complex", f"{path}.{sub['name']}"


def test_names_are_unique_per_level_ignoring_case() -> None:
    def check(attributes: list[dict[str, Any]], where: str) -> None:
        lowered = [attribute["name"].lower() for attribute in attributes]
        assert len(lowered) == len(set(lowered)), where
        for attribute in attributes:
            check(attribute.get("subAttributes", []), f"{where}.{attribute['name']}")

    for schema in ALL_SCHEMAS:
        check(schema["attributes"], schema["name"])


def test_no_value_is_none_and_schemas_are_json() -> None:
    for schema in ALL_SCHEMAS:
        assert nones(schema) == []
        assert json.loads(json.dumps(schema, allow_nan=False)) == schema


def test_reference_and_binary_values_are_case_exact() -> None:
    # RFC 7643 §2.3.6 and §2.3.7 (errata 6000, 6001).
    for path, attribute in all_definitions():
        if attribute["type"] in ("reference", "binary"):
            assert attribute["caseExact"] is True, path


# --- identity of the schemas -------------------------------------------------------------------------------------


def test_schema_urns() -> None:
    assert USER == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert ENTERPRISE_USER == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert GROUP == "urn:ietf:params:scim:schemas:core:2.0:Group"
    assert (USER_SCHEMA["id"], ENTERPRISE_USER_SCHEMA["id"], GROUP_SCHEMA["id"]) == (USER, ENTERPRISE_USER, GROUP)
    names = (USER_SCHEMA["name"], ENTERPRISE_USER_SCHEMA["name"], GROUP_SCHEMA["name"])
    assert names == ("User", "EnterpriseUser", "Group")
    assert USER_SCHEMA["description"] == "User Account"


# --- User (RFC 7643 §4.1, §8.7.1) --------------------------------------------------------------------------------


def test_user_has_every_rfc_attribute_in_order() -> None:
    assert [attribute["name"] for attribute in USER_SCHEMA["attributes"]] == [
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ]


def test_common_attributes_are_not_listed_in_any_schema() -> None:
    # RFC 7643 §3.1: id, externalId and meta belong to every resource, not to a schema.
    for schema in ALL_SCHEMAS:
        names = {attribute["name"] for attribute in schema["attributes"]}
        assert not names & {"id", "externalId", "meta", "schemas"}, schema["name"]


def test_user_name_is_required_server_unique_and_case_insensitive() -> None:
    user_name = find(USER_SCHEMA, "userName")
    assert user_name["required"] is True
    assert user_name["uniqueness"] == "server"
    assert user_name["caseExact"] is False
    assert user_name["mutability"] == "readWrite"
    assert user_name["multiValued"] is False
    # Nothing else in the User schema is required.
    assert [path for path, attribute in walk(USER_SCHEMA["attributes"]) if attribute["required"]] == ["userName"]


def test_name_sub_attributes() -> None:
    assert find(USER_SCHEMA, "name")["type"] == "complex"
    assert sub_names(USER_SCHEMA, "name") == [
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
    ]
    for sub in find(USER_SCHEMA, "name")["subAttributes"]:
        assert (sub["type"], sub["mutability"], sub["caseExact"]) == ("string", "readWrite", False)


def test_password_is_write_only_and_never_returned() -> None:
    password = find(USER_SCHEMA, "password")
    assert (password["mutability"], password["returned"]) == ("writeOnly", "never")


def test_active_is_a_boolean() -> None:
    assert find(USER_SCHEMA, "active")["type"] == "boolean"


def test_profile_url_is_an_external_reference() -> None:
    profile_url = find(USER_SCHEMA, "profileUrl")
    assert (profile_url["type"], profile_url["referenceTypes"]) == ("reference", ["external"])


def test_groups_are_read_only_and_reference_groups() -> None:
    groups = find(USER_SCHEMA, "groups")
    assert groups["mutability"] == "readOnly"
    assert groups["multiValued"] is True
    assert sub_names(USER_SCHEMA, "groups") == ["value", "$ref", "display", "type"]
    assert all(sub["mutability"] == "readOnly" for sub in groups["subAttributes"])
    # Errata 8471: a user's groups reference Groups only.
    assert find(USER_SCHEMA, "groups.$ref")["referenceTypes"] == ["Group"]
    assert find(USER_SCHEMA, "groups.type")["canonicalValues"] == ["direct", "indirect"]


def test_emails() -> None:
    emails = find(USER_SCHEMA, "emails")
    assert (emails["type"], emails["multiValued"], emails["mutability"]) == ("complex", True, "readWrite")
    assert sub_names(USER_SCHEMA, "emails") == ["value", "display", "type", "primary"]
    value = find(USER_SCHEMA, "emails.value")
    assert (value["type"], value["caseExact"], value["required"]) == ("string", False, False)
    assert value["mutability"] == "readWrite"
    assert find(USER_SCHEMA, "emails.type")["canonicalValues"] == ["work", "home", "other"]
    assert find(USER_SCHEMA, "emails.primary")["type"] == "boolean"


@pytest.mark.parametrize(
    "name, canonical_types",
    [
        ("emails", ["work", "home", "other"]),
        ("phoneNumbers", ["work", "home", "mobile", "fax", "pager", "other"]),
        ("ims", ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        ("photos", ["photo", "thumbnail"]),
        ("addresses", ["work", "home", "other"]),
    ],
)
def test_multi_valued_attributes_have_the_standard_sub_attributes(name: str, canonical_types: list[str]) -> None:
    # RFC 7643 §2.4: display, type and primary, whatever the §8.7.1 listing omits.
    names = sub_names(USER_SCHEMA, name)
    assert {"display", "type", "primary"} <= set(names)
    assert find(USER_SCHEMA, f"{name}.type")["canonicalValues"] == canonical_types
    assert find(USER_SCHEMA, f"{name}.primary")["type"] == "boolean"
    assert find(USER_SCHEMA, f"{name}.display")["mutability"] == "readWrite"
    assert find(USER_SCHEMA, name)["multiValued"] is True


@pytest.mark.parametrize(
    "name", ["emails", "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates"]
)
def test_value_display_type_primary(name: str) -> None:
    assert sub_names(USER_SCHEMA, name) == ["value", "display", "type", "primary"]


def test_addresses() -> None:
    assert sub_names(USER_SCHEMA, "addresses") == [
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "display",
        "type",
        "primary",
    ]


def test_photos_and_certificates() -> None:
    photo = find(USER_SCHEMA, "photos.value")
    assert (photo["type"], photo["referenceTypes"]) == ("reference", ["external"])
    certificate = find(USER_SCHEMA, "x509Certificates.value")
    assert (certificate["type"], certificate["caseExact"]) == ("binary", True)


def test_canonical_values_are_not_shared_between_definitions() -> None:
    # Mutating one definition's list must not change another's.
    emails_types = find(USER_SCHEMA, "emails.type")["canonicalValues"]
    assert emails_types is not find(USER_SCHEMA, "addresses.type")["canonicalValues"]


# --- Enterprise User (RFC 7643 §4.3) -----------------------------------------------------------------------------


def test_enterprise_user_attributes() -> None:
    assert [attribute["name"] for attribute in ENTERPRISE_USER_SCHEMA["attributes"]] == [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ]
    for attribute in ENTERPRISE_USER_SCHEMA["attributes"][:5]:
        assert (attribute["type"], attribute["multiValued"], attribute["required"]) == ("string", False, False)


def test_manager_sub_attributes_are_optional() -> None:
    # Entra sends manager with only `value`, so neither value nor $ref may be required.
    manager = find(ENTERPRISE_USER_SCHEMA, "manager")
    assert (manager["type"], manager["multiValued"], manager["required"]) == ("complex", False, False)
    assert sub_names(ENTERPRISE_USER_SCHEMA, "manager") == ["value", "$ref", "displayName"]
    assert all(sub["required"] is False for sub in manager["subAttributes"])
    assert find(ENTERPRISE_USER_SCHEMA, "manager.value")["caseExact"] is True
    assert find(ENTERPRISE_USER_SCHEMA, "manager.$ref")["referenceTypes"] == ["User"]
    assert find(ENTERPRISE_USER_SCHEMA, "manager.displayName")["mutability"] == "readOnly"
    assert "REQUIRED" not in find(ENTERPRISE_USER_SCHEMA, "manager.value")["description"]


# --- Group (RFC 7643 §4.2) ---------------------------------------------------------------------------------------


def test_group_attributes() -> None:
    assert [attribute["name"] for attribute in GROUP_SCHEMA["attributes"]] == ["displayName", "members"]
    display_name = find(GROUP_SCHEMA, "displayName")
    assert display_name["required"] is True  # errata 5368
    assert display_name["caseExact"] is False


def test_group_members_hold_users() -> None:
    members = find(GROUP_SCHEMA, "members")
    assert (members["type"], members["multiValued"], members["mutability"]) == ("complex", True, "readWrite")
    assert sub_names(GROUP_SCHEMA, "members") == ["value", "$ref", "display", "type"]
    assert all(sub["mutability"] == "immutable" for sub in members["subAttributes"])
    assert find(GROUP_SCHEMA, "members.$ref")["referenceTypes"] == ["User"]
    assert find(GROUP_SCHEMA, "members.type")["canonicalValues"] == ["User"]
    assert find(GROUP_SCHEMA, "members.value")["caseExact"] is True


# --- typed lookups ------------------------------------------------------------------------------------------------


def test_a_schema_finds_its_attributes_by_name_in_any_case() -> None:
    assert typed.USER_SCHEMA.attribute("USERNAME") is typed.USER_SCHEMA.attributes[0]
    assert typed.USER_SCHEMA.attribute("x509certificates").name == "x509Certificates"
    assert typed.USER_SCHEMA.attribute("password").mutability == "writeOnly"
    assert typed.USER_SCHEMA.attribute("costCenter") is None
    assert {a.name.lower() for a in typed.ENTERPRISE_USER_SCHEMA.attributes} == {
        "employeenumber", "costcenter", "organization", "division", "department", "manager"}
    assert {a.name for a in typed.GROUP_SCHEMA.attributes} == {"displayName", "members"}


def test_an_attribute_finds_its_sub_attributes_by_name_in_any_case() -> None:
    emails = typed.USER_SCHEMA.attribute("emails")
    assert emails.sub("VALUE").name == "value" and emails.sub("nope") is None
    assert typed.USER_SCHEMA.attribute("userName").sub("value") is None


def test_definitions_are_frozen_and_shared() -> None:
    with pytest.raises(AttributeError):
        typed.USER_SCHEMA.attribute("userName").required = False  # type: ignore[misc]
    assert typed.USER_SCHEMA.attribute("emails").single().multi_valued is False
    assert typed.USER_SCHEMA.attribute("emails").multi_valued is True


def test_entra_quirks_are_declared_not_found_by_name() -> None:
    manager = typed.ENTERPRISE_USER_SCHEMA.attribute("manager")
    assert manager.dialect.single_reference is True
    others = [a for s in typed.SCHEMAS.values() for a in s.attributes if a is not manager]
    assert not any(a.dialect.single_reference for a in others)
    # A quirk is no characteristic: it is not served, and two definitions differing only by it are equal.
    assert "dialect" not in json.dumps(manager.to_scim())
    assert Attribute("x", "x") == Attribute("x", "x", dialect=manager.dialect)


def test_case_exact_defaults_as_rfc_7643_says() -> None:
    assert Attribute("r", "r", type="reference").case_exact is True
    assert Attribute("b", "b", type="binary").case_exact is True
    assert Attribute("s", "s").case_exact is False
