"""The smoke tests start local servers; what those leave in the checkout (their log files) goes with the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.local.template import REPO_ROOT


@pytest.fixture(autouse=True, scope="session")
def _no_server_logs_left_behind() -> Iterator[None]:
    before = set(REPO_ROOT.glob(".local-server-*.log"))
    yield
    for path in set(REPO_ROOT.glob(".local-server-*.log")) - before:
        path.unlink(missing_ok=True)
