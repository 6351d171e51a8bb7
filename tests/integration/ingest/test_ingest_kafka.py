"""run_pollers against the real broker: prompt first poll, produce once, restart without repeats."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ingest.feedlist import FeedListError
from ingest.poller import run_pollers
from wirewatch.settings import IngestSettings, Settings

from .conftest import (
    FeedServer,
    RawReader,
    make_settings,
    read_states,
    rss,
    wait_until,
    write_feeds,
)

pytestmark = pytest.mark.integration

ReaderFactory = Callable[[Settings], Awaitable[RawReader]]


async def test_each_entry_is_produced_once_promptly(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    feed_server: FeedServer,
    fast_ingest: IngestSettings,
    raw_reader_factory: ReaderFactory,
) -> None:
    a = feed_server.static("/a.xml", rss([("a1", "A one"), ("a2", "A two")]), etag="yes")
    b = feed_server.static("/b.xml", rss([("b1", "B one")]))  # no ETag: dedup by memory
    feeds_file = write_feeds(tmp_path / "feeds.yaml", [a, b], interval=300)
    settings = make_settings(kafka_bootstrap, unique_name, feeds_file, fast_ingest)
    reader = await raw_reader_factory(settings)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(run_pollers(settings, stop=stop))
    try:
        articles = await reader.wait_for(3, timeout=20)
        # First poll at start, not after the (300 s) interval.
        assert len(articles) == 3, [a.title for a in articles]
        assert time.monotonic() - started < 15
        assert {a.title for a in articles} == {"A one", "A two", "B one"}
        assert {x.feed_url for x in articles} == {a, b}
        assert all(x.source == "Test feed" and x.summary.startswith("About") for x in articles)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    states = await read_states(settings)
    assert set(states) == {a, b}
    assert states[a].etag and states[a].produced_total == 2
    assert states[b].next_poll is not None and states[b].last_success is not None


async def test_restart_does_not_reproduce_and_edits_come_through_as_updates(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    feed_server: FeedServer,
    fast_ingest: IngestSettings,
    raw_reader_factory: ReaderFactory,
) -> None:
    body = rss([("r1", "Restart one"), ("r2", "Restart two")])
    url = feed_server.static("/r.xml", body)  # always 200: only the saved memory prevents repeats
    feeds_file = write_feeds(tmp_path / "feeds.yaml", [url], interval=0.5)
    settings = make_settings(kafka_bootstrap, unique_name, feeds_file, fast_ingest)
    reader = await raw_reader_factory(settings)

    for run in range(2):
        stop = asyncio.Event()
        before = feed_server.count("/r.xml")

        def polled_thrice(before: int = before) -> bool:
            return feed_server.count("/r.xml") >= before + 3

        task = asyncio.create_task(run_pollers(settings, stop=stop))
        try:
            # Several polls per run, each returning the same two entries.
            assert await wait_until(polled_thrice, 20)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
        articles = await reader.drain(1.0)
        assert len(articles) == 2, f"run {run}: {[a.title for a in articles]}"

    # An edit after the restart is produced again, as an update with the same id.
    feed_server.bodies["/r.xml"] = body.replace("About Restart one", "About Restart one, updated")
    stop = asyncio.Event()
    task = asyncio.create_task(run_pollers(settings, stop=stop))
    try:
        articles = await reader.wait_for(3, timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert len(articles) == 3
    update = articles[-1]
    assert update.is_update and update.id == articles[0].id
    assert update.summary == "About Restart one, updated"
    assert reader.duplicates() == {}


async def test_invalid_feeds_file_refuses_to_start(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    fast_ingest: IngestSettings,
) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("version: 1\nfeeds:\n  - url: gopher://x/\n")
    settings = make_settings(kafka_bootstrap, unique_name, feeds_file, fast_ingest)
    with pytest.raises(FeedListError) as info:
        await run_pollers(settings, stop=asyncio.Event())
    assert info.value.errors[0].startswith(f"{feeds_file}:3:")


async def test_feeds_file_edits_are_picked_up_while_running(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    feed_server: FeedServer,
    fast_ingest: IngestSettings,
    raw_reader_factory: ReaderFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = feed_server.static("/e1.xml", rss([("e1", "Edit one")]))
    second = feed_server.static("/e2.xml", rss([("e2", "Edit two")]))
    feeds_file = write_feeds(tmp_path / "feeds.yaml", [first], interval=0.5)
    settings = make_settings(kafka_bootstrap, unique_name, feeds_file, fast_ingest)
    reader = await raw_reader_factory(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_pollers(settings, stop=stop))
    try:
        assert len(await reader.wait_for(1, timeout=20)) == 1
        # An invalid edit that names the second feed: the whole edit is refused, so the
        # second feed is not polled and the first one goes on being polled.
        with caplog.at_level(logging.ERROR, logger="ingest.poller"):
            feeds_file.write_text(f"version: 1\nfeeds: [{{url: '{second}'}}, {{url: nope}}]\n")
            assert await wait_until(
                lambda: any("keeping the last good list" in r.message for r in caplog.records),
                10,
            )
        polled = feed_server.count("/e1.xml")
        assert await wait_until(lambda: feed_server.count("/e1.xml") >= polled + 2, 10)
        assert feed_server.count("/e2.xml") == 0
        write_feeds(feeds_file, [second], interval=0.5)
        articles = await reader.wait_for(2, timeout=20)
        assert [a.title for a in articles] == ["Edit one", "Edit two"]
        # The reload is in force once the new feed is polled again; a poll of the removed
        # feed in flight then has long finished (this server answers at once).
        assert await wait_until(lambda: feed_server.count("/e2.xml") >= 2, 10)
        polled = feed_server.count("/e1.xml")
        await asyncio.sleep(1.5)  # the check itself: 3 intervals in which e1 must not be polled
        assert feed_server.count("/e1.xml") == polled
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
