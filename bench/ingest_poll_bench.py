"""Poll throughput against a loopback server (no Kafka): full fetch+parse, then 304s.

    python bench/ingest_poll_bench.py [--feeds 300] [--entries 25]

Prints polls/s and entries/s for ``poll_feed`` on a first round (200, parse,
normalise, select) and a second round (conditional GET answered 304), and a
baseline measured in the same run: a bare aiohttp GET of the same URLs with the
same concurrency and no parsing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.cycle import poll_feed
from ingest.feedlist import FeedSpec
from ingest.fetch import Fetcher
from ingest.state import FeedState
from wirewatch.settings import IngestSettings


def make_feed(n: int, entries: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} story {i} about the harbour</title>"
        f"<link>https://news.test/{n}/{i}?utm_source=rss</link><guid>{n}-{i}</guid>"
        f"<description>&lt;p&gt;Paragraph &lt;b&gt;{i}&lt;/b&gt; of a story with some "
        "words in it.&lt;/p&gt;</description>"
        "<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
        for i in range(entries)
    )
    return f'<rss version="2.0"><channel><title>Feed {n}</title>{items}</channel></rss>'.encode()


async def serve(feeds: int, entries: int) -> tuple[web.AppRunner, str]:
    bodies = {f"/f{n}.xml": make_feed(n, entries) for n in range(feeds)}

    async def handler(request: web.Request) -> web.StreamResponse:
        etag = f'"{request.path}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=bodies[request.path], headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def main(feeds: int, entries: int) -> None:
    runner, base = await serve(feeds, entries)
    settings = IngestSettings(
        per_host_concurrency=20, max_concurrency=20, allow_addresses=("127.0.0.1",)
    )
    specs = [FeedSpec(url=f"{base}/f{n}.xml") for n in range(feeds)]
    try:
        async with Fetcher(settings) as fetcher:
            started = time.perf_counter()
            first = await asyncio.gather(
                *(poll_feed(s, FeedState(url=s.url), fetcher, settings) for s in specs)
            )
            full = time.perf_counter() - started
            started = time.perf_counter()
            second = await asyncio.gather(
                *(
                    poll_feed(s, r.state, fetcher, settings)
                    for s, r in zip(specs, first, strict=True)
                )
            )
            cond = time.perf_counter() - started
        produced = sum(len(r.articles) for r in first)
        assert all(r.fetch.status == 304 and not r.articles for r in second)

        limit = asyncio.Semaphore(20)
        async with aiohttp.ClientSession() as session:

            async def get(url: str) -> int:
                async with limit, session.get(url) as resp:
                    return len(await resp.read())

            started = time.perf_counter()
            await asyncio.gather(*(get(s.url) for s in specs))
            raw = time.perf_counter() - started
    finally:
        await runner.cleanup()

    print(f"{feeds} feeds x {entries} entries, concurrency 20, loopback server in-process")
    print(f"poll_feed 200 + parse   {feeds / full:8.1f} polls/s  {produced / full:9.0f} entries/s")
    print(f"poll_feed 304           {feeds / cond:8.1f} polls/s")
    print(f"baseline bare GET       {feeds / raw:8.1f} polls/s  (no parse, no state)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--entries", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(main(args.feeds, args.entries))
