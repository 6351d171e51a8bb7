"""A worker restarted on a backlog turns every news.raw offset into one event, once.

Real broker, real Faust worker subprocess. A first run leaves state in the
table changelogs, so the restarted worker recovers tables before it starts its
stream: the moment at which stock faust-streaming 0.15.3 drops records it has
already fetched (faust-streaming/faust#596, fixed in
processors.runtime.faust_fixes). Dropped records would have no event, and the
group's commit would stop before them for good.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from tests.support import processor_env, produce_articles, spawn_stage, wait_until_committed
from wirewatch.events import Article, NewsEvent, utcnow
from wirewatch.kafka import ensure_topics, topic_partitions
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

RULES = "version: 1\nrules:\n  - id: quake\n    name: Earthquakes\n    query: earthquake\n"
FIRST_RUN = 500
BACKLOG = 4000


async def test_restart_on_a_backlog_yields_one_event_per_offset(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    namespace = unique_name("backlog")
    env = processor_env(kafka_bootstrap, namespace, rules, tmp_path)
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    await produce_articles(settings, articles(0, FIRST_RUN))
    await run_until_committed(env, settings, tmp_path / "first.log")
    # The whole backlog waits on the broker before the worker starts.
    await produce_articles(settings, articles(FIRST_RUN, BACKLOG))
    log = await run_until_committed(env, settings, tmp_path / "second.log")

    counts = Counter(await article_event_ids(settings, BACKLOG))
    missing = [f"b-{i}" for i in range(BACKLOG) if f"b-{i}" not in counts]
    assert not missing, (len(missing), missing[:10], log[-3000:])
    twice = {article_id: n for article_id, n in counts.items() if n > 1}
    assert not twice, list(twice.items())[:10]
    assert len(counts) == BACKLOG


def articles(start: int, end: int) -> list[Article]:
    now = utcnow()
    return [
        Article(id=f"b-{i}", title=f"Item {i} on subject {i % 97}", published=now)
        for i in range(start, end)
    ]


async def run_until_committed(env: dict[str, str], settings: Settings, log: Path) -> str:
    """Run a worker until its group has committed everything on its topics; return its log."""
    proc = spawn_stage("process", env, log)
    try:
        lag = await wait_until_committed(settings, 120, poll_s=1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    text = log.read_text()
    assert lag and sum(lag.values()) == 0, (lag, text[-4000:])
    return text


async def article_event_ids(settings: Settings, expected: int) -> list[str]:
    """The article id of every ``article`` event on news.events (all of them, duplicates too)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    ids: list[str] = []
    try:
        tps = await topic_partitions(settings.kafka, settings.kafka.topics.events.name)
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        # Everything is on the broker already (the group committed after its sends
        # landed): read up to the end offsets.
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    event = NewsEvent.model_validate_json(record.value or b"")
                    if event.kind == "article":
                        ids.append(event.article.id)
    finally:
        await consumer.stop()
    assert len(ids) >= expected
    return ids
