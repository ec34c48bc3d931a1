"""Change events (template.yaml: EventsFunction on the table's stream): Entra's request sequences replayed through
the handlers, the stream read from moto and handed to the events consumer as Lambda would, and what arrives: each
IdP's feed (the management API's GET /admin/v1/idps/{idp}/events) and the EventBridge bus (a rule to an SQS queue, the
first consumer recipe of docs/events.md)."""

from __future__ import annotations

import copy
import json
import os
import time

import boto3
import pytest

from devtools.local.template import stream_consumers
from scim_endpoint.events import changes
from scim_endpoint.store import feed as feed_module
from tests.conftest import EVENT_BUS, REGION, JobFailed, LambdaContextFor, load_handler, new_guid, run_jobs
from tests.entra_requests import (
    COMPAT_REMOVE_MEMBER_WITH_FLAG, DISABLE_WITHOUT_FLAG, TUT_GROUP_RENAME, TUT_RENAME_USER_NAME,
)
from tests.integration.test_cleanup import Stream
from tests.integration.test_groups import group, remove_listed, tut_add
from tests.integration.test_users import patch_op, user
from tests.integration.test_management_api import error as admin_error
from tests.integration.test_observability import emitted_metrics
from tests.support import GROUP_SCHEMA, Groups, Users, error, ok, seed_member_items


