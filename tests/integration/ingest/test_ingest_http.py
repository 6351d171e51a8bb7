"""The fetcher and one poll step against a loopback HTTP server the test controls.

No Kafka here: these exercise HTTP behaviour (conditional GET, throttling,
timeouts, size cap, redirects, concurrency limits, hostile bodies) through the
same poll_feed the poller runs.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
from pathlib import Path

import pytest
from aiohttp import web

from ingest.cycle import PollResult, poll_feed
from ingest.feedlist import FeedSpec
from ingest.fetch import Fetcher
from ingest.state import FeedState
from wirewatch.settings import IngestSettings

from .conftest import FeedServer, Handler, rss

pytestmark = pytest.mark.integration

FEED = rss([("a1", "Alpha"), ("b2", "Beta")])


async def poll(spec: FeedSpec, state: FeedState, settings: IngestSettings) -> PollResult:
    async with Fetcher(settings) as fetcher:
        return await poll_feed(spec, state, fetcher, settings)


async def test_etag_gives_304_with_no_parse_and_no_articles(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    url = feed_server.static("/etag.xml", FEED, etag="yes")
    spec = FeedSpec(url=url)
    first = await poll(spec, FeedState(url=url), fast_ingest)
    assert len(first.articles) == 2 and first.state.etag
    second = await poll(spec, first.state, fast_ingest)
    assert second.fetch.status == 304
    assert second.parse is None and second.articles == []
    assert feed_server.requests[-1][1]["If-None-Match"] == first.state.etag
    # A changed body gets a new ETag and its new entry through.
    feed_server.bodies["/etag.xml"] = rss([("a1", "Alpha"), ("b2", "Beta"), ("c3", "Gamma")])
    third = await poll(spec, second.state, fast_ingest)
    assert [a.title for a in third.articles] == ["Gamma"]


async def test_last_modified_is_sent_back(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    stamp = "Mon, 02 Nov 2026 10:00:00 GMT"

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(text=FEED, headers={"Last-Modified": stamp})

    url = feed_server.route("/lm.xml", handler)
    first = await poll(FeedSpec(url=url), FeedState(url=url), fast_ingest)
    second = await poll(FeedSpec(url=url), first.state, fast_ingest)
    assert first.state.last_modified == stamp
    assert second.fetch.status == 304 and second.articles == []


async def test_retry_after_on_429_sets_next_poll(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "120"})

    url = feed_server.route("/busy.xml", handler)
    started = time.time()
    result = await poll(FeedSpec(url=url, interval=1), FeedState(url=url), fast_ingest)
    assert result.state.next_poll is not None
    wait = result.state.next_poll.timestamp() - started
    assert 119 <= wait <= 122
    assert result.state.last_error.startswith("HTTP 429")
    assert result.state.next_poll_reason.startswith("retry-after")


async def test_503_without_retry_after_backs_off_exponentially(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503)

    url = feed_server.route("/down.xml", handler)
    state = FeedState(url=url)
    waits = []
    for _ in range(4):
        result = await poll(FeedSpec(url=url, interval=10), state, fast_ingest)
        state = result.state
        assert state.next_poll is not None and state.last_poll is not None
        waits.append(round((state.next_poll - state.last_poll).total_seconds()))
    assert waits == [20, 40, 80, 160]
    assert state.consecutive_failures == 4


async def test_trickling_server_is_cut_off_by_total_timeout(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for byte in FEED.encode() * 100:
            await response.write(bytes([byte]))
            await asyncio.sleep(1.0)
        return response

    url = feed_server.route("/trickle.xml", handler)
    settings = fast_ingest.model_copy(update={"total_timeout_s": 2.5})
    started = time.monotonic()
    result = await poll(FeedSpec(url=url), FeedState(url=url), settings)
    assert time.monotonic() - started < 5
    assert result.state.last_error == "timed out after 2.5s (total)"
    assert result.state.consecutive_failures == 1


async def test_stalled_server_hits_read_timeout(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"<rss")
        await asyncio.sleep(10)
        return response

    url = feed_server.route("/stall.xml", handler)
    settings = fast_ingest.model_copy(update={"read_timeout_s": 0.5, "total_timeout_s": 8})
    started = time.monotonic()
    result = await poll(FeedSpec(url=url), FeedState(url=url), settings)
    assert time.monotonic() - started < 3
    assert result.state.last_error == "read timed out after 0.5s"


async def test_100_mb_stream_is_aborted_at_the_size_cap(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    chunk = b"<item><title>x</title></item>" * 2048  # ~60 KB

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to refuse early
        await response.prepare(request)
        sent = 0
        while sent < 100 * 1024 * 1024:
            await response.write(chunk)
            sent += len(chunk)
        return response

    url = feed_server.route("/huge.xml", handler)
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = await poll(FeedSpec(url=url), FeedState(url=url), fast_ingest)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert result.state.last_error == "response larger than 1048576 bytes (max_body_bytes)"
    assert peak < 16 * 1024 * 1024


async def test_declared_oversize_is_refused_before_reading(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * (2 * 1024 * 1024))

    url = feed_server.route("/big.xml", handler)
    result = await poll(FeedSpec(url=url), FeedState(url=url), fast_ingest)
    assert "larger than" in result.state.last_error


async def test_gzip_is_accepted_and_a_gzip_bomb_is_capped(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def small(request: web.Request) -> web.StreamResponse:
        assert "gzip" in request.headers.get("Accept-Encoding", "")
        return web.Response(body=gzip.compress(FEED.encode()), headers={"Content-Encoding": "gzip"})

    bomb = gzip.compress(b"<rss>" + b" " * (50 * 1024 * 1024))

    async def big(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    ok_url = feed_server.route("/gz.xml", small)
    bomb_url = feed_server.route("/bomb.gz", big)
    ok = await poll(FeedSpec(url=ok_url), FeedState(url=ok_url), fast_ingest)
    assert len(ok.articles) == 2
    capped = await poll(FeedSpec(url=bomb_url), FeedState(url=bomb_url), fast_ingest)
    assert "larger than" in capped.state.last_error


async def test_redirect_loop_and_too_many_redirects(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    def redirect(to: str, status: int = 302) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        return handler

    loop_url = feed_server.route("/loop-a", redirect("/loop-b"))
    feed_server.route("/loop-b", redirect("/loop-a"))
    for n in range(10):
        feed_server.route(f"/hop{n}", redirect(f"/hop{n + 1}"))
    loop = await poll(FeedSpec(url=loop_url), FeedState(url=loop_url), fast_ingest)
    assert loop.state.last_error == f"redirect loop at {feed_server.url('/loop-a')}"
    chain = await poll(
        FeedSpec(url=feed_server.url("/hop0")), FeedState(url=feed_server.url("/hop0")), fast_ingest
    )
    assert chain.state.last_error == "too many redirects (more than 5)"
    assert sum(1 for p, _h, _t in feed_server.requests if p.startswith("/hop")) == 6


async def test_permanent_redirect_is_followed_and_reported(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        return web.Response(status=301, headers={"Location": "/new.xml"})

    old = feed_server.route("/old.xml", moved)
    new = feed_server.static("/new.xml", FEED)
    result = await poll(FeedSpec(url=old), FeedState(url=old), fast_ingest)
    assert len(result.articles) == 2
    assert result.state.permanent_redirect == new
    assert all(a.feed_url == old for a in result.articles)


async def test_per_host_and_global_limits(fast_ingest: IngestSettings) -> None:
    from .conftest import start_server

    servers = [await start_server() for _ in range(3)]
    try:
        urls = []
        for server, _runner in servers:

            async def slow(request: web.Request) -> web.StreamResponse:
                await asyncio.sleep(0.3)
                return web.Response(text=FEED)

            urls += [server.route(f"/f{i}.xml", slow) for i in range(6)]
        settings = fast_ingest.model_copy(update={"per_host_concurrency": 2, "max_concurrency": 5})
        async with Fetcher(settings) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
        assert all(r.status == 200 for r in results)
        assert [s.max_active for s, _r in servers] == [2, 2, 2]
        # 18 fetches of 0.3 s at most 5 at a time (and 2 per host) take >= 4 rounds.
        assert max(r.elapsed_s for r in results) >= 0.3 * 3
    finally:
        for _server, runner in servers:
            await runner.cleanup()


async def test_global_limit_caps_total_concurrency(fast_ingest: IngestSettings) -> None:
    from .conftest import start_server

    servers = [await start_server() for _ in range(4)]
    active = 0
    peak = 0
    try:
        urls = []
        for server, _runner in servers:

            async def slow(request: web.Request) -> web.StreamResponse:
                nonlocal active, peak
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.2)
                active -= 1
                return web.Response(text=FEED)

            urls += [server.route(f"/g{i}.xml", slow) for i in range(3)]
        settings = fast_ingest.model_copy(update={"per_host_concurrency": 3, "max_concurrency": 4})
        async with Fetcher(settings) as fetcher:
            await asyncio.gather(*(fetcher.fetch(u) for u in urls))
        assert peak == 4
    finally:
        for _server, runner in servers:
            await runner.cleanup()


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://127.0.0.1/feed.xml", "scheme 'ftp' not allowed (http/https only)"),
        ("file:///etc/hostname", "file URLs are disabled (ingest.allow_file_urls)"),
    ],
)
async def test_only_http_schemes_by_default(
    url: str, error: str, fast_ingest: IngestSettings
) -> None:
    async with Fetcher(fast_ingest) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error == error


async def test_file_urls_when_allowed(tmp_path: Path, fast_ingest: IngestSettings) -> None:
    path = tmp_path / "local.xml"
    path.write_text(FEED)
    settings = fast_ingest.model_copy(update={"allow_file_urls": True})
    result = await poll(FeedSpec(url=path.as_uri()), FeedState(url=path.as_uri()), settings)
    assert len(result.articles) == 2


async def test_guid_changing_every_poll_does_not_flood(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    polls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal polls
        polls += 1
        entries = [(f"{n}-{polls}", f"Story {n}") for n in range(3)]
        # Links stay stable although the GUIDs do not.
        body = rss(entries)
        for n in range(3):
            body = body.replace(f"https://news.test/{n}-{polls}", f"https://news.test/story/{n}")
        return web.Response(text=body)

    url = feed_server.route("/churn.xml", handler)
    state = FeedState(url=url)
    produced = []
    for _ in range(5):
        result = await poll(FeedSpec(url=url), state, fast_ingest)
        produced += result.articles
        state = result.state
    assert polls == 5
    assert len(produced) == 3
    assert state.guids_untrusted


async def test_hostile_xml_over_http_is_bounded(
    feed_server: FeedServer, fast_ingest: IngestSettings
) -> None:
    levels = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{levels}'
        '<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>t</title>'
        "<item><title>&l9; &xxe;</title><link>https://news.test/x</link></item></channel></rss>"
    )
    url = feed_server.static("/bomb.xml", bomb)
    started = time.monotonic()
    result = await poll(FeedSpec(url=url), FeedState(url=url), fast_ingest)
    assert time.monotonic() - started < 1.5
    assert any(p.startswith("dtd: internal subset refused") for p in result.state.problems)
    assert all(len(a.title) < 100 and "root:" not in a.title for a in result.articles)


async def test_refused_connection_is_a_recorded_failure(fast_ingest: IngestSettings) -> None:
    from .conftest import start_server

    server, runner = await start_server()
    url = server.url("/closed.xml")
    await runner.cleanup()  # nothing listens on that port any more
    result = await poll(FeedSpec(url=url), FeedState(url=url), fast_ingest)
    assert result.state.last_error.startswith("ClientConnectorError")
    assert result.state.consecutive_failures == 1
