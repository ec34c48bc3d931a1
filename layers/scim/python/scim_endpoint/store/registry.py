"""The IdP registry, in the same table: each IdP's lifecycle (active, deleting, deleted), its name and description,
the revision of its keys, its keys' last use, its exports, and the erasure of all its data.

One partition per IdP (`T#<idp>#Idp`), so the per-request read of its state (`get`) is one small strongly consistent
GetItem that never shares a partition with another tenant; listing goes through GSI1 (`gsi1pk` = `IDPS`, sorted by
creation), which admin calls only read. The keys' secrets stay in Secrets Manager (`tenants.py`): the registry holds
the revision of the IdP's secret, so every container sees a key created or revoked at once.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any

from .table import Table

IDP_SK = "idp"
KEY_SK = "key#"
CLIENT_SK = "client#"  # an OAuth client's item: as a key's (what its events say of it)
EXPORT_SK = "export#"
LISTING = "IDPS"  # gsi1pk of every live IdP item
ACTIVE, DELETING, DELETED = "active", "deleting", "deleted"
# Items one Scan page of an erasure examines (its place is saved every few pages).
ERASURE_PAGE_ITEMS = 1000


def registry_pk(idp_id: str) -> str:
    return f"T#{idp_id}#Idp"


def tenant_prefix(idp_id: str) -> str:
    """What every partition key of the tenant's items starts with (IdP ids hold no '#')."""
    return f"T#{idp_id}#"


class IdpExists(Exception):
    """An IdP (or the tombstone of an erased one) already has this id."""


class IdpNotActive(Exception):
    """The IdP is being deleted, or is gone."""


class Busy(Exception):
    """Another change of the IdP's keys holds its lock."""


@dataclass(frozen=True)
class IdpRecord:
    id: str
    state: str
    name: str = ""
    description: str = ""
    created: str = ""
    revision: int = 0
    deleting_since: str | None = None
    erasure: dict = field(default_factory=dict)  # progress: {"deleted", "cursor", "phase"}
    deleted: str | None = None
    # A copy of the allow-list in the IdP's secret, for listing IdPs without reading every secret.
    allowed_networks: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state == ACTIVE


def _record(item: dict) -> IdpRecord:
    return IdpRecord(
        id=item["id"], state=item.get("state", ACTIVE), name=item.get("name", ""),
        description=item.get("description", ""), created=item.get("created", ""),
        revision=int(item.get("revision", 0)), deleting_since=item.get("deleting_since"),
        erasure=json.loads(item["erasure"]) if item.get("erasure") else {}, deleted=item.get("deleted"),
        allowed_networks=tuple(item.get("allowed_networks") or ()),
    )


def encode_cursor(key: dict | None) -> str | None:
    """DynamoDB's LastEvaluatedKey as an opaque, URL-safe cursor."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict | None:
    """A cursor back to DynamoDB's key; ValueError for anything this module did not make."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ValueError("not a cursor this API gave out") from None
    if not (isinstance(key, dict) and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
                                          for v in key.values()) and set(key) <= {"pk", "sk", "gsi1pk", "gsi1sk"}):
        raise ValueError("not a cursor this API gave out")
    return key


