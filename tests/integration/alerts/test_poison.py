"""Poison records on news.alerts: set aside with the reason, counted, and skipped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from alerts.dispatch import run_dispatcher
from alerts.poison import count_poison
from wirewatch.events import PoisonRecord
from wirewatch.kafka import ensure_topics, group_lag, make_producer
from wirewatch.settings import Settings

from .conftest import WebhookSink, make_alert, read_topic, wait_for

pytestmark = pytest.mark.integration

GARBAGE = b"\xff\xfe\x00 not json at all {"
INVALID = b'{"alert_id": 7, "story_id": "s9"}'


def poison_count(kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "wirewatch_poison_records_total", {"stage": "dispatcher", "kind": kind}
    )
    return value or 0.0


async def produce_raw(settings: Settings, values: list[bytes]) -> None:
    await ensure_topics(settings.kafka, [settings.kafka.topics.alerts])
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.kafka.topics.alerts.name, value, key=b"k")
    finally:
        await producer.stop()


async def test_garbage_and_invalid_records_are_set_aside_and_the_good_one_delivered(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n")
    before = {kind: poison_count(kind) for kind in ("unreadable", "invalid")}
    await produce_raw(settings, [GARBAGE, INVALID, make_alert().to_bytes()])
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(settings, stop=stop))
    try:
        await wait_for(lambda: len(webhook.bodies("/hook")) == 1, 30)
        # The dispatcher is still alive after both bad records: no crash, no loop.
        assert not task.done()
        for _ in range(100):
            lag = await group_lag(settings.kafka.bootstrap, settings.alerts.group_id)
            if lag and all(v == 0 for v in lag.values()):
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert "Earthquake hits" in webhook.bodies("/hook")[0]["message"]
    # Every record, the bad ones included, is behind the committed offset.
    assert await group_lag(settings.kafka.bootstrap, settings.alerts.group_id) == {
        (settings.kafka.topics.alerts.name, 0): 0
    }
    raw = await read_topic(settings, settings.kafka.topics.alerts_poison.name)
    poison = [PoisonRecord.model_validate_json(v) for _, v in raw if v]
    assert [(p.offset, p.kind, p.stage) for p in poison] == [
        (0, "unreadable", "dispatcher"),
        (1, "invalid", "dispatcher"),
    ]
    assert poison[0].reason.startswith("value: Invalid JSON")
    assert "rule: Field required" in poison[1].reason
    assert [p.value_size for p in poison] == [len(GARBAGE), len(INVALID)]
    assert poison_count("unreadable") - before["unreadable"] == 1
    assert poison_count("invalid") - before["invalid"] == 1
    assert await count_poison(settings) == {"unreadable": 1, "invalid": 1}
