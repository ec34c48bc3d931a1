"""Hypothesis strategies for SCIM requests: text with every kind of character (lone surrogates and control characters
included), JSON of any shape and depth, bodies shaped like Entra's with mutated fields, PATCH operations, filters
from a small grammar and garbage, query parameters, and the route table's methods and paths.

Symbolic targets (`@@user0@@`, harness.TARGETS) stand for the seeded resources' ids; the harness fills them in.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from hypothesis import strategies as st

from scim_endpoint.auth import privileges
from scim_endpoint.scim import schemas
from tests import entra_requests as entra
from tests.fuzz.harness import IDP_ID, MISSING, TARGETS, USERS, url_segment

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ENTERPRISE = schemas.ENTERPRISE_USER
CORE_USER = schemas.USER
CORE_GROUP = schemas.GROUP

# --- text -------------------------------------------------------------------------------------------------------

# SCIM's and JSON's and URLs' punctuation, which parsers trip on.
_SPECIAL = list('"\\[](){}.:,;+%&=#?/ \t\n\r\x00\x7f') + ["\u00e9", "\u0301", "\ufeff", "\u2028", "\U0001f600"]
CHARACTERS = st.one_of(
    st.characters(exclude_categories=()),  # any code point, Cs aside (hypothesis draws surrogates only on request)
    st.characters(categories=["Cs", "Cc"]),  # lone surrogates and control characters
    st.sampled_from(_SPECIAL),
)
# Mostly text a client might send (any code point but a lone surrogate, control characters included), sometimes
# text thick with lone surrogates, control characters and punctuation: a single lone surrogate anywhere in a body
# decides the answer (400 invalidSyntax), so it must not be in every body.
TEXT = st.one_of(
    st.text(st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(_SPECIAL)), max_size=24),
    st.text(st.characters(codec="ascii"), max_size=24),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=24),
    st.text(CHARACTERS, max_size=24),
)
SURROGATE = st.characters(categories=["Cs"])


@st.composite
def with_surrogate(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> str:
    """Text holding at least one lone surrogate."""
    base = draw(text)
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(SURROGATE) + base[at:]


@st.composite
def recased(draw: st.DrawFn, text: str) -> str:
    """`text` in a case of hypothesis's choosing (SCIM names and keywords ignore case)."""
    mode = draw(st.sampled_from(["as is", "lower", "upper", "mixed"]))
    if mode == "lower":
        return text.lower()
    if mode == "upper":
        return text.upper()
    if mode == "mixed":
        flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips))
    return text


def any_case(texts: list[str] | tuple[str, ...]) -> st.SearchStrategy[str]:
    return _any_case(tuple(texts))


