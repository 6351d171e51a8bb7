"""news.raw on four partitions, two workers: matching spreads, the story window stays whole.

Real broker, two real Faust worker subprocesses in one group. Rule matching
runs on news.raw's partitions in both workers; clustering reads the one
matched partition, so copies of a story that arrive on different news.raw
partitions still land in one story, and its alert is decided once.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError

from tests.integration.test_processor_backlog import article_event_ids
from tests.support import processor_env, produce_articles, spawn_stage
from wirewatch.events import AlertDecision, Article, utcnow
from wirewatch.kafka import ensure_topics, group_lag, make_consumer, topic_partitions
from wirewatch.settings import KafkaSettings, Settings, Topics, TopicSpec, load_settings

pytestmark = pytest.mark.integration

RULES = "version: 1\nrules:\n  - id: quake\n    name: Earthquakes\n    query: earthquake\n"
STORY = "Magnitude 7.1 earthquake strikes off the coast of northern Chile"
OUTLETS = ["Reuters", "AP", "BBC", "DW", "NHK", "ABC"]
FILLER = 300


async def test_two_workers_share_matching_and_keep_one_window(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(
        "version: 1\nkafka:\n  topics:\n    raw:\n      name: news.raw\n      partitions: 4\n"
    )
    namespace = unique_name("scale")
    topics = Topics(raw=TopicSpec(name="news.raw", partitions=4))
    settings = load_settings(
        kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace, topics=topics)
    )
    await ensure_topics(settings.kafka)
    assert len(await topic_partitions(settings.kafka, settings.kafka.topics.raw.name)) == 4
    now = utcnow()
    copies = [
        Article(id=f"copy-{i}", title=STORY, source=outlet, published=now + timedelta(seconds=i))
        for i, outlet in enumerate(OUTLETS)
    ]
    filler = [
        Article(id=f"f-{i}", title=f"Harbour {i} reopens after storm {i % 37}", published=now)
        for i in range(FILLER)
    ]
    procs = []
    for name in ("one", "two"):
        env = processor_env(kafka_bootstrap, namespace, rules, tmp_path / name)
        env["WIREWATCH_SETTINGS"] = str(settings_file)
        procs.append(spawn_stage("process", env, tmp_path / f"{name}.log"))
    try:
        # Produce once the group has settled with news.raw split between the two.
        split = await wait_for_split([tmp_path / "one.log", tmp_path / "two.log"], 120)
        assert split, "".join((tmp_path / f"{n}.log").read_text()[-3000:] for n in ("one", "two"))
        await produce_articles(settings, filler[: FILLER // 2] + copies + filler[FILLER // 2 :])
        # Both stages' topics: news.raw's four partitions and the matched one.
        matched = f"{settings.processor.app_id}-matched"
        lag = await wait_for_no_lag(settings.kafka, settings.processor.app_id, matched, 180)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
    logs = "".join((tmp_path / f"{n}.log").read_text()[-3000:] for n in ("one", "two"))
    assert lag == 0, logs

    ids = await article_event_ids(settings, FILLER + len(OUTLETS))
    assert set(ids) == {a.id for a in filler + copies}
    alerts = await read_alerts(settings)
    assert len({a.story_id for a in alerts}) == 1, [a.alert_id for a in alerts]
    assert len({a.alert_id for a in alerts}) == 1


async def wait_for_split(logs: list[Path], timeout_s: float) -> bool:
    """True once each worker's latest assignment holds some, not all, of news.raw."""
    pattern = re.compile(r"matching news.raw partitions \[([0-9, ]*)\]")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        latest = [pattern.findall(log.read_text()) if log.exists() else [] for log in logs]
        owned = [set(found[-1].replace(" ", "").split(",")) - {""} for found in latest if found]
        shared = len(owned) == len(logs) and all(0 < len(o) < 4 for o in owned)
        if shared and set.union(*owned) == {"0", "1", "2", "3"}:
            return True
        await asyncio.sleep(1)
    return False


async def wait_for_no_lag(kafka: KafkaSettings, group: str, matched: str, timeout_s: float) -> int:
    """The group's total lag once it is 0 with ``matched`` committed too (or at the timeout)."""
    deadline = time.monotonic() + timeout_s
    total = -1
    while time.monotonic() < deadline:
        try:
            lag = await group_lag(kafka, group)
        except GroupCoordinatorNotAvailableError:
            lag = {}
        total = sum(lag.values()) if (matched, 0) in lag else -1
        if total == 0:
            break
        await asyncio.sleep(1)
    return total


async def read_alerts(settings: Settings) -> list[AlertDecision]:
    """Every decision on news.alerts up to its current end."""
    consumer = make_consumer(settings.kafka, group_id=None)
    await consumer.start()
    values: list[bytes] = []
    try:
        tps = await topic_partitions(settings.kafka, settings.kafka.topics.alerts.name)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000)
            values += [r.value or b"" for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return [AlertDecision.model_validate_json(v) for v in values]