class Events:
    """The stream's records not read yet, through the events consumer; what reached the bus (a rule on the bus to an
    SQS queue) and the feeds."""

    def __init__(self, admin) -> None:
        self.stream = Stream()
        (consumer,) = [c for c in stream_consumers() if c.function == "EventsFunction"]
        self.consumer = consumer
        self.handler = load_handler(consumer.code_dir, consumer.handler)
        self.admin = admin
        sqs = boto3.client("sqs", region_name=REGION)
        self.queue = sqs.create_queue(QueueName=f"bus-{new_guid()[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = boto3.client("events", region_name=REGION)
        bus.put_rule(Name="everything", EventBusName=EVENT_BUS, EventPattern=json.dumps({"source": ["scim-endpoint"]}))
        bus.put_targets(Rule="everything", EventBusName=EVENT_BUS, Targets=[{"Id": "queue", "Arn": arn}])
        self.records: list[dict] = []

    def run(self) -> dict:
        """Every record since the last run, in the batches Lambda would make, through the consumer (as its filter
        lets them in); the consumer's answer for the last batch."""
        answer: dict = {"batchItemFailures": []}
        records = [r for r in self.stream.read() if self.consumer.takes(r)]
        self.records += records
        for start in range(0, len(records), self.consumer.batch_size):
            self.last_batch = records[start:start + self.consumer.batch_size]
            answer = self.handler({"Records": self.last_batch}, LambdaContextFor("EventsFunction"))
        return answer

    def published(self) -> list[dict]:
        """The events the bus delivered to the rule's queue since the last call (their `detail`)."""
        sqs = boto3.client("sqs", region_name=REGION)
        found = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                envelope = json.loads(message["Body"])
                assert envelope["source"] == "scim-endpoint" and envelope["detail-type"] == envelope["detail"]["type"]
                found.append(envelope["detail"])
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def feed(self, idp_id: str, after: str | None = None, limit: int = 1000) -> dict:
        query = f"?limit={limit}" + (f"&after={after}" if after else "")
        result = self.admin("GET", f"/admin/v1/idps/{idp_id}/events{query}")
        assert result.status == 200, result.body
        return result.body


@pytest.fixture
def events(admin, monkeypatch) -> Events:
    monkeypatch.setattr(feed_module, "SETTLE_SECONDS", 0)  # a reader here need not wait for slow writers
    return Events(admin)


def kinds(found: list[dict], resource_id: str) -> list[str]:
    return [e["type"] for e in found if e["resource"]["id"] == resource_id]


def test_entras_sequence_makes_exactly_its_events_in_order(users: Users, groups: Groups, events: Events,
                                                           tenant) -> None:
    events.run()
    events.published()  # the tenant's own creation (idp.created, key.created) is another test's
    alice = users.create(user("alice@contoso.com", externalId="e-alice", displayName="Alice"))
    bob = users.create(user("bob@contoso.com"))
    error(users.post(user("ALICE@contoso.com")), 409)  # failed: no event
    ok(users.patch(alice["id"], DISABLE_WITHOUT_FLAG))
    ok(users.patch(alice["id"], patch_op({"op": "replace", "path": "active", "value": True})))
    rename = copy.deepcopy(TUT_RENAME_USER_NAME)
    rename["Operations"][0]["value"] = "alice.smith@contoso.com"
    ok(users.patch(alice["id"], rename))
    ok(users.patch(alice["id"], patch_op({"op": "replace", "path": "title", "value": "Engineer"})))
    ok(users.patch(alice["id"], patch_op({"op": "replace", "path": "title", "value": "Engineer"})))  # no change
    team = groups.create(group("Team"))
    groups.patched(team["id"], tut_add(alice["id"], bob["id"]))
    groups.patched(team["id"], remove_listed(bob["id"]))  # Entra's default dialect
    with_flag = copy.deepcopy(COMPAT_REMOVE_MEMBER_WITH_FLAG)
    with_flag["Operations"][0]["path"] = f'members[value eq "{alice["id"]}"]'
    groups.patched(team["id"], with_flag)  # the other dialect
    groups.patched(team["id"], tut_add(bob["id"]))
    renamed = copy.deepcopy(TUT_GROUP_RENAME)
    renamed["Operations"][0]["value"] = "Team Renamed"
    groups.patched(team["id"], renamed)
    assert events.run() == {"batchItemFailures": []}  # the consumer follows within a second or so
    assert users.delete(bob["id"]).status == 204  # takes its membership with it: user.deleted says it
    assert groups.delete(team["id"]).status == 204
    assert users.delete(alice["id"]).status == 204

    assert events.run() == {"batchItemFailures": []}
    published = events.published()
    feed = events.feed(tenant.idp_id)["events"][2:]
    assert [e["type"] for e in events.feed(tenant.idp_id)["events"][:2]] == ["idp.created", "key.created"]
    assert sorted(e["id"] for e in feed) == sorted(e["id"] for e in published)  # pushed and pulled alike
    assert kinds(feed, alice["id"]) == ["user.created", "user.deactivated", "user.reactivated", "user.updated",
                                        "user.updated", "user.deleted"]
    assert kinds(feed, bob["id"]) == ["user.created", "user.deleted"]
    assert kinds(feed, team["id"]) == ["group.created", "group.member_added", "group.member_added",
                                       "group.member_removed", "group.member_removed", "group.member_added",
                                       "group.updated", "group.deleted"]
    members = [(e["type"], e["member"]["user_id"]) for e in feed if e["type"].startswith("group.member")]
    assert members == [("group.member_added", alice["id"]), ("group.member_added", bob["id"]),
                       ("group.member_removed", bob["id"]), ("group.member_removed", alice["id"]),
                       ("group.member_added", bob["id"])]
    assert len(feed) == 6 + 2 + 8 and len(published) == len(feed)  # nothing for the guards, the 409, the no-op

    by_type: dict[str, dict] = {}
    for e in feed:
        by_type.setdefault(e["type"], e)  # the first of each
    updated = [e for e in feed if e["type"] == "user.updated"]
    assert [e["changed_attributes"] for e in updated] == [["userName"], ["title"]]
    assert by_type["user.deactivated"]["changed_attributes"] == ["active"]
    assert by_type["user.deactivated"]["data"]["active"] is False
    created = by_type["user.created"]
    assert created["resource"] == {"type": "User", "id": alice["id"], "externalId": "e-alice",
                                   "userName": "alice@contoso.com", "displayName": "Alice"}
    assert created["data"]["meta"]["location"].endswith(f"/Users/{alice['id']}") and created["idp_id"] == tenant.idp_id
    deleted = [e for e in feed if e["type"] == "user.deleted" and e["resource"]["id"] == alice["id"]]
    assert deleted[0]["data"]["userName"] == "alice.smith@contoso.com"  # as it was before
    assert by_type["group.updated"]["changed_attributes"] == ["displayName"]
    # The names in a member event are the group's and user's as the consumer found them (here after the rename).
    assert by_type["group.member_added"]["member"]["group_displayName"] == "Team Renamed"
    assert by_type["group.member_added"]["member"]["user_userName"] == "alice.smith@contoso.com"
    assert by_type["group.member_added"]["resource"]["type"] == "Group"
    assert all("members" not in (e.get("data") or {}) for e in feed)


def test_no_password_hash_and_no_event_for_what_did_not_commit(users: Users, events: Events, tenant,
                                                              monkeypatch) -> None:
    events.run()
    alice = users.create(user("alice@contoso.com", password="Secret-Passw0rd!"))
    ok(users.patch(alice["id"], patch_op({"op": "replace", "path": "password", "value": "Other-Passw0rd!"})))
    # A change that DynamoDB refuses never reaches the stream: no event.
    from scim_endpoint.store.table import Table

    real = Table.transact

    def refused(self, actions, why):
        raise RuntimeError("the transaction never committed")

    monkeypatch.setattr(Table, "transact", refused)
    assert users.patch(alice["id"], patch_op({"op": "replace", "path": "title", "value": "x"})).status == 500
    monkeypatch.setattr(Table, "transact", real)
    events.run()
    feed = events.feed(tenant.idp_id)["events"]
    assert [e["type"] for e in feed if e["resource"]["id"] == alice["id"]] == ["user.created", "user.updated"]
    assert feed[-1]["changed_attributes"] == ["password"]
    text = json.dumps(feed) + json.dumps(events.published())
    assert "Passw0rd" not in text and "scrypt" not in text and '"password"' not in text.replace(
        '"changed_attributes": ["password"]', "")


def test_a_redelivered_batch_has_the_same_event_ids(users: Users, events: Events, tenant) -> None:
    events.run()
    events.published()
    users.create(user("alice@contoso.com"))
    records = events.stream.read()
    batch = [r for r in records if events.consumer.takes(r)]
    events.handler({"Records": batch}, LambdaContextFor("EventsFunction"))
    first = events.published()
    events.handler({"Records": batch}, LambdaContextFor("EventsFunction"))  # Lambda retries the batch
    again = events.published()
    assert [e["id"] for e in first] == [e["id"] for e in again] and len(first) == 1
    assert first == again


def test_a_large_membership_change_makes_small_events(users: Users, groups: Groups, events: Events, tenant) -> None:
    ids = [users.create(user(f"m{n}@contoso.com"))["id"] for n in range(120)]
    big = groups.create(group("Everyone", externalId="x" * 1000))
    events.run()
    events.published()
    groups.patched(big["id"], tut_add(*ids))
    events.run()
    published = events.published()
    assert len(published) == 120 and {e["type"] for e in published} == {"group.member_added"}
    assert max(len(json.dumps(e)) for e in published) < 2000
    # A resource as large as one may be: its event still fits EventBridge's 256 KB (else its data is left out).
    huge = users.create(user("huge@contoso.com", **{"title": '"' * 16000, "displayName": "é" * 300,
                                                    "nickName": "\\" * 16000, "profileUrl": '"' * 16000}))
    events.run()
    (event,) = events.published()
    assert event["resource"]["id"] == huge["id"]
    assert len(json.dumps(event).encode()) < 256 * 1024


def test_an_event_too_large_for_eventbridge_leaves_its_data_out(monkeypatch, users: Users, events: Events) -> None:
    monkeypatch.setattr(changes, "MAX_EVENT_BYTES", 600)
    events.run()
    events.published()
    users.create(user("alice@contoso.com", displayName="A" * 700))
    events.run()
    (event,) = events.published()
    assert "data" not in event and event["data_omitted"] is True
    assert event["resource"]["userName"] == "alice@contoso.com"


def test_each_idp_reads_only_its_own_feed_from_any_cursor(users: Users, events: Events, tenant, make_tenant, call,
                                                          admin) -> None:
    other = make_tenant()
    for n in range(5):
        users.create(user(f"a{n}@contoso.com"))
        call("POST", f"/v1/scim/{other.idp_id}/Users", body=user(f"b{n}@contoso.com"), token=other.token)
    events.run()
    mine = events.feed(tenant.idp_id)["events"]
    theirs = events.feed(other.idp_id)["events"]
    assert {e["idp_id"] for e in mine} == {tenant.idp_id} and {e["idp_id"] for e in theirs} == {other.idp_id}
    # Page by page, from any cursor, the same events in the same order; a cursor of one IdP shows another's nothing
    # but its own.
    seen, after = [], None
    while True:
        page = events.feed(tenant.idp_id, after, limit=2)
        seen += page["events"]
        if not page["events"]:
            break
        after = page["next"]
    assert [e["id"] for e in seen] == [e["id"] for e in mine]
    assert events.feed(tenant.idp_id, after)["next"] == after  # nothing new: the same cursor back
    crossed = events.feed(other.idp_id, events.feed(tenant.idp_id, limit=3)["next"])["events"]
    assert {e["idp_id"] for e in crossed} <= {other.idp_id}
    for bad in ("nonsense", "AAAA", "MTIzNA"):
        admin_error(admin("GET", f"/admin/v1/idps/{tenant.idp_id}/events?after={bad}"), 400, "invalid_cursor")


def test_events_appear_only_once_settled(users: Users, events: Events, tenant, monkeypatch) -> None:
    """A page shows only events written more than SETTLE_SECONDS ago: a reader can never have passed the position
    of an event written later (a slow write is written again at a fresh position)."""
    monkeypatch.setattr(feed_module, "SETTLE_SECONDS", 60)
    events.run()
    users.create(user("alice@contoso.com"))
    events.run()
    assert events.feed(tenant.idp_id)["events"] == []
    monkeypatch.setattr(feed_module, "SETTLE_SECONDS", 0)
    assert [e["type"] for e in events.feed(tenant.idp_id)["events"]][-1] == "user.created"


def test_a_slow_feed_write_is_written_again_at_a_fresh_position(aws) -> None:
    from scim_endpoint.store import store

    clock = iter([1000.0, 1000.0, 1010.0, 1020.0, 1020.0, 1020.1])
    feed = feed_module.DynamoFeedStore(store().table, clock=lambda: next(clock))
    feed.append([("idp-a", "7" * 21, "evt-1", '{"id": "evt-1"}')], retention_days=1)
    items = [i for i in boto3.client("dynamodb", region_name=REGION).scan(TableName="scim-test")["Items"]
             if i["pk"]["S"] == "E#idp-a"]
    # The first write took 10 s (past half of SETTLE_SECONDS): written again at 1020 s, the copy at 1000 s gone.
    assert [i["sk"]["S"] for i in items] == [feed_module.position(1020000, "7" * 21, "evt-1")]


def test_management_actions_make_their_events(admin, events: Events) -> None:
    events.run()
    events.published()
    idp = admin("POST", "/admin/v1/idps", {"name": "Contoso"}).body["idp_id"]
    key = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "Entra", "privileges": ["users:read"]}).body
    admin("GET", f"/admin/v1/idps/{idp}/keys")
    admin("DELETE", f"/admin/v1/idps/{idp}/keys/{key['id']}")
    admin("DELETE", f"/admin/v1/idps/{idp}/keys/{key['id']}")  # again: no second event
    before_delete = events.run()
    assert before_delete == {"batchItemFailures": []}
    assert [e["type"] for e in events.feed(idp)["events"]] == ["idp.created", "key.created", "key.revoked"]
    admin("DELETE", f"/admin/v1/idps/{idp}")
    events.run()
    published = events.published()
    assert [e["type"] for e in published] == ["idp.created", "key.created", "key.revoked", "idp.deleted"]
    assert published[1]["key"] == {"id": key["id"], "name": "Entra", "privileges": ["users:read"]}
    assert published[2]["key"]["revoked"] and "token" not in json.dumps(published)


