"""An IdP's activity: the changes asked of it, who asked and how each ended, read from the functions' own log lines
(pure: the reading is `activity_log.py`'s). Two kinds of line count:

- a SCIM request that asked for a change (`request handled`, any method but GET, not a `/.search`): the API key, the
  operation, the resource, the names of the attributes changed (never their values), the status;
- a management action (`management action`): the IAM principal, the action, the key it concerned, the status.

Lines carry ids and attribute names only, never a value, a token or a body, and live as long as the log groups
(`LogRetentionDays`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone

from ..scope import is_idp_id

SCIM_FIELDS = ("key_id", "operation", "resource_type", "resource_id", "attributes_changed", "members_added",
               "members_removed", "status", "scim_type")
MANAGEMENT_FIELDS = ("principal", "action", "key_id", "status", "error_code")
MANAGEMENT_ACTION = "management action"


def kind(line: dict) -> str | None:
    """"scim", "management", or None for a line that is no activity."""
    message = line.get("message")
    if message == MANAGEMENT_ACTION:
        return "management"
    if (message == "request handled" and line.get("http_method") not in (None, "GET", "HEAD")
            and not str(line.get("operation", "")).endswith("/.search")):
        return "scim"
    return None


def record(line: dict) -> dict | None:
    """The activity record of one log line (as logged, or as Logs Insights returns its fields), or None."""
    found = kind(line)
    if found is None:
        return None
    fields = SCIM_FIELDS if found == "scim" else MANAGEMENT_FIELDS
    out = {"timestamp": iso(str(line.get("timestamp") or line.get("@timestamp") or "")), "kind": found}
    for field in fields:
        value = line.get(field)
        if value in (None, ""):
            continue
        out[field] = int(value) if field in ("status", "members_added", "members_removed") else value
    out.setdefault("status", 0)
    return out


def from_lines(lines: Iterable[str], idp_id: str, limit: int) -> list[dict]:
    """The newest `limit` activity records of one IdP among JSON log lines (oldest first in the input)."""
    found = []
    for text in lines:
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("idp_id") == idp_id:
            shaped = record(line)
            if shaped is not None:
                found.append(shaped)
    return list(reversed(found))[:limit]


def query(idp_id: str, limit: int) -> str:
    """The Logs Insights query of one IdP's activity, newest first."""
    if not is_idp_id(idp_id):
        raise ValueError("not an IdP id")
    fields = ", ".join(dict.fromkeys(("message", "http_method", *SCIM_FIELDS, *MANAGEMENT_FIELDS)))
    return (
        f"fields @timestamp, {fields}"
        f' | filter idp_id = "{idp_id}" and (message = "{MANAGEMENT_ACTION}" or (message = "request handled"'
        ' and http_method != "GET" and operation not like /\\.search$/))'
        f" | sort @timestamp desc | limit {int(limit)}"
    )


def iso(text: str) -> str:
    """A log time (Powertools' `2026-11-29 22:47:08,996+0000`, Logs Insights' `2026-11-29 22:47:08.996`) as ISO 8601
    UTC with a Z; unchanged if it is neither."""
    for pattern in ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text
