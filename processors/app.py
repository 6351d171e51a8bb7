"""Faust wiring only: topics, tables and one agent around the pure Pipeline.

State lives in three changelog-backed tables:
- ``dedup-state``: the clusterer's window (article fingerprints, story ids);
- ``alert-state``: which (rule, story) pairs are pending, alerted or followed up;
- ``progress``: the next offset expected per partition (processors.offset_guard).
A restarted worker recovers them from their changelogs before its agent sees
the next article, then rebuilds the in-memory index from them. The agent
writes them through processors.outbox, not Faust's per-key table API.

``news.raw`` has one partition (see settings): clustering needs every article
in one window. A second worker is a hot standby that takes over on failure.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from pydantic import ValidationError

from processors.dedup import DedupConfig, StoryClusterer
from processors.offset_guard import (
    OffsetGuard,
    Record,
    TailWatch,
    merge,
    progress_key,
    read_range,
)
from processors.outbox import Outbox
from processors.pipeline import Pipeline, PipelineResult
from processors.rules import RuleBook, RuleChanges, RulesWatcher
from wirewatch import metrics
from wirewatch.events import Article
from wirewatch.kafka import ensure_topics, make_producer
from wirewatch.settings import Settings

log = logging.getLogger(__name__)


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust enables idempotence only inside transactions; we want it always."""

    # mode names a service's logger after its module; keep Faust's chatter under "faust".
    logger = logging.getLogger("faust.transport.producer")

    def _settings_extra(self) -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


faust_aiokafka.Transport.Producer = IdempotentProducer


def build_pipeline(settings: Settings, rulebook: RuleBook | None) -> Pipeline:
    p = settings.processor
    config = DedupConfig(
        window_hours=p.window_hours,
        duplicate_threshold=p.duplicate_threshold,
        story_threshold=p.story_threshold,
    )
    return Pipeline(StoryClusterer(config), rulebook, window=timedelta(hours=p.window_hours))


