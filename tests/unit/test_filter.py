"""SCIM filters (RFC 7644 §3.4.2.2): the grammar, what Entra actually sends, rejected filters, and `matches()`."""

from __future__ import annotations

import pytest

from scim_endpoint.scim.errors import InvalidFilter
from scim_endpoint.scim.filter import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    matches,
    parse,
)

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def sexpr(expr: Filter) -> str:
    """A compact, readable rendering of a parsed filter, e.g. `(and (eq userName 'x') (pr title))`."""
    if isinstance(expr, Compare):
        return f"({expr.op} {expr.path} {expr.value!r})"
    if isinstance(expr, Present):
        return f"(pr {expr.path})"
    if isinstance(expr, And):
        return f"(and {sexpr(expr.left)} {sexpr(expr.right)})"
    if isinstance(expr, Or):
        return f"(or {sexpr(expr.left)} {sexpr(expr.right)})"
    if isinstance(expr, Not):
        return f"(not {sexpr(expr.operand)})"
    if isinstance(expr, ValuePath):
        return f"({expr.path}[{sexpr(expr.filter)}])"
    raise TypeError(expr)


# --- parsing -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_every_comparison_operator(op: str) -> None:
    assert sexpr(parse(f'title {op} "Boss"')) == f"({op} title 'Boss')"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('userName eq "bjensen"', "(eq userName 'bjensen')"),
        ("title pr", "(pr title)"),
        ('name.familyName co "Jen"', "(co name.familyName 'Jen')"),
        ('meta.lastModified gt "2011-05-13T04:42:34Z"', "(gt meta.lastModified '2011-05-13T04:42:34Z')"),
        # Literals: unquoted true/false/null/numbers are typed, quoted ones stay strings.
        ("active eq true", "(eq active True)"),
        ("active eq False", "(eq active False)"),
        ("nickName eq null", "(eq nickName None)"),
        ("loginCount ge 42", "(ge loginCount 42)"),
        ("ratio lt 1.5", "(lt ratio 1.5)"),
        ('employeeNumber eq "42"', "(eq employeeNumber '42')"),
        ('active eq "true"', "(eq active 'true')"),
    ],
)
def test_attribute_expressions(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # `and` binds tighter than `or` ...
        ("a pr or b pr and c pr", "(or (pr a) (and (pr b) (pr c)))"),
        ("a pr and b pr or c pr", "(or (and (pr a) (pr b)) (pr c))"),
        # ... and `not` tighter than `and`.
        ("not (a pr) and b pr", "(and (not (pr a)) (pr b))"),
        ("a pr or not (b pr) and c pr", "(or (pr a) (and (not (pr b)) (pr c)))"),
        ("not (a pr or b pr)", "(not (or (pr a) (pr b)))"),
        # Parentheses override precedence; chains associate to the left.
        ("(a pr or b pr) and c pr", "(and (or (pr a) (pr b)) (pr c))"),
        ("a pr and (b pr or c pr)", "(and (pr a) (or (pr b) (pr c)))"),
        ("a pr and b pr and c pr", "(and (and (pr a) (pr b)) (pr c))"),
        ("a pr or b pr or c pr", "(or (or (pr a) (pr b)) (pr c))"),
        ("((a pr))", "(pr a)"),
    ],
)
def test_logical_precedence_and_grouping(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ('emails[type eq "work"]', "(emails[(eq type 'work')])"),
        (
            'emails[type eq "work" and value co "@example.com"]',
            "(emails[(and (eq type 'work') (co value '@example.com'))])",
        ),
        ('members[value eq "abc"]', "(members[(eq value 'abc')])"),
        ('emails[not (type eq "work")]', "(emails[(not (eq type 'work'))])"),
        # Entra's uniqueness lookup: "some work e-mail has value x".
        (
            'emails[type eq "work"].value eq "x@example.com"',
            "(emails[(and (eq type 'work') (eq value 'x@example.com'))])",
        ),
        ('emails[type eq "work"].value pr', "(emails[(and (eq type 'work') (pr value))])"),
        (
            'userName eq "a" and emails[type eq "work"] or title pr',
            "(or (and (eq userName 'a') (emails[(eq type 'work')])) (pr title))",
        ),
        # The membership check of docs/entra.md §2.8: group id and member, in either order.
        ('id eq "g1" and members eq "u1"', "(and (eq id 'g1') (eq members 'u1'))"),
        ('members.value eq "u1" and id eq "g1"', "(and (eq members.value 'u1') (eq id 'g1'))"),
    ],
)
def test_value_paths(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    "text, path",
    [
        # The resource's own core schema URN is dropped: the name is the plain attribute.
        (f"{CORE_USER}:userName", AttrPath("userName")),
        (f"{CORE_USER}:name.givenName", AttrPath("name", "givenName")),
        (f"{CORE_GROUP}:displayName", AttrPath("displayName")),
        ("urn:ietf:params:scim:schemas:core:2.0:user:userName", AttrPath("userName")),
        ("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName", AttrPath("userName")),
        # An extension's URN is kept as the schema.
        (f"{ENTERPRISE}:department", AttrPath("department", None, ENTERPRISE)),
        (f"{ENTERPRISE}:manager.value", AttrPath("manager", "value", ENTERPRISE)),
        (
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute",
            AttrPath("CustomAttribute", None, "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"),
        ),
        ("name.givenName", AttrPath("name", "givenName")),
        ("members.$ref", AttrPath("members", "$ref")),
    ],
)
def test_attribute_paths(text: str, path: AttrPath) -> None:
    parsed = parse(f'{text} eq "x"')
    assert isinstance(parsed, Compare)
    assert parsed.path == path


