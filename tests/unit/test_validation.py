"""validation.normalize and parse_json: the canonical form of what a client sends (docs/entra.md §2.3, §2.8,
§4), and everything that is refused."""

from __future__ import annotations

import copy
import json

import pytest

from scim_endpoint.scim.errors import ScimError
from scim_endpoint.scim.resource_types import GROUP, USER
from scim_endpoint.scim.validation import (
    MAX_BODY_BYTES,
    MAX_RESOURCE_BYTES,
    MAX_STRING_LENGTH,
    MAX_UNIQUE_VALUE_LENGTH,
    MAX_VALUES_PER_ATTRIBUTE,
    normalize,
    parse_json,
)
from tests.entra_requests import META_CREATE, TUT_CREATE, TUT_EXAMPLE_2, TUT_GROUP_CREATE, VALIDATOR_CREATE

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# The enterprise URN without its last colon, as the tutorial's Example 2 sends it (docs/entra.md §2.3).
MALFORMED_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"


def refused(body, status=400, scim_type=None, resource_type=USER) -> ScimError:
    """normalize(body) must fail with this status (and scimType, when given); the error is returned."""
    with pytest.raises(ScimError) as caught:
        normalize(resource_type, body)
    assert caught.value.status == status
    if scim_type is not None:
        assert caught.value.scim_type == scim_type
    return caught.value


# --- the create bodies of docs/entra.md §2.3, verbatim (tests/entra_requests.py) ------------------------


def test_tut_create():
    assert normalize(USER, copy.deepcopy(TUT_CREATE)) == {
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": [
            {"primary": True, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}
        ],
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    }  # meta ignored, `roles: []` dropped


def test_tut_example_2_nulls_top_level_enterprise_names_and_malformed_urn():
    assert normalize(USER, copy.deepcopy(TUT_EXAMPLE_2)) == {
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "name": {"familyName": "Young", "givenName": "Joy"},
    }


def test_validator_full_create_with_enterprise_extension():
    expected = copy.deepcopy(VALIDATOR_CREATE)
    del expected["schemas"]
    expected["roles"][0]["primary"] = True  # the string "True" becomes a boolean
    assert normalize(USER, copy.deepcopy(VALIDATOR_CREATE)) == expected


def test_meta_networks_derived_create():
    assert normalize(USER, copy.deepcopy(META_CREATE)) == {
        "userName": "alice@contoso.com",
        "active": True,
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "phoneNumbers": [{"type": "work", "value": "+16175551212"}],
    }


def test_reference_postman_create_with_null_sub_values_and_meta_dates():
    # The reference Postman tests' "Post user OMalley": addresses with null sub-values, and meta.created/lastModified
    # inside a POST.
    body = {
        "schemas": [CORE],
        "userName": "OMalley",
        "active": "True",
        "addresses": [{"type": "work", "streetAddress": None, "locality": "Seattle", "region": None}],
        "meta": {"created": "2018-03-27T19:59:26.000Z", "lastModified": "2018-03-27T19:59:26.000Z"},
    }
    assert normalize(USER, body) == {
        "userName": "OMalley",
        "active": True,
        "addresses": [{"type": "work", "locality": "Seattle"}],
    }


def test_inputs_are_not_modified():
    body = copy.deepcopy(VALIDATOR_CREATE)
    normalize(USER, body)
    assert body == VALIDATOR_CREATE


# --- groups (§2.8) ---------------------------------------------------------------------------------------------


def test_tut_group_create_with_microsoft_schema_uri():
    assert normalize(GROUP, copy.deepcopy(TUT_GROUP_CREATE)) == {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
    }


def test_group_members_and_required_display_name():
    members = [{"value": "u1", "$ref": None}, {"value": "u2", "display": "U 2"}]
    assert normalize(GROUP, {"displayName": "G", "members": members}) == {
        "displayName": "G",
        "members": [{"value": "u1"}, {"value": "u2", "display": "U 2"}],
    }
    assert normalize(GROUP, {"displayName": "G", "members": []}) == {"displayName": "G"}
    refused({"members": []}, scim_type="invalidValue", resource_type=GROUP)
    refused({"displayName": "G", "userName": "x"}, scim_type="invalidSyntax", resource_type=GROUP)


