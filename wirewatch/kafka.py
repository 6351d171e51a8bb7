"""Kafka helpers shared by every stage: topic creation, producers, consumers.

Thin wrappers over aiokafka so that every stage gets the same durability
settings (idempotent producer, acks=all) and the same topic specs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from wirewatch.settings import KafkaSettings, TopicSpec

log = logging.getLogger(__name__)


def topic_config(spec: TopicSpec) -> dict[str, str]:
    config = {"cleanup.policy": spec.cleanup_policy, "retention.ms": str(spec.retention_ms)}
    if spec.cleanup_policy == "compact":
        # Compact promptly so that a restart reads little history.
        config["min.cleanable.dirty.ratio"] = "0.1"
        config["segment.ms"] = str(3600 * 1000)
    return config


async def ensure_topics(kafka: KafkaSettings, specs: Iterable[TopicSpec] | None = None) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    wanted = list(specs) if specs is not None else kafka.topics.all()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id=kafka.client_id)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in wanted if s.name not in existing]
        for spec in missing:
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, 1, topic_configs=topic_config(spec))]
                )
                log.info("created topic %s (%d partitions)", spec.name, spec.partitions)
            except TopicAlreadyExistsError:
                pass  # another process won the race; fine
    finally:
        await admin.close()


def make_producer(kafka: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent, acks=all, compressed producer: each record lands once, in order."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap,
        "client_id": kafka.client_id,
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": "gzip",
        "linger_ms": 5,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(kafka: KafkaSettings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap,
        "client_id": kafka.client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


async def wait_for_kafka(bootstrap: str, timeout_s: float = 30.0) -> None:
    """Return once the broker answers metadata requests, else raise TimeoutError."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except (TimeoutError, KafkaConnectionError, OSError) as exc:
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka at {bootstrap} did not answer within {timeout_s:.0f}s: {last}")


async def group_lag(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    """Records between each partition's committed offset for ``group`` and the log end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    if not committed:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    return {
        (tp.topic, tp.partition): max(ends[tp] - meta.offset, 0)
        for tp, meta in committed.items()
        if meta.offset >= 0
    }


async def topic_partitions(kafka: KafkaSettings, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (empty if it does not exist).

    Asked of the admin API because an unsubscribed consumer's metadata does not
    list a topic's partitions.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id=kafka.client_id)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])


async def read_last(kafka: KafkaSettings, topic: str, count: int) -> list[bytes]:
    """The last ``count`` records of each partition of ``topic`` (no consumer group)."""
    partitions = await topic_partitions(kafka, topic)
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        wanted = 0
        for tp in partitions:
            offset = max(ends[tp] - count, starts[tp])
            consumer.seek(tp, offset)
            wanted += ends[tp] - offset
        values: list[bytes] = []
        while len(values) < wanted:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            values += [r.value for records in batch.values() for r in records]
        return values
    finally:
        await consumer.stop()
