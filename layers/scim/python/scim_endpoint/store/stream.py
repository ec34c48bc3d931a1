"""The table's stream records, read back as the changes they are: what kind of item changed (a user or group, a
membership, an IdP, a key; anything else is internal), its tenant, and its old and new state. The stream carries new
and old images; this is the only code that knows their DynamoDB format (the events and the cleanup read changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .registry import CLIENT_SK, IDP_SK, KEY_SK
from .resources import GUARD_SK, Stored, _stored
from .table import plain

# What kind of item a change is about.
RESOURCE, MEMBERSHIP, IDP, KEY, CLIENT = "resource", "membership", "idp", "key", "client"


@dataclass(frozen=True)
class Change:
    """One committed change of one item."""

    event_id: str  # the stream record's id: the same on every delivery of the record
    sequence: str  # the stream's sequence number (ordered per item)
    event_name: str  # INSERT, MODIFY, REMOVE
    kind: str  # RESOURCE, MEMBERSHIP, IDP, KEY, CLIENT
    idp_id: str
    written_at: float  # epoch seconds (the stream's approximate creation time)
    resource_type: str = ""  # "User" or "Group", for a RESOURCE
    item_id: str = ""  # the resource's id; for a MEMBERSHIP the user id; for a KEY (CLIENT) the key (client) id
    group_id: str = ""  # for a MEMBERSHIP
    old: dict | None = None  # the item before (deserialized), None for an INSERT
    new: dict | None = None  # after, None for a REMOVE

    def stored(self, image: dict | None) -> Stored | None:
        return _stored(image) if image is not None else None


def change_of(record: dict) -> Change | None:
    """The change a stream record says, or None for an internal item (a uniqueness guard, the events feed, an
    export's record, ...)."""
    from boto3.dynamodb.types import TypeDeserializer

    change = record.get("dynamodb", {})
    keys = change.get("Keys", {})
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    parts = pk.split("#")
    if len(parts) < 3 or parts[0] != "T":
        return None
    deserialize = TypeDeserializer().deserialize

    def image(name: str) -> dict | None:
        raw = change.get(name)
        return {k: plain(deserialize(v)) for k, v in raw.items()} if raw else None

    base = {
        "event_id": str(record.get("eventID", "")), "sequence": str(change.get("SequenceNumber", "")),
        "event_name": str(record.get("eventName", "")), "idp_id": parts[1], "written_at": written_at(record),
        "old": image("OldImage"), "new": image("NewImage"),
    }
    kind = parts[2]
    if len(parts) == 3 and kind in ("User", "Group") and sk != GUARD_SK:
        return Change(kind=RESOURCE, resource_type=kind, item_id=sk, **base)
    if len(parts) == 4 and kind == "Members":
        return Change(kind=MEMBERSHIP, group_id=parts[3], item_id=sk, **base)
    if len(parts) == 3 and kind == "Idp" and sk == IDP_SK:
        return Change(kind=IDP, item_id=parts[1], **base)
    if len(parts) == 3 and kind == "Idp" and sk.startswith(KEY_SK):
        return Change(kind=KEY, item_id=sk[len(KEY_SK):], **base)
    if len(parts) == 3 and kind == "Idp" and sk.startswith(CLIENT_SK):
        return Change(kind=CLIENT, item_id=sk[len(CLIENT_SK):], **base)
    return None


def written_at(record: dict) -> float:
    """When the record's change was written, in epoch seconds (a number in Lambda's event; a datetime where boto3
    read the stream: the local server, the redrive); now if it does not say."""
    written = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(written, datetime):
        return written.timestamp()
    if isinstance(written, (int, float, Decimal, str)) and not isinstance(written, bool):
        try:
            return float(written)
        except ValueError:
            pass
    import time

    return time.time()