def test_oauth_clients_make_their_events_like_keys(admin, events: Events) -> None:
    events.run()
    events.published()
    idp = admin("POST", "/admin/v1/idps", {"name": "Gallery"}).body["idp_id"]
    client = admin("POST", f"/admin/v1/idps/{idp}/clients", {"name": "Entra", "privileges": ["users:write"]}).body
    admin("DELETE", f"/admin/v1/idps/{idp}/clients/{client['client_id']}")
    admin("DELETE", f"/admin/v1/idps/{idp}/clients/{client['client_id']}")  # again: no second event
    events.run()
    published = [e for e in events.published() if e["type"].startswith("client.")]
    assert [e["type"] for e in published] == ["client.created", "client.revoked"]
    assert published[0]["resource"] == {"type": "Client", "id": client["client_id"], "displayName": "Entra"}
    assert published[0]["key"] == {"id": client["client_id"], "name": "Entra", "privileges": ["users:write"]}
    assert client["client_secret"] not in json.dumps(published) and published[1]["key"]["revoked"]


def test_an_idps_erasure_makes_no_event_per_item(admin, events: Events, call) -> None:
    idp = admin("POST", "/admin/v1/idps", {"name": "Doomed"}).body["idp_id"]
    token = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "k", "privileges": ["users:write",
                                                                                    "groups:write"]}).body["token"]
    ids = [call("POST", f"/v1/scim/{idp}/Users", body=user(f"u{n}@contoso.com"), token=token).body["id"]
           for n in range(3)]
    call("POST", f"/v1/scim/{idp}/Groups", body={"schemas": [GROUP_SCHEMA], "displayName": "T",
                                                 "members": [{"value": i} for i in ids]}, token=token)
    events.run()
    events.published()
    assert call("DELETE", f"/v1/scim/{idp}/Users/{ids[0]}", token=token).status == 204
    time.sleep(1.1)  # the stream's times are to the second
    admin("DELETE", f"/admin/v1/idps/{idp}")
    events.run()  # the user's deletion, from before the IdP's, is an event (however late it is handled)
    assert [e["type"] for e in events.published()] == ["user.deleted", "idp.deleted"]
    assert [e["type"] for e in events.feed(idp)["events"]][-2:] == ["user.deleted", "idp.deleted"]
    run_jobs()
    events.run()  # the erasure's removals are none
    assert events.published() == []
    # The erasure took the feed with everything else; what the consumer handles of the IdP later is published but
    # not written to a feed.
    table = boto3.client("dynamodb", region_name=REGION)
    assert [i for i in table.scan(TableName="scim-test")["Items"] if idp in i["pk"]["S"]
            and i["sk"]["S"] != "idp"] == []
    late = [r for r in events.records if r["eventName"] == "REMOVE" and r["dynamodb"]["Keys"]["sk"]["S"] == ids[0]
            and r["dynamodb"]["Keys"]["pk"]["S"].endswith("#User")]
    assert len(late) == 1  # the user's deletion, handed over again after the erasure
    events.handler({"Records": late}, LambdaContextFor("EventsFunction"))
    assert [e["type"] for e in events.published()] == ["user.deleted"]  # the product still hears of it
    assert [i for i in table.scan(TableName="scim-test")["Items"] if i["pk"]["S"] == f"E#{idp}"] == []  # no feed


