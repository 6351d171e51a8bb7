"""Kafka adapters for ingest's compacted topics: read a snapshot, tail the state topic."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from ingest.state import FeedState
from wirewatch.kafka import make_consumer
from wirewatch.settings import KafkaSettings

log = logging.getLogger(__name__)


async def _assign_all(
    consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, topic: str
) -> list[TopicPartition]:
    # The producer's partitions_for waits for metadata of a topic created a moment ago.
    partitions = await producer.partitions_for(topic)
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return tps


async def _behind(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], ends: dict[TopicPartition, int]
) -> bool:
    for tp in tps:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False


async def read_compacted(
    kafka: KafkaSettings, producer: AIOKafkaProducer, topic: str, timeout_s: float = 30.0
) -> dict[str, bytes | None]:
    """Latest value per key of a (compacted) topic, read from the start to its current end."""
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    latest: dict[str, bytes | None] = {}
    try:
        tps = await _assign_all(consumer, producer, topic)
        if not tps:
            return latest
        ends = await consumer.end_offsets(tps)
        async with asyncio.timeout(timeout_s):
            while await _behind(consumer, tps, ends):
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        if record.key is not None:
                            latest[record.key.decode(errors="replace")] = record.value
    finally:
        await consumer.stop()
    return latest


class StateStore:
    """Feed states from the compacted state topic, kept current by a background tail.

    A feed this process polls is *claimed*: its in-memory state is the truth and
    the tail no longer overwrites it (the tail may still be delivering this
    process's own older records). Before claiming feeds handed over by another
    poller, :meth:`catch_up` makes sure that poller's last writes have been read.
    """

    def __init__(self, kafka: KafkaSettings, topic: str, producer: AIOKafkaProducer) -> None:
        self.topic = topic
        self._producer = producer
        self._consumer = make_consumer(kafka, group_id=None)
        self._tps: list[TopicPartition] = []
        self._states: dict[str, FeedState] = {}
        self._claimed: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._tps = await _assign_all(self._consumer, self._producer, self.topic)
        self._task = asyncio.create_task(self._tail(), name="ingest-state-tail")
        await self.catch_up()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _tail(self) -> None:
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=500)
            except Exception as exc:  # a broker hiccup must not end the tail for good
                log.warning("state tail: %s; retrying", exc)
                await asyncio.sleep(1.0)
                continue
            for records in batch.values():
                for record in records:
                    self._apply(record.key, record.value)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        url = key.decode(errors="replace")
        if url in self._claimed:
            return
        if value is None:
            self._states.pop(url, None)
            return
        try:
            self._states[url] = FeedState.model_validate_json(value)
        except ValidationError as exc:
            log.warning("ignoring unreadable state for %s: %s", url, exc.errors()[0]["msg"])

    async def catch_up(self, timeout_s: float = 30.0) -> None:
        """Return once every state written before this call has been read."""
        if not self._tps:
            return
        ends = await self._consumer.end_offsets(self._tps)
        async with asyncio.timeout(timeout_s):
            while await _behind(self._consumer, self._tps, ends):
                await asyncio.sleep(0.05)

    def snapshot(self) -> dict[str, FeedState]:
        return dict(self._states)

    def claim(self, url: str) -> FeedState:
        """Take over a feed: its latest known state, or a fresh one."""
        self._claimed.add(url)
        return self._states.get(url) or FeedState(url=url)

    def release(self, url: str) -> None:
        self._claimed.discard(url)

    async def save(self, state: FeedState) -> None:
        """Persist one feed's state (acknowledged by all in-sync replicas)."""
        self._states[state.url] = state
        await self._producer.send_and_wait(self.topic, state.to_bytes(), key=state.url.encode())