class DynamoRegistryStore:
    def __init__(self, table: Table):
        self._table = table

    # -- IdPs ----------------------------------------------------------------------------------------------------

    def get(self, idp_id: str) -> IdpRecord | None:
        """The IdP's record (a tombstone after its erasure), strongly consistent."""
        item = self._table.get_item(registry_pk(idp_id), IDP_SK)
        return _record(item) if item else None

    def create(self, record: IdpRecord) -> None:
        """IdpExists when the id is taken, also by an erased IdP's tombstone (an id is never reused)."""
        from botocore.exceptions import ClientError

        # Listed in the order of creation, to the microsecond (`created` is to the second).
        listed = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        item = {
            "id": record.id, "state": ACTIVE, "name": record.name, "description": record.description,
            "created": record.created, "revision": record.revision,
            "gsi1pk": LISTING, "gsi1sk": f"{listed}#{record.id}",
        }
        if record.allowed_networks:
            item["allowed_networks"] = list(record.allowed_networks)
        try:
            self._table.call("put_item", TableName=self._table.name,
                             Item={**self._table.key(registry_pk(record.id), IDP_SK),
                                   **{k: self._table.serialize(v) for k, v in item.items()}},
                             ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if _condition_failed(error):
                raise IdpExists(record.id) from None
            raise

    def page(self, limit: int, cursor: str | None) -> tuple[list[IdpRecord], str | None]:
        """Live IdPs (active or deleting) in order of creation, `limit` at a time (GSI1: a moment behind)."""
        request: dict[str, Any] = {
            "TableName": self._table.name, "IndexName": "GSI1", "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": LISTING}}, "Limit": limit,
        }
        start = decode_cursor(cursor)
        if start is not None:
            # A listing's cursor is a key of the listing's index, in the listing's partition, and nothing else.
            if set(start) != {"pk", "sk", "gsi1pk", "gsi1sk"} or start["gsi1pk"]["S"] != LISTING:
                raise ValueError("not a cursor this API gave out")
            request["ExclusiveStartKey"] = start
        page = self._table.call("query", **request)
        records = [_record(self._table.item(raw)) for raw in page.get("Items", [])]
        return records, encode_cursor(page.get("LastEvaluatedKey"))

    def update(self, idp_id: str, changes: dict[str, Any]) -> IdpRecord:
        """Set some of the IdP's own fields (name, description); IdpNotActive unless it is active."""
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": self._table.serialize(value) for i, value in enumerate(changes.values())}
        assignments = ", ".join(f"#f{i} = :v{i}" for i in range(len(changes)))
        return self._update(idp_id, f"SET {assignments}", names, values)

    def mark_deleting(self, idp_id: str, now: str) -> IdpRecord:
        """Active -> deleting (kept when already deleting): from now on no request of the IdP is admitted."""
        return self._update(
            idp_id, "SET #s = :deleting, deleting_since = if_not_exists(deleting_since, :now)",
            {"#s": "state"}, {":deleting": {"S": DELETING}, ":now": {"S": now}, ":active": {"S": ACTIVE}},
            condition="#s IN (:active, :deleting)",
        )

    def save_erasure(self, idp_id: str, progress: dict) -> None:
        self._update(idp_id, "SET erasure = :p", {},
                     {":p": {"S": json.dumps(progress, separators=(",", ":"))}, ":deleting": {"S": DELETING}},
                     condition="#s = :deleting")

    def tombstone(self, idp_id: str, now: str, expires_at: int, erasing_since: str | None = None) -> None:
        """The erased IdP's last trace: its id, that it was deleted and when (no name, no description), kept so the
        id is never given to another IdP (nor adopted again) until DynamoDB's TTL removes it. When its erasure
        began stays too: the events consumer, late, tells the erasure's removals from the changes before it."""
        from botocore.exceptions import ClientError

        item = {"id": idp_id, "state": DELETED, "deleted": now, "expires_at": expires_at,
                **({"erasure": json.dumps({"erasing_since": erasing_since})} if erasing_since else {})}
        try:
            self._table.call("put_item", TableName=self._table.name,
                             Item={**self._table.key(registry_pk(idp_id), IDP_SK),
                                   **{k: self._table.serialize(v) for k, v in item.items()}},
                             ConditionExpression="#s IN (:deleting, :deleted)",
                             ExpressionAttributeNames={"#s": "state"},
                             ExpressionAttributeValues={":deleting": {"S": DELETING}, ":deleted": {"S": DELETED}})
        except ClientError as error:
            if _condition_failed(error):
                raise IdpNotActive(idp_id) from None
            raise

    # -- the lock on an IdP's keys (their secret is read, changed and written whole) -------------------------------

    def lock(self, idp_id: str, owner: str, now: float, lease_seconds: float) -> IdpRecord:
        """Take the IdP's key lock for `lease_seconds` (Busy while another holder's lease runs; IdpNotActive unless
        active). Returns the record, with the revision the holder builds on."""
        try:
            return self._update(
                idp_id, "SET lock_owner = :me, lock_until = :until", {},
                {":me": {"S": owner}, ":until": {"N": repr(now + lease_seconds)}, ":now": {"N": repr(now)},
                 ":active": {"S": ACTIVE}},
                condition="#s = :active AND (attribute_not_exists(lock_until) OR lock_until < :now)",
            )
        except IdpNotActive:
            current = self.get(idp_id)
            if current is not None and current.active:
                raise Busy(idp_id) from None
            raise

    def unlock(self, idp_id: str, owner: str, revision: int | None) -> bool:
        """Release the lock (if still ours), recording the secret's new revision when it changed; False when it was
        not ours any more (the lease ran out and another holder took it)."""
        from botocore.exceptions import ClientError

        update = "REMOVE lock_owner, lock_until"
        values: dict[str, Any] = {":me": {"S": owner}}
        if revision is not None:
            update = "SET revision = :r " + update
            values[":r"] = {"N": str(revision)}
        try:
            self._table.call("update_item", TableName=self._table.name,
                             Key=self._table.key(registry_pk(idp_id), IDP_SK), UpdateExpression=update,
                             ConditionExpression="lock_owner = :me", ExpressionAttributeValues=values)
        except ClientError as error:
            if not _condition_failed(error):
                raise
            return False
        return True

    # -- keys: when each was last used -----------------------------------------------------------------------------

    def put_key(self, idp_id: str, key_id: str, created: str, name: str = "", privileges: tuple[str, ...] = (),
                expires_at: str | None = None, revoked: str | None = None, kind: str = KEY_SK) -> None:
        """The key's item (what its events say of it, and its last use), or with `kind` CLIENT_SK an OAuth client's:
        never its token, secret or digest."""
        fields = {"created": created, "name": name, "privileges": list(privileges)}
        fields.update({k: v for k, v in (("expires_at", expires_at), ("revoked", revoked)) if v})
        self._table.call("put_item", TableName=self._table.name,
                         Item={**self._table.key(registry_pk(idp_id), kind + key_id),
                               **{k: self._table.serialize(v) for k, v in fields.items()}})

    def mark_key_revoked(self, idp_id: str, key_id: str, when: str, kind: str = KEY_SK) -> None:
        """Record the revocation in the key's (or client's) item (the secret's is what requests are checked
        against): the event `key.revoked` (`client.revoked`) comes from this change. Kept as first recorded."""
        from botocore.exceptions import ClientError

        try:
            self._table.call(
                "update_item", TableName=self._table.name, Key=self._table.key(registry_pk(idp_id), kind + key_id),
                UpdateExpression="SET revoked = :when",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(revoked)",
                ExpressionAttributeValues={":when": {"S": when}})
        except ClientError as error:
            if not _condition_failed(error):
                raise

    def key_uses(self, idp_id: str) -> dict[str, str]:
        """key id -> when it was last used (keys never used, or created before this was kept, are absent)."""
        return {item["sk"][len(KEY_SK):]: item["last_used_at"]
                for item in self._table.query(registry_pk(idp_id)) if item["sk"].startswith(KEY_SK)
                and "last_used_at" in item}

    def record_key_use(self, idp_id: str, key_id: str, when: str) -> None:
        """Set the key's last use, only on a key item that exists (never recreating one the erasure removed) and
        never backwards."""
        from botocore.exceptions import ClientError

        try:
            self._table.call(
                "update_item", TableName=self._table.name, Key=self._table.key(registry_pk(idp_id), KEY_SK + key_id),
                UpdateExpression="SET last_used_at = :when",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR "
                                    "last_used_at < :when)",
                ExpressionAttributeValues={":when": {"S": when}})
        except ClientError as error:
            if not _condition_failed(error):
                raise

    # -- exports ---------------------------------------------------------------------------------------------------

    def put_export(self, idp_id: str, export_id: str, fields: dict, running: bool = False) -> bool:
        """Write an export's record; with `running`, only over a record still running (not one the erasure deleted,
        nor one finished already). Whether it was written."""
        from botocore.exceptions import ClientError

        condition = {"ConditionExpression": "#s = :running", "ExpressionAttributeNames": {"#s": "state"},
                     "ExpressionAttributeValues": {":running": {"S": "running"}}} if running else {}
        try:
            self._table.call("put_item", TableName=self._table.name,
                             Item={**self._table.key(registry_pk(idp_id), EXPORT_SK + export_id),
                                   **{k: self._table.serialize(v) for k, v in fields.items()}}, **condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_export(self, idp_id: str, export_id: str) -> dict | None:
        item = self._table.get_item(registry_pk(idp_id), EXPORT_SK + export_id)
        return {k: v for k, v in item.items() if k not in ("pk", "sk")} if item else None

    # -- erasure ---------------------------------------------------------------------------------------------------

    def tenant_keys(self, idp_id: str, cursor: dict | None, pages: int) -> tuple[list[tuple[str, str]], dict | None]:
        """The keys of up to `pages` Scan pages' worth of the tenant's items outside its registry partition, and
        where to go on (None: the whole table was read). A Scan, so that nothing of the tenant can escape it, whatever
        kind of item it is: it reads the whole table, for the one erasure of an IdP (docs/management-api.md)."""
        request: dict[str, Any] = {
            "TableName": self._table.name, "ProjectionExpression": "pk, sk", "Limit": ERASURE_PAGE_ITEMS,
            "FilterExpression": "begins_with(pk, :prefix) AND pk <> :registry",
            "ExpressionAttributeValues": {":prefix": {"S": tenant_prefix(idp_id)},
                                          ":registry": {"S": registry_pk(idp_id)}},
        }
        keys: list[tuple[str, str]] = []
        for _ in range(pages):
            if cursor:
                request["ExclusiveStartKey"] = cursor
            page = self._table.call("scan", **request)
            keys.extend((raw["pk"]["S"], raw["sk"]["S"]) for raw in page.get("Items", []))
            cursor = page.get("LastEvaluatedKey")
            if not cursor:
                return keys, None
        return keys, cursor

    def registry_keys(self, idp_id: str) -> list[tuple[str, str]]:
        """The registry partition's items but the IdP's own (its keys' and exports' items)."""
        return [(item["pk"], item["sk"]) for item in self._table.query(registry_pk(idp_id), ProjectionExpression="pk, sk")
                if item["sk"] != IDP_SK]

    def delete_keys(self, keys: list[tuple[str, str]]) -> int:
        return self._table.batch_delete(keys)

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _update(self, idp_id: str, expression: str, names: dict, values: dict,
                condition: str = "#s = :active") -> IdpRecord:
        from botocore.exceptions import ClientError

        names = {"#s": "state", **names}
        values = {":active": {"S": ACTIVE}, **values}
        used = set(re.findall(r"[#:]\w+", f"{expression} {condition}"))
        try:
            response = self._table.call(
                "update_item", TableName=self._table.name, Key=self._table.key(registry_pk(idp_id), IDP_SK),
                UpdateExpression=expression, ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeNames={k: v for k, v in names.items() if k in used},
                ExpressionAttributeValues={k: v for k, v in values.items() if k in used},
                ReturnValues="ALL_NEW")
        except ClientError as error:
            if _condition_failed(error):
                raise IdpNotActive(idp_id) from None
            raise
        return _record(self._table.item(response["Attributes"]))


def _condition_failed(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"

