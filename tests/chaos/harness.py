"""A whole wirewatch stack for chaos tests: its own broker, feeds, target and processes.

Feeds reveal their entries over time (so faults land mid-stream), three hostile
feeds (garbage, a hang, an endless body) are always in the feed list, and a
json:// target on 127.0.0.1 records every delivery. The oracle is built into
the data: every story's copies are near-identical, and exactly the stories
with "wildfire" in the headline match the rule, so each must alert once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from alerts.dlq import list_dead_letters
from tests.support import free_port, spawn_stage
from wirewatch.events import NewsEvent, utcnow
from wirewatch.kafka import make_consumer, topic_partitions
from wirewatch.settings import KafkaSettings, Settings, load_settings

HEADLINES = [
    "Wildfire forces evacuation of 3,000 homes near Sacramento",
    "Central bank of Norway raises its key rate to 4.75 percent",
    "Wildfire in southern Greece reaches the outskirts of Kalamata",
    "Boeing delivers first 777X freighter to Qatar Airways",
    "Dutch court blocks expansion of Schiphol night flights",
    "Wildfire smoke closes schools across Alberta for a second day",
    "Kenya and Ethiopia sign Lake Turkana water-sharing treaty",
    "Record rainfall floods subway stations in Seoul",
    "Wildfire near Marseille destroys vineyards and two villages",
    "Volkswagen recalls 140,000 ID.4 cars over faulty door handles",
    "Chilean miners end 19-day strike at Escondida copper mine",
    "Wildfire crews contain blaze in Colorado's Boulder County",
    "Japan's parliament approves record defence budget",
    "Wildfire on Tenerife prompts evacuation of hillside towns",
    "Astronomers spot water vapour on a distant exoplanet",
    "Argentina lifts price controls on beef exports",
    "Wildfire outside Athens forces closure of the national road",
    "Indian cricket team names new captain for the England tour",
    "Danish shipping giant Maersk cuts 2,000 office jobs",
    "Wildfire threatens a nature reserve in eastern Australia",
    "Italian police seize 40 stolen paintings in Naples raid",
    "Canadian rail workers accept new four-year contract",
    "Brazil's Senate passes tax reform after decade of debate",
    "Scientists map the full genome of the axolotl",
]
OUTLETS = ["Alpha Wire", "Beta News", "Gamma Daily"]
RULES = """version: 1
rules:
  - id: wildfires
    name: Wildfires
    query: wildfire*
    notify: [chaos]
