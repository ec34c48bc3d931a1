"""The fuzz suite's fixture: a seeded tenant (fixed IdP id, seeded resource ids) behind the `call` fixture."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import ALL_PRIVILEGES, Tenant
from tests.fuzz.harness import IDP_ID, Fuzz, SeededUuids

READ_ONLY = ["users:read", "groups:read"]


@pytest.fixture
def make_fuzz(call, directory, monkeypatch) -> Callable[[str], Fuzz]:
    """make_fuzz(share) -> the harness for one test: IdP `fuzz-tenant` with a read-write and a read-only key, three
    users and two groups (harness.USERS, harness.GROUPS), and the requests it sends counted under `share`."""
    from scim_endpoint.resources import common

    monkeypatch.setattr(common, "uuid", SeededUuids(2026))
    idp = directory.create_idp("Fuzz", idp_id=IDP_ID)
    key, token = directory.create_key(idp.id, "read-write", "fuzz", ALL_PRIVILEGES)
    _, read_only = directory.create_key(idp.id, "read-only", "fuzz", READ_ONLY)
    tenant = Tenant(idp.id, token, key.id)
    return lambda share: Fuzz(call, tenant, read_only, share)
