"""Faust wiring only: topics, tables and one agent around the pure Pipeline.

State lives in two changelog-backed tables:
- ``dedup-state``: the clusterer's window (article fingerprints, story ids);
- ``alert-state``: which (rule, story) pairs are pending, alerted or followed up.
A restarted worker recovers both from their changelogs before its agent sees
the next article, then rebuilds the in-memory index from them.

``news.raw`` has one partition (see settings): clustering needs every article
in one window. A second worker is a hot standby that takes over on failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from pydantic import ValidationError

from processors.dedup import DedupConfig, StoryClusterer
from processors.pipeline import Pipeline
from processors.rules import RuleBook, RulesWatcher, load_rules
from wirewatch.events import Article
from wirewatch.kafka import ensure_topics
from wirewatch.settings import Settings

log = logging.getLogger(__name__)


class IdempotentProducer(faust_aiokafka.Producer):  # type: ignore[misc]  # untyped base
    """Faust enables idempotence only inside transactions; we want it always."""

    def _settings_extra(self) -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


faust_aiokafka.Transport.Producer = IdempotentProducer


def build_pipeline(settings: Settings, rulebook: RuleBook | None) -> Pipeline:
    p = settings.processor
    config = DedupConfig(window_hours=p.window_hours)
    return Pipeline(StoryClusterer(config), rulebook, window=timedelta(hours=p.window_hours))


def create_app(settings: Settings, rulebook: RuleBook | None = None) -> faust.App:
    """Build the Faust app; ``rulebook`` defaults to the rules file (must be valid)."""
    p, topics = settings.processor, settings.kafka.topics
    if rulebook is None:
        rulebook = load_rules(p.rules_file, notify_config=settings.alerts.notify_file)
    app = faust.App(
        p.app_id,
        broker=f"kafka://{settings.kafka.bootstrap}",
        store="memory://",
        datadir=str(p.state_dir / p.app_id),
        web_enabled=False,
        producer_acks=-1,
        topic_partitions=topics.raw.partitions,
        consumer_auto_offset_reset="earliest",
    )
    raw = app.topic(topics.raw.name, key_serializer="raw", value_serializer="raw", internal=False)
    events_topic = app.topic(topics.events.name, key_serializer="raw", value_serializer="raw")
    alerts_topic = app.topic(topics.alerts.name, key_serializer="raw", value_serializer="raw")
    dedup_table = app.Table(
        "dedup-state", partitions=topics.raw.partitions, value_serializer="json"
    )
    alert_table = app.Table(
        "alert-state", partitions=topics.raw.partitions, value_serializer="json"
    )
    pipeline = build_pipeline(settings, rulebook)
    restored = asyncio.Event()

    def restore_once() -> None:
        # Tables are recovered before the agent receives its first event.
        if restored.is_set():
            return
        pipeline.restore(dedup_table.items(), alert_table.items())
        restored.set()
        log.info(
            "state restored: %d dedup records, %d alert records",
            len(dedup_table),
            len(alert_table),
        )

    @app.agent(raw)
    async def process_articles(stream: AsyncIterator[bytes]) -> AsyncIterator[None]:
        async for value in stream:
            restore_once()
            try:
                article = Article.model_validate_json(value)
            except ValidationError as exc:
                log.error("skipping unreadable record on %s: %s", topics.raw.name, exc)
                continue
            result = pipeline.process(article)
            for key, record in (*result.dedup_updates,):
                _apply(dedup_table, key, record)
            for key, record in result.alert_updates:
                _apply(alert_table, key, record)
            for event in result.events:
                key = event.key if event.kind == "article" else event.story_id.encode()
                await events_topic.send(key=key, value=event.to_bytes())
            for alert in result.alerts:
                log.info("alert %s (%s): %s", alert.alert_id, alert.reason, article.title)
                await alerts_topic.send(key=alert.key, value=alert.to_bytes())
            yield None

    @app.task
    async def watch_rules() -> None:
        def on_change(book: RuleBook, changed: Any) -> None:
            pipeline.rulebook = book
            log.info("rules version %s now active (changed: %s)", book.version, changed)

        await RulesWatcher(p.rules_file, on_change, notify_config=settings.alerts.notify_file).run()

    app.wirewatch_pipeline = pipeline  # for tests and status
    return app


def _apply(table: Any, key: str, record: dict[str, Any] | None) -> None:
    if record is None:
        table.pop(key, None)
    else:
        table[key] = record


def run_worker(settings: Settings) -> None:
    """Create topics, then run one Faust worker until SIGINT/SIGTERM."""
    asyncio.run(ensure_topics(settings.kafka))
    app = create_app(settings)
    worker = faust.Worker(app, loglevel="INFO", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
