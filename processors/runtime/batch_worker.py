"""One worker's batch path around the pure Pipeline (thin adapter).

A batch of news.raw records is run through the pipeline after the worker's
state is restored and any skipped offsets are read back; its outputs and the
changed table keys go out through one Outbox. The Faust agent feeds it the
batches the stream hands over; the tail watch feeds it the records the stream
owes at the end of a partition (processors.runtime.offset_guard). One lock keeps the
two from interleaving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from processors.pipeline import Pipeline, PipelineResult
from processors.runtime.offset_guard import (
    OffsetGuard,
    Record,
    TailWatch,
    merge,
    progress_key,
    read_range,
)
from processors.runtime.outbox import Outbox
from wirewatch import metrics
from wirewatch.events import Article
from wirewatch.kafka import make_producer
from wirewatch.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class StateTables:
    """The worker's three changelog-backed Faust tables (see processors.runtime.app)."""

    dedup: Any
    alerts: Any
    progress: Any


# [start, end) offsets of one partition.
Range = tuple[TopicPartition, int, int]


@dataclass
class Sent:
    """One batch's sends, and the offset ranges in it that were read back from Kafka."""

    futures: list[asyncio.Future[Any]]
    reread: list[Range]


@dataclass
class Dirty:
    """State keys changed during one batch; only the last value of each is written."""

    dedup: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any] | None] = field(default_factory=dict)