@cache
def _any_case(texts: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(texts).flatmap(recased)



@cache
def schema_definitions(urn: str) -> dict[str, dict]:
    """A schema's attributes in their RFC 7643 §7 form, by lower-cased name (made once: `typed_values` keys its
    cache by the definitions' ids)."""
    return {a.name.lower(): a.to_scim() for a in schemas.SCHEMAS[urn].attributes}


# --- attribute names ----------------------------------------------------------------------------------------------


def _names(urn: str) -> tuple[list[str], list[str]]:
    """(attribute names, "attr.sub" names) of a schema."""
    definitions = schema_definitions(urn).values()
    return [d["name"] for d in definitions], [
        f"{d['name']}.{s['name']}" for d in definitions for s in d.get("subAttributes", [])]


USER_ATTRIBUTES, USER_SUBATTRIBUTES = _names(CORE_USER)
ENTERPRISE_ATTRIBUTES, ENTERPRISE_SUBATTRIBUTES = _names(ENTERPRISE)
GROUP_ATTRIBUTES, GROUP_SUBATTRIBUTES = _names(CORE_GROUP)
COMMON = ["id", "externalId", "meta", "meta.created", "meta.lastModified", "meta.version", "meta.location",
          "meta.resourceType", "schemas"]
MULTI_VALUED = ["emails", "phoneNumbers", "addresses", "roles", "entitlements", "ims", "photos", "x509Certificates",
                "members", "groups"]
SUB_NAMES = ["value", "type", "primary", "display", "$ref", "givenName", "familyName", "formatted", "displayName"]
UNKNOWN_NAMES = ["nosuch", "emails.nosuch", "name.", ".value", "a..b", "urn:", "urn:x:y", "$ref", "-a", "_"]


@cache
def attribute_names(kind: str) -> st.SearchStrategy[str]:
    """A name a User ("user") or Group ("group") may carry, in any case and sometimes URN-qualified, or a
    near miss."""
    if kind == "user":
        plain = USER_ATTRIBUTES + USER_SUBATTRIBUTES + COMMON
        qualified = ([f"{CORE_USER}:{n}" for n in USER_ATTRIBUTES[:6]]
                     + [f"{ENTERPRISE}:{n}" for n in ENTERPRISE_ATTRIBUTES + ENTERPRISE_SUBATTRIBUTES] + [ENTERPRISE])
        plain += ENTERPRISE_ATTRIBUTES  # Entra sends them unqualified too
    else:
        plain = GROUP_ATTRIBUTES + GROUP_SUBATTRIBUTES + COMMON
        qualified = [f"{CORE_GROUP}:{n}" for n in GROUP_ATTRIBUTES + GROUP_SUBATTRIBUTES] + [CORE_GROUP]
    known = st.one_of(any_case(plain), any_case(plain), any_case(qualified))
    return st.integers(0, 7).flatmap(lambda n: known if n else st.one_of(st.sampled_from(UNKNOWN_NAMES), TEXT))


# --- JSON -------------------------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(),  # NaN and ±Infinity too: Python's json reads them
    st.sampled_from([0, -0.0, 1e308, 5e-324, 2**63, -(2**63) - 1, 10**30]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT, st.sampled_from(["True", "False", "", " ", *TARGETS]))


@cache
def json_values(keys: st.SearchStrategy[str] = TEXT, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (as Python's json module reads it), a few levels deep."""
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=max_leaves,
    )


@cache
@st.composite
def deeply_nested(draw: st.DrawFn, leaf: st.SearchStrategy[Any] = SCALARS) -> Any:
    """A value nested 1 to 300 levels deep (lists and objects mixed): at and past the 32 levels the service takes."""
    depth = draw(st.one_of(st.integers(1, 40), st.integers(1, 300), st.sampled_from([31, 32, 33])))
    value = draw(leaf)
    kinds = draw(st.lists(st.booleans(), min_size=depth, max_size=depth))
    for as_list in kinds:
        value = [value] if as_list else {"a": value}
    return value


@cache
def values_for(kind: str) -> st.SearchStrategy[Any]:
    """Values for a resource's attributes: right-typed ones, wrong-typed ones, members, and any JSON."""
    member = st.one_of(
        st.fixed_dictionaries({"value": st.sampled_from(TARGETS)},
                              optional={"display": TEXT, "$ref": st.one_of(st.none(), TEXT), "type": any_case(
                                  ["User", "Group", "user"])}),
        st.sampled_from(TARGETS),
        json_values(max_leaves=4),
    )
    multi = st.lists(st.fixed_dictionaries({}, optional={
        "value": st.one_of(TEXT, st.sampled_from(TARGETS)), "type": any_case(["work", "home", "other"]),
        "primary": st.one_of(st.booleans(), any_case(["True", "False"]), TEXT), "display": TEXT}), max_size=3)
    return st.one_of(
        TEXT, st.booleans(), any_case(["True", "False"]), NUMBERS, st.none(),
        st.lists(member, max_size=4), multi, member,
        st.dictionaries(attribute_names(kind), SCALARS, max_size=3),
        json_values(max_leaves=6),
    )


def _definitions(kind: str) -> list[tuple[str, dict]]:
    """(name as a body may write it, definition) of every attribute a resource of this kind may carry."""
    if kind == "user":
        core = [(d["name"], d) for d in schema_definitions(CORE_USER).values()]
        enterprise = [(d["name"], d) for d in schema_definitions(ENTERPRISE).values()]
        return core + enterprise  # Entra sends enterprise attributes at the top level too
    return [(d["name"], d) for d in schema_definitions(CORE_GROUP).values()]


_TYPED: dict[tuple[int, bool], st.SearchStrategy[Any]] = {}


def typed_values(definition: dict, nested: bool = False) -> st.SearchStrategy[Any]:
    """A value of the attribute's type (text of every kind for strings), or, sometimes, any value."""
    key = (id(definition), nested)  # the schemas' definitions live as long as the process
    if key not in _TYPED:
        _TYPED[key] = _typed_values(definition, nested)
    return _TYPED[key]


def _typed_values(definition: dict, nested: bool) -> st.SearchStrategy[Any]:
    kind = definition["type"]
    if kind == "boolean":
        right = st.one_of(st.booleans(), any_case(["True", "False", " true "]))
    elif kind == "complex":
        subs = {s["name"]: typed_values(s, nested=True) for s in definition.get("subAttributes", [])}
        if definition["name"] == "members":
            subs["value"] = st.sampled_from(TARGETS)
        right = st.fixed_dictionaries({}, optional=subs)
    else:
        right = st.one_of(TEXT, st.sampled_from(["", "alice@contoso.com", "a" * 1025, "x" * 300, *TARGETS]))
    if definition.get("multiValued") and not nested:
        right = st.one_of(st.lists(right, max_size=3), right)
    wrong = st.one_of(SCALARS, json_values(max_leaves=4))
    return st.integers(0, 15).flatmap(lambda n: wrong if n == 0 else right)


@cache
@st.composite
def resources(draw: st.DrawFn, kind: str) -> dict:
    """A resource body: mostly attributes it has (names in any case) with values of their types, sometimes an
    unknown name, a read-only attribute, an extension object, or `schemas` of any shape."""
    definitions = _definitions(kind)
    body: dict[str, Any] = {}
    for name, definition in draw(st.lists(st.sampled_from(definitions), max_size=6, unique_by=lambda d: d[0])):
        body[draw(recased(name)) if draw(st.integers(0, 4)) == 0 else name] = draw(typed_values(definition))
    naming = "userName" if kind == "user" else "displayName"
    if draw(st.integers(0, 4)):
        body[naming] = draw(st.one_of(TEXT, st.sampled_from(
            ["alice@contoso.com", "ALICE@contoso.com", "Team A", "team a", "new@contoso.com", "New team",
             "zoe\u0308.dupont@CONTOSO.com"])))
    if kind == "user" and draw(st.integers(0, 3)) == 0:
        extension = {name: draw(typed_values(d)) for name, d in draw(st.lists(st.sampled_from(
            [(d["name"], d) for d in schema_definitions(ENTERPRISE).values()]), max_size=3))}
        body[draw(any_case([ENTERPRISE]))] = extension
    if draw(st.integers(0, 5)) == 0:
        body[draw(attribute_names(kind))] = draw(values_for(kind))  # anything, by any name
    if draw(st.booleans()):
        body["schemas"] = draw(st.one_of(
            st.just([CORE_USER] if kind == "user" else [CORE_GROUP]),
            st.just([CORE_USER, ENTERPRISE]),
            st.lists(any_case([CORE_USER, CORE_GROUP, ENTERPRISE, "urn:x"]), max_size=3),
            json_values(max_leaves=3)))
    return body


# --- Entra's bodies, mutated ----------------------------------------------------------------------------------


def _locations(value: Any) -> list[tuple[Any, Any]]:
    """(container, key or index) of every value inside `value`, depth first."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key in list(value):
            found.append((value, key))
            found += _locations(value[key])
    elif isinstance(value, list):
        for index in range(len(value)):
            found.append((value, index))
            found += _locations(value[index])
    return found


@st.composite
def mutated(draw: st.DrawFn, seeds: list[dict], values: st.SearchStrategy[Any]) -> Any:
    """One of Entra's requests with up to four fields changed: replaced by generated values, removed, wrapped in a
    list, turned into a string, renamed in another case, set to null, nested deeply, or (in a path's value filter)
    compared with another string."""
    body = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        places = _locations(body)
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "remove", "wrap", "stringify", "recase", "null", "deep", "bool",
                                       "requote", "requote"]))
        if action == "requote" and isinstance(container[key], str) and '"' in container[key]:
            # A value filter in a path (`members[value eq "…"]`) comparing with another string.
            edge = draw(st.sampled_from(LONE_SURROGATE_ESCAPES + EDGE_STRINGS))
            container[key] = re.sub(r'"[^"]*"', lambda _: f'"{edge}"', container[key], count=1)
        elif action == "replace":
            container[key] = draw(values)
        elif action == "remove":
            del container[key]
        elif action == "wrap":
            container[key] = [container[key]]
        elif action == "stringify":
            container[key] = json.dumps(container[key])
        elif action == "recase" and isinstance(key, str):
            container[draw(recased(key))] = container.pop(key)
        elif action == "null":
            container[key] = None
        elif action == "deep":
            container[key] = draw(deeply_nested())
        elif action == "bool":
            container[key] = draw(st.sampled_from([True, False, "True", "false", 0, 1]))
    if draw(st.integers(0, 9)) == 0:
        return draw(values)  # not even an object
    return body


USER_CREATES = [entra.TUT_CREATE, entra.TUT_EXAMPLE_2, entra.VALIDATOR_CREATE, entra.META_CREATE]
GROUP_CREATES = [entra.TUT_GROUP_CREATE, entra.REF_GROUP_CREATE,
                 {**entra.REF_GROUP_CREATE, "members": [{"value": USERS[2]}, {"value": USERS[0], "display": "A"}]}]
USER_PATCHES = [
    entra.TUT_UPDATE_MULTI_VALUED, entra.TUT_RENAME_USER_NAME, entra.COMPAT_REPLACE_WITHOUT_FLAG,
    entra.COMPAT_REPLACE_WITH_FLAG, entra.COMPAT_ADD_WITHOUT_FLAG, entra.COMPAT_ADD_WITH_FLAG,
    entra.COMPAT2020_PRIMARY_AND_PATHLESS, entra.COMPAT2020_ADD_DEPARTMENT, entra.TUT_EXAMPLE_5_ADD_MANAGER,
    entra.VALIDATOR_REMOVE_MANAGER, entra.DISABLE_WITHOUT_FLAG, entra.DISABLE_WITH_FLAG, entra.TUT_DISABLE,
    entra.DISABLE_PATHLESS,
]
# The member ids in Entra's group requests, replaced by the seeded users and a missing one.
_MEMBER_IDS = (USERS[2], USERS[0], MISSING, USERS[1])
GROUP_PATCHES = [entra.TUT_GROUP_RENAME, entra.VALIDATOR_GROUP_RENAME, entra.VALIDATOR_GROUP_REPLACE_EXTERNAL_ID] + [
    entra.with_member_ids(body, *_MEMBER_IDS) for body in (
        entra.TUT_GROUP_ADD_MEMBERS, entra.COMPAT2020_GROUP_ADD_MEMBER, entra.COMPAT_REMOVE_MEMBER_WITHOUT_FLAG,
        entra.TUT_GROUP_REMOVE_MEMBERS, entra.COMPAT_REMOVE_MEMBER_WITH_FLAG, entra.VALIDATOR_REPLACE_MEMBERS,
        entra.VALIDATOR_ADD_THEN_REMOVE_MEMBER, entra.REF_ADD_MEMBER, entra.REF_REMOVE_MEMBER,
        entra.REF_REMOVE_ALL_MEMBERS, entra.REF_SCALAR_MEMBER)
]


# --- raw bodies: what `json.dumps` would never write -----------------------------------------------------------


@cache
@st.composite
def raw_bodies(draw: st.DrawFn) -> bytes:
    """Body bytes: truncated or garbled JSON, nesting thousands deep, escaped lone surrogates, names repeated in
    another case, numbers of thousands of digits, invalid UTF-8, byte order marks, bodies around the 1 MiB limit and
    resources past the 100 KB one, or plain garbage."""
    choice = draw(st.integers(0, 10))
    valid = json.dumps(draw(st.one_of(st.sampled_from(USER_CREATES), resources("user"))))
    if choice == 0:
        return draw(TEXT).encode("utf-8", "surrogatepass")
    if choice == 1:
        return valid[: draw(st.integers(0, max(0, len(valid) - 1)))].encode()
    if choice == 2:
        depth = draw(st.one_of(st.integers(30, 40), st.integers(1, 20_000)))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"a":', "}]")]))
        inner = opener * depth + "1" + closer * depth if opener != "[" else "[" * depth + "]" * depth
        if draw(st.booleans()):
            return ('{"userName": "deep@contoso.com", "x": ' + inner + "}").encode()
        return inner.encode()
    if choice == 3:
        escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udbff\\u0041", "\\ud83d", "\\ude00\\ud83d"]))
        field = draw(st.sampled_from(["userName", "displayName", "title", "\\ud800"]))
        return ('{"userName": "s@contoso.com", "%s": "a%sb"}' % (field, escape)).encode()
    if choice == 4:
        name = draw(st.sampled_from(["userName", "displayName", "name", "emails", "active"]))
        return ('{"userName": "twice@contoso.com", "%s": "a", "%s": "b"}' % (name, draw(recased(name)))).encode()
    if choice == 5:
        digits = draw(st.integers(1, 6000))
        number = draw(st.sampled_from(["", "-", "0."])) + "9" * digits + draw(st.sampled_from(["", "e99999", "e-9"]))
        return ('{"userName": "n@contoso.com", "title": %s}' % number).encode()
    if choice == 6:
        return draw(st.binary(max_size=64))
    if choice == 7:
        return draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b""])) + valid.encode(
            draw(st.sampled_from(["utf-8", "utf-16", "utf-32"])))
    if choice == 8:
        tokens = draw(st.lists(st.sampled_from(["{", "}", "[", "]", ",", ":", '"a"', "1", "true", "null", "NaN",
                                                "Infinity", "-", '"\\', "'x'", " "]), max_size=20))
        return "".join(tokens).encode()
    if choice == 9:
        # The body limit (1 MiB: 413), and a resource over 100 KB in a body under it (413 too).
        size = draw(st.sampled_from([1024 * 1024 - 64, 1024 * 1024 + 1, 3 * 1024 * 1024]))
        if draw(st.booleans()):
            return ('{"userName": "big@contoso.com", "title": "' + "a" * size + '"}').encode()
        emails = [{"value": f"{n:04d}" + "e" * 1100} for n in range(100)]
        return json.dumps({"userName": "many@contoso.com", "emails": emails}).encode()
    return valid.encode()


# --- PATCH ----------------------------------------------------------------------------------------------------


@cache
def value_filters(kind: str) -> st.SearchStrategy[str]:
    """The filter of a PATCH path `attr[...]`: on a sub-attribute, often `eq` a string that broke something once."""
    sub = any_case(["value", "type", "primary", "display"])
    edge = st.builds(lambda p, v: f'{p} eq "{v}"', sub, st.sampled_from(LONE_SURROGATE_ESCAPES + EDGE_STRINGS))
    return st.one_of(edge, edge, filters(kind, max_leaves=3), st.sampled_from([
        'type eq "work"', 'value eq "@@user0@@"', 'value eq "@@missing@@"', 'type eq "home" and primary eq true',
        'primary eq true', 'value eq ""', 'value sw "a"', "type pr", 'value eq "@@user0@@" or value eq "@@user1@@"',
    ]), st.builds(lambda p, v: f"{p} eq {v}", sub, filter_values()), TEXT)


# Attributes a PATCH path may filter: the multi-valued ones (and a few that may not be filtered).
FILTERED = {"user": ["emails", "phoneNumbers", "addresses", "roles", "manager", f"{ENTERPRISE}:manager", "name",
                     "userName", "groups", "members"],
            "group": ["members", "members", "members", "displayName", "emails"]}


@cache
@st.composite
def patch_paths(draw: st.DrawFn, kind: str) -> Any:
    """A PATCH `path`: attribute names (with sub-attributes, URNs, any case), value filters `attr[...]` and
    `attr[...].sub`, bare URNs, garbage, or not a string at all."""
    choice = draw(st.integers(0, 9))
    if choice <= 3:
        return draw(attribute_names(kind))
    if choice <= 6:
        path = f"{draw(any_case(FILTERED[kind]))}[{draw(value_filters(kind))}]"
        if draw(st.booleans()):
            path += "." + draw(st.one_of(any_case(SUB_NAMES), TEXT))
        return path
    if choice == 7:
        return draw(any_case([ENTERPRISE, CORE_USER, CORE_GROUP, ENTERPRISE + ":", "urn:ietf:params:scim:schemas:"]))
    if choice == 8:
        return draw(st.one_of(st.none(), st.just(""), st.just("  "), NUMBERS, st.lists(TEXT, max_size=2),
                              st.booleans(), st.dictionaries(TEXT, TEXT, max_size=1)))
    return draw(TEXT)


@cache
@st.composite
def operations(draw: st.DrawFn, kind: str) -> Any:
    """Any operation: `op` mostly a known one in any case, else anything; a generated path (or none); a value (or
    none); member names sometimes in another case, sometimes an extra member."""
    if draw(st.integers(0, 9)):
        op = draw(any_case(["add", "replace", "remove"]))
    else:
        op = draw(st.one_of(st.sampled_from(["", "delete", "move", "ADD ", "test"]), TEXT, NUMBERS, st.none()))
    operation = {"op": op}
    if draw(st.integers(0, 5)):
        operation["path"] = draw(patch_paths(kind))
    if draw(st.integers(0, 4)):
        pathless = st.dictionaries(attribute_names(kind), values_for(kind), max_size=4)
        operation["value"] = draw(st.one_of(values_for(kind), pathless))
    if draw(st.integers(0, 4)) == 0:
        operation = {draw(recased(key)): value for key, value in operation.items()}
    if draw(st.integers(0, 9)) == 0:
        operation[draw(TEXT)] = draw(SCALARS)  # an extra member (the reference Postman tests send `name`)
    return operation


@cache
@st.composite
def targeted_operations(draw: st.DrawFn, kind: str) -> dict:
    """What Entra does most, aimed at edge strings: a group's members added, removed (by value list or by
    `members[value eq "…"]`) or replaced; a user's work e-mail set through `emails[type eq "…"].value`."""
    op = draw(any_case(["add", "remove", "replace"]))
    word = draw(st.one_of(st.sampled_from(TARGETS), st.sampled_from(LONE_SURROGATE_ESCAPES),
                          st.sampled_from(EDGE_STRINGS), TEXT))
    if kind == "group":
        if draw(st.booleans()):
            return {"op": op, "path": f'{draw(any_case(["members"]))}[value eq "{word}"]'}
        members = draw(st.lists(st.one_of(st.sampled_from(TARGETS).map(lambda v: {"value": v}),
                                          st.just({"value": word}), st.just(word)), min_size=1, max_size=3))
        return {"op": op, "path": "members", "value": members}
    sub = draw(st.sampled_from(["type", "value", "primary"]))
    path = f'emails[{sub} eq "{word}"]' + draw(st.sampled_from([".value", ".type", ".primary", ""]))
    return {"op": op, "path": path, "value": draw(st.one_of(st.just("w@contoso.com"), st.booleans(),
                                                            st.just({"value": "w@contoso.com", "type": word})))}


@cache
@st.composite
def well_formed_operations(draw: st.DrawFn, kind: str) -> dict:
    """An operation a client could mean: a known op, a path to an attribute the resource has (often through a value
    filter), and a value (its type right or not). One wrong thing at a time reaches further than many."""
    op = draw(any_case(["add", "replace", "remove"]))
    names = USER_ATTRIBUTES + USER_SUBATTRIBUTES + ENTERPRISE_ATTRIBUTES if kind == "user" else (
        GROUP_ATTRIBUTES + GROUP_SUBATTRIBUTES)
    filtered = st.builds(lambda a, f, sub: f"{a}[{f}]{sub}", any_case(FILTERED[kind]), value_filters(kind),
                         st.one_of(st.just(""), any_case(SUB_NAMES).map(lambda name: "." + name)))
    path = draw(st.one_of(any_case(names), filtered, filtered, st.none()))
    operation: dict[str, Any] = {"op": op} if path is None else {"op": op, "path": path}
    if op != "remove" or draw(st.integers(0, 3)) == 0:
        operation["value"] = draw(values_for(kind) if path is not None else st.dictionaries(
            any_case(names), values_for(kind), min_size=1, max_size=3))
    return operation


@cache
@st.composite
def patch_bodies(draw: st.DrawFn, kind: str) -> Any:
    """A PatchOp: well-formed operations with one thing to judge, Entra's with a field mutated, generated ones
    (any case, paths, values), or not a PatchOp at all."""
    choice = draw(st.integers(0, 9))
    if choice <= 3:
        operation = st.one_of(well_formed_operations(kind), targeted_operations(kind))
        return {"schemas": [PATCH_OP], "Operations": draw(st.lists(operation, min_size=1, max_size=2))}
    if choice <= 5:
        return draw(mutated(USER_PATCHES if kind == "user" else GROUP_PATCHES, values_for(kind)))
    if choice == 6:
        return draw(json_values())
    body: dict[str, Any] = {}
    if draw(st.integers(0, 5)):
        body["schemas"] = [PATCH_OP]
    elif draw(st.booleans()):
        body["schemas"] = draw(st.one_of(json_values(max_leaves=3), st.just([PATCH_OP.upper()])))
    if draw(st.integers(0, 9)):
        body[draw(any_case(["Operations"]))] = draw(st.lists(operations(kind), min_size=1, max_size=4))
    else:
        # None, not a list, or more than the 1,000 operations one PATCH may hold.
        body[draw(any_case(["Operations"]))] = draw(st.one_of(st.just([]), json_values(max_leaves=4), st.builds(
            lambda operation, n: [operation] * n, operations(kind), st.sampled_from([1000, 1001]))))
    return body


# --- filters --------------------------------------------------------------------------------------------------

FILTER_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


# What filters are answered from keys (one GetItem on an id, a unique value's guard, a membership) or compare with
# stored values: most generated filters name one of them.
KEY_PATHS = {"user": ["id", "userName", "externalId", "emails", "emails.value", "manager", "displayName"],
             "group": ["id", "displayName", "externalId", "members", "members.value"]}


@cache
def filter_paths(kind: str) -> st.SearchStrategy[str]:
    names = (USER_ATTRIBUTES + USER_SUBATTRIBUTES + ENTERPRISE_ATTRIBUTES + [f"{ENTERPRISE}:department",
             f"{ENTERPRISE}:manager.value", f"{CORE_USER}:userName"] if kind == "user"
             else GROUP_ATTRIBUTES + GROUP_SUBATTRIBUTES + [f"{CORE_GROUP}:displayName"])
    return st.one_of(any_case(KEY_PATHS[kind]), any_case(KEY_PATHS[kind]), any_case(names + COMMON),
                     st.sampled_from(UNKNOWN_NAMES + ["1a", "a b", "emails[", "x]"]))


# A lone surrogate written as a JSON escape: text a URL or a body can carry, which a quoted filter value decodes.
LONE_SURROGATE_ESCAPES = [r"\ud800", r"a\udfffb", r"\ud83d", r"\ude00\ud83d", r"\udbff", r"x\udc00y"]
# Strings that have broken parsers and stores: empty, blank, lone surrogates and NUL as JSON escapes, a key longer
# than DynamoDB takes, the seeded values and ids.
EDGE_STRINGS = ["", " ", r"\ud800", r"a\udfffb", r"\ud83d", r"\ude00\ud83d", r"\u0000", "x" * 1100, "a" * 300,
                "alice@contoso.com", "ALICE@CONTOSO.COM", "ext-alice", "Team A", "work",
                r"Zoe\u0308.Dupont@contoso.com", "a+b", "R&D", *TARGETS]


@cache
def filter_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(EDGE_STRINGS).map(lambda t: f'"{t}"'),  # as written: `\\ud800` stays a JSON escape
        st.sampled_from(EDGE_STRINGS).map(lambda t: f'"{t}"'),
        # Quoted as JSON writes it: a lone surrogate becomes the escape `\\ud800` (valid filter text) ...
        TEXT.map(json.dumps),
        # ... or stays a lone surrogate (a filter no URL can carry).
        TEXT.map(lambda t: json.dumps(t, ensure_ascii=False)),
        st.sampled_from(["true", "False", "null", "0", "-1", "1.5", "1e400", "-0", "9" * 400,
                         "2024-01-01T00:00:00Z", "2024-13-45T99:99", "jyoung", '"unterminated', '"\\x"', '"\\u12"',
                         '"a\\"b"', "@@user0@@", "''"]),
        TEXT.filter(lambda t: t.strip() != ""),
    )


@cache
def filters(kind: str, max_leaves: int = 8) -> st.SearchStrategy[str]:
    """Filters from a small grammar of RFC 7644 §3.4.2.2 (keywords in any case, spaces or `+`), with value paths."""
    keyword = lambda words: any_case(words)  # noqa: E731
    space = st.sampled_from([" ", " ", "+", "  ", " \t"])
    operator = st.one_of(keyword(["eq"]), keyword(FILTER_OPERATORS))
    comparison = st.builds(lambda p, s1, o, s2, v: f"{p}{s1}{o}{s2}{v}",
                           filter_paths(kind), space, operator, space, filter_values())
    present = st.builds(lambda p, s, o: f"{p}{s}{o}", filter_paths(kind), space, keyword(["pr"]))
    atom = st.one_of(comparison, comparison, present)
    return st.recursive(atom, lambda inner: st.one_of(
        st.builds(lambda a, s, k, t, b: f"{a}{s}{k}{t}{b}", inner, space, keyword(["and", "or"]), space, inner),
        st.builds(lambda k, s, a: f"{k}{s}({a})", keyword(["not"]), st.sampled_from(["", " "]), inner),
        inner.map(lambda a: f"({a})"),
        st.builds(lambda p, a: f"{p}[{a}]", any_case(MULTI_VALUED + ["name", "manager"]), inner),
        st.builds(lambda p, a, sub, s, o, v: f"{p}[{a}].{sub}{s}{o} {v}", any_case(MULTI_VALUED), inner,
                  any_case(SUB_NAMES), space, keyword(FILTER_OPERATORS), filter_values()),
    ), max_leaves=max_leaves)


@cache
def key_filters(kind: str) -> st.SearchStrategy[str]:
    """Filters the service answers by reading keys the client wrote: `id`, a unique attribute (`userName`,
    `externalId`, a group's `displayName`) or a member compared by `eq`, alone or joined by `and`."""
    keys = ["id", "userName", "externalId"] if kind == "user" else ["id", "displayName", "externalId"]
    value = st.one_of(st.sampled_from(LONE_SURROGATE_ESCAPES).map(lambda t: f'"{t}"'),
                      st.sampled_from(EDGE_STRINGS).map(lambda t: f'"{t}"'), filter_values())
    lookup = st.builds(lambda p, o, v: f"{p} {o} {v}", any_case(keys), st.one_of(any_case(["eq"]), any_case(
        ["eq", "ne", "co", "sw", "pr"])), value)
    member = st.builds(lambda g, v: f'id eq "{g}" and members eq {v}', st.sampled_from([*TARGETS]), value)
    other = st.builds(lambda f, k, g: f"{f} {k} {g}", lookup, any_case(["and", "or"]), filters(kind, max_leaves=2))
    return st.one_of(lookup, lookup, member if kind == "group" else lookup, other)


@cache
@st.composite
def stress_filters(draw: st.DrawFn) -> str:
    """Long and deep filters: hundreds of terms joined by `and`/`or` (as long as the 4,096 characters the service
    takes and beyond), parentheses or `not (...)` 1 to 60 deep."""
    choice = draw(st.integers(0, 2))
    term = draw(st.sampled_from(["userName pr", "a pr", 'userName eq "x"', "id eq 1", "members pr"]))
    if choice == 0:
        joiner = draw(st.sampled_from([" or ", " and ", " OR ", "+and+"]))
        # 512 terms of "a pr" joined by " or " just fit in 4,096 characters: the deepest tree a filter can make.
        return joiner.join([term] * draw(st.one_of(st.integers(1, 700), st.sampled_from([300, 500, 511, 512]))))
    depth = draw(st.integers(1, 60))
    if choice == 1:
        return "(" * depth + term + ")" * depth
    return "not (" * depth + term + ")" * depth


GARBAGE_FILTER_TOKENS = ["(", ")", "[", "]", '"', "and", "or", "not", "eq", "pr", "userName", "emails", ".value",
                         "\\", '"x"', "true", "urn:x:y", " ", "+", "members", "members.value"]


@cache
def garbage_filters() -> st.SearchStrategy[str]:
    return st.one_of(TEXT, st.lists(st.sampled_from(GARBAGE_FILTER_TOKENS), max_size=12).map(" ".join),
                     st.lists(st.sampled_from(GARBAGE_FILTER_TOKENS), max_size=12).map("".join))


@cache
def any_filter(kind: str) -> st.SearchStrategy[str]:
    return st.one_of(filters(kind), filters(kind), garbage_filters(), stress_filters(), value_filters(kind))


# --- query parameters and search requests --------------------------------------------------------------------

LIST_PARAMETERS = ["filter", "startIndex", "count", "attributes", "excludedAttributes"]


@cache
def integers_as_text() -> st.SearchStrategy[str]:
    digits = st.integers(1, 6000).map(lambda n: "9" * n)
    return st.one_of(
        st.integers().map(str), st.integers(-10, 200).map(str),
        st.builds(lambda sign, zeros, d: f"{sign}{zeros}{d}", st.sampled_from(["", "+", "-"]),
                  st.sampled_from(["", "0", "0000000000"]), digits),
        st.sampled_from(["", " ", "1.5", "1e3", "0x10", "\u0663", "1_000", "١٢", " 5 ", "5\n", "--1", "+", "NaN"]),
        TEXT,
    )


@cache
def projection_lists(kind: str) -> st.SearchStrategy[str]:
    names = st.one_of(attribute_names(kind), st.text(st.sampled_from("ab"), min_size=250, max_size=260))
    return st.one_of(
        st.lists(names, max_size=5).map(",".join),
        st.tuples(names, st.integers(95, 105)).map(lambda t: ",".join([t[0]] * t[1])),
        st.lists(names, max_size=3).map("+".join),
        TEXT,
    )


@cache
def parameter_values(name: str, kind: str) -> st.SearchStrategy[str]:
    lowered = name.lower()
    if lowered == "filter":
        return any_filter(kind)
    if lowered in ("startindex", "count"):
        return integers_as_text()
    if lowered in ("attributes", "excludedattributes"):
        return projection_lists(kind)
    return TEXT


@cache
@st.composite
def query_parameters(draw: st.DrawFn, kind: str) -> dict[str, str]:
    """Up to four list parameters, names in any case, plus sometimes one of any name."""
    names = draw(st.lists(any_case(LIST_PARAMETERS), max_size=4, unique_by=str.lower))
    params = {name: draw(parameter_values(name, kind)) for name in names}
    if draw(st.integers(0, 4)) == 0:
        params[draw(st.one_of(TEXT, st.sampled_from(["aadOptscim062020", "sortBy", "x"])))] = draw(TEXT)
    return params


@cache
@st.composite
def search_bodies(draw: st.DrawFn, kind: str) -> Any:
    """A SearchRequest: its members in any case, each a right or wrong type, or not an object at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values())
    body: dict[str, Any] = {}
    if draw(st.integers(0, 3)):
        body[draw(recased("schemas"))] = draw(st.one_of(st.just([SEARCH_REQUEST]), json_values(max_leaves=3),
                                                        st.just([SEARCH_REQUEST.upper(), "urn:x"])))
    for name in draw(st.lists(any_case(LIST_PARAMETERS), max_size=4, unique_by=str.lower)):
        lowered = name.lower()
        typed = (any_filter(kind) if lowered == "filter"
                 else st.one_of(st.integers(), integers_as_text()) if lowered in ("startindex", "count")
                 else st.one_of(projection_lists(kind), st.lists(attribute_names(kind), max_size=4)))
        body[name] = draw(st.one_of(typed, typed, SCALARS, json_values(max_leaves=3)))
    return body


# --- routes ---------------------------------------------------------------------------------------------------

# Every path of the route table (auth.privileges.ROUTES), `{id}` to be filled by the strategy.
PATH_TEMPLATES = sorted({route for _, route in privileges.ROUTES})
DISCOVERY_IDS = ["User", "Group", "user", CORE_USER, ENTERPRISE, CORE_GROUP, "Nope", "urn%3Aietf", ".search"]


@cache
def path_ids() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(TARGETS), st.sampled_from(DISCOVERY_IDS).map(url_segment),
        TEXT.filter(lambda t: t not in ("", ".", "..")).map(url_segment),
        st.sampled_from(["%00", "%2F", "a" * 300, "x" * 1100, "%ED%A0%80", "%FF", ".search"]),
    )


# The Tenant URL's IdP segment when it is not the tenant's: an unknown id, a malformed one, percent-encoded forms.
IDP_SEGMENTS = st.one_of(
    st.sampled_from(["other-idp", "0", "A" * 64, "a" * 65, "-lead", "_x", "%00", f"{IDP_ID}%0A", "%20", IDP_ID.upper(),
                     IDP_ID.replace("-", "%2D"), f"%{ord(IDP_ID[0]):02X}{IDP_ID[1:]}", f"{IDP_ID}%20"]),
    TEXT.filter(lambda t: t not in ("", ".", "..")).map(url_segment),
)
