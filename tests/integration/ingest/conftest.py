"""Loopback feed server, settings with private topics, and a raw-topic reader for ingest tests."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from wirewatch.events import Article
from wirewatch.kafka import make_consumer, make_producer
from wirewatch.settings import IngestSettings, KafkaSettings, Settings, Topics, TopicSpec

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def rss(entries: list[tuple[str, str]], title: str = "Test feed", extra: str = "") -> str:
    """RSS 2.0 with one item per (guid, title); links derive from the guid."""
    items = "".join(
        f"<item><title>{t}</title><link>https://news.test/{g}?utm_source=rss</link>"
        f"<guid isPermaLink='false'>{g}</guid><description>&lt;p&gt;About {t}&lt;/p&gt;"
        "</description><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
        for g, t in entries
    )
    channel = f"<title>{title}</title>{extra}{items}"
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}</channel></rss>'


@dataclass
class FeedServer:
    """An aiohttp server on 127.0.0.1 whose routes each test sets; it records every request."""

    base: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    active: int = 0
    max_active: int = 0

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def static(self, path: str, body: str, etag: str | None = None) -> str:
        """A feed whose body the test may change through ``self.bodies``."""
        self.bodies[path] = body

        async def handler(request: web.Request) -> web.StreamResponse:
            current = self.bodies[path]
            tag = f'"{hash(current) & 0xFFFFFFFF:x}"' if etag is not None else None
            if tag and request.headers.get("If-None-Match") == tag:
                return web.Response(status=304, headers={"ETag": tag})
            headers = {"ETag": tag} if tag else {}
            return web.Response(text=current, content_type="application/rss+xml", headers=headers)

        return self.route(path, handler)

    def count(self, path: str) -> int:
        return sum(1 for p, _h, _t in self.requests if p == path)

    bodies: dict[str, str] = field(default_factory=dict)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.headers), time.monotonic()))
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await handler(request)
        finally:
            self.active -= 1


async def start_server() -> tuple[FeedServer, web.AppRunner]:
    server = FeedServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.dispatch)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base = f"http://127.0.0.1:{port}"
    return server, runner


@pytest_asyncio.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server, runner = await start_server()
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def allow_loopback_feeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands and subprocesses that read settings from the environment may poll the
    loopback feed servers of these tests (ingest refuses loopback by default)."""
    monkeypatch.setenv("WIREWATCH_INGEST__ALLOW_ADDRESSES", '["127.0.0.1"]')


@pytest.fixture
def fast_ingest() -> IngestSettings:
    """Ingest settings scaled down so that a test sees many polls in a few seconds."""
    return IngestSettings(
        default_interval_s=0.5,
        jitter=0.0,
        connect_timeout_s=2.0,
        read_timeout_s=2.0,
        total_timeout_s=3.0,
        max_body_bytes=1024 * 1024,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        # The feed servers of these tests listen here; loopback is refused by default.
        allow_addresses=("127.0.0.1",),
    )


def make_settings(
    bootstrap: str, unique_name: Callable[[str], str], feeds_file: Path, ingest: IngestSettings
) -> Settings:
    topics = Topics(
        raw=TopicSpec(name=unique_name("test.ingest.raw")),
        ingest_state=TopicSpec(
            name=unique_name("test.ingest.state"), retention_ms=-1, cleanup_policy="compact"
        ),
        feeds=TopicSpec(
            name=unique_name("test.ingest.feeds"),
            partitions=6,
            retention_ms=-1,
            cleanup_policy="compact",
        ),
    )
    ingest = ingest.model_copy(
        update={"feeds_file": feeds_file, "group_id": unique_name("test-ingest")}
    )
    return Settings(kafka=KafkaSettings(bootstrap=bootstrap, topics=topics), ingest=ingest)


def write_feeds(path: Path, urls: list[str], interval: float = 0.5) -> Path:
    feeds = [{"url": u, "interval": interval} for u in urls]
    path.write_text(yaml.safe_dump({"version": 1, "feeds": feeds}))
    return path


def write_settings_yaml(path: Path, settings: Settings) -> Path:
    """The same settings as a YAML file, for a poller started as a subprocess."""
    # Unset fields left out: a settings file may not even name a secret (sasl_password).
    data: dict[str, Any] = settings.model_dump(
        mode="json", include={"kafka", "ingest"}, exclude_none=True
    )
    path.write_text(yaml.safe_dump(data))
    return path


class RawReader:
    """Reads everything produced to the raw topic (from the beginning) and counts ids."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.articles: list[Article] = []
        self._consumer = make_consumer(
            settings.kafka, settings.kafka.topics.raw.name, group_id=None
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def drain(self, seconds: float) -> list[Article]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._read(200)
        return self.articles

    async def wait_for(self, count: int, timeout: float) -> list[Article]:
        deadline = time.monotonic() + timeout
        while len(self.articles) < count and time.monotonic() < deadline:
            await self._read(200)
        return self.articles

    async def _read(self, timeout_ms: int) -> None:
        batch = await self._consumer.getmany(timeout_ms=timeout_ms)
        for records in batch.values():
            for record in records:
                article = Article.model_validate_json(record.value)
                assert record.key == article.key
                self.articles.append(article)

    def duplicates(self) -> dict[str, int]:
        counts = Counter((a.id, a.content_hash) for a in self.articles)
        return {f"{k[0]}@{k[1]}": n for k, n in counts.items() if n > 1}


@pytest_asyncio.fixture
async def raw_reader_factory() -> AsyncIterator[Callable[[Settings], Awaitable[RawReader]]]:
    readers: list[RawReader] = []

    async def make(settings: Settings) -> RawReader:
        from wirewatch.kafka import ensure_topics

        await ensure_topics(settings.kafka, [settings.kafka.topics.raw])
        reader = RawReader(settings)
        await reader.start()
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        await reader.stop()


async def read_states(settings: Settings) -> dict[str, Any]:
    """Latest state record per feed, as JSON dicts."""
    from ingest.state import FeedState
    from ingest.store import read_compacted

    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        raw = await read_compacted(
            settings.kafka, producer, settings.kafka.topics.ingest_state.name
        )
    finally:
        await producer.stop()
    return {u: FeedState.model_validate_json(v) for u, v in raw.items() if v is not None}


async def state_history(settings: Settings) -> dict[str, list[Any]]:
    """Every state record written before the call, per feed, oldest first."""
    from aiokafka import TopicPartition

    from ingest.state import FeedState

    topic = settings.kafka.topics.ingest_state.name
    consumer = make_consumer(settings.kafka, group_id=None)
    await consumer.start()
    history: dict[str, list[Any]] = defaultdict(list)
    try:
        tp = TopicPartition(topic, 0)  # the state topic has one partition
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500)
            for record in batch.get(tp, []):
                if record.offset < end and record.value is not None:
                    state = FeedState.model_validate_json(record.value)
                    history[record.key.decode()].append(state)
    finally:
        await consumer.stop()
    return history


async def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()
