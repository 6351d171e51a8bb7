"""Pieces of bench/e2e.py: corpus, rules, window seeding, timed produce/consume, a hook."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.rules_bench import generate_rules, synthetic_vocab
from processors.stories.clusterer import StoryClusterer
from tests.support import free_port
from wirewatch.events import Article, utcnow
from wirewatch.kafka import ensure_topics, make_consumer, make_producer, topic_partitions
from wirewatch.settings import Settings, TopicSpec

SOURCES = [f"Outlet {i}" for i in range(60)]
PROBE = "benchprobe"


def synthetic_corpus(
    count: int, seed: int, prefix: str = "a", max_outlets: int = 8
) -> list[Article]:
    """News-like articles: stories of 1-8 outlets, titles ~10 words, summaries ~600 chars,
    bodies of ~600 words (about 4,000 characters, a typical news article's length)."""
    rng = random.Random(seed)
    vocab = synthetic_vocab(random.Random(1))
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    out: list[Article] = []
    now = utcnow()
    while len(out) < count:
        core = rng.choices(vocab[200:], k=10)
        body = rng.choices(vocab, weights, k=90)
        text = " ".join(body + rng.choices(vocab, weights, k=510))
        for outlet in rng.sample(SOURCES, rng.randint(1, max_outlets)):
            title = list(core)
            title[rng.randrange(len(title))] = rng.choice(vocab[200:])  # outlets re-title
            summary = " ".join(body[rng.randint(0, 5) :])[:600]
            out.append(
                Article(
                    id=f"{prefix}{len(out)}",
                    title=" ".join(title).capitalize(),
                    summary=summary,
                    body=text[rng.randint(0, 40) :],
                    source=outlet,
                    url=f"https://example.org/{prefix}{len(out)}",
                    published=now,
                    fetched_at=now,
                )
            )
            if len(out) == count:
                break
    return out


def probe_articles(count: int, seed: int) -> list[Article]:
    """Fresh stories, one in ten carrying the probe word a notify-routed rule watches."""
    articles = synthetic_corpus(count, seed, prefix="lat-")
    return [
        a.model_copy(update={"title": f"{PROBE} {a.title}"}) if i % 10 == 0 else a
        for i, a in enumerate(articles)
    ]


def write_rules(path: Path, count: int, seed: int) -> Path:
    rules = generate_rules(random.Random(seed), synthetic_vocab(random.Random(1)), count - 1)
    lines = ["version: 1", "rules:"]
    for rule in rules:
        lines += [f"  - id: {rule.id}", f"    query: {json.dumps(rule.query)}"]
    lines += [f"  - id: {PROBE}", f"    query: {PROBE}", "    notify: [bench]"]
    path.write_text("\n".join(lines) + "\n")
    return path


_WINDOW_CACHE: dict[tuple[int, int], dict[str, Any]] = {}


def window_state(size: int, seed: int) -> dict[str, Any]:
    """The dedup table after clustering ``size`` distinct stories with the pure core."""
    if (size, seed) not in _WINDOW_CACHE:
        clusterer = StoryClusterer()
        state: dict[str, Any] = {}
        start = utcnow() - timedelta(hours=1)
        for i, article in enumerate(synthetic_corpus(size, seed + 1000, prefix="w", max_outlets=1)):
            when = start + timedelta(milliseconds=i)
            verdict = clusterer.assign(article.model_copy(update={"published": when}), when)
            for key, value in verdict.state_updates:
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
        _WINDOW_CACHE[(size, seed)] = state
    return _WINDOW_CACHE[(size, seed)]


async def seed_window(settings: Settings, size: int, seed: int) -> int:
    """Write a full window into the processor's changelog; returns the story count."""
    state = window_state(size, seed)
    name = f"{settings.processor.app_id}-dedup-state-changelog"
    await ensure_topics(
        settings.kafka, [TopicSpec(name=name, retention_ms=-1, cleanup_policy="compact")]
    )
    producer = make_producer(settings.kafka, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = [
            await producer.send(name, json.dumps(v).encode(), key=json.dumps(k).encode())
            for k, v in state.items()
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    # Stories told by one outlet have no s: record; every entry names its story.
    return len({v["story"] for k, v in state.items() if k.startswith("a:")})


async def produce_all(
    settings: Settings, articles: list[Article], rate: float | None = None
) -> float:
    """Produce to news.raw (stamping fetched_at = now); returns the seconds it took."""
    producer = make_producer(settings.kafka, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = []
        for i, article in enumerate(articles):
            if rate is not None:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            stamped = article.model_copy(update={"fetched_at": utcnow()})
            futures.append(
                await producer.send(
                    settings.kafka.topics.raw.name, stamped.to_bytes(), key=stamped.key
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


@dataclass
class Consumed:
    stamps: list[float] = field(default_factory=list)  # wall-clock receive times
    values: list[bytes] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)  # distinct record keys among them

    @property
    def repeats(self) -> int:
        """Records whose key came before: at-least-once redeliveries (a rebalance)."""
        return len(self.values) - len(self.keys)


async def consume_until(
    settings: Settings,
    topic: str,
    count: int,
    timeout_s: float,
    kind: str | None = None,
    idle_s: float = 60.0,
    from_end: bool = False,
) -> Consumed:
    """Read ``topic`` from the start (or only what comes next) until ``count`` records with
    distinct keys (an article's events share its key), or a timeout.

    Latency probes read ``from_end``: reading a backlog of earlier events first
    delayed the probes' receive stamps by seconds and inflated the latency.
    """
    consumer = make_consumer(settings.kafka, *(() if from_end else (topic,)), group_id=None)
    await consumer.start()
    if from_end:
        tps = await topic_partitions(settings.kafka, topic)
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolve the end now, before probes are produced
    out = Consumed()
    needle = f'"kind":"{kind}"'.encode() if kind else b""
    deadline = time.monotonic() + timeout_s
    last_seen = time.monotonic()
    try:
        while len(out.keys) < count and time.monotonic() < deadline:
            if time.monotonic() - last_seen > idle_s:
                break  # nothing new for a while: report what arrived
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            if batch:
                last_seen = time.monotonic()
            now = time.time()
            for records in batch.values():
                for r in records:
                    if needle in r.value[:40]:
                        out.stamps.append(now)
                        out.values.append(r.value)
                        out.keys.add(r.key or b"")
    finally:
        await consumer.stop()
    return out


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


class HookServer:
    """A json:// target on 127.0.0.1 that accepts every POST."""

    def __init__(self) -> None:
        self.received = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        async def hook(request: web.Request) -> web.Response:
            await request.read()
            self.received += 1
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/hook", hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