class BatchWorker:
    """Restores, guards and processes batches; sends their outputs through one Outbox."""

    def __init__(self, settings: Settings, pipeline: Pipeline, tables: StateTables) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.tables = tables
        self.guard = OffsetGuard()
        self.tail = TailWatch()
        # One batch at a time through the pipeline: the agent's, or the tail watch's.
        self.lock = asyncio.Lock()
        self.batches = 0  # batches handled so far
        self._restored = False
        self._producer: AIOKafkaProducer | None = None
        self._outbox: Outbox | None = None

    async def run_batch(self, records: list[Record], reread: Sequence[Range] = ()) -> Sent:
        """Process one batch (hold ``lock``); ``reread``: ranges it holds that were read back."""
        tables = self.tables
        await self.restore_once({tp for tp, _, _ in records})
        records, holes = await self._fill_holes(records)
        outbox = await self._get_outbox()
        dirty = Dirty()
        for _, _, value in records:
            for topic, key, payload in self._handle(value, dirty):
                outbox.add(topic, key, payload)
        for state_key, record in dirty.dedup.items():
            outbox.put_state(tables.dedup, state_key, record)
        for state_key, record in dirty.alerts.items():
            outbox.put_state(tables.alerts, state_key, record)
        for tp, expected in self.guard.advance(records).items():
            outbox.put_state(tables.progress, progress_key(tp), {"next": expected})
        self.batches += 1
        return Sent(await outbox.send(), [*reread, *holes])

    async def restore_once(self, tps: set[TopicPartition]) -> None:
        """Rebuild the in-memory window from the recovered tables, once per ownership."""
        # Tables are recovered before the agent receives its first event. A full
        # window takes seconds to rebuild: off the event loop, so that consumer
        # heartbeats go on and the group does not evict this worker meanwhile.
        if self._restored and not self._moved_on(tps):
            return
        if self._restored:
            # Another worker handled these partitions since this one last did
            # (a takeover and back): the in-memory window is stale.
            log.warning("partitions came back after another worker's turn: rebuilding state")
            self.pipeline.reset()
        dedup, alerts = self.tables.dedup, self.tables.alerts
        await asyncio.to_thread(self.pipeline.restore, list(dedup.items()), list(alerts.items()))
        # The window is hundreds of thousands of long-lived objects; a full
        # collection walking them all paused the worker for hundreds of ms
        # (p99 latency). Frozen, they are left out of every later collection.
        gc.collect()
        gc.freeze()
        self.guard.load(self.tables.progress.items())
        self._restored = True
        log.info("state restored: %d dedup records, %d alert records", len(dedup), len(alerts))

    async def read_tail(
        self, ends: Mapping[TopicPartition, int]
    ) -> tuple[list[Record], list[Range]]:
        """The records owed at the end of these partitions, read back, and their ranges."""
        await self.restore_once(set(ends))
        owed = self.tail.owed(self.guard.expected, ends, quiet=True)
        message = (
            "stream handed over nothing for two checks though offsets %d-%d of %s wait: "
            "reading them itself"
        )
        return await self._read_back(owed, message), owed

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def _moved_on(self, tps: set[TopicPartition]) -> bool:
        for tp in tps:
            persisted = self.tables.progress.get(progress_key(tp))
            if persisted is not None and int(persisted["next"]) > self.guard.expected.get(tp, 0):
                return True
        return False

    async def _fill_holes(self, records: list[Record]) -> tuple[list[Record], list[Range]]:
        holes = self.guard.holes(records)
        if not holes:
            return records, []
        message = "stream skipped offsets %d-%d of %s: re-reading them"
        return merge(records, await self._read_back(holes, message)), holes

    async def _read_back(self, ranges: Sequence[Range], message: str) -> list[Record]:
        """Read ``ranges`` back from Kafka, logging each with ``message`` (first, last, tp)."""
        records: list[Record] = []
        for tp, start, end in ranges:
            log.warning(message, start, end - 1, tp)
            records += await read_range(self.settings.kafka, tp, start, end)
        metrics.SKIPPED_REREAD.inc(len(records))
        return records

    def _handle(self, value: bytes, dirty: Dirty) -> list[tuple[str, bytes, bytes]]:
        """Process one record; return (topic, key, value) to send; note state changes."""
        topics = self.settings.kafka.topics
        try:
            article = Article.model_validate_json(value)
        except ValidationError as exc:
            log.error("skipping unreadable record on %s: %s", topics.raw.name, exc)
            return []
        result = self.pipeline.process(article)
        record_metrics(article, result)
        dirty.dedup.update(result.dedup_updates)
        dirty.alerts.update(result.alert_updates)
        out = [
            (
                topics.events.name,
                e.key if e.kind == "article" else e.story_id.encode(),
                e.to_bytes(),
            )
            for e in result.events
        ]
        for alert in result.alerts:
            log.info("alert %s (%s): %s", alert.alert_id, alert.reason, article.title)
            out.append((topics.alerts.name, alert.key, alert.to_bytes()))
        return out

    async def _get_outbox(self) -> Outbox:
        if self._outbox is None:
            # Only now: Faust creates the changelog topics during start-up.
            # Kafka batches up to 512 KiB: a batch's events fit in a handful.
            producer = make_producer(self.settings.kafka, linger_ms=2, max_batch_size=512 * 1024)
            await producer.start()
            self._producer = producer
            topics, tables = self.settings.kafka.topics, self.tables
            changelogs = [t.changelog_topic_name for t in (tables.dedup, tables.alerts)]
            changelogs.append(tables.progress.changelog_topic_name)
            outputs = [topics.events.name, topics.alerts.name, *changelogs]
            parts = {t: sorted(await producer.partitions_for(t)) for t in outputs}
            self._outbox = Outbox(producer, parts)
        return self._outbox


def record_metrics(article: Article, result: PipelineResult) -> None:
    first = result.events[0]
    metrics.ARTICLES_PROCESSED.inc()
    if first.duplicate_of:
        metrics.DUPLICATES.inc()
    if result.new_story:
        metrics.STORIES.inc()
    for match in first.matched_rules:
        metrics.RULE_MATCHES.labels(match.rule_id).inc()
    for alert in result.alerts:
        metrics.ALERT_DECISIONS.labels(alert.reason).inc()
    latency = (first.processed_at - article.fetched_at).total_seconds()
    metrics.PROCESSING_LATENCY.observe(max(latency, 0.0))
