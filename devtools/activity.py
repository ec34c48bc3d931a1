"""An IdP's activity as `scim-admin activity` shows it: one human line per record of the management API's
`GET /admin/v1/idps/{idp}/activity` (`scim_endpoint.management.activity` makes the records: kind "scim" for a change
asked through SCIM by an API key, "management" for an action of the management API by an IAM principal).

`FIELDS`, `from_lines`, `from_file`, `query` and `from_cloudwatch` are the reading of the functions' log lines that
`scim-admin activity` did before the management API served activity; nothing in the command line uses them any more.
They stay (unchanged) for the tests that still import them (tests/unit/test_activity.py, the saved query's test in
tests/template/test_template.py); the management API's own reading is `scim_endpoint.management.activity` and
`scim_endpoint.activity_log`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scim_endpoint.scope import is_idp_id

FIELDS = ("timestamp", "key_id", "operation", "resource_type", "resource_id", "attributes_changed",
          "members_added", "members_removed", "status", "scim_type")


def is_activity(line: dict) -> bool:
    """A request that asked for a change: anything but reads (GET, and the POSTs of `/.search`)."""
    return (
        line.get("message") == "request handled"
        and line.get("http_method") not in (None, "GET", "HEAD")
        and not str(line.get("operation", "")).endswith("/.search")
    )


def from_lines(lines: Iterable[str], idp_id: str, limit: int) -> list[dict]:
    """The newest `limit` activity records of one IdP among JSON log lines."""
    found = []
    for text in lines:
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("idp_id") == idp_id and is_activity(line):
            found.append({field: line[field] for field in FIELDS if field in line})
    return list(reversed(found))[:limit]


def from_file(path: Path, idp_id: str, limit: int) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return from_lines(handle, idp_id, limit)


def query(idp_id: str, limit: int) -> str:
    """The Logs Insights query of one IdP's activity (the saved query in template.yaml, narrowed to the IdP)."""
    if not is_idp_id(idp_id):
        raise ValueError("not an IdP id")
    return (
        f"fields {', '.join(FIELDS)}"
        ' | filter message = "request handled" and http_method != "GET" and operation not like /\\.search$/'
        f' and idp_id = "{idp_id}"'
        f" | sort @timestamp desc | limit {int(limit)}"
    )


def from_cloudwatch(logs: Any, log_groups: list[str], idp_id: str, hours: float, limit: int) -> list[dict]:
    now = int(time.time())
    started = logs.start_query(logGroupNames=log_groups, startTime=now - int(hours * 3600), endTime=now,
                               queryString=query(idp_id, limit), limit=limit)
    while True:
        answer = logs.get_query_results(queryId=started["queryId"])
        if answer["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
            break
        time.sleep(0.5)
    if answer["status"] != "Complete":
        raise RuntimeError(f"the Logs Insights query ended {answer['status']}")
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] in FIELDS} for row in answer["results"]]


def line(record: dict) -> str:
    """One activity record as a line for a person: when, who (the key, or the IAM principal), what, how it ended."""
    if record.get("kind") == "management":
        outcome = str(record.get("status", ""))
        if record.get("error_code"):
            outcome += f" {record['error_code']}"
        return "  ".join(str(part) for part in (
            record.get("timestamp", ""), f"by {record.get('principal') or '-'}", record.get("action", ""),
            f"key {record['key_id']}" if record.get("key_id") else "", outcome) if part)
    what = record.get("attributes_changed") or ""
    if isinstance(what, list):
        what = ",".join(str(name) for name in what)
    if record.get("members_added") or record.get("members_removed"):
        what = f"members +{record.get('members_added', 0)} -{record.get('members_removed', 0)}"
    outcome = str(record.get("status", ""))
    if record.get("scim_type"):
        outcome += f" {record['scim_type']}"
    resource = f"{record.get('resource_type', '')} {record.get('resource_id', '')}".strip()
    return "  ".join(str(part) for part in (
        record.get("timestamp", ""), f"key {record.get('key_id', '-')}", record.get("operation", ""), resource,
        f"[{what}]" if what else "", outcome) if part)
