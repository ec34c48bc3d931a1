"""The request scope: everything a SCIM request is about, resolved once at the edge (`api.py`) and read everywhere
below it.

The authentication middleware builds it after it has checked the caller's token against the IdP named by the path,
and the route table has said the key may use the route. Nothing below the edge reads the IdP id, the Tenant URL or
the conditional headers from the event: they come from here, so no layer can disagree with another about which
tenant a request belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .auth.privileges import Privilege
from .scim.paging import ListQuery
from .scim.resource_types import CORE, ResourceTypes

# The one form an IdP id takes (the admin side refuses any other): 1-64 letters, digits, '-' or '_', starting with
# a letter or digit. A path whose IdP segment is anything else names no IdP.
_IDP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def is_idp_id(text: str) -> bool:
    return _IDP_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the IdP of the URL, the key its token named, and what that key may do."""

    idp_id: str
    key_id: str  # the API key's id, or the OAuth client's id for an access token
    privileges: tuple[str, ...]
    access_token: bool = False  # an OAuth access token (its privileges: its scope), not an API key


@dataclass(frozen=True)
class Projection:
    """`attributes` and `excludedAttributes` (RFC 7644 §3.9) as the request gave them."""

    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestScope:
    """One authenticated SCIM request.

    `tenant_url` comes from the service's configuration (or, without one, from API Gateway's own request context),
    never from the client's `Host` or `X-Forwarded-Proto` headers: it ends up in every `meta.location`.
    """

    idp_id: str
    principal: Principal
    tenant_url: str
    route: str  # the route under the Tenant URL, as the route table names it: "/Users/{id}"
    privilege: Privilege  # what the route table asked of the key for this route
    projection: Projection = Projection()
    list_query: ListQuery | None = None  # the query string's list parameters, on the routes that list
    if_match: str | None = None
    if_none_match: str | None = None
    # The resource types as this IdP is served them: the core ones, with the extensions it declared.
    types: ResourceTypes = CORE
