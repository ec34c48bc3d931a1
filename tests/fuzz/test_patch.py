"""Generated PATCH requests: operations with any `op` (in any case), paths made of attribute names, value filters,
URNs and garbage, and values of every type; Entra's PatchOps with mutated fields; bodies that are no PatchOp."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import GROUPS, MISSING, SHARES, USERS, expect, fuzz_settings, unreadable
from tests.fuzz.strategies import PATCH_OP, patch_bodies


def single_unknown_op(body: Any) -> bool:
    """A PatchOp (right `schemas`, or none) of exactly one operation whose `op` is not add, replace or remove."""
    if not isinstance(body, dict) or len({k.lower() for k in body}) != len(body):
        return False
    named = {k.lower(): v for k, v in body.items()}
    declared = named.get("schemas")
    if declared is not None and (not isinstance(declared, list) or PATCH_OP.lower() not in [
            str(s).lower() for s in declared]):
        return False
    operations = named.get("operations")
    if not isinstance(operations, list) or len(operations) != 1 or not isinstance(operations[0], dict):
        return False
    fields = {k.lower(): v for k, v in operations[0].items()}
    if len(fields) != len(operations[0]):
        return False
    op = fields.get("op")
    return not (isinstance(op, str) and op.lower() in ("add", "replace", "remove"))


def test_user_patches(make_fuzz) -> None:
    fuzz = make_fuzz("user_patches")

    @fuzz_settings(SHARES["user_patches"])
    @given(target=st.sampled_from([*USERS, USERS[0], USERS[0], USERS[1], MISSING]), body=patch_bodies("user"))
    def run(target: str, body: Any) -> None:
        raw = json.dumps(body).encode()
        result = fuzz.send("PATCH", f"/Users/{target}", raw=raw)
        if unreadable(raw):
            expect(result, 400, "invalidSyntax", "an unreadable body")
        elif target != MISSING and single_unknown_op(body):
            expect(result, 400, "invalidSyntax", "an operation that is not add, replace or remove")

    run()
    fuzz.assert_sent_share()


def test_group_patches(make_fuzz) -> None:
    fuzz = make_fuzz("group_patches")

    @fuzz_settings(SHARES["group_patches"])
    @given(target=st.sampled_from([*GROUPS, GROUPS[0], GROUPS[0], GROUPS[1], MISSING]), body=patch_bodies("group"))
    def run(target: str, body: Any) -> None:
        raw = json.dumps(body).encode()
        result = fuzz.send("PATCH", f"/Groups/{target}", raw=raw)
        if unreadable(raw):
            expect(result, 400, "invalidSyntax", "an unreadable body")
        elif single_unknown_op(body):
            # A group's PATCH reads its operations before the group (members are planned first): even for a
            # group that does not exist.
            expect(result, 400, "invalidSyntax", "an operation that is not add, replace or remove")

    run()
    fuzz.assert_sent_share()
