"""Rule backtest on the retained ``news.raw``: Kafka history in, per-rule alert counts out.

``wirewatch rules test [FILE] --since 3d`` reads every partition of ``news.raw``
from the first record at or after the cut-off (``offsets_for_times``) up to the
end it had when the read began, and runs the processor's own pipeline over it
(the same builder, so the same story window and thresholds), in timestamp
order, with each record's Kafka timestamp as the clock. The stream uses the
wall clock when it processes a record, which for a live stream is the record's
timestamp within seconds.

What a backtest cannot know: stories that began before the cut-off. An article
that joins such a story in the stream opens a new story here, so its first
hours can show an alert the stream did not send (or count outlets from zero).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import TopicPartition
from pydantic import ValidationError

from processors.rules import RuleBook
from processors.rules.backtest import ReadError
from wirewatch.events import AlertDecision, Article
from wirewatch.kafka import make_consumer, topic_partitions
from wirewatch.settings import Settings

_SINCE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> timedelta:
    """``90m``, ``12h``, ``3d``, ``1w`` as a duration; ValueError for anything else."""
    match = _SINCE_RE.match(text)
    if match is None:
        raise ValueError(f"--since: expected a number and s/m/h/d/w (e.g. 3d), got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class HistoryRecord:
    """One article of ``news.raw`` with the time Kafka stored it."""

    at: datetime
    article: Article
    where: tuple[int, int]  # partition, offset


@dataclass
class History:
    """What was read; ``records`` only when they were not streamed to a sink."""

    records: list[HistoryRecord] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    first_at: datetime | None = None
    count: int = 0


async def read_history(
    settings: Settings,
    since: datetime,
    *,
    progress: bool = True,
    sink: Callable[[HistoryRecord], None] | None = None,
) -> History:
    """Every article on ``news.raw`` stored at or after ``since``, oldest first.

    With a ``sink`` and one partition (the default: clustering needs one), each
    record goes to the sink as it is read, so memory stays that of the pipeline's
    window. Several partitions are read whole and sorted by time first.
    """
    from tqdm import tqdm

    topic = settings.kafka.topics.raw.name
    history = History()
    partitions = await topic_partitions(settings.kafka, topic)
    if not partitions:
        return history
    consumer = make_consumer(settings.kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        found = await consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in partitions}
        )
        ends = await consumer.end_offsets(partitions)
        todo: dict[TopicPartition, int] = {}
        total = 0
        for tp in partitions:
            hit = found.get(tp)
            start = hit.offset if hit is not None else ends[tp]
            if start < ends[tp]:
                consumer.seek(tp, start)
                todo[tp] = ends[tp]
                total += ends[tp] - start
        stream = sink if len(todo) == 1 else None
        with tqdm(
            total=total, disable=not progress, file=sys.stderr, unit="rec", desc=topic
        ) as bar:
            while todo:
                batch = await consumer.getmany(*todo, timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset < todo.get(tp, -1):
                            _keep(history, topic, record.partition, record.offset,
                                  record.timestamp, record.value, stream)  # fmt: skip
                    bar.update(len(records))
                for tp in list(todo):
                    if await consumer.position(tp) >= todo[tp]:
                        del todo[tp]
    finally:
        await consumer.stop()
    # The processor reads partitions interleaved; time order is the closest common order.
    history.records.sort(key=lambda r: (r.at, r.where))
    if sink is not None:
        for record in history.records:
            sink(record)
    return history


def _keep(
    history: History,
    topic: str,
    partition: int,
    offset: int,
    ts_ms: int,
    value: bytes | None,
    stream: Callable[[HistoryRecord], None] | None,
) -> None:
    if value is None:
        return
    try:
        article = Article.model_validate_json(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = f"not an article: {'.'.join(map(str, err['loc'])) or 'record'}: {err['msg']}"
        history.errors.append(ReadError(f"{topic}[{partition}]@{offset}", message))
        return
    record = HistoryRecord(datetime.fromtimestamp(ts_ms / 1000, UTC), article, (partition, offset))
    history.count += 1
    if history.first_at is None or record.at < history.first_at:
        history.first_at = record.at
    if stream is not None:
        stream(record)
    else:
        history.records.append(record)


@dataclass
class Backtest:
    """What one rules file would have done over a history."""

    book: RuleBook
    articles: int = 0
    matched: Counter[str] = field(default_factory=Counter)
    alerts: list[AlertDecision] = field(default_factory=list)

    def stories(self, rule_id: str, reason: str = "new_story") -> list[AlertDecision]:
        return [a for a in self.alerts if a.rule.rule_id == rule_id and a.reason == reason]

    def alert_keys(self) -> set[tuple[str, str]]:
        """(rule, story) of every first alert."""
        return {(a.rule.rule_id, a.story_id) for a in self.alerts if a.reason == "new_story"}


class Backtester:
    """One rules file's run of the stream's pipeline (same builder, same window)."""

    def __init__(self, settings: Settings, book: RuleBook) -> None:
        from processors.pipeline import build_pipeline

        self.pipeline = build_pipeline(settings.processor, book)
        self.report = Backtest(book)

    def feed(self, record: HistoryRecord) -> None:
        """Process one record, with its Kafka timestamp as the clock."""
        result = self.pipeline.process(record.article, record.at)
        self.report.articles += 1
        self.report.matched.update(m.rule_id for m in result.events[0].matched_rules)
        self.report.alerts.extend(result.alerts)


def run_backtest(settings: Settings, book: RuleBook, history: History) -> Backtest:
    """Run the stream's pipeline over ``history.records``."""
    tester = Backtester(settings, book)
    for record in history.records:
        tester.feed(record)
    return tester.report


@dataclass(frozen=True)
class AlertDiff:
    """First alerts (rule, story) that an edited rules file adds and drops."""

    added: list[AlertDecision]
    dropped: list[AlertDecision]


def diff_backtests(active: Backtest, edited: Backtest) -> AlertDiff:
    """Compare two backtests over the same history by (rule, story) first alerts."""

    def firsts(report: Backtest) -> dict[tuple[str, str], AlertDecision]:
        return {(a.rule.rule_id, a.story_id): a for a in report.alerts if a.reason == "new_story"}

    before, after = firsts(active), firsts(edited)
    return AlertDiff(
        added=[after[k] for k in sorted(after.keys() - before.keys())],
        dropped=[before[k] for k in sorted(before.keys() - after.keys())],
    )
