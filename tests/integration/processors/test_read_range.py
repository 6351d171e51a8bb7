"""read_range reads exactly the offsets asked for from a real broker, or raises."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from processors.runtime.offset_guard import read_range
from wirewatch.kafka import make_producer
from wirewatch.settings import KafkaSettings

pytestmark = pytest.mark.integration


async def topic_with_records(bootstrap: str, name: str, count: int) -> TopicPartition:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    kafka = KafkaSettings(bootstrap=bootstrap)
    producer = make_producer(kafka)
    await producer.start()
    try:
        for i in range(count):
            await producer.send_and_wait(name, f"record-{i}".encode(), partition=0)
    finally:
        await producer.stop()
    return TopicPartition(name, 0)


async def test_reads_exactly_the_range(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    tp = await topic_with_records(kafka_bootstrap, unique_name("range"), 8)
    got = await read_range(KafkaSettings(bootstrap=kafka_bootstrap), tp, 3, 6)
    assert [(offset, value) for _, offset, value in got] == [
        (3, b"record-3"),
        (4, b"record-4"),
        (5, b"record-5"),
    ]


async def test_offsets_that_cannot_be_read_raise(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    # Offsets 8-9 do not exist (yet): nothing to read within the wait, so the
    # caller must not go on as if it had them.
    tp = await topic_with_records(kafka_bootstrap, unique_name("range"), 8)
    with pytest.raises(OSError, match=r"offsets 8-9 of .* could not be re-read"):
        await read_range(KafkaSettings(bootstrap=kafka_bootstrap), tp, 6, 10)