def test_a_membership_of_a_user_deleted_at_once_makes_no_event(users: Users, groups: Groups, events: Events,
                                                              tenant) -> None:
    alice = users.create(user("alice@contoso.com"))
    team = groups.create(group("Team"))
    seed_member_items(tenant.idp_id, team["id"], ["no-such-user"])  # a membership whose user is gone
    events.run()
    assert "group.member_added" not in [e["type"] for e in events.published()]
    groups.patched(team["id"], tut_add(alice["id"]))
    users.delete(alice["id"])  # before the consumer saw the membership: only user.deleted says it
    events.run()
    assert [e["type"] for e in events.published()] == ["user.deleted"]


def test_eventbridge_refusals_are_retried_then_dead_lettered(users: Users, events: Events, monkeypatch,
                                                            captured) -> None:
    from scim_endpoint import event_bus

    events.run()
    before = emitted_metrics(captured.text())
    calls = {"n": 0}

    def refusing(self, entries):
        calls["n"] += 1
        return entries

    monkeypatch.setattr(event_bus.EventBus, "_put", refusing)
    monkeypatch.setattr(event_bus.time, "sleep", lambda seconds: None)
    users.create(user("alice@contoso.com"))
    assert events.run() == {"batchItemFailures": []}  # the feed has it: the batch is done
    assert calls["n"] == event_bus.ATTEMPTS
    import os

    sqs = boto3.client("sqs", region_name=REGION)
    (message,) = sqs.receive_message(QueueUrl=os.environ["EVENTS_DEAD_LETTER_QUEUE_URL"]).get("Messages", [])
    body = json.loads(message["Body"])
    assert body["detail-type"] == "user.created" and json.loads(body["detail"])["type"] == "user.created"
    metrics = {name: total - before.get(name, 0) for name, total in emitted_metrics(captured.text()).items()}
    assert metrics["EventsDeadLettered"] == 1 and metrics["EventsFailed"] == 1 and metrics["EventsPublished"] == 0


