"""A restarted worker resumes from its local table store; one without local state reads it all.

Real broker, real Faust worker subprocesses, SIGKILL. The tables live in RocksDB
under ``processor.state_dir``; ``wirewatch_state_records_recovered`` on the
worker's /metrics counts the changelog records it read while recovering, and
``wirewatch_state_rebuilds{source}`` whether its window came from the local
store (built while it started) or from the recovered tables.

Every table write of the story stage happens outside any one stream event (once
per batch, with ``use_partitioner``): stock faust-streaming's RocksDB store
fails such a write (faust-streaming/faust#261), so the first batch here also
guards processors.runtime.faust_fixes.PartitionerRocksDBStore.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from processors.runtime.warm_start import read_store
from tests.support import (
    free_port,
    processor_env,
    produce_articles,
    scrape_metrics,
    spawn_stage,
    wait_until_committed,
)
from wirewatch.events import Article, NewsEvent, utcnow
from wirewatch.kafka import ensure_topics
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

RULES = "version: 1\nrules:\n  - id: quake\n    name: Earthquakes\n    query: earthquake\n"
STORIES = 40
RECOVERED = "wirewatch_state_records_recovered_total"
REBUILDS = "wirewatch_state_rebuilds_total"


async def test_restart_reads_only_what_its_local_store_lacks(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    namespace = unique_name("local")
    env = processor_env(kafka_bootstrap, namespace, rules, tmp_path)
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    then = utcnow() - timedelta(minutes=10)
    first = [
        Article(id=f"s-{i}", title=headline(i), source="Alpha", published=then)
        for i in range(STORIES)
    ]
    log = tmp_path / "processor.log"

    # 1. A first worker processes the stories, commits, and is killed.
    proc = spawn_stage("process", env, log)
    try:
        await produce_articles(settings, first)
        await wait_for_commit(settings, log)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    written = await changelog_end(settings)
    assert written >= STORIES, log.read_text()[-3000:]

    # 2. Restarted on the same state directory: it reads (almost) nothing, takes
    # the window it built from its store while starting, and still knows every
    # story. A copy of story 7 from another outlet joins it.
    copy = first[7].model_copy(update={"id": "copy-7", "source": "Beta", "published": utcnow()})
    samples, event = await run_one_article(env, settings, copy, log, kill=True)
    recovered = samples[f'{RECOVERED}{{table="dedup-state"}}']
    assert recovered < written, (recovered, written)
    assert recovered <= 2, (recovered, written)  # at most the writes in flight at the kill
    assert samples[f'{REBUILDS}{{source="local_store"}}'] == 1, samples
    assert event.duplicate_of == "s-7", log.read_text()[-3000:]
    assert event.source_count == 2

    # 3. While it is down, someone else writes to its window's changelog (as a
    # worker that took over would): the window built from the local store is
    # not current, so the restarted worker rebuilds from its recovered tables.
    await write_changelog(settings, "s:st-elsewhere", {"first": "x-1", "sources": ["Elsewhere"]})
    late = first[9].model_copy(update={"id": "copy-9", "source": "Gamma", "published": utcnow()})
    samples, event = await run_one_article(env, settings, late, log)
    assert samples[f'{RECOVERED}{{table="dedup-state"}}'] >= 1, samples
    assert samples[f'{REBUILDS}{{source="tables"}}'] == 1, samples
    assert f'{REBUILDS}{{source="local_store"}}' not in samples or (
        samples[f'{REBUILDS}{{source="local_store"}}'] == 0
    ), samples
    assert event.duplicate_of == "s-9", log.read_text()[-3000:]

    # 4. A worker with an empty state directory (a new standby, a wiped disk)
    # reads the whole changelog, and knows every story too.
    fresh = {**env, "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp_path / "faust-fresh")}
    third = first[11].model_copy(update={"id": "copy-11", "source": "Delta", "published": utcnow()})
    total = await changelog_end(settings)
    samples, event = await run_one_article(fresh, settings, third, log)
    assert samples[f'{RECOVERED}{{table="dedup-state"}}'] == total, (samples, total)
    assert samples[f'{REBUILDS}{{source="tables"}}'] == 1, samples
    assert event.duplicate_of == "s-11", log.read_text()[-3000:]
    # Its local stores hold each key's last changelog value, byte for byte, and
    # no key the changelog deleted: what the window was rebuilt from.
    for table in ("dedup-state", "alert-state"):
        (store,) = (tmp_path / "faust-fresh").rglob(f"{table}-0.db")
        assert dict(read_store(store, {}, decode=False)) == await changelog_view(settings, table)
    window = await changelog_view(settings, "dedup-state")
    assert sum(key.startswith("a:") for key in window) > STORIES  # not a vacuous match


def headline(seed: int) -> str:
    """Eight made-up words: headlines of different stories share none."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "da", "fe"]
    return " ".join("".join(rng.choices(syllables, k=4)) for _ in range(8)).capitalize()


async def run_one_article(
    env: dict[str, str], settings: Settings, article: Article, log: Path, kill: bool = False
) -> tuple[dict[str, float], NewsEvent]:
    """Start a worker, send ``article``; its event and the worker's metrics after it.

    The worker is stopped with SIGTERM, or with SIGKILL if ``kill``.
    """
    port = free_port()
    proc = spawn_stage("process", {**env, "WIREWATCH_METRICS__PROCESSOR_PORT": str(port)}, log)
    try:
        await produce_articles(settings, [article])
        event = await wait_for_event(settings, article.id, log)
        await wait_for_commit(settings, log)
        samples = await scrape_metrics(port)
    finally:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        proc.wait(30)
    return samples, event


async def write_changelog(settings: Settings, key: str, value: dict[str, object]) -> None:
    """One record on the story window's changelog, as another worker's table write."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap)
    await producer.start()
    try:
        topic = f"{settings.processor.app_id}-dedup-state-changelog"
        await producer.send_and_wait(
            topic, json.dumps(value).encode(), key=json.dumps(key).encode()
        )
    finally:
        await producer.stop()


async def wait_for_event(settings: Settings, article_id: str, log: Path) -> NewsEvent:
    consumer = AIOKafkaConsumer(
        settings.kafka.topics.events.name,
        bootstrap_servers=settings.kafka.bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(120):
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        event = NewsEvent.model_validate_json(record.value or b"")
                        if event.kind == "article" and event.article.id == article_id:
                            return event
    except TimeoutError:
        raise AssertionError(log.read_text()[-3000:]) from None
    finally:
        await consumer.stop()


async def wait_for_commit(settings: Settings, log: Path) -> None:
    """Wait until the processor group has committed everything it consumed (90 s at most)."""
    lag = await wait_until_committed(settings, 90)
    if not (lag and sum(lag.values()) == 0):
        raise AssertionError((lag, log.read_text()[-3000:]))


async def changelog_view(settings: Settings, table: str) -> dict[str, bytes]:
    """A table's changelog as compaction leaves it: each key's last value, deletions gone."""
    topic = f"{settings.processor.app_id}-{table}-changelog"
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    view: dict[str, bytes] = {}
    try:
        tp = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    key = json.loads(record.key or b"")
                    if record.value is None:
                        view.pop(key, None)
                    else:
                        view[key] = record.value
    finally:
        await consumer.stop()
    return view


async def changelog_end(settings: Settings) -> int:
    """The end offset of the story window's changelog (one partition)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(f"{settings.processor.app_id}-dedup-state-changelog", 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()
