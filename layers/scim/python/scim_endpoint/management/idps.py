"""An IdP's lifecycle, as the management API offers it: create, list, read, update, delete.

An IdP is its registry item (name, description, state, the revision of its keys) and its secret (its keys' digests
and its allow-list). It is created registry first (the id is claimed, never to be reused), then its secret. Deleting
it makes it admit no request at once (the registry's state), then queues its erasure (`erasure`), which the jobs
function runs after a grace period: `GET` shows it `deleting`, with progress, until it is gone (404).
"""

from __future__ import annotations

import uuid

from ..observability import logger
from ..store.registry import DELETED, IDP_SK, IdpExists, IdpNotActive, IdpRecord, registry_pk
from ..tenants import now_text
from . import Services
from .access import adopt
from .erasure import ERASE_JOB
from .errors import Conflict, InvalidRequest, NotFound
from .models import Erasure, Idp, IdpCreate, IdpPage, IdpUpdate



class Idps:
    def __init__(self, services: Services):
        self._services = services
        self._registry = services.store.registry

    def create(self, request: IdpCreate) -> Idp:
        idp_id = request.idp_id or str(uuid.uuid4())
        created = now_text()
        if request.idp_id and self._registry.get(idp_id) is None and self._services.directory.exists(idp_id):
            # A chosen id of an IdP from before the registry: that IdP, adopted as it is (no registry item is
            # written for the refused request, so no event says it was created).
            adopt(self._registry, self._services.directory, idp_id)
            raise Conflict(f"IdP {idp_id} exists.", "idp_exists")
        try:
            self._registry.create(IdpRecord(id=idp_id, state="active", name=request.name,
                                            description=request.description, created=created))
        except IdpExists:
            raise Conflict(f"IdP {idp_id} exists, or existed: an IdP ID is never reused.", "idp_exists") from None
        try:
            self._services.directory.create(idp_id, request.name, created)
        except ValueError:
            # A secret of that id from before the registry: it is that IdP, adopted as it is.
            self._registry.delete_keys([(registry_pk(idp_id), IDP_SK)])
            adopt(self._registry, self._services.directory, idp_id)
            raise Conflict(f"IdP {idp_id} exists.", "idp_exists") from None
        return self.show(self._record(idp_id))

    def page(self, limit: int, cursor: str | None) -> IdpPage:
        try:
            records, next_cursor = self._registry.page(limit, cursor)
        except ValueError as error:
            raise InvalidRequest(str(error), "invalid_cursor") from None
        return IdpPage(idps=[self.show(record) for record in records if record.state != DELETED],
                       next_cursor=next_cursor)

    def get(self, idp_id: str) -> Idp:
        return self.show(self._record(idp_id))

    def update(self, idp_id: str, request: IdpUpdate) -> Idp:
        from .keys import Keys

        changes = {field: value for field, value in (("name", request.name), ("description", request.description))
                   if value is not None}
        self._active(idp_id)
        if request.allowed_networks is not None:
            Keys(self._services).set_allowed_networks(idp_id, request.allowed_networks)
        if changes:
            try:
                self._registry.update(idp_id, changes)
            except IdpNotActive:
                raise self._not_active(idp_id) from None
        return self.get(idp_id)

    def delete(self, idp_id: str) -> Idp:
        """Admit no request of the IdP from now on, and queue the erasure of all its data (again, if it was already
        deleting: the erasure resumes where it stopped)."""
        self._record(idp_id)
        try:
            record = self._registry.mark_deleting(idp_id, now_text())
        except IdpNotActive:
            raise NotFound(f"No IdP {idp_id}.") from None
        self._services.jobs.submit({"job": ERASE_JOB, "idp_id": idp_id},
                                   delay_seconds=self._services.settings.erasure_grace_seconds)
        logger.info("idp deletion queued", extra={"idp_id": idp_id})
        return self.show(record)

    # -- reading ---------------------------------------------------------------------------------------------------

    def show(self, record: IdpRecord) -> Idp:
        erasure = None
        if record.state == "deleting":
            progress = record.erasure
            erasure = Erasure(phase=progress.get("phase", "waiting"), items_deleted=progress.get("deleted", 0),
                              started=record.deleting_since or "")
        return Idp(idp_id=record.id, name=record.name, description=record.description, created=record.created,
                   state=record.state, tenant_url=self._services.tenant_url(record.id),
                   allowed_networks=list(record.allowed_networks), erasure=erasure)

    def active(self, idp_id: str) -> IdpRecord:
        """The IdP's record; 404 for none, 409 while it is being deleted."""
        return self._active(idp_id)

    def _record(self, idp_id: str) -> IdpRecord:
        """The IdP's record (adopting one made before the registry); 404 for none, or an erased one."""
        record = self._registry.get(idp_id) or adopt(self._registry, self._services.directory, idp_id)
        if record is None or record.state == DELETED:
            raise NotFound(f"No IdP {idp_id}.")
        return record

    def _active(self, idp_id: str) -> IdpRecord:
        record = self._record(idp_id)
        if not record.active:
            raise self._not_active(idp_id)
        return record

    def _not_active(self, idp_id: str) -> Exception:
        record = self._registry.get(idp_id)
        if record is None or record.state == DELETED:
            return NotFound(f"No IdP {idp_id}.")
        return Conflict(f"IdP {idp_id} is being deleted.", "idp_deleting")

