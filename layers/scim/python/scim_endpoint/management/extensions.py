"""An IdP's schema extensions (custom attributes), as the management API offers them: list, read, set (create or
replace), delete.

They live in the IdP's secret beside its keys, so a request reads them with its keys and no AWS call of its own, and
a change reaches every container from its next request (the registry's revision, as for a key). A change that would
make stored values unreadable — an attribute removed or retyped, the extension deleted — is refused while a stored
resource holds such a value, unless forced; forced, those values stop being shown at once and are gone from each
resource when it is next written (docs/extensions.md).
"""

from __future__ import annotations

from typing import Any

from ..scim import extensions as rules
from ..tenants import Idp, UnknownIdp
from . import Services
from .errors import Conflict, InvalidRequest, NotFound
from .keys import Keys

# How many stored resources a change's check reads at most (one request's worth): past it, the change must be forced.
MAX_CHECKED_RESOURCES = 20_000


class Extensions:
    def __init__(self, services: Services):
        self._services = services
        self._keys = Keys(services)

    def list(self, idp_id: str) -> list[dict[str, Any]]:
        return [declaration.document() for declaration in self._declarations(idp_id)]

    def get(self, idp_id: str, urn: str) -> dict[str, Any]:
        found = _find(self._declarations(idp_id), urn)
        if found is None:
            raise NotFound(f"IdP {idp_id} has no extension {urn}.")
        return found.document()

    def set(self, idp_id: str, urn: str, declaration: rules.ExtensionDeclaration,
            force: bool = False) -> tuple[dict[str, Any], bool]:
        """Create or replace the extension `urn`; (its declaration as stored, whether it was created)."""
        if declaration.urn.lower() != urn.lower():
            raise InvalidRequest(f"schema.id must be the extension's URN in the path ({urn}).")
        old = _find(self._declarations(idp_id), urn)
        if old is not None and old.urn != declaration.urn:
            # Stored resources keep their values under the URN as declared: its spelling is part of their data.
            raise InvalidRequest(f"The extension's URN is spelled {old.urn}; a URN keeps its spelling (delete the "
                                 "extension and declare it again to change it).")
        self._check_drops(idp_id, old, declaration, force)

        def changed(secret: Idp) -> tuple[Idp, Any]:
            current = _stored(secret)
            self._unchanged_since_check(current, old, urn)
            others = [d for d in current if d.urn.lower() != urn.lower()]
            # A replaced extension keeps its place (the order /Schemas lists them in).
            position = next((i for i, d in enumerate(current) if d.urn.lower() == urn.lower()), len(others))
            return _with(secret, others[:position] + [declaration] + others[position:]), None

        self._keys.change_secret(idp_id, changed)
        return declaration.document(), old is None

    def delete(self, idp_id: str, urn: str, force: bool = False) -> None:
        old = _find(self._declarations(idp_id), urn)
        if old is None:
            raise NotFound(f"IdP {idp_id} has no extension {urn}.")
        self._check_drops(idp_id, old, None, force)

        def removed(secret: Idp) -> tuple[Idp, Any]:
            current = _stored(secret)
            self._unchanged_since_check(current, old, urn)
            return _with(secret, [d for d in current if d.urn.lower() != urn.lower()]), None

        self._keys.change_secret(idp_id, removed)

    def _declarations(self, idp_id: str) -> list[rules.ExtensionDeclaration]:
        self._keys.require(idp_id)
        try:
            return _stored(self._services.directory.read(idp_id))
        except UnknownIdp:
            return []

    def _check_drops(self, idp_id: str, old: rules.ExtensionDeclaration | None,
                     new: rules.ExtensionDeclaration | None, force: bool) -> None:
        """Refuse (409) a change that drops attributes stored resources hold values of, unless forced."""
        names = rules.dropped(old, new)
        if not names or force or old is None:
            return
        checked = 0
        for stored in self._services.store.resources.scan_tenant(idp_id, old.resource_type, unbounded=True):
            if rules.uses(old.urn, names, stored.attributes):
                raise Conflict(
                    f"Stored {old.resource_type}s hold values of {', '.join(names)} ({old.urn}), which this change "
                    "drops. Retry with force=true to drop them (docs/extensions.md).", "extension_in_use")
            checked += 1
            if checked >= MAX_CHECKED_RESOURCES:
                raise Conflict(
                    f"This change drops {', '.join(names)} ({old.urn}), and this IdP has more than "
                    f"{MAX_CHECKED_RESOURCES} {old.resource_type}s to check for their values: retry with force=true "
                    "to drop whatever values they hold.", "extension_in_use")

    @staticmethod
    def _unchanged_since_check(current: list[rules.ExtensionDeclaration],
                               checked: rules.ExtensionDeclaration | None, urn: str) -> None:
        if _find(current, urn) != checked:
            raise Conflict(f"The extension {urn} changed while this change was being checked; retry.",
                           "extension_changed")


def _stored(secret: Idp) -> list[rules.ExtensionDeclaration]:
    return [rules.ExtensionDeclaration.model_validate(document) for document in secret.extensions]


def _find(declarations: list[rules.ExtensionDeclaration], urn: str) -> rules.ExtensionDeclaration | None:
    return next((d for d in declarations if d.urn.lower() == urn.lower()), None)


def _with(secret: Idp, declarations: list[rules.ExtensionDeclaration]) -> Idp:
    try:
        rules.check_set(declarations)
    except rules.InvalidExtension as error:
        raise InvalidRequest(str(error), "invalid_extension") from None
    return secret.model_copy(update={"extensions": tuple(d.document() for d in declarations)})
