"""The peer compliance suite scim2-tester (python-scim) against the real handlers, in process.

It reads /ServiceProviderConfig, /ResourceTypes and /Schemas, then generates a check for everything they
advertise: create, read, list, `attributes=`, PUT, DELETE, and PATCH add/remove/replace on every attribute path.
Every check must succeed; none is excluded.
"""

from __future__ import annotations

import pytest
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from devtools.local import template
from devtools.local.server import LocalApi, wsgi_app
from tests.conftest import HOST, Tenant


@pytest.fixture
def scim_client(tenant: Tenant) -> WSGISCIMClient:
    client = WSGISCIMClient(
        wsgi_app(LocalApi(template.routes())),
        base_url=f"http://{HOST}{tenant.base}",
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    client.discover()
    return client


def describe(results) -> list[str]:
    return [f"{r.status.name} {r.title}: {r.reason}" for r in results if r.status != Status.SUCCESS]


def test_every_user_group_and_discovery_check_succeeds(scim_client: WSGISCIMClient) -> None:
    results = check_server(scim_client)
    # The suite generates a check per advertised attribute path: far more than a hundred for User and Group.
    assert len(results) > 120
    assert describe(results) == []
    titles = {r.title for r in results}
    assert {"check_add_attribute", "check_replace_attribute", "check_remove_attribute"} <= titles
    assert {"Group", "User"} <= {getattr(r.resource_type, "name", r.resource_type) for r in results if r.resource_type}