def test_extension_value_path_keeps_its_schema() -> None:
    parsed = parse(f'{ENTERPRISE}:manager[value eq "m1"]')
    assert isinstance(parsed, ValuePath)
    assert parsed.path == AttrPath("manager", None, ENTERPRISE)


@pytest.mark.parametrize(
    "text, expected",
    [
        # Keywords and operators in any case.
        ('userName EQ "x" AND title Pr', "(and (eq userName 'x') (pr title))"),
        ('NOT (title PR) Or nickName sW "y"', "(or (not (pr title)) (sw nickName 'y'))"),
        ('emails[Type Eq "work"].Value eQ "x"', "(emails[(and (eq Type 'work') (eq Value 'x'))])"),
        # `+` is a space outside quoted strings (API Gateway leaves a form-encoded `+` alone) ...
        ('userName+eq+"dale.mohr@romaguera.uk"', "(eq userName 'dale.mohr@romaguera.uk')"),
        ('externalId+eq+"johnwong"', "(eq externalId 'johnwong')"),
        ('id+eq+"g1"+and+members+eq+"u1"', "(and (eq id 'g1') (eq members 'u1'))"),
        ("title+pr", "(pr title)"),
        # ... but literal inside them.
        ('displayName eq "C++ Developers"', "(eq displayName 'C++ Developers')"),
        ('userName+eq+"first+tag@example.com"', "(eq userName 'first+tag@example.com')"),
        # Unquoted values, as in Microsoft's older documentation.
        ("externalId eq jyoung", "(eq externalId 'jyoung')"),
        ("externalId+eq+jyoung", "(eq externalId 'jyoung')"),
        (
            "emails[type eq work].value eq jyoung@contoso.com",
            "(emails[(and (eq type 'work') (eq value 'jyoung@contoso.com'))])",
        ),
        # Escapes inside quoted strings.
        (r'displayName eq "say \"hi\""', "(eq displayName 'say \"hi\"')"),
        (r'displayName eq "back\\slash"', "(eq displayName 'back\\\\slash')"),
        (r'displayName eq "caf\u00e9"', "(eq displayName 'café')"),
        # Whitespace around tokens and parentheses.
        ('  (  userName   eq  "x"  )  ', "(eq userName 'x')"),
        ('(userName eq "x")and(title pr)', "(and (eq userName 'x') (pr title))"),
    ],
)
def test_what_entra_and_its_documentation_send(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


def test_unquoted_number_keeps_its_raw_text() -> None:
    parsed = parse("employeeNumber eq 007")
    assert isinstance(parsed, Compare)
    assert parsed.value == 7 and parsed.raw == "007"


# --- rejected filters ----------------------------------------------------------------------------------------------

# Every case carries the personal value "alice" somewhere, so the last test can check it is never echoed.
INVALID = {
    "empty": "",
    "blank": "   ",
    "only pluses": "+++",
    "unterminated string": 'userName eq "alice@contoso.com',
    "unterminated after escape": 'userName eq "alice@contoso.com\\"',
    "bad escape": 'userName eq "alice\\q@contoso.com"',
    "missing operator": 'userName "alice@contoso.com"',
    "missing operator at end": "userName",
    "unknown operator": 'userName is "alice@contoso.com"',
    "symbolic operator": 'userName = "alice@contoso.com"',
    "missing operator in value path": 'emails[type "alice"]',
    "missing value": "userName eq",
    "missing value before parenthesis": "(userName eq)",
    "missing value before and": 'userName eq and displayName eq "alice"',
    "unclosed parenthesis": '(userName eq "alice"',
    "unopened parenthesis": 'userName eq "alice")',
    "unclosed nested parenthesis": '((userName eq "alice")',
    "unclosed not": 'not (userName eq "alice"',
    "unclosed bracket": 'emails[value eq "alice@contoso.com"',
    "extra bracket": 'emails[value eq "alice@contoso.com"]]',
    "unopened bracket": 'emails value eq "alice@contoso.com"]',
    "bracket closed by parenthesis": 'emails[value eq "alice@contoso.com")',
    "trailing word": 'userName eq "alice@contoso.com" alice',
    "trailing string": 'userName eq "x" "alice"',
    "trailing operator": 'userName eq "alice" pr',
    "dangling and": 'userName eq "alice" and',
    "leading or": 'or userName eq "alice"',
    "not without parentheses": 'not userName eq "alice"',
    "quoted attribute name": '"userName" eq "alice"',
    "attribute starting with a digit": '1userName eq "alice"',
    "value filter after sub-attribute": 'name.givenName[value eq "alice"]',
    "empty value filter": 'emails[] and userName eq "alice"',
    "empty parentheses": '() or userName eq "alice"',
    "over-long": 'userName eq "alice' + "x" * MAX_FILTER_LENGTH + '"',
    "too deeply nested": "(" * (MAX_DEPTH + 1) + 'userName eq "alice"' + ")" * (MAX_DEPTH + 1),
    "too deeply nested not": "not (" * (MAX_DEPTH + 1) + 'userName eq "alice"' + ")" * (MAX_DEPTH + 1),
    "too deeply nested value paths": "emails[" * (MAX_DEPTH + 1) + 'value eq "alice"' + "]" * (MAX_DEPTH + 1),
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_invalid_filters_are_rejected_as_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilter) as raised:
        parse(text)
    error = raised.value
    assert error.status == 400
    assert error.scim_type == "invalidFilter"
    body = error.to_body()
    assert body["status"] == "400" and body["scimType"] == "invalidFilter"


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_error_detail_never_echoes_the_filter_values(text: str) -> None:
    with pytest.raises(InvalidFilter) as raised:
        parse(text)
    assert raised.value.detail
    assert "alice" not in raised.value.detail.lower()
    assert "contoso" not in raised.value.detail.lower()


def test_length_limit_is_inclusive() -> None:
    prefix, suffix = 'userName eq "', '"'
    text = prefix + "a" * (MAX_FILTER_LENGTH - len(prefix) - len(suffix)) + suffix
    assert len(text) == MAX_FILTER_LENGTH
    assert isinstance(parse(text), Compare)
    with pytest.raises(InvalidFilter):
        parse(text[:-1] + "a" + suffix)


@pytest.mark.parametrize(
    "open_, close",
    [("(", ")"), ("not (", ")"), ("emails[", "]")],
    ids=["parentheses", "not", "value paths"],
)
def test_nesting_up_to_the_limit_is_accepted(open_: str, close: str) -> None:
    text = open_ * MAX_DEPTH + 'value eq "x"' + close * MAX_DEPTH
    parse(text)


# --- evaluation ----------------------------------------------------------------------------------------------------

USER = {
    "schemas": [CORE_USER, ENTERPRISE],
    "id": "2441309d85324e7793ae",
    "externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
    "userName": "Test_User_00aa@testuser.com",
    "name": {"familyName": "Young", "givenName": "Joy"},
    "displayName": "Joy Young",
    "title": "",
    "active": True,
    "emails": [
        {"value": "jyoung@contoso.com", "type": "work", "primary": True},
        {"value": "joy@home.example", "type": "home"},
    ],
    "phoneNumbers": [],
    "addresses": [{"type": "work", "locality": "Redmond", "primary": True}],
    "roles": [{"primary": "True", "display": "Admin", "value": "admin", "type": "WDE"}],
    "meta": {
        "resourceType": "User",
        "created": "2018-03-27T19:59:26.000Z",
        "lastModified": "2018-03-27T19:59:26.000Z",
    },
    ENTERPRISE: {"department": "Engineering", "employeeNumber": "701984", "manager": {"value": "m-1"}},
}

GROUP = {
    "schemas": [CORE_GROUP],
    "id": "g1",
    "displayName": "Engineering",
    "members": [{"value": "u1"}, {"value": "u2", "$ref": None}],
}


@pytest.mark.parametrize(
    "text, expected",
    [
        # Values compare case-insensitively by default; attribute names always do.
        ('userName eq "test_user_00aa@TESTUSER.com"', True),
        ('USERNAME eq "Test_User_00aa@testuser.com"', True),
        ('NAME.GIVENNAME eq "joy"', True),
        ('userName eq "someone@testuser.com"', False),
        ('userName ne "someone@testuser.com"', True),
        ('userName ne "TEST_USER_00AA@testuser.com"', False),
        ('userName co "@TestUser"', True),
        ('userName co "nobody"', False),
        ('userName sw "test_"', True),
        ('userName sw "user"', False),
        ('userName ew ".COM"', True),
        ('userName ew "test"', False),
        ('displayName gt "Joy"', True),
        ('displayName lt "Joy"', False),
        ('displayName ge "joy young"', True),
        ('displayName le "joy young"', True),
        # Core URN-qualified names.
        (f'{CORE_USER}:userName sw "test"', True),
        (f'{CORE_USER}:name.familyName eq "young"', True),
        # Multi-valued attributes: any element.
        ('emails.value eq "joy@home.example"', True),
        ('emails.value eq "JYOUNG@contoso.com"', True),
        ('emails.type eq "other"', False),
        ('emails.value ne "joy@home.example"', False),
        # A complex attribute without a sub-attribute compares its `value`.
        ('emails co "@home"', True),
        ('emails eq "jyoung@contoso.com"', True),
        ('name eq "Joy"', False),
        # Value paths: one element must satisfy the whole inner filter.
        ('emails[type eq "work"].value eq "jyoung@contoso.com"', True),
        ('emails[type eq "work"].value eq "joy@home.example"', False),
        ('emails[type eq "work" and value co "@contoso"]', True),
        ('emails[type eq "home" and value co "@contoso"]', False),
        ('emails[type eq "other"]', False),
        ("emails[primary eq true].type eq \"work\"", True),
        ('name[givenName eq "joy"]', True),
        # pr: absent, empty string, empty list and null are all "not present".
        ("userName pr", True),
        ("name pr", True),
        ("emails pr", True),
        ("emails.type pr", True),
        ("meta.lastModified pr", True),
        ("addresses pr", True),  # complex, and without a `value` sub-attribute
        ("addresses.locality pr", True),
        ('addresses[type eq "work"].locality pr', True),
        ("addresses.region pr", False),
        ("title pr", False),
        ("phoneNumbers pr", False),
        ("nickName pr", False),
        ("name.middleName pr", False),
        # An absent attribute is "not equal" to anything, and equal/containing nothing.
        ('nickName ne "x"', True),
        ('nickName eq "x"', False),
        ('nickName co "x"', False),
        ('name.middleName ne "x"', True),
        # Booleans, including Entra's "True"/"False" strings.
        ("active eq true", True),
        ("active eq false", False),
        ("active ne false", True),
        ("active ne true", False),
        ("roles[primary eq true]", True),
        ("roles[primary eq false]", False),
        ("roles.primary eq true", True),
        ("roles.primary ne true", False),
        # dateTime ordering on meta.lastModified, compared as instants whatever the spelling.
        ('meta.lastModified gt "2018-01-01T00:00:00Z"', True),
        ('meta.lastModified lt "2018-01-01T00:00:00Z"', False),
        ('meta.lastModified gt "2018-03-27T19:59:27Z"', False),
        ('meta.lastModified ge "2018-03-27T19:59:26Z"', True),
        ('meta.lastModified le "2018-03-27T19:59:26Z"', True),
        ('meta.lastModified eq "2018-03-27T21:59:26+02:00"', True),
        ('meta.lastModified gt "2018-03-27T20:59:25+01:00"', True),
        ('meta.lastModified lt "2019-01-01T00:00:00.000Z"', True),
        # The enterprise extension, by its full URN (in any case); not as a core attribute.
        (f'{ENTERPRISE}:department eq "engineering"', True),
        (f'{ENTERPRISE}:department eq "Sales"', False),
        (f'{ENTERPRISE.lower()}:department eq "Engineering"', True),
        (f'{ENTERPRISE}:manager eq "m-1"', True),
        (f'{ENTERPRISE}:manager.value eq "m-1"', True),
        (f'{ENTERPRISE}:manager[value eq "m-1"]', True),
        (f"{ENTERPRISE}:manager pr", True),
        (f"{ENTERPRISE}:costCenter pr", False),
        ('department eq "Engineering"', False),
        # An unquoted number still matches a string attribute written the same way.
        (f"{ENTERPRISE}:employeeNumber eq 701984", True),
        ("externalId eq 7fce0092-d52e-4f76-b727-3955bd72c939", True),
        # Logic.
        ("userName pr or nickName pr and title pr", True),
        ("(userName pr or nickName pr) and title pr", False),
        ("not (nickName pr) and userName pr", True),
        ("not (userName pr)", False),
        ('not (emails[type eq "work"])', False),
        ('userName eq "x" or emails[type eq "home"].value ew ".example"', True),
    ],
)
def test_matches_user(text: str, expected: bool) -> None:
    assert matches(parse(text), USER) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ('members eq "u2"', True),
        ('members eq "u3"', False),
        ('members.value eq "u1"', True),
        ('members[value eq "u1"]', True),
        ('id eq "g1" and members eq "u1"', True),
        ('members eq "u1" and id eq "g1"', True),
        ('id eq "g1" and members eq "u3"', False),
        ('id eq "g2" and members eq "u1"', False),
        ('displayName eq "ENGINEERING"', True),
        (f'{CORE_GROUP}:displayName eq "engineering"', True),
    ],
)
def test_matches_group(text: str, expected: bool) -> None:
    assert matches(parse(text), GROUP) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("loginCount eq 7", True),
        ("loginCount eq 7.0", True),
        ("loginCount gt 5", True),
        ("loginCount ge 7", True),
        ("loginCount lt 7", False),
        ("loginCount le 6", False),
        ("ratio gt 1", True),
        ("ratio lt 0.25", False),
        ("loginCount ne 7", False),
    ],
)
def test_matches_numbers(text: str, expected: bool) -> None:
    assert matches(parse(text), {"id": "x", "loginCount": 7, "ratio": 1.5}) is expected


