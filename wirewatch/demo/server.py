"""A tiny HTTP server for the demo feeds (and for tests that need a feed server).

Dates in the bundled feeds are written as ``__MINUTES_AGO_n__`` (RFC 822) or
``__ISO_MINUTES_AGO_n__`` (ISO 8601) and filled in per request, so the demo
story is always fresh enough to fall inside the clustering window.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

from wirewatch.events import utcnow

FEEDS_DIR = Path(__file__).with_name("feeds")
_PLACEHOLDER = re.compile(rb"__(ISO_)?MINUTES_AGO_(\d+)__")


def render_feed(raw: bytes) -> bytes:
    """Fill the date placeholders relative to now."""
    now = utcnow()

    def fill(match: re.Match[bytes]) -> bytes:
        when = now - timedelta(minutes=int(match.group(2)))
        text = when.isoformat() if match.group(1) else format_datetime(when)
        return text.encode()

    return _PLACEHOLDER.sub(fill, raw)


def make_app(feeds_dir: Path = FEEDS_DIR) -> web.Application:
    async def serve_feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = (feeds_dir / name).resolve()
        if path.parent != feeds_dir.resolve() or not path.is_file():
            raise web.HTTPNotFound()
        kind = (
            "application/atom+xml" if b"<feed" in path.read_bytes()[:400] else "application/rss+xml"
        )
        return web.Response(body=render_feed(path.read_bytes()), content_type=kind)

    app = web.Application()
    app.router.add_get("/feeds/{name}", serve_feed)
    return app


async def start_demo_server(port: int, feeds_dir: Path = FEEDS_DIR) -> web.AppRunner:
    """Serve ``feeds_dir`` at http://127.0.0.1:<port>/feeds/<file>; caller cleans up."""
    runner = web.AppRunner(make_app(feeds_dir), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner
