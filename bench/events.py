"""Benchmark: what the change events cost: AWS calls per batch of the stream's events consumer, and its own time.

    .venv/bin/python bench/events.py [--users 100] [--rounds 5]

Creates users (one batch of their INSERTs), then adds them all to one group in one PATCH (one batch of membership
INSERTs), and hands each batch to EventsFunction as Lambda would (BatchSize 100), over moto. Prints, per batch, the
events made and the AWS calls by operation (what a deployment pays for), and the median own time per event.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import time
from collections import Counter

from harness import ROOT, stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="users created, then added to one group")
    parser.add_argument("--rounds", type=int, default=5, help="times each batch is handed over (a redelivery)")
    args = parser.parse_args()

    with stack() as s:
        import boto3

        from devtools.local.server import LambdaContext
        from devtools.local.template import stream_consumers

        bus = boto3.client("events").create_event_bus(Name="bench-bus")["EventBusArn"]
        dead = boto3.client("sqs").create_queue(QueueName="bench-events-dead-letters")["QueueUrl"]
        os.environ.update(EVENT_BUS_NAME="bench-bus", EVENTS_DEAD_LETTER_QUEUE_URL=dead, PUBLIC_BASE_URL="https://b")
        assert bus
        from scim_endpoint import config, management

        config.settings.cache_clear()  # read again, with the bus (the stack's other settings are unchanged)
        management.services.cache_clear()
        (consumer,) = [c for c in stream_consumers() if c.function == "EventsFunction"]
        spec = importlib.util.spec_from_file_location("bench_events", ROOT / "functions" / "events" / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName="bench")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="LATEST")["ShardIterator"]

        def batch() -> list[dict]:
            nonlocal iterator
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            iterator = page["NextShardIterator"]
            return [r for r in page["Records"] if consumer.takes(r)][: consumer.batch_size]

        calls: Counter[str] = Counter()
        inside = {"seconds": 0.0}
        started: dict[int, float] = {}

        published = {"events": 0}

        def before(model, params=None, **kwargs) -> None:
            started[id(model)] = time.perf_counter()
            if model.name == "PutEvents":  # the serialized request: its JSON body holds the entries
                published["events"] += len(json.loads((params or {}).get("body") or b"{}").get("Entries", []))

        def after(model, **kwargs) -> None:
            inside["seconds"] += time.perf_counter() - started.pop(id(model))
            calls[f"{model.service_model.service_name}:{model.name}"] += 1

        def handle(records: list[dict], label: str) -> None:
            own = []
            for _ in range(args.rounds):
                calls.clear()
                published["events"] = 0
                inside["seconds"] = 0.0
                begun = time.perf_counter()
                answer = module.lambda_handler({"Records": records}, LambdaContext("EventsFunction", "bench"))
                own.append(time.perf_counter() - begun - inside["seconds"])
                assert answer == {"batchItemFailures": []}, answer
            shown = ", ".join(f"{op.split(':')[1]} x{n}" for op, n in sorted(calls.items()))
            print(f"  {label:34s} {len(records):>4} records {published['events']:>4} events "
                  f"{sum(calls.values()):>3} AWS calls  own code {statistics.median(own) * 1000 / len(records):5.2f} "
                  f"ms per record   ({shown})")

        ids = [json.loads(s.request("POST", f"{s.base}/Users", body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"u{n}@contoso.com"})["body"])["id"]
            for n in range(args.users)]
        users = batch()
        group = json.loads(s.request("POST", f"{s.base}/Groups", body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"})["body"])["id"]
        batch()
        s.request("PATCH", f"{s.base}/Groups/{group}", body={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]})
        members = batch()
        # A first handover makes the consumer's clients (a warm container); then their calls are counted.
        module.lambda_handler({"Records": users}, LambdaContext("EventsFunction", "warm-up"))
        from scim_endpoint.event_bus import event_bus
        from scim_endpoint.jobs import events_dead_letters
        from scim_endpoint.store import store

        for client in (store().table.client, event_bus()._client, events_dead_letters()._client):
            client.meta.events.register("before-call", before)
            client.meta.events.register("after-call", after)
        print(f"Events consumer, one batch each (median own time of {args.rounds} handovers):")
        handle(users, "users created (and their guards)")
        handle(members, f"{args.users} members added in one PATCH")


if __name__ == "__main__":
    main()
