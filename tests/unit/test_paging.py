"""List query parameters (RFC 7644 §3.4.2): `parse_list_query` over API Gateway's queryStringParameters."""

from __future__ import annotations

import pytest

from scim_endpoint.scim.errors import InvalidFilter, InvalidValue
from scim_endpoint.scim.filter import AttrPath, Compare
from scim_endpoint.scim.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ListQuery, parse_list_query, parse_search_request


def test_no_parameters_gives_the_defaults() -> None:
    assert parse_list_query({}) == ListQuery(
        filter=None, start_index=1, count=DEFAULT_PAGE_SIZE, attributes=(), excluded_attributes=()
    )
    assert DEFAULT_PAGE_SIZE <= MAX_PAGE_SIZE


def test_entra_group_lookup() -> None:
    query = parse_list_query({"excludedAttributes": "members", "filter": 'displayName eq "Engineering"'})
    assert query.filter == Compare(AttrPath("displayName"), "eq", "Engineering", '"Engineering"')
    assert query.excluded_attributes == ("members",)
    assert query.attributes == ()
    assert (query.start_index, query.count) == (1, DEFAULT_PAGE_SIZE)


@pytest.mark.parametrize(
    "params",
    [
        {"filter": 'userName eq "x"', "startIndex": "3", "count": "5", "attributes": "userName"},
        {"FILTER": 'userName eq "x"', "STARTINDEX": "3", "COUNT": "5", "ATTRIBUTES": "userName"},
        {"Filter": 'userName eq "x"', "startindex": "3", "Count": "5", "Attributes": "userName"},
    ],
    ids=["camelCase", "upper", "mixed"],
)
def test_parameter_names_are_case_insensitive(params: dict[str, str]) -> None:
    query = parse_list_query(params)
    assert isinstance(query.filter, Compare) and query.filter.value == "x"
    assert (query.start_index, query.count, query.attributes) == (3, 5, ("userName",))


@pytest.mark.parametrize("name", ["excludedAttributes", "EXCLUDEDATTRIBUTES", "excludedattributes"])
def test_excluded_attributes_name_is_case_insensitive(name: str) -> None:
    assert parse_list_query({name: "members"}).excluded_attributes == ("members",)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", 1),
        ("11", 11),
        ("0", 1),  # RFC 7644 §3.4.2.4: below 1 is read as 1
        ("-5", 1),
        (" 7 ", 7),
        ("", 1),
        ("1000000", 1000000),
    ],
)
def test_start_index(raw: str, expected: int) -> None:
    assert parse_list_query({"startIndex": raw}).start_index == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("5", 5),
        ("0", 0),  # totalResults only
        ("-1", 0),  # negative is read as 0
        ("-100", 0),
        (str(MAX_PAGE_SIZE), MAX_PAGE_SIZE),
        (str(MAX_PAGE_SIZE + 1), MAX_PAGE_SIZE),  # clamped: the service may return fewer than asked
        ("1000000", MAX_PAGE_SIZE),
        ("", DEFAULT_PAGE_SIZE),
    ],
)
def test_count(raw: str, expected: int) -> None:
    assert parse_list_query({"count": raw}).count == expected


@pytest.mark.parametrize("name", ["startIndex", "count", "StartIndex", "COUNT"])
@pytest.mark.parametrize("raw", ["abc", "1.5", "5.0", "1e2", "0x10", "ten", "5;", "--1", "1_000", "١٢"])
def test_non_integer_is_invalid_value(name: str, raw: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        parse_list_query({name: raw})
    assert raised.value.status == 400
    assert raised.value.scim_type == "invalidValue"
    assert raised.value.to_body()["scimType"] == "invalidValue"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("userName", ("userName",)),
        ("userName,name.givenName", ("userName", "name.givenName")),
        ("userName, emails , displayName", ("userName", "emails", "displayName")),
        ("userName,+emails", ("userName", "emails")),  # a form-encoded space
        ("userName,,emails,", ("userName", "emails")),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,id",
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "id"),
        ),
        ("", ()),
        (" , ", ()),
    ],
)
def test_attribute_lists_split_on_commas(raw: str, expected: tuple[str, ...]) -> None:
    assert parse_list_query({"attributes": raw}).attributes == expected
    assert parse_list_query({"excludedAttributes": raw}).excluded_attributes == expected


@pytest.mark.parametrize(
    "params",
    [
        {"aadOptscim062020": ""},
        {"AzureAdScimPatch2017": ""},
        {"sortBy": "userName", "sortOrder": "descending"},
        {"foo": "not-a-number", "count": "5"},
    ],
)
def test_unknown_parameters_are_ignored(params: dict[str, str]) -> None:
    query = parse_list_query(params)
    assert query.filter is None
    assert query.count == int(params.get("count", DEFAULT_PAGE_SIZE))


def test_filter_is_parsed_with_entra_encoding() -> None:
    query = parse_list_query({"filter": 'userName+eq+"dale.mohr@romaguera.uk"', "aadOptscim062020": ""})
    assert query.filter == Compare(AttrPath("userName"), "eq", "dale.mohr@romaguera.uk", '"dale.mohr@romaguera.uk"')


def test_invalid_filter_is_reported_as_invalid_filter() -> None:
    with pytest.raises(InvalidFilter):
        parse_list_query({"filter": 'userName eq "unterminated'})


@pytest.mark.parametrize("body, text", [
    ({"schemas": ["urn:wrong"]}, "urn:ietf:params:scim:api:messages:2.0:SearchRequest"),
    ({"count": "many"}, "'count' must be an integer"),
])
def test_a_search_request_error_keeps_the_case_of_what_it_names(body: dict, text: str) -> None:
    """Details used to be lower-cased throughout, URNs too (`…:searchrequest`, a schema no client knows)."""
    with pytest.raises(InvalidValue) as raised:
        parse_search_request(body)
    assert text in raised.value.detail and "Value error" not in raised.value.detail


def test_a_patch_op_error_keeps_the_case_of_what_it_names() -> None:
    from scim_endpoint.scim.errors import ScimError
    from scim_endpoint.scim.patch import operations_of

    with pytest.raises(ScimError) as raised:
        operations_of({"schemas": ["urn:wrong"], "Operations": []})
    assert raised.value.scim_type == "invalidValue"
    assert "urn:ietf:params:scim:api:messages:2.0:PatchOp" in raised.value.detail, raised.value.detail
