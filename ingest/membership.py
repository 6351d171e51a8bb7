"""Feed sharing through Kafka consumer-group membership.

The feed list lives in a compacted topic keyed by feed URL (several
partitions). Every ingest process joins one consumer group on that topic;
Kafka assigns each partition to exactly one live member, and a member polls
exactly the feeds whose records sit in its partitions. When a member leaves or
stops heart-beating, Kafka reassigns its partitions within the session timeout.
Offsets are never committed: on each assignment a member reads its partitions
from the beginning, which for a compacted topic is the current feed list.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from ingest.feedlist import FeedList, FeedSpec
from ingest.store import read_compacted
from ingest.workers import FeedWorkers
from wirewatch.kafka import make_consumer
from wirewatch.settings import IngestSettings, KafkaSettings

log = logging.getLogger(__name__)


async def publish_feed_list(
    producer: AIOKafkaProducer, kafka: KafkaSettings, topic: str, feed_list: FeedList
) -> tuple[int, int]:
    """Make the feeds topic match ``feed_list``; returns (records written, feeds removed)."""
    current = await read_compacted(kafka, producer, topic)
    wanted = {f.url: f.model_dump_json().encode() for f in feed_list.feeds}
    sends = []
    for url, value in wanted.items():
        if current.get(url) != value:
            sends.append(await producer.send(topic, value, key=url.encode()))
    removed = [url for url, value in current.items() if value is not None and url not in wanted]
    for url in removed:
        sends.append(await producer.send(topic, None, key=url.encode()))
    await asyncio.gather(*sends)
    return len(sends), len(removed)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, membership: FeedMembership) -> None:
        self.membership = membership

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.membership.revoke(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.membership.assign(set(assigned))


class FeedMembership:
    """Joins the ingest group and keeps :class:`FeedWorkers` in line with the assignment."""

    def __init__(
        self, kafka: KafkaSettings, settings: IngestSettings, topic: str, workers: FeedWorkers
    ) -> None:
        self.topic = topic
        self.workers = workers
        # A revoke waits for in-flight polls, so the group must allow that long.
        rebalance_ms = int((settings.total_timeout_s + 10) * 1000)
        self._consumer: AIOKafkaConsumer = make_consumer(
            kafka,
            group_id=settings.group_id,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            rebalance_timeout_ms=max(rebalance_ms, settings.session_timeout_ms),
            metadata_max_age_ms=30_000,
        )
        self._feeds: dict[TopicPartition, dict[str, FeedSpec]] = {}

    async def revoke(self, revoked: set[TopicPartition]) -> None:
        urls = {url for tp in revoked for url in self._feeds.pop(tp, {})}
        await self.workers.drop(urls)

    async def assign(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            self._feeds.setdefault(tp, {})
        if assigned:
            await self._consumer.seek_to_beginning(*assigned)
        log.info("assigned %d feed partitions", len(assigned))

    async def _apply(self, tp: TopicPartition, key: bytes | None, value: bytes | None) -> None:
        if key is None or tp not in self._feeds:
            return
        url = key.decode(errors="replace")
        if value is None:
            self._feeds[tp].pop(url, None)
            await self.workers.drop([url])
            return
        try:
            spec = FeedSpec.model_validate_json(value)
        except ValidationError as exc:
            log.warning("ignoring unreadable feed record %s: %s", url, exc.errors()[0]["msg"])
            return
        self._feeds[tp][url] = spec

    async def run(self, stop: asyncio.Event) -> None:
        """Take part in the group until ``stop`` is set, then hand every feed back."""
        self._consumer.subscribe([self.topic], listener=_Listener(self))
        await self._consumer.start()
        try:
            while not stop.is_set():
                try:
                    batch = await self._consumer.getmany(timeout_ms=300)
                except KafkaError as exc:
                    # The client reconnects by itself; owned feeds keep polling meanwhile.
                    log.warning("feed membership: %s; retrying", exc)
                    await asyncio.sleep(1.0)
                    continue
                for tp, records in batch.items():
                    for record in records:
                        await self._apply(tp, record.key, record.value)
                if batch:
                    wanted = [s for feeds in self._feeds.values() for s in feeds.values()]
                    await self.workers.adopt(wanted)
        finally:
            await self.workers.drop_all()
            # Leaving the group (rather than timing out) hands feeds over at once.
            await self._consumer.stop()
