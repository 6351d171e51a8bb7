"""Records on news.raw that cannot be read are counted, set aside as poison, and skipped.

Issue 13's row "processors bad news.raw record": a bad record was only logged
and skipped, with no metric and no dead letter. Real broker, real Faust worker
subprocess: the stage keeps going, the good records around the bad ones get
their events, news.raw.poison holds a PoisonRecord for each bad one (kind,
reason, original bytes) as ``wirewatch status`` counts them, and the worker's
/metrics counts them in ``wirewatch_poison_records``. A record that makes the
pipeline itself raise is isolated the same way; no well-formed article trips a
real pipeline bug, so tests/unit/processors/test_batch_worker.py covers that.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from alerts.poison import count_poison
from tests.support import free_port, processor_env, spawn_stage
from wirewatch.events import Article, NewsEvent, PoisonRecord, utcnow
from wirewatch.kafka import ensure_topics, make_producer
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

RULES = "version: 1\nrules:\n  - id: quake\n    name: Earthquakes\n    query: earthquake\n"
BAD = [b"not json at all \xff", b'{"id": 5}', b"[]"]


async def test_bad_records_are_set_aside_as_poison_and_the_stage_goes_on(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    namespace = unique_name("poison")
    metrics_port = free_port()
    env = {
        **processor_env(kafka_bootstrap, namespace, rules, tmp_path),
        "WIREWATCH_METRICS__PROCESSOR_PORT": str(metrics_port),
    }
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    now = utcnow()
    good = [Article(id=f"ok-{i}", title=f"Harbour {i} reopens", published=now) for i in range(2)]
    log = tmp_path / "processor.log"
    proc = spawn_stage("process", env, log)
    try:
        producer = make_producer(settings.kafka)
        await producer.start()
        try:
            raw = settings.kafka.topics.raw.name
            for value in [BAD[0], good[0].to_bytes(), BAD[1], BAD[2], good[1].to_bytes()]:
                await producer.send_and_wait(raw, value, key=b"k")
        finally:
            await producer.stop()
        events = await read(settings, settings.kafka.topics.events.name, len(good), 120)
        letters = await read(settings, settings.kafka.topics.raw_poison.name, len(BAD), 30)
        counted = await poll_poison_metric(metrics_port, len(BAD), 30)
        assert proc.poll() is None, log.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    assert {NewsEvent.model_validate_json(v).article.id for v, _ in events} == {"ok-0", "ok-1"}
    poison = [PoisonRecord.model_validate_json(v) for v, _ in letters]
    assert [base64.b64decode(p.value_b64) for p in poison] == BAD
    assert [p.kind for p in poison] == ["unreadable", "invalid", "invalid"]
    assert {(p.stage, p.topic) for p in poison} == {("processor", raw)}
    assert [p.offset for p in poison] == [0, 2, 3]
    counts = await count_poison(settings, settings.kafka.topics.raw_poison.name)
    assert counts == {"unreadable": 1, "invalid": 2}
    assert counted == {("processor", "unreadable"): 1, ("processor", "invalid"): 2}


async def poll_poison_metric(
    port: int, total: int, timeout_s: float
) -> dict[tuple[str, str], float]:
    """The worker's wirewatch_poison_records by (stage, kind), once they add up to ``total``."""
    counted: dict[tuple[str, str], float] = {}
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    text = await response.text()
            except aiohttp.ClientError:
                text = ""  # the worker has not started serving yet
            counted = {
                (sample.labels["stage"], sample.labels["kind"]): sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "wirewatch_poison_records_total"
            }
            if sum(counted.values()) >= total:
                break
            await asyncio.sleep(0.5)
    return counted


async def read(
    settings: Settings, topic: str, count: int, timeout_s: float
) -> list[tuple[bytes, dict[str, bytes]]]:
    """The first ``count`` records of ``topic`` (value, headers), waiting up to ``timeout_s``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[tuple[bytes, dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(out) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    out += [(r.value or b"", dict(r.headers)) for r in records]
    finally:
        await consumer.stop()
    return out
