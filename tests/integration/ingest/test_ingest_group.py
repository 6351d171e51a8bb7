"""Two ingest processes share feeds through the consumer group; one dies, the other takes over."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.partitioner import murmur2

from wirewatch.settings import IngestSettings, Settings

from .conftest import (
    FeedServer,
    RawReader,
    make_settings,
    read_states,
    rss,
    state_history,
    write_feeds,
    write_settings_yaml,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
FEEDS = 6  # = partitions of the feeds topic in make_settings


class Pollers:
    """Ingest pollers as real subprocesses (``python -m ingest``), cleaned up at the end."""

    def __init__(self, settings_file: Path, bootstrap: str, logs: Path) -> None:
        self.settings_file = settings_file
        self.bootstrap = bootstrap
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "WIREWATCH_SETTINGS": str(self.settings_file),
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "PYTHONPATH": str(REPO),
        }
        with (self.logs / f"{name}.log").open("wb") as log:
            # The child keeps its own copy of the log descriptor.
            proc = subprocess.Popen(
                [sys.executable, "-m", "ingest"], cwd=REPO, env=env, stdout=log, stderr=log
            )
        self.procs.append(proc)
        return proc

    def owner(self, proc: subprocess.Popen[bytes]) -> str:
        return f"{socket.gethostname()}:{proc.pid}"

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def pollers_factory(tmp_path: Path) -> Iterator[Callable[[Settings, str], Pollers]]:
    made: list[Pollers] = []

    def make(settings: Settings, bootstrap: str) -> Pollers:
        path = write_settings_yaml(tmp_path / "settings.yaml", settings)
        made.append(Pollers(path, bootstrap, tmp_path))
        return made[-1]

    yield make
    for pollers in made:
        pollers.close()


def spread_paths(server: FeedServer, partitions: int) -> list[str]:
    """One feed path per partition of the feeds topic, so that both pollers get feeds.

    Feed URLs carry a random port; left to chance, all of them can hash into one
    poller's partitions, and "sharing" would not be tested at all.
    """
    chosen: dict[int, str] = {}
    for n in range(10_000):
        path = f"/g{n}.xml"
        partition = (murmur2(server.url(path).encode()) & 0x7FFFFFFF) % partitions
        chosen.setdefault(partition, path)
        if len(chosen) == partitions:
            return [chosen[p] for p in sorted(chosen)]
    raise AssertionError("could not spread feeds over the partitions")


History = dict[str, list[Any]]


async def wait_for_history(
    settings: Settings, condition: Callable[[History], bool], timeout: float
) -> History:
    """Every state record per feed, once ``condition`` holds for them (polled, not slept)."""
    deadline = time.monotonic() + timeout
    while True:
        history = await state_history(settings)
        if condition(history) or time.monotonic() > deadline:
            return history
        await asyncio.sleep(0.3)


def since(history: History, start: float) -> History:
    return {
        url: [s for s in states if s.updated_at and s.updated_at.timestamp() >= start]
        for url, states in history.items()
    }


async def test_two_pollers_share_feeds_then_one_takes_over(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    feed_server: FeedServer,
    fast_ingest: IngestSettings,
    raw_reader_factory: Callable[[Settings], Awaitable[RawReader]],
    pollers_factory: Callable[[Settings, str], Pollers],
) -> None:
    paths = spread_paths(feed_server, FEEDS)
    urls = [feed_server.static(p, rss([(f"{p}-1", f"{p} first")])) for p in paths]
    feeds_file = write_feeds(tmp_path / "feeds.yaml", urls, interval=0.5)
    settings = make_settings(kafka_bootstrap, unique_name, feeds_file, fast_ingest)
    reader = await raw_reader_factory(settings)
    pollers = pollers_factory(settings, kafka_bootstrap)

    first = pollers.start("first")
    articles = await reader.wait_for(FEEDS, timeout=30)
    assert len(articles) == FEEDS
    second = pollers.start("second")

    both = {pollers.owner(first), pollers.owner(second)}

    def settled(history: History) -> bool:
        # Both processes poll, and each feed's last two polls came from one of them:
        # the rebalance that the second process's join started is over.
        last_two = [states[-2:] for states in history.values()]
        return (
            len(history) == FEEDS
            and all(len(two) == 2 and two[0].owner == two[1].owner for two in last_two)
            and {two[-1].owner for two in last_two} == both
        )

    assert settled(await wait_for_history(settings, settled, 30))
    window_start = time.time()
    # A window in which every feed is polled at least twice more.
    history = await wait_for_history(
        settings,
        lambda h: all(len(states) >= 2 for states in since(h, window_start).values()),
        15,
    )
    in_window = {u: {s.owner for s in states} for u, states in since(history, window_start).items()}
    assert set(in_window) == set(urls)
    # Each feed was polled by exactly one process in the window: none polled twice.
    assert all(len(o) == 1 for o in in_window.values()), in_window
    assert {o for owners_ in in_window.values() for o in owners_} == both

    # Kill the first poller outright; its feeds must move to the second.
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    for path in paths:
        feed_server.bodies[path] = rss(
            [(f"{path}-1", f"{path} first"), (f"{path}-2", f"{path} second")]
        )
    articles = await reader.wait_for(2 * FEEDS, timeout=30)
    took = time.monotonic() - killed_at
    assert len(articles) == 2 * FEEDS, [a.title for a in articles]
    print(f"takeover after kill: {took:.1f}s (session timeout 6s)")
    assert took < fast_ingest.session_timeout_ms / 1000 + 8
    # Reading on for a while is the check itself: no duplicate may arrive late.
    await reader.drain(2.0)
    assert reader.duplicates() == {}
    assert len(reader.articles) == 2 * FEEDS
    latest = await read_states(settings)
    assert {s.owner for s in latest.values()} == {pollers.owner(second)}