def test_case_exact_is_asked_per_attribute() -> None:
    exact = {AttrPath("id"), AttrPath("emails", "type")}

    def case_exact(path: AttrPath) -> bool:
        return AttrPath(path.attr.lower(), path.sub_attr and path.sub_attr.lower(), path.schema) in {
            AttrPath(p.attr.lower(), p.sub_attr and p.sub_attr.lower(), p.schema) for p in exact
        }

    assert matches(parse('id eq "2441309D85324E7793AE"'), USER) is True
    assert matches(parse('id eq "2441309D85324E7793AE"'), USER, case_exact) is False
    assert matches(parse('id eq "2441309d85324e7793ae"'), USER, case_exact) is True
    assert matches(parse('id sw "2441309D"'), USER, case_exact) is False
    assert matches(parse('ID ne "2441309D85324E7793AE"'), USER, case_exact) is True
    # Inside `emails[...]`, `type` is `emails.type` for caseExact purposes, and `value` is not.
    assert matches(parse('emails[type eq "WORK"]'), USER, case_exact) is False
    assert matches(parse('emails[type eq "work" and value eq "JYOUNG@contoso.com"]'), USER, case_exact) is True
    assert matches(parse('emails[type eq "WORK"]'), USER) is True
    # A case-insensitive attribute is unaffected.
    assert matches(parse('userName eq "TEST_USER_00AA@TESTUSER.COM"'), USER, case_exact) is True


