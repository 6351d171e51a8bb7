"""Faust wiring only: topics, tables, one agent and timers around processors.runtime.batch_worker.

State lives in three changelog-backed tables:
- ``dedup-state``: the clusterer's window (article fingerprints, story ids);
- ``alert-state``: which (rule, story) pairs are pending, alerted or followed up;
- ``progress``: the next offset expected per partition (processors.runtime.offset_guard).
A restarted worker recovers them from their changelogs before its agent sees
the next article, then rebuilds the in-memory index from them. The worker
writes them through processors.runtime.outbox, not Faust's per-key table API.

``news.raw`` has one partition (see settings): clustering needs every article
in one window. A second worker is a hot standby that takes over on failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import faust
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import Message

from processors.pipeline import Pipeline
from processors.rules import RuleBook, RuleChanges, RulesWatcher
from processors.runtime.batch_worker import BatchWorker, Sent, StateTables
from processors.runtime.credentials import build_credentials
from processors.stories.clusterer import DedupConfig, StoryClusterer
from wirewatch import metrics
from wirewatch.kafka import ensure_topics
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
        broker_credentials=build_credentials(settings.kafka),
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
        # ... on that timer only. Faust also commits every 10,000 acknowledgements
        # inside its delivery loop, which hands nothing over until the commit is
        # back; the timer alone commits often enough. (Whether this helps the
        # full-scale latency tail is not settled: see bench/README.md.)
        broker_commit_every=10**9,
        broker_heartbeat_interval=min(3.0, p.session_timeout_s / 3),
    )
    raw = app.topic(topics.raw.name, key_serializer="raw", value_serializer="raw", internal=False)
    # Changelog keys and values are JSON, so the changelogs are readable too. The
    # agent writes them itself (Outbox.put_state), outside any one event's context;
    # use_partitioner keeps Faust from expecting an event for any write of its own.
    dedup_table = app.Table("dedup-state", partitions=topics.raw.partitions, use_partitioner=True)
    alert_table = app.Table("alert-state", partitions=topics.raw.partitions, use_partitioner=True)
    # The next offset this worker expects per partition (see processors.runtime.offset_guard).
    progress_table = app.Table("progress", partitions=topics.raw.partitions, use_partitioner=True)
    pipeline = build_pipeline(settings, watcher.book)
    worker = BatchWorker(settings, pipeline, StateTables(dedup_table, alert_table, progress_table))

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

        async def confirm(sent: Sent, events: list[Any]) -> None:
            await settle(sent)
            for event in events:
                await stream.ack(event)

        try:
            # noack_take yields events (offsets needed, see OffsetGuard) and
            # leaves acknowledging to confirm(). Faust's StreamT protocol does
            # not declare it; faust.Stream has it.
            batches = cast(Any, stream).noack_take(p.batch_size, within=p.batch_within_s)
            async for events in batches:
                records = [(_tp(e.message), e.message.offset, e.value) for e in events]
                async with worker.lock:
                    sent = await worker.run_batch(records)
                pending.append(asyncio.ensure_future(confirm(sent, list(events))))
                # A failed send raises here and stops the worker unacknowledged.
                while pending and (len(pending) > p.in_flight or pending[0].done()):
                    await pending.popleft()
                yield None
        finally:
            # Drain on shutdown: outputs land and their records are acknowledged
            # before the final commit.
            await asyncio.gather(*pending, return_exceptions=True)
            await worker.stop()

    async def settle(sent: Sent) -> None:
        """Wait for a batch's sends to land, then acknowledge what was read back to Faust."""
        await asyncio.gather(*sent.futures)
        # Faust never handed those records to the agent, so without this it
        # never sees them acknowledged, and its commit stops before them for
        # good (every restart would process everything since again). A record
        # is acknowledged by offset; Consumer.ack takes a Message, so each
        # offset of the range gets a bare one (records deleted by retention too).
        consumer = app.consumer
        for tp, start, end in sent.reread:
            for offset in range(start, end):
                bare = Message(tp.topic, tp.partition, offset, 0.0, 0, None, None, None, None)
                consumer.ack(bare)

    seen_batches = 0

    async def watch_tail() -> None:
        # Records the stream skipped at the very end of a partition leave no
        # later record to reveal the hole (see processors.runtime.offset_guard): while
        # the stream hands the agent nothing, compare with the end offsets.
        nonlocal seen_batches
        quiet, seen_batches = worker.batches == seen_batches, worker.batches
        try:
            ends = await quiet_ends() if quiet and not worker.lock.locked() else {}
        except Exception as exc:  # the broker may be away; the next check tries again
            log.warning("tail check skipped: %s", exc)
            ends = {}
        if not ends:
            worker.tail.reset()
            return
        async with worker.lock:
            if worker.batches != seen_batches:
                return  # the agent got a batch meanwhile
            try:
                records, owed = await worker.read_tail(ends)
            except Exception as exc:
                log.warning("tail check could not read the owed records: %s", exc)
                return
            if records:
                # As in the agent, a failed send raises and stops the worker.
                await settle(await worker.run_batch(records, reread=owed))
                seen_batches = worker.batches

    async def quiet_ends() -> dict[TopicPartition, int]:
        """End offsets of this worker's news.raw partitions, once their tables are recovered."""
        consumer = cast(Any, app.consumer)
        # Not while partitions move or tables recover: records are then held
        # back on purpose, and may be about to go to another worker.
        # (recovery.completed stays set after the first recovery.)
        settled = app.flow_control.is_active() and not (app.rebalancing or app.in_recovery)
        if not (settled and cast(Any, app.tables).recovery.completed.is_set()):
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
        await metrics.report_group_lag(settings.kafka, [p.app_id])

    app.task(report_lag)

    app.task(watch_rules)
    return app


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
