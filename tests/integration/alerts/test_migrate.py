"""Records written before target ids (schema 2, target = privacy URL) move to the id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from alerts.dispatch import run_dispatcher
from alerts.dlq import list_dead_letters
from alerts.state import pending_spec, read_table
from wirewatch.events import DeadLetter, PendingAlert, SentRecord, utcnow
from wirewatch.kafka import ensure_topics, make_producer
from wirewatch.notify_config import load_notify_config
from wirewatch.settings import Settings

from .conftest import WebhookSink, make_alert, produce, wait_for

pytestmark = pytest.mark.integration


async def test_old_ledger_pending_and_dlq_records_are_moved_to_the_target_id(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        f"urls:\n  - json://127.0.0.1:{webhook.port}/hook/tok3n-in-path:\n      tag: desk\n"
    )
    (target,) = load_notify_config(settings.alerts.notify_file).targets
    old = target.legacy_key
    assert "tok3n-in-path" in old  # what the privacy form used to leak
    topics = settings.kafka.topics
    await ensure_topics(settings.kafka, [topics.sent, topics.dlq, pending_spec(settings)])
    s1, s2, s3 = (make_alert(story=s) for s in ("s1", "s2", "s3"))
    records = [
        (topics.sent.name, SentRecord(alert_id=s1.alert_id, target=old, state="sent")),
        (topics.sent.name, SentRecord(alert_id=s2.alert_id, target=old, state="dead_lettered")),
        (topics.dlq.name, DeadLetter(alert=s2, target=old, reason="old outage", attempts=3)),
        (
            pending_spec(settings).name,
            PendingAlert(
                alert=s3, target=old, kind="digest", release_at=utcnow() - timedelta(minutes=1)
            ),
        ),
    ]
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        for topic, record in records:
            legacy = record.model_copy(update={"schema_version": 2})
            await producer.send_and_wait(topic, legacy.to_bytes(), key=legacy.key)
    finally:
        await producer.stop()
    # s1 comes again: the migrated ledger still knows it was sent.
    await produce(settings, [s1])

    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(settings, stop=stop))
    try:
        await wait_for(lambda: len(webhook.received) >= 1, 30)
        await asyncio.sleep(1.0)  # time for a wrong resend of s1 to show up
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)

    (body,) = webhook.bodies("/hook/tok3n-in-path")
    assert "news.example.com/s3" in body["message"]
    ledger = await read_table(settings.kafka, topics.sent.name)
    assert not [k for k in ledger if b"tok3n" in k]
    states = {
        k.decode(): SentRecord.model_validate_json(v).state
        for k, v in ledger.items()
        if not k.decode().split("|", 1)[1].startswith("jsonl:")
    }
    assert states == {
        f"{s1.alert_id}|{target.id}": "sent",
        f"{s2.alert_id}|{target.id}": "dead_lettered",
        f"{s3.alert_id}|{target.id}": "sent",
    }
    assert await read_table(settings.kafka, pending_spec(settings).name) == {}
    (letter,) = await list_dead_letters(settings)
    assert (letter.alert.alert_id, letter.target, letter.target_label) == (
        s2.alert_id,
        target.id,
        f"json:{target.id}",
    )
    assert letter.reason == "old outage"
