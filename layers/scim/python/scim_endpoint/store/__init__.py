"""The store: the only code that talks to DynamoDB (one table), in parts over it — `resources` (users, groups and
their uniqueness guards), `memberships` (one item per member, and the inverse index) and `registry` (the IdPs'
lifecycle, keys' last use, exports, erasure) — sharing `table`, which makes the calls and turns AWS errors and
transaction cancellations into domain errors.

What the use cases call is `interface.StoreInterface`; tests give them an in-memory implementation of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from .memberships import INDEX_SETTLE_SECONDS, DynamoMembershipStore, MemberWrites
from .feed import DynamoFeedStore
from .registry import DynamoRegistryStore
from .resources import DynamoResourceStore, Stored
from .table import Contention, GroupGone, Table, UnknownMember, VersionConflict

__all__ = [
    "Contention", "DynamoStore", "GroupGone", "MemberWrites", "Stored", "UnknownMember", "VersionConflict",
    "dynamodb_client", "store",
]


@dataclass(frozen=True)
class DynamoStore:
    resources: DynamoResourceStore
    memberships: DynamoMembershipStore
    registry: DynamoRegistryStore
    feed: DynamoFeedStore
    table: Table

    @classmethod
    def over(cls, client: Any, table_name: str, index_settle_seconds: float = INDEX_SETTLE_SECONDS) -> DynamoStore:
        table = Table(client, table_name)
        return cls(DynamoResourceStore(table), DynamoMembershipStore(table, index_settle_seconds),
                   DynamoRegistryStore(table), DynamoFeedStore(table), table)


def dynamodb_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"}))


@cache
def store() -> DynamoStore:
    """The container's store, built on first use from the settings."""
    from ..config import settings

    settle = settings().index_settle_seconds
    return DynamoStore.over(dynamodb_client(), settings().table_name,
                            INDEX_SETTLE_SECONDS if settle is None else settle)


def preload_sdk_model() -> None:
    """Load the SDK's DynamoDB model into the default session, whose loader keeps it: what a SnapStart snapshot holds
    ready (`snapstart`). No client is made and no credentials are read: both would be the snapshot's."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    boto3.DEFAULT_SESSION._session.get_service_model("dynamodb")