def test_a_feed_that_cannot_be_written_fails_the_batch_for_lambda_to_retry(users: Users, events: Events,
                                                                          monkeypatch) -> None:
    from scim_endpoint.store.table import Table

    events.run()
    events.published()
    users.create(user("alice@contoso.com"))
    monkeypatch.setattr(Table, "batch_put", lambda self, items: (_ for _ in ()).throw(RuntimeError("DynamoDB down")))
    answer = events.run()
    # The batch's first record: Lambda hands the whole batch over again (its events keep their ids).
    assert answer["batchItemFailures"] == [{"itemIdentifier": events.last_batch[0]["dynamodb"]["SequenceNumber"]}]
    assert events.published() == []  # nothing published of a batch Lambda will hand over again


def test_jobs_failures_are_not_events(admin, events: Events) -> None:
    """Internal items (the registry's lock, exports' records, keys' last use) make no events."""
    idp = admin("POST", "/admin/v1/idps", {"name": "Contoso"}).body["idp_id"]
    admin("POST", f"/admin/v1/idps/{idp}/exports")
    try:
        run_jobs()
    except JobFailed:
        pass
    events.run()
    assert [e["type"] for e in events.published()] == ["idp.created"]


def test_redrive_events_publishes_dead_letters_and_replays_failed_batches(users: Users, events: Events, tenant,
                                                                          monkeypatch) -> None:
    """`scim-admin redrive-events` (devtools/redrive.py): what EventBridge kept refusing is published again, and a
    batch the consumer kept failing (Lambda's description of it on the same queue) is replayed from the stream with
    the same event ids; a message that fails again stays on the queue."""
    import os

    from devtools.redrive import redrive_events
    from scim_endpoint import event_bus
    from scim_endpoint.management import services
    from tests.integration.test_redrive import dead_letter, waiting

    queue = os.environ["EVENTS_DEAD_LETTER_QUEUE_URL"]
    events.run()
    events.published()
    with monkeypatch.context() as patched:
        patched.setattr(event_bus.EventBus, "_put", lambda self, entries: entries)  # EventBridge refuses all
        patched.setattr(event_bus.time, "sleep", lambda seconds: None)
        alice = users.create(user("alice@contoso.com"))
        events.run()
    assert waiting(queue) == 1 and events.published() == []
    bob = users.create(user("bob@contoso.com"))
    failed = [r for r in events.stream.read() if events.consumer.takes(r)]
    dead_letter(queue, failed)  # the consumer failed on this batch every time, say
    sqs = boto3.client("sqs", region_name=REGION)
    streams = boto3.client("dynamodbstreams", region_name=REGION)

    result = redrive_events(sqs, streams, services(), queue, timeout=30)
    assert result.as_dict() == {"published": 1, "batches": 1, "records": len(failed), "expired": 0, "left": 0}
    assert waiting(queue) == 0
    published = events.published()
    assert sorted((e["type"], e["resource"]["id"]) for e in published) == sorted(
        [("user.created", alice["id"]), ("user.created", bob["id"])])
    fed = [e for e in events.feed(tenant.idp_id)["events"] if e["resource"]["id"] == bob["id"]]
    assert [e["id"] for e in fed] == [e["id"] for e in published if e["resource"]["id"] == bob["id"]]

    sqs.send_message(QueueUrl=queue, MessageBody="not one of ours")
    result = redrive_events(sqs, streams, services(), queue, timeout=3)
    assert result.as_dict()["left"] == 1  # kept for a person to look at