# --- names in any case, strings as sent, booleans ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"UserName": "a"}, {"userName": "a"}),
        ({"USERNAME": "a", "EMAILS": [{"Value": "a@x", "TYPE": "work", "Primary": True}]},
         {"userName": "a", "emails": [{"value": "a@x", "type": "work", "primary": True}]}),
        ({"userName": "a", "Name": {"GivenName": "G", "FAMILYNAME": "F"}},
         {"userName": "a", "name": {"givenName": "G", "familyName": "F"}}),
        ({"userName": "a", "ExternalID": "e", "DisplayName": "d", "phonenumbers": [{"value": "1"}]},
         {"userName": "a", "externalId": "e", "displayName": "d", "phoneNumbers": [{"value": "1"}]}),
        ({"userName": "a", ENTERPRISE.upper(): {"Department": "D", "MANAGER": {"VALUE": "m"}}},
         {"userName": "a", ENTERPRISE: {"department": "D", "manager": {"value": "m"}}}),
        ({"Schemas": [CORE.upper()], "userName": "a"}, {"userName": "a"}),
    ],
    ids=["userName", "EMAILS-Value", "name-subs", "common-and-multi", "extension-urn-and-subs", "schemas-key-and-urn"],
)
def test_attribute_names_are_canonical_whatever_their_case(body, expected):
    assert normalize(USER, body) == expected


@pytest.mark.parametrize(
    "attribute, value",
    [
        ("userName", "  Mixed.Case@Example.COM  "),
        ("displayName", "Zoë  O'Brien "),
        ("nickName", "Zoë\tO'Brien\t"),
        ("nickName", ""),
        ("title", "line one\nline two"),
        ("timezone", "America/Los_Angeles"),
        ("profileUrl", "HTTPS://Example.com/Path?Q=1"),
    ],
)
def test_strings_are_kept_exactly_as_sent(attribute, value):
    body = {"userName": "u", attribute: value}
    assert normalize(USER, body)[attribute] == value


def test_multi_valued_sub_attribute_strings_are_kept_exactly():
    # "A phone number sent as 55555555555 shouldn't be saved/returned as +5 (555) 555-5555" (the tutorial).
    body = {"userName": "u", "phoneNumbers": [{"value": "55555555555", "type": "Work"}],
            "emails": [{"value": " BJensen@EXAMPLE.com"}]}
    assert normalize(USER, body)["phoneNumbers"] == [{"value": "55555555555", "type": "Work"}]
    assert normalize(USER, body)["emails"] == [{"value": " BJensen@EXAMPLE.com"}]


@pytest.mark.parametrize(
    "sent, stored",
    [(True, True), (False, False), ("True", True), ("False", False), ("true", True), ("false", False),
     ("TRUE", True), ("FALSE", False)],
)
def test_booleans_from_booleans_and_strings(sent, stored):
    result = normalize(USER, {"userName": "u", "active": sent, "emails": [{"value": "a", "primary": sent}]})
    assert result["active"] is stored
    assert result["emails"][0]["primary"] is stored


@pytest.mark.parametrize("sent", ["maybe", "yes", "1", "", 1, 0, 1.0, [], {}, [True]])
def test_invalid_boolean_is_400_invalid_value(sent):
    error = refused({"userName": "u", "active": sent}, scim_type="invalidValue")
    assert "active" in error.detail
    refused({"userName": "u", "emails": [{"value": "a", "primary": sent}]}, scim_type="invalidValue")


