"""The suite's acceptance, checked rather than assumed: at least 2,000 generated requests per run, and answers of
every kind (a suite whose requests all fail at the parser would test little). Named to run last in the folder."""

from __future__ import annotations

import pytest

from tests.fuzz.harness import ANSWERS, SENT, SHARES

REQUIRED = 2000
# What a run of the whole suite must have reached: every status the service answers, and the 400s of every kind
# that the edge, the filter parser, PATCH and the store's uniqueness can give.
STATUSES = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 412, 413}
SCIM_TYPES = {"invalidFilter", "invalidSyntax", "invalidValue", "invalidPath", "mutability", "noTarget", "uniqueness"}


def test_the_shares_add_up_to_the_required_requests() -> None:
    """Each fuzz test asserts that it sent at least its share (`Fuzz.assert_sent_share`)."""
    assert sum(SHARES.values()) >= REQUIRED


def _whole_suite_ran() -> None:
    if set(SENT) != set(SHARES):
        pytest.skip(f"only part of the fuzz suite ran: {sorted(SENT)}")


def test_this_run_sent_the_required_requests() -> None:
    """Counted as they were sent (a run of some of the fuzz tests sends only their shares)."""
    _whole_suite_ran()
    assert sum(SENT.values()) >= REQUIRED, dict(SENT)


def test_the_requests_reached_every_kind_of_answer() -> None:
    _whole_suite_ran()
    assert STATUSES <= {status for _, status, _ in ANSWERS}, sorted(ANSWERS.items())
    assert SCIM_TYPES <= {scim_type for _, _, scim_type in ANSWERS}, sorted(ANSWERS.items())
    successful = {share for share, status, _ in ANSWERS if status < 300}
    assert successful == set(SHARES), f"no request of {sorted(set(SHARES) - successful)} succeeded"
