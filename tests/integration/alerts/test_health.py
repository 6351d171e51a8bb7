"""Health alerts end to end: real broker, real feed and webhook servers on 127.0.0.1.

The poller and the dispatcher run in this event loop as in production
(``run_pollers``, ``run_dispatcher``); feed health reaches the dispatcher's
monitor only through ingest's state topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from alerts.dispatch import run_dispatcher
from alerts.dlq import list_dead_letters
from ingest.poller import run_pollers
from tests.integration.ingest.conftest import rss, start_server, write_feeds
from tests.support import free_port
from wirewatch.events import Article, DeadLetter, HealthEvent, NewsEvent, RuleMatch
from wirewatch.kafka import ensure_topics, make_consumer, make_producer
from wirewatch.notify_config import load_notify_config
from wirewatch.settings import Settings, load_settings

from .conftest import WebhookSink, make_alert, produce, read_topic, wait_for

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def sink() -> AsyncIterator[WebhookSink]:
    hook = WebhookSink(port=free_port())
    app = web.Application()
    app.router.add_post("/{tail:.*}", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook.port).start()
    try:
        yield hook
    finally:
        hook.gate.set()
        await runner.cleanup()


def notify_yaml(
    ops: int, desk: int | None = None, feeds: str = "{failures: 3}", stages: str = "{watch: []}"
) -> str:
    text = f"version: 1\nurls:\n  - json://127.0.0.1:{ops}/ops:\n      tag: ops\n"
    if desk is not None:
        text += f"  - json://127.0.0.1:{desk}/desk:\n      tag: desk\n"
    return text + (
        f"health:\n  notify: [ops]\n  check_every_s: 0.2\n  stages: {stages}\n"
        f"  targets: {{failures: 3, probe_every_s: 0.5}}\n  feeds: {feeds}\n"
    )


def make_settings(
    bootstrap: str, namespace: str, tmp: Path, notify: str, **alerts: Any
) -> Settings:
    notify_file = tmp / "notify.yaml"
    notify_file.write_text(notify, encoding="utf-8")
    return load_settings(
        kafka={"bootstrap": bootstrap, "namespace": namespace},
        alerts={
            "notify_file": notify_file,
            "jsonl_path": tmp / "alerts.jsonl",
            "console": False,
            "send_timeout_s": 5.0,
            "commit_interval_s": 0.2,
            **alerts,
        },
        ingest={
            "feeds_file": tmp / "feeds.yaml",
            "default_interval_s": 0.3,
            "max_backoff_s": 0.6,
            "jitter": 0.0,
            "connect_timeout_s": 2.0,
            "total_timeout_s": 3.0,
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
            # The feed server listens on loopback, which ingest refuses by default.
            "allow_addresses": ("127.0.0.1",),
        },
    )


@contextlib.asynccontextmanager
async def running(*stages: Callable[..., Any], settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(stage(settings, stop=stop)) for stage in stages]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def dead_letters(settings: Settings, count: int) -> list[DeadLetter]:
    """Outstanding dead letters, once there are at least ``count`` (or after 30 s)."""
    for _ in range(60):
        letters = await list_dead_letters(settings)
        if len(letters) >= count:
            break
        await asyncio.sleep(0.5)
    return letters


def metric_value(url: str) -> float | None:
    """The feed's wirewatch_health_condition sample, as /metrics would show it."""
    return REGISTRY.get_sample_value(
        "wirewatch_health_condition", {"kind": "feed_failing", "subject": url}
    )


def titles(hook: WebhookSink, path: str) -> list[str]:
    return [str(body["title"]) for body in hook.bodies(path)]


async def test_a_feed_returning_500s_alerts_once_and_recovers_once(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    server, runner = await start_server()
    failing = False

    async def feed(request: web.Request) -> web.StreamResponse:
        if failing:
            return web.Response(status=500, text="boom")
        return web.Response(text=rss([("g1", "Hello")]), content_type="application/rss+xml")

    url = server.route("/feed.xml", feed)
    async with sink() as ops:
        namespace = unique_name("ww-health")
        settings = make_settings(kafka_bootstrap, namespace, tmp_path, notify_yaml(ops.port))
        write_feeds(settings.ingest.feeds_file, [url], interval=0.3)
        await ensure_topics(settings.kafka)  # `wirewatch status` reads every topic
        try:
            async with running(run_pollers, run_dispatcher, settings=settings):
                await wait_for(lambda: server.count("/feed.xml") >= 2, 60)
                await asyncio.sleep(1.0)  # the monitor has seen it healthy
                assert ops.received == []

                failing = True
                down_from = server.count("/feed.xml")
                await wait_for(lambda: len(ops.received) >= 1, 30)
                assert server.count("/feed.xml") - down_from >= 3  # not before the threshold
                assert titles(ops, "/ops") == [f"wirewatch health: feed failing: {url}"]
                assert "failed polls in a row" in ops.bodies("/ops")[0]["message"]
                assert "HTTP 500" in ops.bodies("/ops")[0]["message"]

                # Shown by /metrics and `wirewatch status` while active.
                assert metric_value(url) == 1.0
                shown = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "wirewatch", "status"],
                    env={**os.environ, "KAFKA_BOOTSTRAP": kafka_bootstrap,
                         "WIREWATCH_KAFKA__NAMESPACE": namespace,
                         "WIREWATCH_INGEST__FEEDS_FILE": str(settings.ingest.feeds_file),
                         "COLUMNS": "400"},
                    capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
                assert shown.returncode == 0, shown.stderr[-2000:]
                assert f"feed_failing │ {url}" in shown.stdout

                # Still down for many more polls: no second alert.
                still = server.count("/feed.xml")
                await wait_for(lambda: server.count("/feed.xml") >= still + 6, 30)
                await asyncio.sleep(0.5)
                assert len(ops.received) == 1

                failing = False
                await wait_for(lambda: len(ops.received) >= 2, 30)
                await asyncio.sleep(1.5)  # a third message would show up by now
        finally:
            await runner.cleanup()
    assert titles(ops, "/ops") == [
        f"wirewatch health: feed failing: {url}",
        f"wirewatch health: recovered: feed failing: {url}",
    ]
    assert metric_value(url) is None  # the series goes away on recovery
    records = await read_topic(settings, settings.kafka.topics.health.name)
    events = [HealthEvent.model_validate_json(v) for _k, v in records if v]
    assert [(e.kind, e.subject, e.state) for e in events] == [
        ("feed_failing", url, "started"),
        ("feed_failing", url, "recovered"),
    ]


