"""An IdP's activity as `scim-admin activity` shows it: one human line per record of the management API's
`GET /admin/v1/idps/{idp}/activity` (`scim_endpoint.management.activity` makes the records from the functions' log
lines: kind "scim" for a change asked through SCIM by an API key, "management" for an action of the management API
by an IAM principal; `scim_endpoint.activity_log` reads them from CloudWatch).
"""

from __future__ import annotations


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