@pytest.mark.parametrize(
    "text, asked",
    [
        ('userName eq "x"', AttrPath("userName")),
        ('name.givenName eq "x"', AttrPath("name", "givenName")),
        ('emails[type eq "work"]', AttrPath("emails", "type")),
        ('emails[type eq "work"].value eq "x"', AttrPath("emails", "value")),
        (f'{ENTERPRISE}:manager.value eq "x"', AttrPath("manager", "value", ENTERPRISE)),
        (f'{ENTERPRISE}:manager[value eq "x"]', AttrPath("manager", "value", ENTERPRISE)),
        (f'{CORE_USER}:userName eq "x"', AttrPath("userName")),
    ],
)
def test_case_exact_callback_receives_the_full_path(text: str, asked: AttrPath) -> None:
    seen: list[AttrPath] = []

    def case_exact(path: AttrPath) -> bool:
        seen.append(path)
        return False

    matches(parse(text), USER, case_exact)
    assert asked in seen


@pytest.mark.parametrize(
    "text",
    [
        "active gt true",
        "active ge false",
        "active lt true",
        "active le false",
        "active co true",
        "active sw true",
        "active ew false",
        "roles[primary gt false]",
    ],
)
@pytest.mark.parametrize("resource", [USER, {"id": "x"}], ids=["with the attribute", "without it"])
def test_ordering_and_substring_operators_on_booleans_are_invalid(text: str, resource: dict) -> None:
    # The answer must not depend on whether some stored resource has the attribute.
    with pytest.raises(InvalidFilter):
        matches(parse(text), resource)


