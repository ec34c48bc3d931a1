"""`scim-admin redrive-cleanup` (devtools/redrive.py): the stream batches the cleanup could not handle, described on
its dead-letter queue as Lambda describes them, replayed from the stream; and the sweep when the stream no longer has
them. Against moto's table, stream and queue."""

from __future__ import annotations

import json

import boto3
import pytest

from devtools.redrive import redrive
from scim_endpoint.store import store
from tests.conftest import REGION, TABLE_NAME
from tests.integration.test_cleanup import Stream, filtered, keys
from tests.integration.test_groups import group, member_items, new_users
from tests.support import Groups, Users, seed_member_items


@pytest.fixture
def stream(aws) -> Stream:
    return Stream()


@pytest.fixture
def queue(aws) -> str:
    return boto3.client("sqs", region_name=REGION).create_queue(QueueName="cleanup-dlq")["QueueUrl"]


def dead_letter(queue: str, records: list[dict], stream_arn: str | None = None) -> None:
    """The message Lambda sends an on-failure destination for a stream batch."""
    arn = stream_arn or boto3.client("dynamodb", region_name=REGION).describe_table(
        TableName=TABLE_NAME)["Table"]["LatestStreamArn"]
    shard = boto3.client("dynamodbstreams", region_name=REGION).describe_stream(
        StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    boto3.client("sqs", region_name=REGION).send_message(QueueUrl=queue, MessageBody=json.dumps({
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 21},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard, "streamArn": arn, "batchSize": len(records),
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
        },
    }))


def run(queue: str):
    """The command's work, as `scim-admin redrive-cleanup` does it."""
    return redrive(boto3.client("sqs", region_name=REGION), boto3.client("dynamodbstreams", region_name=REGION),
                   store(), queue, timeout=30)


def waiting(queue: str) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def test_a_failed_batch_is_replayed_from_the_stream(groups: Groups, users: Users, stream: Stream,
                                                    queue: str) -> None:
    ids = new_users(users, 3)
    doomed = groups.create(group("Doomed", members=[{"value": i} for i in ids]))
    kept = groups.create(group("Kept", members=[{"value": ids[0]}]))
    stream.read()
    groups.delete(doomed["id"])
    records = filtered(stream.read())
    assert [keys(r)[1] for r in records if keys(r)[0].endswith("#Group")] == [doomed["id"]]
    dead_letter(queue, records)  # the cleanup failed on it 21 times, say
    assert member_items(users.tenant, doomed["id"]) == set(ids)

    result = run(queue)
    assert result.as_dict() == {"batches": 1, "records": len(records), "memberships_deleted": 3, "swept": False,
                                "left": 0}
    assert member_items(users.tenant, doomed["id"]) == set()
    assert member_items(users.tenant, kept["id"]) == {ids[0]}
    assert waiting(queue) == 0
    assert run(queue).as_dict()["batches"] == 0  # nothing left to do


def test_records_gone_from_the_stream_are_covered_by_a_sweep(groups: Groups, users: Users, stream: Stream,
                                                             queue: str) -> None:
    alice, bob = new_users(users, 2)
    team = groups.create(group("Team", members=[{"value": alice}, {"value": bob}]))
    # Orphans whose cleanup was lost: members of a group that is gone, and of a user that is gone.
    seed_member_items(users.tenant.idp_id, "gone-group", [alice, bob])
    seed_member_items(users.tenant.idp_id, team["id"], ["gone-user"])
    dead_letter(queue, filtered(stream.read()))

    class Expired:
        """The stream after 24 hours: those records are trimmed (moto keeps everything, so say it as DynamoDB
        does)."""

        def get_shard_iterator(self, **kwargs):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}},
                              "GetShardIterator")

    result = redrive(boto3.client("sqs", region_name=REGION), Expired(), store(), queue, timeout=30)
    assert result.swept and result.memberships_deleted == 3 and result.as_dict()["left"] == 0
    assert member_items(users.tenant, "gone-group") == set()
    assert member_items(users.tenant, team["id"]) == {alice, bob}
    assert waiting(queue) == 0


def test_a_batch_the_stream_holds_only_in_part_is_replayed_and_swept(groups: Groups, users: Users, stream: Stream,
                                                                     queue: str) -> None:
    """The stream trimmed the end of the batch (or its shard closed early): what it still has is replayed, and the
    sweep covers the rest, rather than deleting the message as if every record had been handled."""
    alice, bob = new_users(users, 2)
    doomed = groups.create(group("Doomed", members=[{"value": alice}]))
    stream.read()
    groups.delete(doomed["id"])
    records = filtered(stream.read())
    seed_member_items(users.tenant.idp_id, "gone-group", [bob])  # what the missing records would have cleaned
    last = str(int(records[-1]["dynamodb"]["SequenceNumber"]) + 10**6)  # past anything the stream holds
    dead_letter(queue, [records[0], {"dynamodb": {"SequenceNumber": last}}])

    result = run(queue)
    # Replayed: the batch's records and the seeded item's insertion after them (the stream holds nothing later).
    assert result.swept and result.as_dict()["left"] == 0 and result.records == len(records) + 1
    assert member_items(users.tenant, doomed["id"]) == set() and member_items(users.tenant, "gone-group") == set()
    assert waiting(queue) == 0


