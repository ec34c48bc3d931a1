"""The use cases against the in-memory store: fast (no emulator), and with the race and fault harness."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch) -> None:
    """Losers of a race retry at once here: what is tested is that they retry, not how long they wait."""
    from scim_endpoint.resources import retry

    monkeypatch.setattr(retry, "RETRY_MAX_SECONDS", 0.0)


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.usecases.harness import EXPLORED

    if EXPLORED["pairs"] or EXPLORED["operations"]:
        terminalreporter.write_line(
            f"race and fault harness: {EXPLORED['interleavings']} interleavings of {EXPLORED['pairs']} pairs of "
            f"requests, {EXPLORED['faults']} injected faults over {EXPLORED['operations']} requests; "
            "every invariant held")
