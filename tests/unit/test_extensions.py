"""The declaration rules of an IdP's own extensions (pure): parsing the SCIM schema language, the limits across an
IdP's extensions, which changes drop stored values, and how stored values are shown under the current declaration."""

from __future__ import annotations

import pytest

from scim_endpoint.scim import extensions
from scim_endpoint.scim.discovery import get_resource_type, get_schema
from scim_endpoint.scim.errors import InvalidPath, InvalidSyntax
from scim_endpoint.scim.patch import apply
from scim_endpoint.scim.resource_types import CORE
from scim_endpoint.scim.validation import normalize

URN = "urn:example:params:scim:schemas:extension:acme:2.0:User"
BASE = "https://scim.example.com/v1/scim/acme"


def document(*attributes: dict, urn: str = URN, resource_type: str = "User", required: bool = False) -> dict:
    return {"resourceType": resource_type, "required": required,
            "schema": {"id": urn, "name": "Acme", "attributes": list(attributes) or [{"name": "costCenter"}]}}


def test_a_declaration_compiles_to_typed_definitions_with_rfc_defaults() -> None:
    declared = extensions.parse(document({"name": "costCenter"}, {"name": "site", "type": "reference"}))
    schema = declared.extension().schema
    cost_center, site = schema.attributes
    assert (cost_center.type, cost_center.multi_valued, cost_center.case_exact, cost_center.mutability,
            cost_center.returned, cost_center.uniqueness) == ("string", False, False, "readWrite", "default", "none")
    assert site.case_exact is True  # RFC 7643 §2.3.7: a reference is case-exact
    assert cost_center.description == "costCenter"  # RFC 7643 §7 requires one: its name when none is declared


def test_the_stored_document_parses_back_to_the_same_declaration() -> None:
    declared = extensions.parse(document({"name": "office", "type": "complex", "subAttributes": [
        {"name": "building"}, {"name": "$ref", "type": "reference", "referenceTypes": ["external"]}]}))
    assert extensions.parse(declared.document()) == declared
    assert declared.document()["schema"]["attributes"][0]["subAttributes"][1]["referenceTypes"] == ["external"]


def test_resource_types_serve_the_extension_for_its_resource_type_only() -> None:
    types = extensions.resource_types([document(), document(urn="urn:acme:group", resource_type="Group")])
    assert types.user.extension_urns[-1] == URN and types.group.extension_urns == ("urn:acme:group",)
    assert get_schema(types, URN.upper(), BASE)["id"] == URN
    assert get_resource_type(types, "User", BASE)["schemaExtensions"][-1] == {"schema": URN, "required": False}
    assert extensions.resource_types([]) is CORE


def test_check_set_refuses_duplicates_prefixes_and_too_many() -> None:
    one = extensions.parse(document())
    with pytest.raises(extensions.InvalidExtension, match="taken"):
        extensions.check_set([one, extensions.parse(document(urn=URN.upper()))])
    with pytest.raises(extensions.InvalidExtension, match="prefix"):
        extensions.check_set([one, extensions.parse(document(urn=URN + ":more"))])
    many = [extensions.parse(document(urn=f"urn:acme:e{i}")) for i in range(extensions.MAX_EXTENSIONS + 1)]
    with pytest.raises(extensions.InvalidExtension, match="at most"):
        extensions.check_set(many)
    extensions.check_set(many[:-1])


@pytest.mark.parametrize("new, dropped", [
    ([{"name": "a"}, {"name": "b", "type": "integer"}, {"name": "c"}], []),  # an attribute added
    ([{"name": "a", "description": "now described", "caseExact": True}, {"name": "b", "type": "integer"}], []),
    ([{"name": "b", "type": "integer"}], ["a"]),  # removed
    ([{"name": "a"}, {"name": "b"}], ["b"]),  # retyped
    ([{"name": "A"}, {"name": "b", "type": "integer", "multiValued": True}], ["b"]),  # made multi-valued
])
def test_dropped_names_what_a_change_removes_or_retypes(new, dropped) -> None:
    old = extensions.parse(document({"name": "a"}, {"name": "b", "type": "integer"}))
    assert extensions.dropped(old, extensions.parse(document(*new))) == dropped
    assert extensions.dropped(old, None) == ["a", "b"]
    assert extensions.dropped(None, old) == []


def test_a_sub_attribute_removed_or_retyped_drops_its_attribute() -> None:
    old = extensions.parse(document({"name": "o", "type": "complex", "subAttributes": [{"name": "x"}, {"name": "y"}]}))
    fewer = extensions.parse(document({"name": "o", "type": "complex", "subAttributes": [{"name": "x"}]}))
    more = extensions.parse(document({"name": "o", "type": "complex", "subAttributes": [
        {"name": "x"}, {"name": "y"}, {"name": "z"}]}))
    assert extensions.dropped(old, fewer) == ["o"] and extensions.dropped(old, more) == []


def test_uses_looks_for_values_of_the_named_attributes_only() -> None:
    stored = {"userName": "x", URN.upper(): {"a": "1", "b": None, "c": []}}
    assert extensions.uses(URN, ["A"], stored)
    assert not extensions.uses(URN, ["b", "c", "d"], stored)
    assert not extensions.uses("urn:other:x", ["a"], stored)


def test_conform_shows_stored_values_as_the_current_declaration_accepts_them() -> None:
    types = extensions.resource_types([document({"name": "a"}, {"name": "n", "type": "integer"})])
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    stored = {"userName": "x", URN: {"a": "1", "n": "not a number any more", "gone": "x"},
              "urn:acme:deleted": {"q": 1}, enterprise: {"costCenter": "7"}}
    assert extensions.conform(types.user, stored) == {"userName": "x", URN: {"a": "1"}, enterprise: {"costCenter": "7"}}
    assert extensions.conform(CORE.user, {"userName": "x"}) == {"userName": "x"}


def test_an_extension_is_served_only_to_the_resource_types_that_declare_it() -> None:
    types = extensions.resource_types([document({"name": "a"})])
    assert normalize(types.user, {"userName": "x", URN: {"a": "1"}})[URN] == {"a": "1"}
    with pytest.raises(InvalidSyntax):
        normalize(CORE.user, {"userName": "x", URN: {"a": "1"}})
    with pytest.raises(InvalidPath):
        apply(CORE.user, {"userName": "x"}, {"Operations": [{"op": "add", "path": f"{URN}:a", "value": "1"}]})
    # Its attributes are never found by bare name: only the enterprise extension's are (Entra's dialect).
    with pytest.raises(InvalidSyntax):
        normalize(types.user, {"userName": "x", "a": "1"})


def test_a_declaration_in_the_secret_that_no_longer_parses_fails_the_read() -> None:
    from pydantic import ValidationError

    from scim_endpoint.tenants import Idp

    with pytest.raises(ValidationError):
        Idp(id="x", extensions=({"resourceType": "User", "schema": {"id": "nope", "name": "x", "attributes": []}},))