@pytest.mark.parametrize("body", [
    "not json", "[]", json.dumps({"DDBStreamBatchInfo": None}),
    json.dumps({"DDBStreamBatchInfo": {"streamArn": "arn", "shardId": "s", "startSequenceNumber": "12x"}}),
    json.dumps({"DDBStreamBatchInfo": {"streamArn": "arn", "shardId": "s", "startSequenceNumber": "1",
                                       "endSequenceNumber": 2}}),
    json.dumps({"DDBStreamBatchInfo": {"streamArn": ["arn"], "shardId": "s", "startSequenceNumber": "1"}}),
])
def test_a_message_that_describes_no_batch_is_swept_for_not_crashed_on(users: Users, queue: str, body: str) -> None:
    """Whatever the queue holds, the redrive finishes: a message that does not say where its batch is cannot be
    replayed, so the sweep stands in for it."""
    alice, = new_users(users, 1)
    seed_member_items(users.tenant.idp_id, "gone-group", [alice])
    boto3.client("sqs", region_name=REGION).send_message(QueueUrl=queue, MessageBody=body)
    result = run(queue)
    assert result.as_dict() == {"batches": 1, "records": 0, "memberships_deleted": 1, "swept": True, "left": 0}
    assert waiting(queue) == 0


def test_a_batch_that_fails_again_stays_on_the_queue(groups: Groups, users: Users, stream: Stream, queue: str,
                                                     monkeypatch) -> None:
    ids = new_users(users, 1)
    doomed = groups.create(group("Doomed", members=[{"value": ids[0]}]))
    stream.read()
    groups.delete(doomed["id"])
    dead_letter(queue, filtered(stream.read()))

    def still_failing(store, idp_id, group_id, user_ids):
        raise RuntimeError("still broken")

    monkeypatch.setattr(type(store().memberships), "delete_members", still_failing)
    result = run(queue)
    assert result.as_dict()["left"] == 1 and result.memberships_deleted == 0
    assert member_items(users.tenant, doomed["id"]) == {ids[0]}
    monkeypatch.undo()
    assert waiting(queue) == 1


def test_the_local_server_dead_letters_a_batch_its_consumer_keeps_failing(groups: Groups, users: Users,
                                                                          stream: Stream, queue: str,
                                                                          monkeypatch) -> None:
    """The local server's stream poller does what Lambda's event source mapping does: retries the failed record,
    then describes the batch on the dead-letter queue; and `scim-admin --local redrive-cleanup` replays it."""
    from devtools.local import server, template

    cleanup = [c for c in template.stream_consumers() if c.function == "CleanupFunction"]
    poller = server.StreamPoller(TABLE_NAME, cleanup, {"CleanupDeadLetterQueue": queue})
    ids = new_users(users, 2)
    doomed = groups.create(group("Doomed", members=[{"value": i} for i in ids]))
    stream.read()
    groups.delete(doomed["id"])
    records = stream.read()
    invocations = []

    def failing(self, event, request_id=None):
        invocations.append(len(event["Records"]))
        raise RuntimeError("the consumer is broken")

    monkeypatch.setattr(server.Function, "invoke", failing)
    (shard,) = [shard for shard, _ in poller._iterators]
    poller._deliver(shard, records)
    assert len(invocations) == 1 + server.StreamPoller.LOCAL_RETRIES
    assert waiting(queue) == 1
    monkeypatch.undo()
    message = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=queue, VisibilityTimeout=0)
    info = json.loads(message["Messages"][0]["Body"])["DDBStreamBatchInfo"]
    wanted = filtered(records)
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (
        wanted[0]["dynamodb"]["SequenceNumber"], wanted[-1]["dynamodb"]["SequenceNumber"])
    assert member_items(users.tenant, doomed["id"]) == set(ids)

    assert run(queue).as_dict()["memberships_deleted"] == 2
    assert member_items(users.tenant, doomed["id"]) == set()


def test_a_sweep_on_demand_with_an_empty_queue(groups: Groups, users: Users, queue: str) -> None:
    """`redrive-cleanup --sweep` (after an upgrade replaced the stream): memberships whose group is gone go, with no
    message on the queue."""
    ids = new_users(users, 2)
    seed_member_items(users.tenant, "gone-group", ids)
    result = redrive(boto3.client("sqs", region_name=REGION), boto3.client("dynamodbstreams", region_name=REGION),
                     store(), queue, timeout=5, sweep=True)
    assert result.as_dict() == {"batches": 0, "records": 0, "memberships_deleted": 2, "swept": True, "left": 0}
    assert member_items(users.tenant, "gone-group") == set()
