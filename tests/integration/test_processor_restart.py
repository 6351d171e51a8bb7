"""A processor killed mid-stream recovers its window and story ids from Kafka.

Real broker, real Faust worker subprocess, SIGKILL (no graceful shutdown).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from tests.support import processor_env, produce_articles, spawn_stage, wait_until_committed
from wirewatch.events import AlertDecision, Article, NewsEvent, utcnow
from wirewatch.kafka import ensure_topics, topic_partitions
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

RULES = """version: 1
rules:
  - id: quake
    name: Earthquakes
    query: earthquake OR quake
"""

BEFORE = [
    ("Reuters", "Magnitude 7.1 earthquake strikes off the coast of northern Chile"),
    ("Le Monde", "France's parliament passes the 2027 budget after a late-night vote"),
    ("Kyodo", "Japan's central bank holds interest rates steady, signals patience"),
]
AFTER = ("AP", "Magnitude 7.1 earthquake strikes off coast of northern Chile")


async def collect(
    settings: Settings, topic: str, until: Callable[[list[bytes]], bool], timeout_s: float
) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka.bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not until(values):
                batch = await consumer.getmany(timeout_ms=500)
                values += [r.value for records in batch.values() for r in records]
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return values


async def test_near_duplicate_after_kill_9_joins_the_story_from_before(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = processor_env(kafka_bootstrap, unique_name("restart"), rules, tmp_path)
    settings = load_settings(
        kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=env["WIREWATCH_KAFKA__NAMESPACE"])
    )
    await ensure_topics(settings.kafka)
    now = utcnow()
    before = [
        Article(id=f"pre-{i}", title=t, source=s, published=now - timedelta(minutes=5 - i))
        for i, (s, t) in enumerate(BEFORE)
    ]
    log = tmp_path / "processor.log"
    events_topic = settings.kafka.topics.events.name

    proc = spawn_stage("process", env, log)
    try:
        await produce_articles(settings, before)
        seen = await collect(settings, events_topic, lambda v: len(v) >= len(before), 90)
        assert len(seen) >= len(before), log.read_text()[-3000:]
        # The kill must come after the changelog writes of the last batch are on the broker.
        lag = await wait_until_committed(settings, 60)
        assert lag and sum(lag.values()) == 0, (lag, log.read_text()[-3000:])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    first = {e.article.id: e for e in map(NewsEvent.model_validate_json, seen)}

    proc = spawn_stage("process", env, log)
    try:
        late = Article(id="post-0", title=AFTER[1], source=AFTER[0], published=utcnow())
        await produce_articles(settings, [late])
        seen = await collect(
            settings, events_topic, lambda v: any(b'"post-0"' in x for x in v), 120
        )
        # Once post-0 is committed, any alert decision it caused is on the broker too.
        lag = await wait_until_committed(settings, 60)
        assert lag and sum(lag.values()) == 0, (lag, log.read_text()[-3000:])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    events = [NewsEvent.model_validate_json(v) for v in seen]
    after = [e for e in events if e.article.id == "post-0" and e.kind == "article"]
    assert after, log.read_text()[-3000:]
    assert after[0].story_id == first["pre-0"].story_id
    assert after[0].duplicate_of == "pre-0"
    assert after[0].source_count == 2
    # The three stories before the kill stay three distinct stories.
    assert len({e.story_id for e in first.values()}) == 3
    # No alert may be sent after the restart: everything the worker produced is on the
    # broker (committed above), so read the whole topic to its end offsets.
    alerts = await read_to_end(settings, settings.kafka.topics.alerts.name)
    decisions = [AlertDecision.model_validate_json(v) for v in alerts]
    # One decision for the quake story, none repeated after the restart.
    assert [d.alert_id for d in decisions] == [f"quake:{first['pre-0'].story_id}"]


async def read_to_end(settings: Settings, topic: str) -> list[bytes]:
    """Every record of ``topic`` up to its end offsets now (no consumer group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        tps = await topic_partitions(settings.kafka, topic)
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        async with asyncio.timeout(30):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batch = await consumer.getmany(timeout_ms=500)
                values += [r.value or b"" for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return values
