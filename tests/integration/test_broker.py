"""The project's own broker: real start, idempotent start, status, stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.support import broker_ports
from wirewatch.broker import LocalBroker
from wirewatch.kafka import ensure_topics, make_admin, make_producer, read_last
from wirewatch.settings import BrokerSettings, KafkaSettings, Topics, TopicSpec

pytestmark = pytest.mark.integration


def test_start_is_idempotent_and_stop_stops(tmp_path: Path) -> None:
    broker = LocalBroker(BrokerSettings(**broker_ports(), data_dir=tmp_path))
    assert broker.status() == "stopped"
    try:
        bootstrap = broker.start()
        pid = broker.pid()
        assert pid is not None
        assert broker.start() == bootstrap  # second start: same process, no error
        assert broker.pid() == pid
        assert broker.status().startswith("running")
        assert (tmp_path / "broker.log").exists()
        assert (tmp_path / "log" / "meta.properties").exists()
        assert "127.0.0.1" in (tmp_path / "server.properties").read_text()
    finally:
        assert broker.stop() is True
    assert broker.status() == "stopped"
    assert broker.stop() is False


async def describe_topic_configs(kafka: KafkaSettings, topic: str) -> dict[str, str]:
    """The topic's configuration as the broker reports it."""
    admin = make_admin(kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    finally:
        await admin.close()
    (resource,) = response.resources
    error_code, _message, _type, name, entries = resource[:5]
    assert error_code == 0 and name == topic
    return {entry[0]: entry[1] for entry in entries}


async def test_topics_get_their_spec_and_records_round_trip(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("t")
    compacted = TopicSpec(name=name, partitions=3, retention_ms=-1, cleanup_policy="compact")
    kept_a_day = TopicSpec(name=unique_name("t"), retention_ms=86_400_000)
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topics=Topics())
    await ensure_topics(kafka, [compacted, kept_a_day])
    # Existing topics are left alone, even when the spec asks for something else.
    await ensure_topics(kafka, [compacted.model_copy(update={"cleanup_policy": "delete"})])
    configs = await describe_topic_configs(kafka, name)
    assert (configs["cleanup.policy"], configs["retention.ms"]) == ("compact", "-1")
    configs = await describe_topic_configs(kafka, kept_a_day.name)
    assert (configs["cleanup.policy"], configs["retention.ms"]) == ("delete", "86400000")
    producer = make_producer(kafka)
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(name, b"v%d" % i, key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        name, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        assert len(consumer.partitions_for_topic(name) or ()) == 3
        seen: list[bytes] = []
        async with asyncio.timeout(20):
            async for record in consumer:
                seen.append(record.value)
                if len(seen) == 3:
                    break
    finally:
        await consumer.stop()
    # Same key -> same partition -> produced order kept.
    assert seen == [b"v0", b"v1", b"v2"]


async def test_reading_the_tail_of_a_topic_nobody_wrote_is_empty(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    # `wirewatch status` on a fresh broker asks for the last event of a topic
    # that does not exist yet; that used to end in aiokafka's CancelledError.
    kafka = KafkaSettings(bootstrap=kafka_bootstrap)
    assert await read_last(kafka, unique_name("never.written"), 1) == []