def test_a_consumer_late_past_the_erasure_still_publishes_and_writes_no_feed(admin, events: Events, call,
                                                                             monkeypatch) -> None:
    """The events consumer behind by more than an erasure takes: what happened before the erasure (a user's
    deletion, the IdP's) is still published; the erasure's own removals are not; and nothing is written to the
    erased IdP's feed, also by a batch under way as the erasure finishes (swept again afterwards)."""
    from scim_endpoint import tenants
    from scim_endpoint.management import erasure, services

    events.run()
    events.published()
    idp = admin("POST", "/admin/v1/idps", {"name": "Late"}).body["idp_id"]
    token = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "k", "privileges": ["users:write"]}).body["token"]
    kept = call("POST", f"/v1/scim/{idp}/Users", body=user("kept@contoso.com"), token=token).body["id"]
    gone = call("POST", f"/v1/scim/{idp}/Users", body=user("gone@contoso.com"), token=token).body["id"]
    assert call("DELETE", f"/v1/scim/{idp}/Users/{gone}", token=token).status == 204
    time.sleep(1.1)  # the stream's times are to the second (on AWS the erasure waits a minute after the deletion)
    admin("DELETE", f"/admin/v1/idps/{idp}")
    real_delete = tenants.TenantDirectory.delete
    landed = []

    def a_batch_lands_as_the_erasure_finishes(self, idp_id):
        landed.append(events.run())  # the consumer reads the IdP still deleting, then writes its feed
        return real_delete(self, idp_id)

    with monkeypatch.context() as patched:
        patched.setattr(feed_module, "SETTLE_SECONDS", 0)
        patched.setattr(tenants.TenantDirectory, "delete", a_batch_lands_as_the_erasure_finishes)
        run_jobs()
    assert landed == [{"batchItemFailures": []}]
    published = events.published()
    assert [(e["type"], e["resource"]["id"]) for e in published if e["type"].startswith("user.")] == [
        ("user.created", kept), ("user.created", gone), ("user.deleted", gone)]  # not the erasure's removal of kept
    assert "idp.deleted" in [e["type"] for e in published]
    table = boto3.client("dynamodb", region_name=REGION)
    left = [i for i in table.scan(TableName="scim-test")["Items"] if i["pk"]["S"] == f"E#{idp}"]
    assert left  # the batch under way wrote after the feed's deletion...
    assert erasure.sweep_feed(services(), idp) == len(left)  # ...and the sweep queued by the erasure takes them
    assert [i for i in table.scan(TableName="scim-test")["Items"] if i["pk"]["S"] == f"E#{idp}"] == []
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=os.environ["JOBS_QUEUE_URL"],
                                          AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # the sweep, 15 minutes on
    # The erasure's removals, handled after the tombstone: no events, no feed.
    events.run()
    assert [e for e in events.published() if e["type"] != "user.deleted" or e["resource"]["id"] != kept] == []
    assert [i for i in table.scan(TableName="scim-test")["Items"] if i["pk"]["S"] == f"E#{idp}"] == []