@pytest.mark.parametrize(
    "body, named",
    [
        ({"userName": 5}, "userName"),
        ({"userName": "u", "displayName": 1.5}, "displayName"),
        ({"userName": "u", "displayName": True}, "displayName"),
        ({"userName": "u", "externalId": 42}, "externalId"),
        ({"userName": "u", "name": {"givenName": 3}}, "name.givenName"),
        ({"userName": "u", "emails": [{"value": 7}]}, "emails.value"),
        ({"userName": "u", ENTERPRISE: {"department": 5}}, "department"),
        ({"userName": "u", "title": ["a"]}, "title"),
        ({"userName": "u", "title": {"value": "a"}}, "title"),
        ({"userName": "u", "name": "Barbara Jensen"}, "name"),
        ({"userName": "u", "emails": ["a@x"]}, "emails"),
    ],
)
def test_wrong_type_is_400_invalid_value(body, named):
    assert named in refused(body, scim_type="invalidValue").detail


# --- unknown attributes and schemas -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, named",
    [
        ({"userName": "u", "favouriteColour": "blue"}, "favouriteColour"),
        ({"userName": "u", "name": {"givenName": "G", "nickname": "x"}}, "nickname"),
        ({"userName": "u", "emails": [{"value": "a", "label": "x"}]}, "label"),
        ({"userName": "u", ENTERPRISE: {"department": "D", "badgeNumber": "7"}}, "badgeNumber"),
        ({"userName": "u", ENTERPRISE: {"manager": {"value": "m", "email": "x"}}}, "email"),
        ({"userName": "u", "urn:example:extension:1.0:User": {"a": "b"}}, "urn:example:extension:1.0:User"),
        ({"userName": "u", MALFORMED_ENTERPRISE: {"department": "D"}}, MALFORMED_ENTERPRISE),
    ],
    ids=["attribute", "name-sub", "emails-sub", "extension-attribute", "manager-sub", "unknown-urn-key",
         "malformed-urn-as-key"],
)
def test_unknown_names_are_400_invalid_syntax_naming_them(body, named):
    assert named in refused(body, scim_type="invalidSyntax").detail


def test_extension_value_must_be_an_object():
    refused({"userName": "u", ENTERPRISE: "Sales"}, scim_type="invalidSyntax")


@pytest.mark.parametrize(
    "schemas",
    [[CORE], [CORE, ENTERPRISE], [ENTERPRISE, CORE.upper()], [CORE, MALFORMED_ENTERPRISE]],
)
def test_accepted_schemas(schemas):
    assert normalize(USER, {"schemas": schemas, "userName": "u"}) == {"userName": "u"}


@pytest.mark.parametrize(
    "schemas, named",
    [
        ([CORE, "urn:example:custom:2.0:User"], "urn:example:custom:2.0:User"),
        ([CORE, "urn:ietf:params:scim:schemas:core:2.0:Group"], "urn:ietf:params:scim:schemas:core:2.0:Group"),
        ([ENTERPRISE], CORE),  # the core schema is missing
        (["urn:ietf:params:scim:schemas:core:2.0:Group"], "urn:ietf:params:scim:schemas:core:2.0:Group"),
        (CORE, "schemas"),
        ([CORE, 5], "schemas"),
    ],
)
def test_refused_schemas_are_400(schemas, named):
    assert named in refused({"schemas": schemas, "userName": "u"}).detail


# --- read-only, write-only, required ----------------------------------------------------------------------------


def test_id_meta_and_groups_are_ignored():
    body = {
        "schemas": [CORE],
        "id": "client-chosen-id",
        "userName": "u",
        "meta": {"resourceType": "User", "created": "2020-01-01T00:00:00Z", "version": 'W/"9"'},
        "groups": [{"value": "g1", "display": "Admins", "type": "direct"}],
        "Id": 5,
    }
    assert normalize(USER, body) == {"userName": "u"}


def test_password_is_kept_for_the_service_to_hash():
    assert normalize(USER, {"userName": "u", "password": "t1meMa$heen"}) == {"userName": "u", "password": "t1meMa$heen"}


