"""Issue 13, row 3: a redirect to an internal address is refused before any connection.

Loopback only: the server listens on 127.0.0.1 (allowed) and redirects to
127.0.0.2 on the same port, where nothing listens; the policy must refuse
that hop without connecting. No packet leaves 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from typer.testing import CliRunner

from ingest.cli import feeds_app
from ingest.fetch import Fetcher
from wirewatch.settings import IngestSettings

FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    "<item><title>Loopback item</title><link>https://news.test/1</link></item></channel></rss>"
)


@dataclass
class Server:
    port: int = 0
    paths: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()

    async def feed(request: web.Request) -> web.StreamResponse:
        state.paths.append(request.path)
        return web.Response(text=FEED, content_type="application/rss+xml")

    async def to_other_loopback(request: web.Request) -> web.StreamResponse:
        state.paths.append(request.path)
        raise web.HTTPFound(state.url("/feed.xml", host="127.0.0.2"))

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/moved.xml", to_other_loopback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        await runner.cleanup()


def _settings() -> IngestSettings:
    return IngestSettings(total_timeout_s=5, allow_addresses=("127.0.0.1",))


async def test_redirect_to_other_loopback_address_is_refused(server: Server) -> None:
    async with Fetcher(_settings()) as fetcher:
        allowed = await fetcher.fetch(server.url("/feed.xml"))
        moved = await fetcher.fetch(server.url("/moved.xml"))
    assert allowed.status == 200 and b"Loopback item" in allowed.body
    assert not moved.ok and not moved.body
    assert moved.error.startswith(
        f"redirect to {server.url('/feed.xml', host='127.0.0.2')} refused: "
        "127.0.0.2 is a loopback address (127.0.0.0/8)"
    )
    assert server.paths == ["/feed.xml", "/moved.xml"]


async def test_loopback_is_refused_without_the_allow_list(server: Server) -> None:
    async with Fetcher(IngestSettings(total_timeout_s=5)) as fetcher:
        result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert server.paths == []


class _Names(AbstractResolver):
    """Name resolution without DNS: fixed loopback answers for made-up names."""

    table: ClassVar[dict[str, str]] = {"feeds.test": "127.0.0.1", "rebound.test": "127.0.0.2"}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.table[host]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


async def test_name_resolving_to_a_refused_address_is_not_connected(server: Server) -> None:
    async with Fetcher(_settings(), resolver=_Names()) as fetcher:
        by_name = await fetcher.fetch(server.url("/feed.xml", host="feeds.test"))
        rebound = await fetcher.fetch(server.url("/feed.xml", host="rebound.test"))
    assert by_name.status == 200
    assert rebound.error == (
        "refused: rebound.test resolves only to refused addresses: 127.0.0.2 is a loopback"
        " address (127.0.0.0/8); list it in ingest.allow_addresses to allow it"
    )
    assert server.paths == ["/feed.xml"]


async def test_feeds_check_says_why(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_INGEST__ALLOW_ADDRESSES", '["127.0.0.1"]')
    # In a thread: the command runs its own event loop while this one serves HTTP.
    result = await asyncio.to_thread(
        CliRunner().invoke, feeds_app, ["check", server.url("/moved.xml"), "--json"]
    )
    assert result.exit_code == 1
    (problem,) = json.loads(result.output)["problems"]
    assert "refused: 127.0.0.2 is a loopback address" in problem
    assert "ingest.allow_addresses" in problem
