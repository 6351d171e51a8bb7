"""The outbox sends a batch's records as Kafka batches: all of them, in order, readable back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from processors.runtime.outbox import Outbox
from wirewatch.kafka import make_producer
from wirewatch.settings import KafkaSettings

pytestmark = pytest.mark.integration


@dataclass
class FakeTable:
    """What Outbox.put_state touches of a Faust table: its store and changelog name."""

    changelog_topic_name: str
    data: dict[str, Any] = field(default_factory=dict)


async def read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=500)
                out += [r for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return out


async def test_records_arrive_in_order_per_partition_with_tombstones(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    events, changelog = unique_name("ob-events"), unique_name("ob-changelog")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(events, 3, 1), NewTopic(changelog, 1, 1)])
    finally:
        await admin.close()
    # Small Kafka batches, so the records span several, and one record larger than a batch.
    producer = make_producer(KafkaSettings(bootstrap=kafka_bootstrap), max_batch_size=4096)
    await producer.start()
    try:
        parts = {t: sorted(await producer.partitions_for(t)) for t in (events, changelog)}
        outbox = Outbox(producer, parts)
        for i in range(200):
            outbox.add(events, f"k{i % 7}".encode(), json.dumps({"i": i}).encode())
        outbox.add(events, b"big", b"x" * 10_000)
        table = FakeTable(changelog)
        outbox.put_state(table, "a:1", {"story": "s1"})
        outbox.put_state(table, "a:2", {"story": "s2"})
        outbox.put_state(table, "a:1", None)
        await asyncio.gather(*await outbox.send())
    finally:
        await producer.stop()

    assert table.data == {"a:2": {"story": "s2"}}
    got = await read_all(kafka_bootstrap, events, 201)
    assert len(got) == 201
    # Each key kept to one partition, and within it the order records were added in.
    for key in {r.key for r in got if r.key != b"big"}:
        mine = [r for r in got if r.key == key]
        assert len({r.partition for r in mine}) == 1
        assert [json.loads(r.value)["i"] for r in mine] == sorted(
            json.loads(r.value)["i"] for r in mine
        )
    assert sum(1 for r in got if r.key == b"big" and len(r.value) == 10_000) == 1
    log = await read_all(kafka_bootstrap, changelog, 3)
    # The form Faust's changelog recovery reads: JSON key, JSON value, tombstone deletes.
    assert [(json.loads(r.key), r.value and json.loads(r.value)) for r in log] == [
        ("a:1", {"story": "s1"}),
        ("a:2", {"story": "s2"}),
        ("a:1", None),
    ]
