"""`POST /.search` at the Tenant URL (RFC 7644 §3.4.3): one list over every resource type the key may read."""

from __future__ import annotations

from ..auth import privileges
from ..scim.errors import Forbidden
from ..scim.paging import ListQuery
from ..scope import RequestScope
from . import common, group_resources, user_resources


def search_all(scope: RequestScope, query: ListQuery) -> dict:
    """The matches of every readable resource type, Users first, then Groups; 403 when the key may read neither."""
    readable = [
        family for name, family in (("users", user_resources()), ("groups", group_resources()))
        if privileges.allows(scope.principal.privileges, name, "read")
    ]
    if not readable:
        raise Forbidden("This API key may not read Users or Groups.")
    if query.cursor is not None:
        return common.cursor_page(readable[0].store, scope, [family.listed(scope, query) for family in readable],
                                  query, "/.search")
    completions = {family.resource_type.name: family.completion(scope, query) for family in readable}

    def complete(resource: dict) -> dict:
        completion = completions[resource["meta"]["resourceType"]]
        return completion(resource) if completion is not None else resource

    return common.page(scope, [r for family in readable for r in family.matching(scope, query.filter)], query,
                       complete=complete)
