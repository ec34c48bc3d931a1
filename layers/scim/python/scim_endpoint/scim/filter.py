"""SCIM filters (RFC 7644 §3.4.2.2): a parser to a small AST, and evaluation of that AST against a resource.

Beyond the RFC grammar, the parser accepts what Entra and its documentation send: keywords in any case, `+` as a
space outside quoted strings (API Gateway decodes `%20` but leaves a form-encoded `+` alone), unquoted values
(`externalId eq jyoung`), and `emails[type eq "work"].value eq "x"` (read as "some work e-mail has value x").
"""

from __future__ import annotations

import json
import operator
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from collections.abc import Iterator
from typing import Any, Callable, Generic, TypeVar, Union

from .errors import InvalidFilter

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
ORDERING_OPS = frozenset({"gt", "ge", "lt", "le"})
CORE_SCHEMA_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"
MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32


@dataclass(frozen=True)
class AttrPath:
    """`[schema ":"] attr ["." sub_attr]`; `schema` is None for the resource's core schema."""

    attr: str
    sub_attr: str | None = None
    schema: str | None = None

    def __str__(self) -> str:
        name = f"{self.attr}.{self.sub_attr}" if self.sub_attr else self.attr
        return f"{self.schema}:{name}" if self.schema else name


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any
    # The value as written, so an unquoted `123` can still be compared with a string attribute.
    raw: str
    # A quoted value holding `+`, read with spaces instead. API Gateway percent-decodes the query string but
    # leaves a form-encoded `+`, so `"Sales+EMEA"` may mean "Sales EMEA" (form encoding) or "Sales+EMEA" (a `%2B`
    # already decoded): both readings are tried.
    spaced: str | None = None

    def readings(self) -> tuple[Compare, ...]:
        if self.spaced is None:
            return (self,)
        return (self, replace(self, value=self.spaced, spaced=None))


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    operand: Filter


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]`: true when some element of the multi-valued `attr` matches `filter`."""

    path: AttrPath
    filter: Filter


Filter = Union[Compare, Present, And, Or, Not, ValuePath]

_TOKEN = re.compile(
    r"""
    (?P<space>[\s+]+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<punct>[()\[\]])
  | (?P<word>[^\s+()\[\]"]+)
    """,
    re.VERBOSE,
)
_ATTR_PATH = re.compile(
    r"^(?:(?P<schema>urn:[^\s\[\]()]+):)?(?P<attr>\$?[A-Za-z][\w$-]*)(?:\.(?P<sub>\$?[A-Za-z][\w$-]*))?$",
    re.IGNORECASE,  # attribute names, schema URNs included, are case-insensitive
)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def parse(text: str) -> Filter:
    """Parse a filter expression, or raise InvalidFilter saying what is wrong (never echoing the values)."""
    if not text or not text.strip(" +"):
        raise InvalidFilter("The filter is empty.")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    parser = _Parser(_tokenize(text))
    expr = parser.filter(depth=0)
    if parser.peek() is not None:
        raise InvalidFilter(f"Unexpected text after the end of the filter at token {parser.pos + 1}.")
    return expr


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise InvalidFilter("The filter has an unterminated quoted string.")
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group()))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent with the RFC's precedence: `not` binds tightest, then `and`, then `or`."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise InvalidFilter("The filter ends too early.")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def expect(self, punct: str) -> None:
        kind, text = self.take()
        if (kind, text) != ("punct", punct):
            raise InvalidFilter(f"Expected '{punct}' at token {self.pos} of the filter.")

    def filter(self, depth: int) -> Filter:
        if depth > MAX_DEPTH:
            raise InvalidFilter("The filter is nested too deeply.")
        left = self.conjunction(depth)
        while self.keyword("or"):
            left = Or(left, self.conjunction(depth))
        return left

    def conjunction(self, depth: int) -> Filter:
        left = self.unary(depth)
        while self.keyword("and"):
            left = And(left, self.unary(depth))
        return left

    def unary(self, depth: int) -> Filter:
        if self.keyword("not"):
            self.expect("(")
            inner = self.filter(depth + 1)
            self.expect(")")
            return Not(inner)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.filter(depth + 1)
            self.expect(")")
            return inner
        return self.attribute_expression(depth)

    def attribute_expression(self, depth: int) -> Filter:
        kind, text = self.take()
        if kind != "word":
            raise InvalidFilter(f"Expected an attribute name at token {self.pos} of the filter.")
        path = parse_attr_path(text)
        if self.peek() == ("punct", "["):
            self.take()
            if path.sub_attr:
                raise InvalidFilter(f"A value filter cannot follow a sub-attribute ('{path}').")
            inner = self.filter(depth + 1)
            self.expect("]")
            return self.after_value_path(ValuePath(path, inner))
        return self.comparison(path)

    def after_value_path(self, value_path: ValuePath) -> Filter:
        # `emails[type eq "work"].value eq "x"`: the tokenizer keeps `.value` as a word of its own.
        token = self.peek()
        if token and token[0] == "word" and token[1].startswith("."):
            self.take()
            sub = parse_attr_path(value_path.path.attr + token[1]).sub_attr
            inner = self.comparison(AttrPath(sub or ""))
            return ValuePath(value_path.path, And(value_path.filter, inner))
        return value_path

    def comparison(self, path: AttrPath) -> Filter:
        op = self.keyword("pr", *COMPARE_OPS)
        if op is None:
            raise InvalidFilter(f"Expected an operator after '{path}' (eq, ne, co, sw, ew, gt, ge, lt, le, pr).")
        if op == "pr":
            return Present(path)
        kind, raw = self.take()
        if kind == "punct":
            raise InvalidFilter(f"Expected a value after '{path} {op}'.")
        value = _value(kind, raw)
        if isinstance(value, bool) and op not in ("eq", "ne"):
            # Rejected here, not only when a stored boolean is met, so the answer does not depend on the data.
            raise InvalidFilter(f"The operator '{op}' cannot be used with a boolean ('{path}').")
        spaced = value.replace("+", " ") if kind == "string" and "+" in value else None
        return Compare(path, op, value, raw, spaced)


def parse_attr_path(text: str) -> AttrPath:
    match = _ATTR_PATH.match(text)
    if match is None:
        raise InvalidFilter("The filter names an attribute that is not a valid attribute path.")
    schema = match.group("schema")
    if schema and schema.lower() + ":" in (CORE_SCHEMA_PREFIX + "user:", CORE_SCHEMA_PREFIX + "group:"):
        schema = None  # the core schema is the resource's own: `urn:...:core:2.0:User:userName` is `userName`
    return AttrPath(match.group("attr"), match.group("sub"), schema)


def _value(kind: str, raw: str) -> Any:
    if kind == "string":
        try:
            value = json.loads(raw)
        except ValueError:
            raise InvalidFilter("The filter has a badly escaped quoted string.") from None
        # The edge refuses a filter holding a lone UTF-16 surrogate, but a quoted value may still write one as an
        # escape (`"\\ud800"`), which json.loads decodes: such a value is no text, and reached the store as a key it
        # cannot encode (a 500, or in a PATCH path filter a write retried into a 429).
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidFilter("The filter has a quoted string that is not Unicode text (a lone surrogate).") from None
        return value
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _NUMBER.match(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    return raw  # an unquoted string, as older Entra documentation shows


# --- the visitor API: every analysis of a filter tree is one `Visitor` ---------------------------------------------

T = TypeVar("T")


class Visitor(Generic[T]):
    """One pass over a filter tree, a method per node kind. Each method not overridden answers `otherwise(node)`
    (None unless a subclass says more), so an analysis names only the nodes it understands: a key lookup reads
    `Compare` and `And`, and finds nothing in an `Or`."""

    def visit(self, expr: Filter) -> T:
        return getattr(self, _METHODS[type(expr)])(expr)

    def compare(self, node: Compare) -> T:
        return self.otherwise(node)

    def present(self, node: Present) -> T:
        return self.otherwise(node)

    def and_(self, node: And) -> T:
        return self.otherwise(node)

    def or_(self, node: Or) -> T:
        return self.otherwise(node)

    def not_(self, node: Not) -> T:
        return self.otherwise(node)

    def value_path(self, node: ValuePath) -> T:
        return self.otherwise(node)

    def otherwise(self, node: Filter) -> T:
        return None  # type: ignore[return-value]


_METHODS = {Compare: "compare", Present: "present", And: "and_", Or: "or_", Not: "not_", ValuePath: "value_path"}


class Rewrite(Visitor[Filter]):
    """The same tree with every top-level attribute path passed through `path` (a value path's inner filter names
    sub-attributes of its attribute, so it is left alone)."""

    def path(self, path: AttrPath) -> AttrPath:
        return path

    def compare(self, node: Compare) -> Filter:
        return replace(node, path=self.path(node.path))

    def present(self, node: Present) -> Filter:
        return replace(node, path=self.path(node.path))

    def and_(self, node: And) -> Filter:
        return And(self.visit(node.left), self.visit(node.right))

    def or_(self, node: Or) -> Filter:
        return Or(self.visit(node.left), self.visit(node.right))

    def not_(self, node: Not) -> Filter:
        return Not(self.visit(node.operand))

    def value_path(self, node: ValuePath) -> Filter:
        return replace(node, path=self.path(node.path))


class _Nodes(Visitor[list]):
    def otherwise(self, node: Filter) -> list:
        return [node]

    def and_(self, node: And) -> list:
        return [node, *self.visit(node.left), *self.visit(node.right)]

    or_ = and_

    def not_(self, node: Not) -> list:
        return [node, *self.visit(node.operand)]

    def value_path(self, node: ValuePath) -> list:
        return [node, *self.visit(node.filter)]


def walk(expr: Filter) -> Iterator[Filter]:
    """Every node of a filter, depth first (a value path's inner filter included)."""
    return iter(_Nodes().visit(expr))


# --- evaluation ------------------------------------------------------------------------------------------------

CaseExact = Callable[[AttrPath], bool]


def matches(expr: Filter, resource: dict, case_exact: CaseExact = lambda path: False) -> bool:
    """Whether `resource` (a SCIM resource as a dict) satisfies `expr`. Attribute names match case-insensitively."""
    return _Evaluate(resource, case_exact).visit(expr)


class _Evaluate(Visitor[bool]):
    def __init__(self, resource: dict, case_exact: CaseExact):
        self.resource = resource
        self.case_exact = case_exact

    def and_(self, node: And) -> bool:
        return self.visit(node.left) and self.visit(node.right)

    def or_(self, node: Or) -> bool:
        return self.visit(node.left) or self.visit(node.right)

    def not_(self, node: Not) -> bool:
        return not self.visit(node.operand)

    def value_path(self, node: ValuePath) -> bool:
        elements = _get(_container(self.resource, node.path), node.path.attr)
        if not isinstance(elements, list):
            elements = [] if elements is None else [elements]
        scoped = _scoped(self.case_exact, node.path)
        # An element of a simple multi-valued attribute is its own `value` (RFC 7644 §3.4.2.2).
        return any(matches(node.filter, e if isinstance(e, dict) else {"value": e}, scoped) for e in elements)

    def present(self, node: Present) -> bool:
        # RFC 7644: a complex attribute is present when it has a non-empty node, whether or not it has a `value`.
        return any(v not in (None, "", [], {}) for v in _values(self.resource, node.path, complex_value=False))

    def compare(self, node: Compare) -> bool:
        values = _values(self.resource, node.path)
        exact = self.case_exact(node.path)
        op = "eq" if node.op == "ne" else node.op
        found = any(_compare(v, op, reading, exact) for reading in node.readings() for v in values)
        return not found if node.op == "ne" else found


def _scoped(case_exact: CaseExact, parent: AttrPath) -> CaseExact:
    """Inside `emails[...]`, `type` means `emails.type` for caseExact purposes."""
    return lambda path: case_exact(AttrPath(parent.attr, path.attr, parent.schema))


def _get(obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            return value
    return None


def _container(resource: dict, path: AttrPath) -> Any:
    return _get(resource, path.schema) if path.schema else resource


def _values(resource: dict, path: AttrPath, complex_value: bool = True) -> list:
    """The values a comparison looks at: every element of a multi-valued attribute, and for a complex attribute
    compared without a sub-attribute, its `value` (so `members eq "id"` and `emails co "@x"` work)."""
    top = _get(_container(resource, path), path.attr)
    elements = top if isinstance(top, list) else [top]
    found = []
    for element in elements:
        if path.sub_attr:
            element = _get(element, path.sub_attr)
        elif complex_value and isinstance(element, dict):
            element = _get(element, "value")
        if isinstance(element, list):
            found.extend(element)
        elif element is not None:
            found.append(element)
    return found


def _compare(actual: Any, op: str, expr: Compare, case_exact: bool) -> bool:
    expected = expr.value
    if expected is None:
        return op == "eq" and actual is None
    if isinstance(actual, bool) or isinstance(expected, bool):
        if op != "eq":
            raise InvalidFilter(f"The operator '{op}' cannot be used with a boolean ('{expr.path}').")
        return _as_bool(actual) == _as_bool(expected)
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return _order(actual, op, expected)
    if not isinstance(actual, str):
        return False
    return _compare_text(actual, op, expected if isinstance(expected, str) else expr.raw, case_exact)


def _compare_text(actual: str, op: str, expected: str, case_exact: bool) -> bool:
    when_a, when_e = _as_datetime(actual), _as_datetime(expected)
    if when_a is not None and when_e is not None and op in ORDERING_OPS | {"eq"}:
        return _order(when_a, op, when_e)
    if not case_exact:
        actual, expected = caseless(actual), caseless(expected)
    return _order(actual, op, expected)


def caseless(text: str) -> str:
    """Unicode's canonical caseless form (NFC, case-folded, NFC again): how values that ignore case compare, so a
    name typed precomposed or decomposed, in any case, is one name."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
    "co": lambda actual, expected: expected in actual,
    "sw": lambda actual, expected: actual.startswith(expected),
    "ew": lambda actual, expected: actual.endswith(expected),
}


def _order(actual: Any, op: str, expected: Any) -> bool:
    """`actual op expected`; false for values that do not compare (`co` on numbers, aware with naive datetimes)."""
    try:
        return _OPERATORS[op](actual, expected)
    except (TypeError, AttributeError):
        return False


def _as_bool(value: Any) -> Any:
    # Entra writes booleans as "True"/"False" strings; stored values are compared the way they are meant.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _as_datetime(value: str) -> datetime | None:
    if not _DATETIME.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
