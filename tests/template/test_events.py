"""template.yaml's change events (docs/events.md): the stream with both images, the events consumer's batching, the
bus and its dead-letter queue, the alarms, the dashboard row, and the schema registry entry generated from
the event models."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools import schemas
from devtools.local.template import load, stream_consumers


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def test_the_stream_carries_both_images_for_the_events(resources: dict[str, Any]) -> None:
    assert resources["Table"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_events_consumer_takes_every_tenant_change_in_order(resources: dict[str, Any]) -> None:
    (event,) = resources["EventsFunction"]["Properties"]["Events"].values()
    props = event["Properties"]
    assert event["Type"] == "DynamoDB" and props["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    # One batch at a time per shard (order per item), up to 100 changes or one second's worth, partial failures.
    assert props["ParallelizationFactor"] == 1
    assert props["BatchSize"] == 100 and props["MaximumBatchingWindowInSeconds"] == 1
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] > 0
    assert props["DestinationConfig"] == {"OnFailure": {
        "Type": "SQS", "Destination": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}}}
    # Only tenants' items: never the feed the consumer writes itself (E#...), whatever the event name.
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "T#"}]}}}}]
    (consumer,) = [c for c in stream_consumers() if c.function == "EventsFunction"]
    feed_write = {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "E#idp"}, "sk": {"S": "x"}}}}
    change = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "T#idp#User"}, "sk": {"S": "x"}}}}
    assert not consumer.takes(feed_write) and consumer.takes(change)
    # The cleanup's filter keeps it to tenants' items too (the feed's writes start no work).
    (cleanup,) = [c for c in stream_consumers() if c.function == "CleanupFunction"]
    assert not cleanup.takes(feed_write)


def test_the_bus_and_its_dead_letters(resources: dict[str, Any], template: dict[str, Any]) -> None:
    assert resources["EventBus"]["Type"] == "AWS::Events::EventBus"
    # No archive: it would keep people's data beyond an IdP's erasure (replays come from the feeds, which go with it).
    assert not [r for r in resources.values() if r["Type"] == "AWS::Events::Archive"]
    queue = resources["EventsDeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600 and queue["SqsManagedSseEnabled"] is True
    outputs = template["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Ref": "EventBus"}
    assert outputs["EventBusArn"]["Value"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert outputs["EventsDeadLetterQueueUrl"]["Value"] == {"Ref": "EventsDeadLetterQueue"}
    statements = resources["EventsFunction"]["Properties"]["Policies"][0]["Statement"]
    assert {"Sid": "Publish", "Effect": "Allow", "Action": "events:PutEvents",
            "Resource": {"Fn::GetAtt": ["EventBus", "Arn"]}} in statements
    assert {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}} in statements
    env = resources["EventsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == {"Ref": "EventBus"}
    assert env["EVENT_RETENTION_DAYS"] == {"Ref": "EventRetentionDays"}
    assert template["Parameters"]["EventRetentionDays"]["Default"] == 30


def test_the_alarms_watch_the_dead_letters_and_the_lag(resources: dict[str, Any]) -> None:
    dead = resources["EventsDeadLettersAlarm"]["Properties"]
    assert (dead["Namespace"], dead["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dead["Dimensions"] == [{"Name": "QueueName",
                                   "Value": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}]
    lag = resources["EventsLagAlarm"]["Properties"]
    assert (lag["Namespace"], lag["MetricName"]) == ("AWS/Lambda", "IteratorAge")
    assert lag["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "EventsFunction"}}]
    for alarm in (dead, lag):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_schema_registry_holds_the_generated_schema(resources: dict[str, Any]) -> None:
    committed = schemas.DOCUMENT.read_text(encoding="utf-8")
    assert committed == schemas.text(), "docs/events.schema.json is stale: run `make schemas`"
    entry = resources["EventSchema"]["Properties"]
    assert entry["RegistryName"] == {"Fn::GetAtt": ["EventSchemaRegistry", "RegistryName"]}
    assert entry["Type"] == "JSONSchemaDraft4"
    assert json.loads(entry["Content"]) == json.loads(committed), "template.yaml's EventSchema: run `make schemas`"
    schema = json.loads(committed)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    types = set(schema["properties"]["type"]["enum"])
    assert types == {"user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted",
                     "group.created", "group.updated", "group.deleted", "group.member_added",
                     "group.member_removed", "idp.created", "idp.deleted", "key.created", "key.revoked",
                     "client.created", "client.revoked"}
    # No reference the registry could not resolve.
    text = json.dumps(schema)
    assert "$defs" not in text
    for name in schema["definitions"]:
        assert f'"#/definitions/{name}"' in text