@pytest.mark.parametrize("text", ['active gt "a"', 'active co "ru"', "roles.primary gt 1"])
def test_ordering_a_stored_boolean_is_invalid(text: str) -> None:
    resource = {"id": "x", "active": True, "roles": [{"primary": True}]}
    with pytest.raises(InvalidFilter) as raised:
        matches(parse(text), resource)
    assert raised.value.status == 400 and raised.value.scim_type == "invalidFilter"


def test_matches_ignores_non_dict_elements_in_value_paths() -> None:
    resource = {"emails": ["plain@example.com", None, {"type": "work", "value": "w@example.com"}]}
    assert matches(parse('emails[type eq "work"]'), resource) is True
    assert matches(parse('emails[type eq "home"]'), resource) is False


# --- `+` inside quoted values ---------------------------------------------------------------------------------


def test_a_quoted_plus_is_read_both_as_itself_and_as_a_space() -> None:
    expr = parse('displayName eq "Sales+EMEA"')
    assert expr.value == "Sales+EMEA" and expr.spaced == "Sales EMEA"
    assert matches(expr, {"displayName": "Sales EMEA"})
    assert matches(expr, {"displayName": "Sales+EMEA"})
    assert not matches(expr, {"displayName": "SalesEMEA"})
    assert not matches(parse('displayName ne "Sales+EMEA"'), {"displayName": "Sales EMEA"})
    assert parse('displayName eq "Sales EMEA"').spaced is None


@pytest.mark.parametrize("text", ['active eq "true"', 'active eq "True"', "active eq true"])
def test_a_boolean_compares_with_a_quoted_boolean(text: str) -> None:
    assert matches(parse(text), {"active": True})
    assert not matches(parse(text), {"active": False})
