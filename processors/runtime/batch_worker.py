"""One worker's batch step around the pure Pipeline: records in, sends and table writes out.

The Faust agent hands it each batch ``stream.take_events`` yields. Outputs go out
through Faust's producer (``send_soon``), so Faust's commit, which flushes that
producer first, never commits a record whose outputs are not on the broker:
at least once. State goes into Faust tables through the table API, each key
written once per batch with its last value.

A record that cannot be read, or that makes the pipeline raise, is counted
(``wirewatch_poison_records{stage="processor"}``), written to the raw poison
topic as a :class:`~wirewatch.events.PoisonRecord` with the reason and its
bytes, and skipped: one bad record never stops the stage.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from processors.pipeline import Pipeline, PipelineResult
from processors.runtime.tables import StateTable
from processors.runtime.warm_start import WarmStart, restore_from_stores, store_path
from processors.stories.reading import ArticleText, dump_text, load_text
from wirewatch import metrics
from wirewatch.events import Article, PoisonRecord, RuleMatch

log = logging.getLogger(__name__)

Record = TypeVar("Record", Article, "MatchedArticle")

STAGE = "processor"
# What a poison record keeps of the reason and of the original bytes.


class MatchedArticle(BaseModel):
    """An article with its rule matches and its text as clustering reads it: what the
    matching stage hands the story stage (see processors.stories.reading)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    article: Article
    matches: tuple[RuleMatch, ...]
    # processors.stories.reading's wire form; absent from records of older code.
    text: dict[str, Any] | None = None


@dataclass
class StateTables:
    """The worker's changelog-backed Faust tables (see processors.runtime.app)."""

    window: Any  # the story window, processors.stories' state records
    alerts: Any  # alert bookkeeping per (rule, story)


@dataclass
class Outputs:
    """The Faust topics a batch writes to."""

    events: Any
    alerts: Any
    poison: Any
    matched: Any = None  # the story stage's topic, when matching is a stage of its own


@dataclass
class Dirty:
    """State keys changed during one batch; only the last value of each is written."""

    window: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any] | None] = field(default_factory=dict)


