"""The processor's Faust app: topics, two tables, its agents, and the rules and lag tasks.

The story stage (clustering and alert decisions) must see every article in
one window, so it reads a single partition. With ``news.raw`` on one
partition (the default) one agent does everything. With more, rule matching
(the work that grows with rules x articles) becomes an agent of its own on
``news.raw``'s partitions, spread over every running worker, and hands each
article with its matches to the story stage through ``<app id>-matched``.

The story stage's state lives in two changelog-backed tables on one
partition, co-partitioned with its topic, written through the table API:
- ``dedup-state``: the story window (processors.stories' state records);
- ``alert-state``: which (rule, story) pairs are pending, alerted or followed up.
They are stored in RocksDB under ``processor.state_dir`` (processors.runtime.tables),
so a restarted worker reads only the changelog records its local store lacks
before its agent sees a record. Its in-memory window is built from the local
store while it starts (processors.runtime.warm_start) and taken if recovery
found nothing the store lacked, else rebuilt from the tables before its first
batch. Another worker stands by to take over. Faust's own bugs are fixed in
processors.runtime.faust_fixes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import faust
from mode.supervisors import CrashingSupervisor

from processors.pipeline import build_pipeline
from processors.rules import RuleBook, RuleChanges, RulesWatcher
from processors.runtime.batch_worker import BatchWorker, Outputs, StateTables
from processors.runtime.credentials import build_credentials
from processors.runtime.faust_fixes import IdempotentProducer, app_overrides
from processors.runtime.tables import StateTable, store_options
from processors.runtime.warm_start import WarmStart
from wirewatch import metrics
from wirewatch.kafka import ensure_topics
from wirewatch.settings import Settings

log = logging.getLogger(__name__)

PRODUCER_BATCH_BYTES = 512 * 1024


def create_app(settings: Settings) -> faust.App:
    """Build the Faust app. A bad rules file at start-up raises RulesError (refuse to start)."""
    p, topics = settings.processor, settings.kafka.topics
    # The tables' RocksDB files live here; two workers need two directories.
    datadir = p.state_dir / p.app_id
    datadir.mkdir(parents=True, exist_ok=True)  # Faust does not create it
    watcher = RulesWatcher.from_file(p.rules_file, notify_config=settings.alerts.notify_file)
    app = faust.App(
        p.app_id,
        broker=f"kafka://{settings.kafka.bootstrap}",
        broker_credentials=build_credentials(settings.kafka),
        Table=StateTable,
        datadir=str(datadir),
        web_enabled=False,
        producer_acks=-1,
        # Faust's default producer batch is 16 KB: three events with their
        # articles' bodies. Every batch costs the producer a request and the
        # wait for its acknowledgement before that partition's next batch. At
        # 512 KB, one producer sent 5 KB records to one partition at 12,400/s
        # and 34 us of CPU each, against 1,700-3,100/s and 130-140 us at 16 KB
        # (bench/producer_batch.py). The broker takes batches up to 1 MB.
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        topic_partitions=topics.raw.partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=p.session_timeout_s,
        consumer_group_instance_id=p.instance_id or None,
        # Commit often: after a crash, everything since the last commit is
        # processed (and its events emitted) again.
        broker_commit_interval=1.0,
        # ... on that timer only. Faust also commits every 10,000 acknowledgements
        # inside its delivery loop, which hands nothing over until the commit is
        # back; the timer alone commits often enough.
        broker_commit_every=10**9,
        broker_heartbeat_interval=min(3.0, p.session_timeout_s / 3),
        consumer_max_fetch_size=p.max_fetch_bytes,
        **app_overrides(),
    )

    def raw_topic(name: str) -> Any:
        return app.topic(name, key_serializer="raw", value_serializer="raw", internal=False)

    raw = raw_topic(topics.raw.name)
    split = topics.raw.partitions > 1
    matched = app.topic(
        f"{p.app_id}-matched",
        partitions=1,
        key_serializer="raw",
        value_serializer="raw",
        internal=True,
    )
    stories = matched if split else raw
    # Keys are written outside any one event's context (once per batch), so the
    # partitioner places them: on the story stage's one partition.
    tables = StateTables(
        window=app.Table(
            "dedup-state", partitions=1, use_partitioner=True, options=store_options()
        ),
        alerts=app.Table(
            "alert-state", partitions=1, use_partitioner=True, options=store_options()
        ),
    )
    outputs = Outputs(
        events=raw_topic(topics.events.name),
        alerts=raw_topic(topics.alerts.name),
        poison=raw_topic(topics.raw_poison.name),
        matched=matched,
    )
    worker = BatchWorker(build_pipeline(settings.processor, watcher.book), tables, outputs)
    held: set[Any] = set()

    @app.on_partitions_assigned.connect
    def check_ownership(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        # A story-stage partition this worker did not hold in the generation
        # before was someone else's meanwhile: its tables hold writes the
        # in-memory window lacks. (Faust recovers the tables before the next batch.)
        nonlocal held
        assigned: set[Any] = args[0]
        mine = {tp for tp in assigned if tp.topic == stories.get_topic_name()}
        if mine - held:
            worker.mark_stale()
        if not mine:
            worker.drop_warm_start()
        held = mine
        if split:
            sources = sorted(tp.partition for tp in assigned if tp.topic == raw.get_topic_name())
            log.info("matching news.raw partitions %s", sources)

    # A failure outside one record's processing (the broker, a table write)
    # stops the worker, so that its partitions go to a worker that can go on,
    # instead of a live consumer whose agent is gone holding them.
    def take_events(stream: faust.StreamT[bytes]) -> AsyncIterator[Sequence[Any]]:
        # take with the events (offsets, for poison records); Faust's StreamT
        # protocol does not declare it, faust.Stream has it.
        return cast(faust.Stream[bytes], stream).take_events(p.batch_size, p.batch_within_s)

    @app.agent(stories, supervisor_strategy=CrashingSupervisor)
    async def process_stories(stream: faust.StreamT[bytes]) -> None:
        changelogs = [t.changelog_topic.get_topic_name() for t in (tables.window, tables.alerts)]
        await cast(IdempotentProducer, app.producer).learn_partitions(changelogs)
        async for events in take_events(stream):
            await (worker.run_stories(events) if split else worker.run_batch(events))

    if split:

        @app.agent(raw, supervisor_strategy=CrashingSupervisor)
        async def match_articles(stream: faust.StreamT[bytes]) -> None:
            async for events in take_events(stream):
                worker.run_matching(events)

    def use_rules(book: RuleBook, changes: RuleChanges) -> None:
        # Swapping the reference is atomic for the agent: an article is matched
        # against one whole book, never half of an edit.
        worker.pipeline.rulebook = book
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
    # Last: Faust's agent and task decorators above ask inspect for the
    # caller's module, which stats every loaded module's file (~11,000 lstat
    # calls). Beside the build thread, which holds the GIL for CPU work, each of
    # those calls waited for it: creating the app took 6.0-7.4 s instead of 0.9 s,
    # and Faust's own start waited for that. Now it overlaps the build.
    worker.warm = WarmStart.maybe_start(
        build_pipeline(settings.processor, watcher.book), tables.window, tables.alerts
    )
    return app


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
