"""An IdP's data as JSON Lines, for portability and migration: one line per user, per group, and per membership.

    {"kind": "User", "resource": {<the SCIM User, as GET returns it, without groups>}}
    {"kind": "Group", "resource": {<the SCIM Group without members>}}
    {"kind": "Membership", "group": "<group id>", "member": {"value": "<user id>", ...as written}}

Users first, then groups, then each group's memberships, each in id order: a group of any size is one short line per
member, never one huge line. Password hashes are never exported.

`GET /idps/{idp}/export` answers the lines inline when they fit one response (INLINE_BYTES, as the Lambda response
carries them); a larger tenant is exported in the background to the export bucket (`POST /idps/{idp}/exports`), and
fetched through a pre-signed URL.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from ..export_bucket import export_key
from ..observability import logger
from ..scim.listing import MAX_RESPONSE_BYTES, wire_size
from ..scim.representation import representation
from ..scim.resource_types import CORE, ResourceTypes
from ..tenants import UnknownIdp, now_text
from . import Services
from .errors import InvalidRequest, NotFound
from .models import Export, ExportCounts, ExportStarted

EXPORT_JOB = "export"
INLINE_BYTES = MAX_RESPONSE_BYTES
# How long a pre-signed URL of a finished export works, and how long an export's record is kept.
URL_SECONDS = 15 * 60
EXPORT_DAYS = 7


def lines(services: Services, idp_id: str, counts: dict[str, int]) -> Iterator[str]:
    """The IdP's export, line by line (read as it is written: one page of the table at a time)."""
    resources, memberships = services.store.resources, services.store.memberships
    tenant_url = services.tenant_url(idp_id)
    types = _types(services, idp_id)
    for stored in resources.scan_tenant(idp_id, types.user.name, unbounded=True):
        counts["users"] += 1
        yield _line({"kind": "User", "resource": _shown(types.user, stored, tenant_url)})
    groups = []
    for stored in resources.scan_tenant(idp_id, types.group.name, unbounded=True):
        counts["groups"] += 1
        groups.append(stored.id)
        yield _line({"kind": "Group", "resource": _shown(types.group, stored, tenant_url)})
    for group_id in groups:
        for member in memberships.members(idp_id, group_id, None):
            counts["memberships"] += 1
            yield _line({"kind": "Membership", "group": group_id, "member": member})


def inline(services: Services, idp_id: str) -> str | None:
    """The whole export as one body, or None when it would not fit one response."""
    counts = {"users": 0, "groups": 0, "memberships": 0}
    parts, size = [], 2
    for text in lines(services, idp_id, counts):
        size += wire_size(text) - 2
        if size > INLINE_BYTES:
            return None
        parts.append(text)
    return "".join(parts)


def start(services: Services, idp_id: str) -> ExportStarted:
    export_id = str(uuid.uuid4())
    created = now_text()
    services.store.registry.put_export(idp_id, export_id, {"state": "running", "created": created,
                                                           "expires_at": _expires()})
    services.jobs.submit({"job": EXPORT_JOB, "idp_id": idp_id, "export_id": export_id})
    return ExportStarted(export_id=export_id, state="running", created=created)


def run(services: Services, idp_id: str, export_id: str, budget_seconds: float = float("inf"),
        clock: Callable[[], float] | None = None) -> None:
    """The background export: the lines into the bucket, then the record says where (or that it failed: also when
    it would take longer than `budget_seconds`, one invocation, rather than being cut off and received again)."""
    registry = services.store.registry
    record = registry.get_export(idp_id, export_id)
    if record is None or record.get("state") != "running":
        return  # finished already (a message received twice), or its IdP was erased
    counts = {"users": 0, "groups": 0, "memberships": 0}
    key = export_key(idp_id, export_id)
    writer = services.exports.writer(key)
    clock = clock or time.monotonic
    deadline = clock() + budget_seconds
    try:
        for text in lines(services, idp_id, counts):
            writer.write(text.encode())
            if clock() > deadline:
                raise TimeoutError(f"the export took longer than {budget_seconds:g} s")
        idp = registry.get(idp_id)
        if idp is None or not idp.active:
            # Deleted while it ran: nothing of it may outlive the erasure.
            writer.abort()
            logger.info("an export stopped: its IdP was deleted", extra={"idp_id": idp_id, "export_id": export_id})
            return
        writer.close()
    except Exception:
        _quietly(writer.abort)
        logger.exception("an export failed", extra={"idp_id": idp_id, "export_id": export_id})
        registry.put_export(idp_id, export_id, {**record, "state": "failed", "finished": now_text()}, running=True)
        return
    finished = {**record, "state": "ready", "finished": now_text(), "counts": counts, "bytes": writer.size}
    if not registry.put_export(idp_id, export_id, finished, running=True):
        # The erasure deleted the export's record meanwhile (it deletes the records before the objects, so an
        # object completed after that has no record to show it): it goes too.
        services.exports.delete(key)
        logger.info("an export's IdP was erased while it finished", extra={"idp_id": idp_id, "export_id": export_id})


def _quietly(action: Any) -> None:
    try:
        action()
    except Exception:  # an upload the erasure aborted already
        logger.warning("could not abort an export's upload")


def status(services: Services, idp_id: str, export_id: str) -> Export:
    record = services.store.registry.get_export(idp_id, export_id)
    if record is None:
        raise NotFound(f"IdP {idp_id} has no export {export_id}.")
    found = Export(export_id=export_id, state=record["state"], created=record["created"],
                   finished=record.get("finished"), bytes=record.get("bytes"),
                   counts=ExportCounts(**{k: int(v) for k, v in record["counts"].items()}) if "counts" in record
                   else None)
    if found.state == "ready":
        found.url = services.exports.download_url(export_key(idp_id, export_id), URL_SECONDS)
        found.url_expires_at = now_text(datetime.now(timezone.utc) + timedelta(seconds=URL_SECONDS))
    return found


def too_large(idp_id: str) -> InvalidRequest:
    return InvalidRequest(f"IdP {idp_id}'s export is larger than one response ({INLINE_BYTES} bytes): start a "
                          f"background export with POST /admin/v1/idps/{idp_id}/exports.", "export_too_large")


def _line(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n"


def _types(services: Services, idp_id: str) -> ResourceTypes:
    """The resource types the IdP is served: its resources as its SCIM clients read them, custom attributes too."""
    try:
        return services.directory.read(idp_id).types
    except UnknownIdp:
        return CORE


def _shown(resource_type: Any, stored: Any, tenant_url: str) -> dict:
    return representation(resource_type, stored.id, stored.attributes, stored.created, stored.last_modified,
                          stored.version, tenant_url)


def _expires() -> int:
    return int((datetime.now(timezone.utc) + timedelta(days=EXPORT_DAYS)).timestamp())
