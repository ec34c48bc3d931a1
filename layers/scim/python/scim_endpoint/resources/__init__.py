"""The use cases of the SCIM resources: `users`, `groups` (side by side, the same operations), over `memberships`,
with what they share in `common` and `retry`; `search` spans both. Routes get them from `user_resources()` and
`group_resources()`, built once per container over the DynamoDB store."""

from __future__ import annotations

from functools import cache

from .groups import Groups
from .memberships import Memberships
from .users import Users


@cache
def _memberships() -> Memberships:
    from ..store import store

    return Memberships(store())


@cache
def user_resources() -> Users:
    from ..store import store

    return Users(store(), _memberships())


@cache
def group_resources() -> Groups:
    from ..store import store

    return Groups(store(), _memberships())


def clear() -> None:
    """Forget the built use cases (tests: a fresh container)."""
    for factory in (_memberships, user_resources, group_resources):
        factory.cache_clear()