def test_one_malformed_record_stops_the_batch_there_not_before(users: Users, events: Events, tenant) -> None:
    """The events before it go out; the answer names it (Lambda retries from it, bisecting until it stands alone)."""
    events.run()
    events.published()
    users.create(user("alice@contoso.com"))
    good = [r for r in events.stream.read() if events.consumer.takes(r)]
    bad = {"eventID": "bad", "eventName": "INSERT", "dynamodb": {
        "Keys": {"pk": {"S": f"T#{tenant.idp_id}#User"}, "sk": {"S": "odd"}},
        "NewImage": {"pk": {"S": f"T#{tenant.idp_id}#User"}, "sk": {"S": "odd"}, "id": {"S": "odd"}},
        "SequenceNumber": "999999999999999999999", "ApproximateCreationDateTime": 1796000000}}
    answer = events.handler({"Records": good + [bad] + good}, LambdaContextFor("EventsFunction"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "999999999999999999999"}]}
    assert [e["type"] for e in events.published()] == ["user.created"]  # the one before it, once


def test_putevents_calls_stay_under_eventbridges_request_size(users: Users, events: Events, monkeypatch) -> None:
    from scim_endpoint.management import services

    events.run()
    events.published()
    for n in range(10):  # about 60 KB each: 10 of them are over the 256 KB a PutEvents call takes
        users.create(user(f"u{n}@contoso.com", title="t" * 16000, nickName="n" * 16000, profileUrl="p" * 16000,
                          displayName="d" * 12000))
    bus = services().event_bus
    calls = []
    real = bus._client.put_events

    def measured(Entries):
        calls.append(sum(bus.size((e["DetailType"], e["Detail"])) for e in Entries))
        return real(Entries=Entries)

    monkeypatch.setattr(bus._client, "put_events", measured)
    events.run()
    assert len(events.published()) == 10 and len(calls) > 1 and max(calls) <= 256 * 1024, calls


def test_a_refused_creation_of_an_idp_makes_no_event(admin, events: Events) -> None:
    from scim_endpoint.management import services
    from scim_endpoint.tenants import now_text

    events.run()
    events.published()
    services().directory.create("legacy-idp", "Legacy", now_text())  # an IdP from before the registry
    answer = admin("POST", "/admin/v1/idps", {"name": "Refused name", "idp_id": "legacy-idp"})
    assert answer.status == 409
    events.run()
    assert [(e["type"], e["resource"].get("displayName")) for e in events.published()] == [("idp.created", "Legacy")]
