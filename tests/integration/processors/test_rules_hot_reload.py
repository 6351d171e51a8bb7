"""Hot reload of the rules file on a RUNNING processor, with the real broker.

A real ``wirewatch process`` worker subprocess reads ``news.raw``; the test
edits the rules file under it (atomically, the way editors save) and produces
probe articles. A good edit must be live within 2 s; a bad edit must be
rejected with ``rules check`` messages while the last good rules stay active;
every event must carry the version (content hash) of the rules that judged it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from processors.rules import hash_content
from tests.support import processor_env, produce_articles
from wirewatch.events import Article, NewsEvent
from wirewatch.kafka import ensure_topics
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

V1 = """version: 1
rules:
  - id: quakes
    query: earthquake* OR quake*
"""
V2 = """version: 1
rules:
  - id: quakes
    query: earthquake* OR quake*
  - id: tariffs
    query: tariff* NEAR/4 threat*
"""
BAD = """version: 1
rules:
  - id: quakes
    query: earthquake* OR quake*
  - id: tariffs
    query: tariff* NEAR/x threat*
"""
APPLY_WITHIN_S = 2.0


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Events:
    """Every NewsEvent on the events topic, read by one consumer for the whole test."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = AIOKafkaConsumer(
            settings.kafka.topics.events.name,
            bootstrap_servers=settings.kafka.bootstrap,
            auto_offset_reset="earliest",
            group_id=None,
        )
        self.seen: dict[str, NewsEvent] = {}

    async def wait_for(self, article_id: str, timeout_s: float) -> NewsEvent | None:
        deadline = time.monotonic() + timeout_s
        while article_id not in self.seen and time.monotonic() < deadline:
            batch = await self.consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    event = NewsEvent.model_validate_json(record.value)
                    if event.kind == "article":
                        self.seen[event.article.id] = event
        return self.seen.get(article_id)


@pytest.fixture
async def setup(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[tuple[Settings, Path, Path, Events]]:
    namespace = unique_name("hotreload")
    rules = tmp_path / "rules.yaml"
    rules.write_text(V1, encoding="utf-8")
    env = processor_env(kafka_bootstrap, namespace, rules, tmp_path)
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    log = tmp_path / "processor.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wirewatch", "process"], env=env, stdout=out, stderr=out
        )
    events = Events(settings)
    await events.consumer.start()
    try:
        yield settings, rules, log, events
    finally:
        await events.consumer.stop()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def wait_for_log(log: Path, text: str, timeout_s: float) -> float | None:
    """Seconds until ``text`` appears in the worker's log, or None after ``timeout_s``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if text in log.read_text(errors="replace"):
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    return None


def rule_ids(event: NewsEvent) -> set[str]:
    return {m.rule_id for m in event.matched_rules}


async def test_good_edit_applies_within_2s_bad_edit_keeps_the_last_good_rules(
    setup: tuple[Settings, Path, Path, Events],
) -> None:
    settings, rules, log, events = setup
    text = "Trump threatens new tariffs after a strong earthquake hits the coast"

    # v1 is active once the worker is up (the first event can take a while: group join).
    await produce_articles(settings, [Article(id="probe-v1", title=text, source="Wire A")])
    first = await events.wait_for("probe-v1", 120)
    assert first is not None, log.read_text(errors="replace")[-3000:]
    assert first.rules_version == hash_content(V1.encode())
    assert rule_ids(first) == {"quakes"}

    # A good edit: live within 2 s on the running worker. The worker swaps in the new
    # book in the same step as it logs the reload, so a probe sent after the line is
    # judged by v2.
    write_atomically(rules, V2)
    v1, v2 = hash_content(V1.encode()), hash_content(V2.encode())
    took = await wait_for_log(log, f"rules reloaded: version {v1} -> {v2}", 30)
    assert took is not None, log.read_text(errors="replace")[-3000:]
    assert took <= APPLY_WITHIN_S, f"v2 took {took:.2f} s to go live"
    await produce_articles(settings, [Article(id="probe-v2", title=text, source="Wire B")])
    second = await events.wait_for("probe-v2", 30)
    assert second is not None, log.read_text(errors="replace")[-3000:]
    assert second.rules_version == hash_content(V2.encode())
    assert rule_ids(second) == {"quakes", "tariffs"}
    assert {m.terms for m in second.matched_rules if m.rule_id == "tariffs"} == {
        ("threatens", "tariffs")
    }

    # A bad edit: rejected with the `rules check` message, v2 stays active. The probe
    # goes out once the worker has seen (and refused) the edit, or it would prove nothing.
    write_atomically(rules, BAD)
    rejected = await wait_for_log(log, f"rules file {rules} rejected", 30)
    assert rejected is not None, log.read_text(errors="replace")[-3000:]
    await produce_articles(settings, [Article(id="probe-bad", title=text, source="Wire C")])
    third = await events.wait_for("probe-bad", 30)
    assert third is not None, log.read_text(errors="replace")[-3000:]
    assert third.rules_version == hash_content(V2.encode())
    assert rule_ids(third) == {"quakes", "tariffs"}
    output = log.read_text(errors="replace")
    assert f"{rules}:6:20: query: NEAR needs a distance, e.g. NEAR/5" in output
    assert f"keeping version {hash_content(V2.encode())}" in output
    assert "added: tariffs" in output
