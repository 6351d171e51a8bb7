"""Real servers on 127.0.0.1 for the alert stage: an aiohttp webhook sink and aiosmtpd.

Also: settings on a unique namespace (own topics and group per test), and helpers
that produce AlertDecisions and read topics back from the real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.support import free_port
from wirewatch.events import AlertDecision, Article, RuleMatch
from wirewatch.kafka import ensure_topics, make_consumer, make_producer
from wirewatch.settings import Settings, load_settings

with warnings.catch_warnings():
    # apprise 2.3 imports the deprecated stdlib imghdr; not ours to fix.
    warnings.simplefilter("ignore", DeprecationWarning)
    import apprise
    import apprise.utils.pgp  # noqa: F401


@dataclass
class WebhookSink:
    """Records every POST; ``status`` and ``delay_s`` simulate an unhealthy target."""

    port: int
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    slow_paths: set[str] = field(default_factory=set)
    refused: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Set at teardown so that held responses end and the server can stop at once.
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == path]

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        if self.status != 200:
            self.refused += 1
            return web.Response(status=self.status, text="down")
        self.received.append((request.path, body))
        self.arrived.set()
        if self.delay_s and (not self.slow_paths or request.path in self.slow_paths):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gate.wait(), self.delay_s)
        return web.Response(text="ok")


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookSink]:
    sink = WebhookSink(port=free_port())
    app = web.Application()
    app.router.add_post("/{tail:.*}", sink.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sink.port).start()
    try:
        yield sink
    finally:
        sink.gate.set()
        await runner.cleanup()


@dataclass
class SmtpSink:
    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def make_settings(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings on a private namespace with short backoff; ``notify`` is notify.yaml text."""

    def make(notify: str = "", **alerts: Any) -> Settings:
        notify_file = tmp_path / "notify.yaml"
        notify_file.write_text(notify, encoding="utf-8")
        options: dict[str, Any] = {
            "notify_file": notify_file,
            "jsonl_path": tmp_path / "alerts.jsonl",
            "console": False,
            "max_attempts": 3,
            "backoff_base_s": 0.05,
            "backoff_max_s": 0.2,
            "send_timeout_s": 5.0,
            "commit_interval_s": 0.2,
            # The broker's minimum; a killed dispatcher's partitions move on sooner.
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
        }
        options.update(alerts)
        return load_settings(
            kafka={"bootstrap": kafka_bootstrap, "namespace": unique_name("ww-alerts")},
            alerts=options,
        )

    return make


def make_alert(
    rule: str = "quake",
    story: str = "s1",
    notify: tuple[str, ...] = ("desk",),
    title: str = "Earthquake hits <Springfield> & more",
    severity: str = "normal",
    source_count: int = 3,
    followup: bool = False,
    **changes: Any,
) -> AlertDecision:
    article = Article(
        id=f"a-{story}",
        title=title,
        summary="Shaking <script>alert(1)</script> felt downtown",
        url=f"https://news.example.com/{story}",
        source="Example Wire",
        published=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    )
    alert_id = f"{rule}:{story}" + (":followup" if followup else "")
    return AlertDecision(
        alert_id=alert_id,
        reason="followup" if followup else "new_story",
        rule=RuleMatch(
            rule_id=rule,
            name=f"Rule {rule}",
            terms=("earthquake", "springfield"),
            severity=severity,
            notify=notify,
        ),
        story_id=story,
        article=article,
        source_count=source_count,
        story_sources=("Example Wire", "Other Paper", "Third Post")[:source_count],
        **changes,
    )


async def produce(settings: Settings, alerts: list[AlertDecision]) -> None:
    await ensure_topics(settings.kafka, [settings.kafka.topics.alerts])
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        for alert in alerts:
            await producer.send(settings.kafka.topics.alerts.name, alert.to_bytes(), key=alert.key)
        await producer.flush()
    finally:
        await producer.stop()


async def read_topic(settings: Settings, topic: str) -> list[tuple[bytes, bytes | None]]:
    """Every record currently in ``topic`` (key, value), in order."""
    from aiokafka import TopicPartition

    consumer = make_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        # consumer.partitions_for_topic() only reads a cache that an unsubscribed
        # consumer never fills; ask the cluster.
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[tuple[bytes, bytes | None]] = []
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for msgs in batch.values():
                records.extend((m.key, m.value) for m in msgs)
        return records
    finally:
        await consumer.stop()


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