@pytest.mark.parametrize(
    "body",
    [{}, {"displayName": "x"}, {"userName": ""}, {"userName": None}, {"USERNAME": ""}],
    ids=["empty", "missing", "empty-string", "null", "empty-any-case"],
)
def test_user_name_is_required(body):
    assert "userName" in refused(body, scim_type="invalidValue").detail


@pytest.mark.parametrize("body", [None, [], "user", 5, [{"userName": "u"}]])
def test_body_must_be_an_object(body):
    refused(body, scim_type="invalidSyntax")


# --- nulls and empty values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribute, value",
    [
        ("emails", []),
        ("roles", []),
        ("addresses", []),
        ("phoneNumbers", [None]),
        ("emails", [{}]),
        ("emails", [{"value": None, "type": None}]),
        ("name", {}),
        ("name", {"givenName": None}),
        ("displayName", None),
        (ENTERPRISE, {}),
        (ENTERPRISE, {"department": None, "manager": None}),
    ],
)
def test_empty_and_null_values_are_dropped(attribute, value):
    assert normalize(USER, {"userName": "u", attribute: value}) == {"userName": "u"}


# --- the manager, and enterprise attributes at the top level ----------------------------------------------------


@pytest.mark.parametrize(
    "manager, stored",
    [
        ({"value": "m1"}, {"value": "m1"}),
        ({"value": "m1", "$ref": "https://t/Users/m1"}, {"value": "m1", "$ref": "https://t/Users/m1"}),
        ("m1", {"value": "m1"}),
        ([{"value": "m1", "$ref": "https://t/Users/m1"}], {"value": "m1", "$ref": "https://t/Users/m1"}),
        ({"value": "m1", "$ref": None}, {"value": "m1"}),
        ({"value": "m1", "displayName": "The Boss"}, {"value": "m1"}),
        ({"value": ""}, None),
        ([], None),
        ({}, None),
    ],
    ids=["object", "object-with-ref", "bare-id", "one-element-array", "null-ref", "read-only-displayName",
         "empty-value", "empty-array", "empty-object"],
)
def test_manager_forms(manager, stored):
    result = normalize(USER, {"userName": "u", ENTERPRISE: {"manager": manager}})
    if stored is None:
        assert result == {"userName": "u"}
    else:
        assert result == {"userName": "u", ENTERPRISE: {"manager": stored}}


def test_manager_as_a_non_object_non_string_is_400():
    refused({"userName": "u", ENTERPRISE: {"manager": 5}}, scim_type="invalidValue")


@pytest.mark.parametrize(
    "body, extension",
    [
        ({"department": "Sales"}, {"department": "Sales"}),
        ({"Department": "Sales", "manager": "m1"}, {"department": "Sales", "manager": {"value": "m1"}}),
        ({"manager": {"value": "m1"}, ENTERPRISE: {"employeeNumber": "7"}},
         {"manager": {"value": "m1"}, "employeeNumber": "7"}),
        ({ENTERPRISE: {"employeeNumber": "7"}, "costCenter": "C"}, {"employeeNumber": "7", "costCenter": "C"}),
    ],
)
def test_top_level_enterprise_attribute_moves_under_the_extension(body, extension):
    assert normalize(USER, {"userName": "u", **body}) == {"userName": "u", ENTERPRISE: extension}


# --- limits -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, limit",
    [
        (lambda s: {"userName": "u", "displayName": s}, MAX_STRING_LENGTH),
        (lambda s: {"userName": "u", "name": {"givenName": s}}, MAX_STRING_LENGTH),
        (lambda s: {"userName": "u", "emails": [{"value": s}]}, MAX_STRING_LENGTH),
        (lambda s: {"userName": "u", ENTERPRISE: {"department": s}}, MAX_STRING_LENGTH),
        (lambda s: {"userName": s}, MAX_UNIQUE_VALUE_LENGTH),
        (lambda s: {"userName": "u", "externalId": s}, MAX_UNIQUE_VALUE_LENGTH),
    ],
    ids=["displayName", "name.givenName", "emails.value", "department", "userName", "externalId"],
)
def test_string_length_limits(make, limit):
    normalize(USER, make("x" * limit))
    assert "longer than" in refused(make("x" * (limit + 1)), scim_type="invalidValue").detail


