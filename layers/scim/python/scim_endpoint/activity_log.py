"""Reading the functions' log lines back for an IdP's activity: the only module that talks to CloudWatch Logs (a
Logs Insights query over the users, groups and management functions' log groups). What counts as activity, and
the shape of a record, is `management.activity`."""

from __future__ import annotations

import time
from typing import Any, Protocol

from .management import activity

# Logs Insights answers in seconds; a query still running after this is abandoned (the caller may ask again).
QUERY_TIMEOUT_SECONDS = 20


class ActivitySource(Protocol):
    def records(self, idp_id: str, hours: float, limit: int) -> list[dict]: ...


class LogsInsights:
    def __init__(self, client: Any, log_groups: list[str]):
        self._client = client
        self._log_groups = log_groups

    def records(self, idp_id: str, hours: float, limit: int) -> list[dict]:
        now = int(time.time())
        started = self._client.start_query(logGroupNames=self._log_groups, startTime=now - int(hours * 3600),
                                           endTime=now, queryString=activity.query(idp_id, limit), limit=limit)
        deadline = time.monotonic() + QUERY_TIMEOUT_SECONDS
        while True:
            answer = self._client.get_query_results(queryId=started["queryId"])
            if answer["status"] in ("Complete", "Failed", "Cancelled", "Timeout", "Unknown"):
                break
            if time.monotonic() > deadline:
                self._client.stop_query(queryId=started["queryId"])
                raise TimeoutError("the activity query took too long")
            time.sleep(0.5)
        if answer["status"] != "Complete":
            raise RuntimeError(f"the activity query ended {answer['status']}")
        rows = ({cell["field"]: cell["value"] for cell in row} for row in answer["results"])
        return [shaped for shaped in map(activity.record, rows) if shaped is not None]


_installed: ActivitySource | None = None


def use(source: ActivitySource | None) -> None:
    """Read activity from `source` instead (the local server's log file: moto has no Logs Insights)."""
    global _installed
    _installed = source


def activity_source() -> ActivitySource:
    if _installed is not None:
        return _installed
    import boto3

    from .config import settings

    groups = [group for group in settings().activity_log_groups.split(",") if group]
    if not groups:
        raise RuntimeError("ACTIVITY_LOG_GROUPS is not set: this function cannot read activity")
    return LogsInsights(boto3.client("logs"), groups)