async def test_a_refusing_target_alerts_once_and_its_dead_letters_go_out_once_it_recovers(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    async with sink() as ops, sink() as desk:
        settings = make_settings(
            kafka_bootstrap,
            unique_name("ww-health"),
            tmp_path,
            notify_yaml(ops.port, desk.port),
            max_attempts=2,
            backoff_base_s=0.05,
            backoff_max_s=0.2,
        )
        desk.status = 503
        await produce(settings, [make_alert(story="s1"), make_alert(story="s2")])
        async with running(run_dispatcher, settings=settings):
            await wait_for(lambda: len(ops.received) >= 1, 30)
            # Targets are named by their label (scheme:id), never by their URL.
            targets = load_notify_config(settings.alerts.notify_file).targets
            desk_key = next(t.label for t in targets if "desk" in t.tags)
            assert titles(ops, "/ops") == [
                f"wirewatch health: notification target failing: {desk_key}"
            ]
            # Both alerts ran out of attempts during the outage.
            letters = await dead_letters(settings, 2)
            assert sorted(d.alert.alert_id for d in letters) == ["quake:s1", "quake:s2"]
            # Probes keep failing while it is down: still no second health alert.
            refused = desk.refused
            await wait_for(lambda: desk.refused >= refused + 3, 30)
            assert len(ops.received) == 1
            assert desk.received == []

            desk.status = 200
            await wait_for(lambda: len(desk.received) >= 2 and len(ops.received) >= 2, 30)
            await asyncio.sleep(1.5)  # a duplicate would show up by now
            outstanding = await list_dead_letters(settings)
        assert (
            sorted(b["message"].split("\n")[0] for b in desk.bodies("/desk"))
            == ["Earthquake hits <Springfield> & more"] * 2
        )
        assert {b["title"] for b in desk.bodies("/desk")} == {
            "Earthquake hits <Springfield> & more (Example Wire)"
        }
        titles_seen = titles(ops, "/ops")
        assert len(titles_seen) == 2
        assert titles_seen[1] == titles_seen[0].replace("health: ", "health: recovered: ", 1)
        assert outstanding == []


async def test_a_stage_without_consumers_is_down_once_and_recovers_when_one_joins(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    async with sink() as ops:
        settings = make_settings(
            kafka_bootstrap,
            unique_name("ww-health"),
            tmp_path,
            notify_yaml(ops.port, stages="{watch: [processor], down_after_s: 1.0}"),
        )
        await ensure_topics(settings.kafka, [settings.kafka.topics.raw])
        async with running(run_dispatcher, settings=settings):
            await wait_for(lambda: len(ops.received) >= 1, 30)
            await asyncio.sleep(1.0)
            assert titles(ops, "/ops") == ["wirewatch health: stage down: processor"]
            # A member of the processor's consumer group, as a worker would be.
            member = make_consumer(
                settings.kafka,
                settings.kafka.topics.raw.name,
                group_id=settings.processor.app_id,
                session_timeout_ms=6000,
                heartbeat_interval_ms=1000,
            )
            await member.start()
            try:
                await member.getmany(timeout_ms=3000)  # joins the group
                await wait_for(lambda: len(ops.received) >= 2, 30)
                await asyncio.sleep(1.0)
            finally:
                await member.stop()
    assert titles(ops, "/ops") == [
        "wirewatch health: stage down: processor",
        "wirewatch health: recovered: stage down: processor",
    ]


async def test_quiet_rules_arrive_in_one_digest(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: busy\n    query: a\n  - id: idle\n    query: b\n")
    async with sink() as ops:
        notify = notify_yaml(ops.port) + "  rules: {quiet_days: 0.0001, digest: every 1m}\n"
        settings = make_settings(kafka_bootstrap, unique_name("ww-health"), tmp_path, notify)
        settings = settings.model_copy(
            update={"processor": settings.processor.model_copy(update={"rules_file": rules})}
        )
        await ensure_topics(settings.kafka, [settings.kafka.topics.events])
        producer = make_producer(settings.kafka)
        await producer.start()
        try:
            async with running(run_dispatcher, settings=settings):
                # `busy` matches every second, `idle` never; 0.0001 days is 8.6 s.
                for n in range(150):
                    event = NewsEvent(
                        article=Article(id=f"e{n}", title="a"),
                        story_id=f"s{n}",
                        matched_rules=(RuleMatch(rule_id="busy"),),
                    )
                    await producer.send_and_wait(
                        settings.kafka.topics.events.name, event.to_bytes(), key=event.key
                    )
                    if ops.received:
                        break
                    await asyncio.sleep(1.0)
                await asyncio.sleep(1.0)
        finally:
            await producer.stop()
    (digest,) = ops.bodies("/ops")
    assert digest["title"] == "wirewatch health: 1 rule(s) without a match for 0.0001 days"
    assert "- idle: no match for" in digest["message"]
    assert "busy" not in digest["message"]