def create_app(settings: Settings) -> faust.App:
    """Build the Faust app. A bad rules file at start-up raises RulesError (refuse to start)."""
    p, topics = settings.processor, settings.kafka.topics
    datadir = p.state_dir / p.app_id
    datadir.mkdir(parents=True, exist_ok=True)  # Faust does not create it
    watcher = RulesWatcher.from_file(p.rules_file, notify_config=settings.alerts.notify_file)
    app = faust.App(
        p.app_id,
        broker=f"kafka://{settings.kafka.bootstrap}",
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        producer_acks=-1,
        topic_partitions=topics.raw.partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=p.session_timeout_s,
        # Commit often: after a crash, everything since the last commit is
        # processed (and its events emitted) again.
        broker_commit_interval=1.0,
        broker_heartbeat_interval=min(3.0, p.session_timeout_s / 3),
    )
    raw = app.topic(topics.raw.name, key_serializer="raw", value_serializer="raw", internal=False)
    # Changelog keys and values are JSON, so the changelogs are readable too. The
    # agent writes them itself (Outbox.put_state), outside any one event's context;
    # use_partitioner keeps Faust from expecting an event for any write of its own.
    dedup_table = app.Table("dedup-state", partitions=topics.raw.partitions, use_partitioner=True)
    alert_table = app.Table("alert-state", partitions=topics.raw.partitions, use_partitioner=True)
    pipeline = build_pipeline(settings, watcher.book)
    # The next offset this worker expects per partition (see processors.offset_guard).
    progress_table = app.Table("progress", partitions=topics.raw.partitions, use_partitioner=True)
    guard = OffsetGuard()
    restored = asyncio.Event()

    async def restore_once(tps: set[TopicPartition]) -> None:
        # Tables are recovered before the agent receives its first event. A full
        # window takes seconds to rebuild: off the event loop, so that consumer
        # heartbeats go on and the group does not evict this worker meanwhile.
        if restored.is_set() and not _moved_on(tps):
            return
        if restored.is_set():
            # Another worker handled these partitions since this one last did
            # (a takeover and back): the in-memory window is stale.
            log.warning("partitions came back after another worker's turn: rebuilding state")
            pipeline.reset()
        dedup_records, alert_records = list(dedup_table.items()), list(alert_table.items())
        await asyncio.to_thread(pipeline.restore, dedup_records, alert_records)
        # The window is hundreds of thousands of long-lived objects; a full
        # collection walking them all paused the worker for hundreds of ms
        # (p99 latency). Frozen, they are left out of every later collection.
        gc.collect()
        gc.freeze()
        guard.load(progress_table.items())
        restored.set()
        log.info(
            "state restored: %d dedup records, %d alert records",
            len(dedup_table),
            len(alert_table),
        )

    def _moved_on(tps: set[TopicPartition]) -> bool:
        for tp in tps:
            persisted = progress_table.get(progress_key(tp))
            if persisted is not None and int(persisted["next"]) > guard.expected.get(tp, 0):
                return True
        return False

    alerts_name = topics.alerts.name

    def handle(value: bytes, dirty: Dirty) -> list[tuple[str, bytes, bytes]]:
        """Process one record; return (topic, key, value) to send; note state changes."""
        try:
            article = Article.model_validate_json(value)
        except ValidationError as exc:
            log.error("skipping unreadable record on %s: %s", topics.raw.name, exc)
            return []
        result = pipeline.process(article)
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
            out.append((alerts_name, alert.key, alert.to_bytes()))
        return out

    async def fill_holes(records: list[Record]) -> list[Record]:
        holes = guard.holes(records)
        if not holes:
            return records
        refetched: list[Record] = []
        for tp, start, end in holes:
            log.warning("stream skipped offsets %d-%d of %s: re-reading them", start, end - 1, tp)
            metrics.SKIPPED_REREAD.inc(end - start)
            refetched += await read_range(settings.kafka, tp, start, end)
        return merge(records, refetched)

    # One batch at a time through the pipeline: the agent's, or the tail watch's.
    batch_lock = asyncio.Lock()
    sender = Sender()

    async def run_batch(records: list[Record]) -> list[asyncio.Future[Any]]:
        """Process one batch under ``batch_lock``; return the futures of its sends."""
        await restore_once({tp for tp, _, _ in records})
        records = await fill_holes(records)
        outbox = await sender.outbox(settings, outputs())
        dirty = Dirty()
        for _, _, value in records:
            for topic, key, payload in handle(value, dirty):
                outbox.add(topic, key, payload)
        for state_key, record in dirty.dedup.items():
            outbox.put_state(dedup_table, state_key, record)
        for state_key, record in dirty.alerts.items():
            outbox.put_state(alert_table, state_key, record)
        for tp, expected in guard.advance(records).items():
            outbox.put_state(progress_table, progress_key(tp), {"next": expected})
        sender.batches += 1
        return await outbox.send()

    def outputs() -> list[str]:
        changelogs = [
            cast(Any, t).changelog_topic_name for t in (dedup_table, alert_table, progress_table)
        ]
        return [topics.events.name, alerts_name, *changelogs]

    @app.agent(raw)
    async def process_articles(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        # Faust's per-message send costs more than the processing itself, so a
        # batch's outputs, table changelogs included, go through one plain
        # idempotent producer as whole batches (see Outbox), and each state key
        # is written once per batch. A batch's records are acknowledged (so
        # their offsets can be committed) only once the broker has all its
        # outputs: at least once. Waiting for that before taking the next batch
        # left the worker idle for a broker round trip per batch, so up to
        # ``in_flight`` batches await their outputs while the next is processed.
        pending: deque[asyncio.Future[None]] = deque()

        async def confirm(sends: list[asyncio.Future[Any]], events: list[Any]) -> None:
            await asyncio.gather(*sends)
            for event in events:
                await stream.ack(event)

        try:
            # noack_take yields events (offsets needed, see OffsetGuard) and
            # leaves acknowledging to confirm(). Faust's StreamT protocol does
            # not declare it; faust.Stream has it.
            batches = cast(Any, stream).noack_take(p.batch_size, within=p.batch_within_s)
            async for events in batches:
                records = [(_tp(e.message), e.message.offset, e.value) for e in events]
                async with batch_lock:
                    sends = await run_batch(records)
                pending.append(asyncio.ensure_future(confirm(sends, list(events))))
                # A failed send raises here and stops the worker unacknowledged.
                while pending and (len(pending) > p.in_flight or pending[0].done()):
                    await pending.popleft()
                yield None
        finally:
            # Drain on shutdown: outputs land and their records are acknowledged
            # before the final commit.
            await asyncio.gather(*pending, return_exceptions=True)
            await sender.stop()

    tail = TailWatch()
    seen_batches = 0

    async def watch_tail() -> None:
        # Records the stream skipped at the very end of a partition leave no
        # later record to reveal the hole (see processors.offset_guard): while
        # the stream hands the agent nothing, compare with the end offsets.
        nonlocal seen_batches
        quiet, seen_batches = sender.batches == seen_batches, sender.batches
        try:
            ends = await quiet_ends() if quiet and not batch_lock.locked() else {}
        except Exception as exc:  # the broker may be away; the next check tries again
            log.warning("tail check skipped: %s", exc)
            ends = {}
        if not ends:
            tail.owed({}, {}, quiet=False)
            return
        async with batch_lock:
            if sender.batches != seen_batches:
                return  # the agent got a batch meanwhile
            await restore_once(set(ends))
            records: list[Record] = []
            try:
                for tp, start, end in tail.owed(guard.expected, ends, quiet=True):
                    log.warning(
                        "stream handed over nothing for %.0fs though offsets %d-%d of %s "
                        "wait: reading them itself (flow active %s, generation %s)",
                        2 * p.tail_check_s,
                        start,
                        end - 1,
                        tp,
                        app.flow_control.is_active(),
                        app.consumer_generation_id,
                    )
                    records += await read_range(settings.kafka, tp, start, end)
            except Exception as exc:
                log.warning("tail check could not read the owed records: %s", exc)
                return
            if records:
                metrics.SKIPPED_REREAD.inc(len(records))
                # As in the agent, a failed send raises and stops the worker.
                await asyncio.gather(*await run_batch(records))
                seen_batches = sender.batches

    async def quiet_ends() -> dict[TopicPartition, int]:
        """End offsets of this worker's news.raw partitions, once their tables are recovered."""
        consumer = cast(Any, app.consumer)
        if not cast(Any, app.tables).recovery.completed.is_set():
            return {}
        tps = {tp for tp in consumer.assignment() if tp.topic == topics.raw.name}
        if not tps:
            return {}
        return {_tp(tp): end for tp, end in (await consumer.highwaters(*tps)).items()}

    app.timer(interval=p.tail_check_s)(watch_tail)

    def use_rules(book: RuleBook, changes: RuleChanges) -> None:
        # Swapping the reference is atomic for the agent: an article is matched
        # against one whole book, never half of an edit.
        pipeline.rulebook = book
        metrics.RULES_VERSION.clear()
        metrics.RULES_VERSION.labels(book.version).set(1)

    watcher.on_change = use_rules

    async def watch_rules() -> None:
        book = watcher.book
        metrics.RULES_VERSION.labels(book.version).set(1)
        log.info("rules version %s active (%d rules)", book.version, len(book.rules))
        await watcher.run()

    async def report_lag() -> None:
        await metrics.report_group_lag(settings.kafka.bootstrap, [p.app_id])

    app.task(report_lag)

    app.task(watch_rules)
    return app


class Sender:
    """The agent's idempotent producer and outbox, made on the first batch."""

    def __init__(self) -> None:
        self.batches = 0  # batches handled so far, by the agent or the tail watch
        self._producer: AIOKafkaProducer | None = None
        self._outbox: Outbox | None = None

    async def outbox(self, settings: Settings, outputs: list[str]) -> Outbox:
        if self._outbox is None:
            # Only now: Faust creates the changelog topics during start-up.
            # Kafka batches up to 512 KiB: a batch's events fit in a handful.
            producer = make_producer(settings.kafka, linger_ms=2, max_batch_size=512 * 1024)
            await producer.start()
            self._producer = producer
            parts = {t: sorted(await producer.partitions_for(t)) for t in outputs}
            self._outbox = Outbox(producer, parts)
        return self._outbox

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


@dataclass
class Dirty:
    """State keys changed during one batch; only the last value of each is written."""

    dedup: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any] | None] = field(default_factory=dict)


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


def _tp(message: Any) -> TopicPartition:
    return TopicPartition(message.topic, message.partition)


def run_worker(settings: Settings) -> None:
    """Create topics, then run one Faust worker until SIGINT/SIGTERM."""
    asyncio.run(ensure_topics(settings.kafka))
    app = create_app(settings)
    metrics.serve_metrics(settings.metrics.processor_port, settings.metrics.host)
    # Keep wirewatch's own log set-up (human or JSON lines) instead of Faust's.
    worker = faust.Worker(
        app, loglevel="INFO", quiet=True, redirect_stdouts=False, override_logging=False
    )
    worker.execute_from_commandline()