def test_unique_values_have_the_lower_limit():
    assert MAX_UNIQUE_VALUE_LENGTH < MAX_STRING_LENGTH


def test_values_per_attribute_limit():
    def body(n):
        return {"userName": "u", "emails": [{"value": f"u{i}@x"} for i in range(n)]}

    assert len(normalize(USER, body(MAX_VALUES_PER_ATTRIBUTE))["emails"]) == MAX_VALUES_PER_ATTRIBUTE
    assert str(MAX_VALUES_PER_ATTRIBUTE) in refused(body(MAX_VALUES_PER_ATTRIBUTE + 1), scim_type="invalidValue").detail


def test_resource_size_limit_is_413():
    big = "x" * MAX_STRING_LENGTH  # each string within its own limit
    names = ["displayName", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone"]
    assert len(names) * MAX_STRING_LENGTH > MAX_RESOURCE_BYTES > (len(names) - 1) * MAX_STRING_LENGTH + 1024
    normalize(USER, {"userName": "u", **{name: big for name in names[:-1]}})
    refused({"userName": "u", **{name: big for name in names}}, status=413)


def test_resource_size_limit_counts_many_values():
    each = MAX_RESOURCE_BYTES // MAX_VALUES_PER_ATTRIBUTE  # 100 values of 1 KiB, plus JSON punctuation
    emails = [{"value": "x" * each} for _ in range(MAX_VALUES_PER_ATTRIBUTE)]
    refused({"userName": "u", "emails": emails}, status=413)


# --- parse_json -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, "", b""])
def test_parse_json_empty_body_is_400(body):
    with pytest.raises(ScimError) as caught:
        parse_json(body)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidSyntax")


@pytest.mark.parametrize("body", ["{not json", "{\"a\": 1,}", "   ", "{'a': 1}", b"\xff\xfe{", b'{"a": "\xff"}'])
def test_parse_json_invalid_json_is_400(body):
    with pytest.raises(ScimError) as caught:
        parse_json(body)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidSyntax")


@pytest.mark.parametrize(
    "body, parsed",
    [
        ('{"userName": "Zoë"}', {"userName": "Zoë"}),
        ('{"userName": "Zoë"}'.encode(), {"userName": "Zoë"}),
        (b'{"Operations": []}', {"Operations": []}),
        ("[1, 2]", [1, 2]),
    ],
)
def test_parse_json_accepts_str_and_bytes(body, parsed):
    assert parse_json(body) == parsed


def _json_string_of(size: int, char: str = "a") -> str:
    """A JSON document (one string) of exactly `size` UTF-8 bytes."""
    width = len(char.encode())
    assert (size - 2) % width == 0
    return '"' + char * ((size - 2) // width) + '"'


@pytest.mark.parametrize("as_bytes", [False, True])
def test_parse_json_size_limit(as_bytes):
    at_limit = _json_string_of(MAX_BODY_BYTES)
    over = _json_string_of(MAX_BODY_BYTES + 1)
    encode = (lambda s: s.encode()) if as_bytes else (lambda s: s)
    assert len(parse_json(encode(at_limit))) == MAX_BODY_BYTES - 2
    with pytest.raises(ScimError) as caught:
        parse_json(encode(over))
    assert caught.value.status == 413


def test_parse_json_size_counts_utf8_bytes_not_characters():
    over = _json_string_of(MAX_BODY_BYTES + 2, "é")  # fewer characters than the limit, more bytes
    assert len(over) < MAX_BODY_BYTES
    with pytest.raises(ScimError) as caught:
        parse_json(over)
    assert caught.value.status == 413


def test_parse_then_normalize_round_trip():
    assert normalize(USER, parse_json(json.dumps(TUT_EXAMPLE_2))) == normalize(USER, copy.deepcopy(TUT_EXAMPLE_2))