class BatchWorker:
    """Restores the pipeline from the tables when needed and processes batches."""

    def __init__(self, pipeline: Pipeline, tables: StateTables, outputs: Outputs) -> None:
        self.pipeline = pipeline
        self.tables = tables
        self.outputs = outputs
        self._stale = True  # the in-memory window does not reflect the tables
        self.warm: WarmStart | None = None  # a window being built from the local store

    def mark_stale(self) -> None:
        """The tables may hold writes this worker did not make: rebuild before the next batch."""
        self._stale = True

    async def run_batch(self, events: Sequence[Any]) -> None:
        """Match, cluster and decide a batch of news.raw events, in one stage."""
        await self._decide_batch(events, matched=False)

    async def run_stories(self, events: Sequence[Any]) -> None:
        """Cluster and decide a batch of events the matching stage sent (MatchedArticle)."""
        await self._decide_batch(events, matched=True)

    def run_matching(self, events: Sequence[Any]) -> None:
        """Match a batch of news.raw events and send each on to the story stage."""
        for event in events:
            article = self._read(event.message, Article)
            if article is None:
                continue
            try:
                matches = self.pipeline.match(article)
                # Reading the text is stateless too: done here, on every partition,
                # it leaves the one story-stage partition only the weighing.
                text = dump_text(self.pipeline.read(article))
            except Exception as exc:
                log.exception("article %s made rule matching or reading its text fail", article.id)
                self._set_aside(event.message, "crashed", f"{type(exc).__name__}: {exc}")
                continue
            record = MatchedArticle(article=article, matches=tuple(matches), text=text)
            self.outputs.matched.send_soon(key=article.key, value=record.model_dump_json().encode())

    async def _decide_batch(self, events: Sequence[Any], matched: bool) -> None:
        if self._stale:
            await self.restore()
        dirty = Dirty()
        for event in events:
            if matched:
                record = self._read(event.message, MatchedArticle)
                if record is not None:
                    text = self._text_of(record)
                    self._decide(event.message, record.article, list(record.matches), dirty, text)
            else:
                article = self._read(event.message, Article)
                if article is not None:
                    self._decide(event.message, article, None, dirty)
        write_table(self.tables.window, dirty.window.items())
        write_table(self.tables.alerts, dirty.alerts.items())

    async def restore(self) -> None:
        """Rebuild the in-memory window: the one built while starting if it is current,
        else from the recovered tables."""
        started = time.perf_counter()
        warm, self.warm = self.warm, None
        built = await warm.take() if warm is not None else None
        if warm is not None and built is not None:
            built.rulebook = self.pipeline.rulebook
            self.pipeline = built
            (windows, alerts), source = warm.counts, "local_store"
        else:
            # A full window takes seconds to read and rebuild: off the event loop,
            # so that consumer heartbeats go on and the group does not evict this worker.
            self.pipeline.reset()
            (windows, alerts), source = await asyncio.to_thread(self._rebuild), "tables"
        # The window is hundreds of thousands of long-lived objects; a full
        # collection walking them all paused the worker for hundreds of ms
        # (p99 latency). Frozen, they are left out of every later collection.
        gc.collect()
        gc.freeze()
        self._stale = False
        took = time.perf_counter() - started
        metrics.STATE_REBUILDS.labels(source).inc()
        metrics.STATE_RESTORE_SECONDS.set(took)
        log.info(
            "state restored from the %s: %d window records, %d alert records in %.1f s",
            source.replace("_", " "),
            windows,
            alerts,
            took,
        )

    def drop_warm_start(self) -> None:
        """This worker does not run the story stage now: forget the window built while starting."""
        if self.warm is not None:
            self.warm.drop()
            self.warm = None

    def _rebuild(self) -> tuple[int, int]:
        window, alerts = self.tables.window, self.tables.alerts
        if isinstance(window, StateTable) and isinstance(alerts, StateTable):
            # Recovery has brought the tables' local stores up to date: the
            # window is built from them as the warm start builds it, each entry
            # kept as its stored bytes and decoded when first read. Faust's
            # table.items() decodes every entry up front, which at a 100k
            # window took twice as long.
            window_seen: dict[bytes, int] = {}
            alerts_seen: dict[bytes, int] = {}
            restore_from_stores(
                self.pipeline, store_path(window), store_path(alerts), window_seen, alerts_seen
            )
            return len(window_seen), len(alerts_seen)
        # Tables without a local store (plain mappings): decoded values.
        gc.disable()  # see restore_from_stores
        try:
            self.pipeline.restore(window.items(), alerts.items())
        finally:
            gc.enable()
        return len(window), len(alerts)

    def _read(self, message: Any, model: type[Record]) -> Record | None:
        """The record in ``message``, or None once it is set aside as poison."""
        try:
            return model.model_validate_json(message.value or b"")
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            kind = "unreadable" if errors and errors[0]["type"] == "json_invalid" else "invalid"
            self._set_aside(message, kind, summarise(errors))
            return None

    def _text_of(self, record: MatchedArticle) -> ArticleText | None:
        """The text the matching stage read, if this stage can use it (else it reads it)."""
        if record.text is None:
            return None
        return load_text(record.text, self.pipeline.clusterer.config.summary_chars)

    def _decide(
        self,
        message: Any,
        article: Article,
        matches: list[RuleMatch] | None,
        dirty: Dirty,
        text: ArticleText | None = None,
    ) -> None:
        try:
            if matches is None:
                result = self.pipeline.process(article)
            else:
                result = self.pipeline.process_matched(article, matches, text=text)
        except Exception as exc:
            # Isolated per record: the same record would crash every restart.
            log.exception("article %s made the pipeline fail", article.id)
            self._set_aside(message, "crashed", f"{type(exc).__name__}: {exc}")
            return
        record_metrics(article, result)
        dirty.window.update(result.dedup_updates)
        dirty.alerts.update(result.alert_updates)
        for event in result.events:
            key = event.key if event.kind == "article" else event.story_id.encode()
            self.outputs.events.send_soon(key=key, value=event.to_bytes())
        for alert in result.alerts:
            log.info("alert %s (%s): %s", alert.alert_id, alert.reason, article.title)
            self.outputs.alerts.send_soon(key=alert.key, value=alert.to_bytes())

    def _set_aside(self, message: Any, kind: Any, reason: str) -> None:
        poison = PoisonRecord.from_consumed(STAGE, message, kind, reason)
        log.error(
            "%s record at %s[%d]@%d set aside as poison: %s",
            kind,
            poison.topic,
            poison.partition,
            poison.offset,
            poison.reason,
        )
        metrics.POISON_RECORDS.labels(STAGE, kind).inc()
        self.outputs.poison.send_soon(key=poison.key, value=poison.to_bytes())


def summarise(errors: Sequence[Any]) -> str:
    """Field paths and messages of a validation error; never the (hostile) input itself."""
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in errors]
    return "; ".join(problems) or "invalid record"


def write_table(table: Any, changes: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
    """Apply state changes to a Faust table; ``None`` deletes the key."""
    for key, value in changes:
        if value is not None:
            table[key] = value
        elif key in table:
            del table[key]


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
