"""The dispatcher against the real broker and real loopback HTTP/SMTP servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.message import Message
from typing import Any

import pytest

from alerts.dispatch import run_dispatcher
from alerts.runtime import AlertConfigError
from wirewatch.events import DeadLetter, DeliveryAttempt, SentRecord
from wirewatch.notify_config import load_notify_config
from wirewatch.settings import Settings

from .conftest import SmtpSink, WebhookSink, make_alert, produce, read_topic, wait_for

pytestmark = pytest.mark.integration


@asynccontextmanager
async def dispatcher(settings: Settings, **kwargs: Any) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(settings, stop=stop, **kwargs))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def two_targets(webhook: WebhookSink) -> str:
    return (
        "version: 1\n"
        "urls:\n"
        f"  - json://127.0.0.1:{webhook.port}/json-desk:\n"
        "      tag: desk\n"
        f"  - mmost://127.0.0.1:{webhook.port}/abcdefghijklmnopqrstuvwxyz:\n"
        "      tag: desk, ops\n"
    )


async def test_repeated_decisions_give_one_delivery_per_subscriber(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(two_targets(webhook))
    await produce(settings, [make_alert()] * 20)
    async with dispatcher(settings):
        await wait_for(lambda: len(webhook.received) >= 2)
        await asyncio.sleep(0.8)  # time for any duplicate to show up
    json_posts = webhook.bodies("/json-desk")
    mm_posts = webhook.bodies("/hooks/abcdefghijklmnopqrstuvwxyz")
    assert len(json_posts) == 1
    assert len(mm_posts) == 1
    # Plain-text format with every required field, time shown in UTC by default.
    message = json_posts[0]["message"]
    assert "Earthquake hits <Springfield> & more" in message
    assert "Example Wire - 2024-05-01 12:30 UTC" in message
    assert "https://news.example.com/s1" in message
    assert "Rule quake (matched: earthquake, springfield)" in message
    assert "Also reported by 2 other outlets: Other Paper, Third Post." in message
    assert json_posts[0]["title"] == "Earthquake hits <Springfield> & more (Example Wire)"
    assert "Earthquake hits" in mm_posts[0]["text"]
    # JSONL got the alert exactly once, with the targets it was routed to.
    lines = settings.alerts.jsonl_path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["alert_id"] == "quake:s1"
    assert len(json.loads(lines[0])["targets"]) == 2
    # Ledger and attempts are in Kafka, targets only by their opaque ids.
    ids = {t.id for t in load_notify_config(settings.alerts.notify_file).targets}
    ledger = [
        SentRecord.model_validate_json(v)
        for _, v in await read_topic(settings, settings.kafka.topics.sent.name)
        if v
    ]
    assert sorted(r.state for r in ledger if not r.target.startswith("jsonl:")) == [
        "sending",
        "sending",
        "sent",
        "sent",
    ]
    attempts = [
        DeliveryAttempt.model_validate_json(v)
        for _, v in await read_topic(settings, settings.kafka.topics.deliveries.name)
        if v
    ]
    assert [a.status for a in attempts] == ["sent", "sent"]
    assert all(a.latency_ms > 0 for a in attempts)
    assert {a.target for a in attempts} == ids
    assert {r.target for r in ledger if not r.target.startswith("jsonl:")} == ids


async def test_restart_does_not_resend_and_new_alerts_still_flow(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(two_targets(webhook))
    await produce(settings, [make_alert()])
    async with dispatcher(settings):
        await wait_for(lambda: len(webhook.received) >= 2)
    # The same decision again, plus a follow-up, after a clean restart.
    await produce(settings, [make_alert(), make_alert(followup=True, source_count=5)])
    async with dispatcher(settings):
        await wait_for(lambda: len(webhook.received) >= 4)
        await asyncio.sleep(0.8)
    assert len(webhook.received) == 4
    assert len(webhook.bodies("/json-desk")) == 2


async def test_alert_without_matching_tag_goes_to_jsonl_only(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(two_targets(webhook))
    await produce(settings, [make_alert(notify=()), make_alert(story="s2", notify=("ops",))])
    async with dispatcher(settings):
        await wait_for(lambda: len(webhook.received) >= 1)
        await asyncio.sleep(0.5)
    assert [p for p, _ in webhook.received] == ["/hooks/abcdefghijklmnopqrstuvwxyz"]
    assert len(settings.alerts.jsonl_path.read_text().splitlines()) == 2


async def test_email_has_subject_html_and_text_parts_with_escaped_feed_text(
    smtp: SmtpSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        "version: 1\n"
        "urls:\n"
        f"  - mailto://127.0.0.1:{smtp.port}?to=editor@example.com&from=ww@example.com:\n"
        "      tag: desk\n"
        "subscriptions:\n"
        "  desk:\n"
        "    timezone: Europe/Berlin\n"
    )
    await produce(settings, [make_alert()])
    async with dispatcher(settings):
        await wait_for(lambda: len(smtp.messages) >= 1)
    message = smtp.messages[0]
    assert message["Subject"] == "Earthquake hits <Springfield> & more (Example Wire)"
    assert message["To"] == "editor@example.com"
    parts = {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    html = decoded(parts["text/html"])
    text = decoded(parts["text/plain"])
    assert "Earthquake hits &lt;Springfield&gt; &amp; more" in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://news.example.com/s1">' in html
    # Subscriber's timezone: 12:30 UTC is 14:30 in Berlin (CEST).
    assert "2024-05-01 14:30 CEST" in html
    assert "Rule <strong>Rule quake</strong>: matched earthquake, springfield" in html
    assert "Also reported by 2 other outlets" in html
    assert "Earthquake hits" in text
    assert "<strong>" not in text


async def test_bad_notify_file_refuses_to_start(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings("version: 1\nurls:\n  - json://ok.example.com/x\n  - nope://bad\n")
    with pytest.raises(AlertConfigError) as info:
        await run_dispatcher(settings)
    assert len(info.value.errors) == 1
    assert info.value.errors[0].startswith(f"{settings.alerts.notify_file}:4: invalid nope:// URL")


async def test_outage_shorter_than_retries_delivers_everything_once(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n",
        max_attempts=8,
        backoff_base_s=0.1,
        backoff_max_s=0.4,
    )
    webhook.status = 503
    await produce(settings, [make_alert(story=f"s{i}") for i in range(5)])
    async with dispatcher(settings):
        await wait_for(lambda: webhook.refused >= 3)  # several failed attempts
        assert webhook.received == []
        webhook.status = 200
        await wait_for(lambda: len(webhook.received) >= 5)
        await asyncio.sleep(0.5)
    links = [b["message"].split("news.example.com/")[1][:2] for b in webhook.bodies("/hook")]
    assert sorted(links) == ["s0", "s1", "s2", "s3", "s4"]
    attempts = [
        DeliveryAttempt.model_validate_json(v)
        for _, v in await read_topic(settings, settings.kafka.topics.deliveries.name)
        if v
    ]
    failed = [a for a in attempts if a.status == "failed"]
    assert failed and all("503" in a.error or "WARNING" in a.error for a in failed)
    assert await read_topic(settings, settings.kafka.topics.dlq.name) == []


async def test_outage_past_max_attempts_dead_letters_then_retry_delivers(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    from alerts.dlq import list_dead_letters, retry_dead_letters

    settings = make_settings(f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n")
    webhook.status = 500
    await produce(settings, [make_alert(story="s1"), make_alert(story="s2")])
    async with dispatcher(settings):
        for _ in range(200):
            if len(await list_dead_letters(settings)) == 2:
                break
            await asyncio.sleep(0.1)
    letters = await list_dead_letters(settings)
    assert sorted(letter.alert.alert_id for letter in letters) == ["quake:s1", "quake:s2"]
    (target,) = load_notify_config(settings.alerts.notify_file).targets
    assert all(letter.target == target.id for letter in letters)
    assert all(letter.target_label == f"json:{target.id}" for letter in letters)
    assert all("500" in letter.reason or "WARNING" in letter.reason for letter in letters)
    raw = await read_topic(settings, settings.kafka.topics.dlq.name)
    assert len([DeadLetter.model_validate_json(v) for _, v in raw if v]) == 2
    webhook.status = 200
    outcomes = await retry_dead_letters(settings)
    assert [o.ok for o in outcomes] == [True, True]
    assert len(webhook.received) == 2
    assert await list_dead_letters(settings) == []
    # A second retry has nothing left to send.
    assert await retry_dead_letters(settings) == []
    assert len(webhook.received) == 2


@pytest.mark.parametrize("policy", ["dead_letter", "resend"])
async def test_uncertain_send_left_by_a_crash_follows_the_policy(
    webhook: WebhookSink, make_settings: Callable[..., Settings], policy: str
) -> None:
    from alerts.dlq import list_dead_letters
    from alerts.runtime import load_alerts_config
    from wirewatch.kafka import ensure_topics, make_producer

    settings = make_settings(
        f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n",
        uncertain_sends=policy,
    )
    alert = make_alert()
    (endpoint,) = load_alerts_config(settings).sender.endpoints
    # What a process killed during a send leaves behind: a decision not yet
    # committed and a "sending" mark with no outcome.
    await ensure_topics(settings.kafka, [settings.kafka.topics.sent])
    producer = make_producer(settings.kafka)
    await producer.start()
    mark = SentRecord(alert_id=alert.alert_id, target=endpoint.key, state="sending", alert=alert)
    await producer.send_and_wait(settings.kafka.topics.sent.name, mark.to_bytes(), key=mark.key)
    await producer.stop()
    await produce(settings, [alert])

    async with dispatcher(settings):
        if policy == "resend":
            await wait_for(lambda: len(webhook.received) >= 1)
        else:
            for _ in range(100):
                if await list_dead_letters(settings):
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.8)
    letters = await list_dead_letters(settings)
    if policy == "resend":
        assert len(webhook.received) == 1
        assert letters == []
    else:
        assert webhook.received == []
        assert [(letter.alert.alert_id, letter.target) for letter in letters] == [
            ("quake:s1", endpoint.key)
        ]
        assert letters[0].reason.startswith("uncertain")


async def test_slow_target_does_not_hold_up_another(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        "urls:\n"
        f"  - json://127.0.0.1:{webhook.port}/slow:\n      tag: desk\n"
        f"  - json://127.0.0.1:{webhook.port}/fast:\n      tag: desk\n",
        send_timeout_s=30.0,
    )
    webhook.delay_s, webhook.slow_paths = 30.0, {"/slow"}
    await produce(settings, [make_alert(story=f"s{i}") for i in range(4)])
    async with dispatcher(settings):
        await wait_for(lambda: len(webhook.bodies("/fast")) == 4, 10)
        # The slow target is still stuck on its first alert.
        assert len(webhook.bodies("/slow")) == 1
        webhook.gate.set()  # let it answer, so the dispatcher stops promptly
        await wait_for(lambda: len(webhook.bodies("/slow")) == 4, 10)