"""


def expected_entries() -> list[tuple[int, int]]:
    """(story, outlet) pairs: every story is carried by 1-3 outlets."""
    return [(s, o) for s in range(len(HEADLINES)) for o in range(len(OUTLETS)) if (s + o) % 4 != 3]


class FeedServer:
    """Each outlet's feed reveals its next entry every ``step_s`` seconds."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self.started = time.monotonic()
        self.runner: web.AppRunner | None = None
        self.port = free_port()

    def visible(self, outlet: int) -> list[int]:
        stories = [s for s, o in expected_entries() if o == outlet]
        shown = int((time.monotonic() - self.started) / self.step_s) + 1
        return stories[:shown]

    async def feed(self, request: web.Request) -> web.Response:
        outlet = int(request.match_info["n"])
        items = []
        for story in self.visible(outlet):
            title = HEADLINES[story]
            items.append(
                f"<item><title>{title}</title>"
                f"<link>https://outlet{outlet}.example/story/{story}</link>"
                f"<guid isPermaLink='false'>o{outlet}-s{story}</guid>"
                f"<pubDate>{format_datetime(utcnow())}</pubDate>"
                f"<description>{title}. Reported by {OUTLETS[outlet]}.</description></item>"
            )
        body = (
            f"<?xml version='1.0'?><rss version='2.0'><channel><title>{OUTLETS[outlet]}</title>"
            + "".join(items)
            + "</channel></rss>"
        )
        return web.Response(text=body, content_type="application/rss+xml")

    async def garbage(self, request: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * 64, content_type="application/rss+xml")

    async def hang(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        return web.Response(text="")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<rss><channel>" + b"x" * (1 << 20)
        for _ in range(2048):  # up to 2 GB unless the client hangs up, which it must
            await response.write(chunk)
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", self.feed)
        app.router.add_get("/garbage.xml", self.garbage)
        app.router.add_get("/hang.xml", self.hang)
        app.router.add_get("/huge.xml", self.huge)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class Target:
    """A json:// target that is down (HTTP 503) while ``down`` is set."""

    def __init__(self) -> None:
        self.down = False
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.runner: web.AppRunner | None = None
        self.port = free_port()

    async def hook(self, request: web.Request) -> web.Response:
        payload = await request.json()
        if self.down:
            self.refused += 1
            return web.Response(status=503)
        self.received.append(payload)
        return web.json_response({"ok": True})

    def per_headline(self) -> Counter[str]:
        text = [json.dumps(p) for p in self.received]
        return Counter(h for h in HEADLINES if "Wildfire" in h for t in text if h in t)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class Stack:
    def __init__(self, bootstrap: str, namespace: str, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.feeds = FeedServer(step_s=0.5)
        self.target = Target()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.rules = tmp / "rules.yaml"
        self.rules.write_text(RULES)
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": bootstrap,
            "WIREWATCH_KAFKA__NAMESPACE": namespace,
            "WIREWATCH_INGEST__FEEDS_FILE": str(tmp / "feeds.yaml"),
            "WIREWATCH_INGEST__TOTAL_TIMEOUT_S": "3",
            "WIREWATCH_INGEST__READ_TIMEOUT_S": "2",
            "WIREWATCH_INGEST__MAX_BODY_BYTES": str(4 << 20),
            "WIREWATCH_INGEST__MAX_BACKOFF_S": "5",
            # The feed server listens on loopback, which ingest refuses by default.
            "WIREWATCH_INGEST__ALLOW_ADDRESSES": '["127.0.0.1"]',
            "WIREWATCH_PROCESSOR__RULES_FILE": str(self.rules),
            "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / "faust"),
            "WIREWATCH_ALERTS__NOTIFY_FILE": str(tmp / "notify.yaml"),
            "WIREWATCH_ALERTS__JSONL_PATH": str(tmp / "alerts.jsonl"),
            "WIREWATCH_ALERTS__BACKOFF_BASE_S": "0.3",
            "WIREWATCH_ALERTS__BACKOFF_MAX_S": "2",
            "WIREWATCH_ALERTS__MAX_ATTEMPTS": "30",
            "WIREWATCH_METRICS__INGEST_PORT": "0",
            "WIREWATCH_METRICS__PROCESSOR_PORT": "0",
            "WIREWATCH_METRICS__DISPATCHER_PORT": "0",
            **env,
        }
        self.settings: Settings = load_settings(
            kafka=KafkaSettings(bootstrap=bootstrap, namespace=namespace)
        )

    def write_config(self) -> None:
        base = f"http://127.0.0.1:{self.feeds.port}"
        feeds = [
            f"  - url: {base}/feed/{i}.xml\n    name: {name}\n    interval: 1s"
            for i, name in enumerate(OUTLETS)
        ] + [f"  - url: {base}/{bad}.xml\n    interval: 2s" for bad in ("garbage", "hang", "huge")]
        (self.tmp / "feeds.yaml").write_text("version: 1\nfeeds:\n" + "\n".join(feeds) + "\n")
        (self.tmp / "notify.yaml").write_text(
            f'version: 1\nurls:\n  - "json://127.0.0.1:{self.target.port}/hook":\n'
            "      - tag: chaos\n"
        )

    async def start(self) -> None:
        await self.feeds.start()
        await self.target.start()
        self.write_config()
        for stage in ("process", "dispatch", "ingest"):
            self.spawn(stage)

    def spawn(self, stage: str, name: str = "") -> None:
        """Start ``wirewatch STAGE``; ``name`` tells a second process of one stage apart."""
        name = name or stage
        env = {**self.env, "WIREWATCH_PROCESSOR__STATE_DIR": str(self.tmp / f"faust-{name}")}
        self.procs[name] = spawn_stage(stage, env, self.tmp / f"{name}.log")

    def kill(self, stage: str) -> None:
        proc = self.procs[stage]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await self.feeds.stop()
        await self.target.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in self.tmp.glob("*.log")
        )

    async def article_events(self) -> list[NewsEvent]:
        topic = self.settings.kafka.topics.events.name
        partitions = await topic_partitions(self.settings.kafka, topic)
        if not partitions:
            return []
        consumer = make_consumer(self.settings.kafka, group_id=None)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            values: list[bytes] = []
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=1000)
                values += [r.value for records in batch.values() for r in records]
        finally:
            await consumer.stop()
        events = [NewsEvent.model_validate_json(v) for v in values]
        return [e for e in events if e.kind == "article"]

    async def wait_for(self, predicate: Callable[[], Any], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await predicate():
                return True
            await asyncio.sleep(1)
        return bool(await predicate())

    async def dead_lettered_wildfires(self) -> set[str]:
        """Wildfire headlines parked in the DLQ for a human (e.g. a send cut by a crash)."""
        letters = await list_dead_letters(self.settings)
        return {d.alert.article.title for d in letters if "Wildfire" in d.alert.article.title}

    async def settled(self) -> bool:
        """Every entry has an event and every wildfire story was delivered or dead-lettered.

        The same outcome the final check accepts: a legitimate dead letter settles too.
        """
        events = await self.article_events()
        wanted = {h for h in HEADLINES if "Wildfire" in h}
        if len({e.article.id for e in events}) < len(expected_entries()):
            return False
        handled = set(self.target.per_headline()) | await self.dead_lettered_wildfires()
        return handled >= wanted
