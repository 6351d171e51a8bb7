"""Real loopback targets for the alert security tests: a raw HTTP sink and SMTP with AUTH.

The HTTP sink records every request (path, query, headers, body) whatever its content
type, and refuses with 500 the first ``fail_first`` requests per path and every request
whose body carries ``fail_marker``. The SMTP server wants AUTH LOGIN/PLAIN (over
plain text: it is loopback only) and refuses DATA the same way. Neither writes an
access log: the target's own logs are allowed to see the secrets, wirewatch's are not.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support import free_port
from wirewatch.kafka import make_consumer
from wirewatch.settings import Settings


@dataclass
class Request:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return f"{self.path}?{self.query} {self.headers} {self.body.decode(errors='replace')}"


@dataclass
class RawSink:
    port: int
    fail_first: int = 0
    fail_marker: str = ""
    delivered: list[Request] = field(default_factory=list)
    refused: list[Request] = field(default_factory=list)
    _seen: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: web.Request) -> web.Response:
        seen = Request(
            request.path, request.query_string, dict(request.headers), await request.read()
        )
        self._seen[request.path] += 1
        failing = self._seen[request.path] <= self.fail_first
        if failing or (self.fail_marker and self.fail_marker.encode() in seen.body):
            self.refused.append(seen)
            return web.Response(status=500, text="down")
        self.delivered.append(seen)
        return web.json_response({"ok": True})


async def start_raw_sink() -> tuple[RawSink, web.AppRunner]:
    """A RawSink listening on 127.0.0.1 (no access log); clean up the runner."""
    sink = RawSink(port=free_port())
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sink.port).start()
    return sink, runner


@dataclass
class AuthSmtp:
    port: int
    user: str
    password: str
    fail_first: int = 0
    fail_marker: str = ""
    logins: list[tuple[str, str]] = field(default_factory=list)
    delivered: list[bytes] = field(default_factory=list)
    refused: int = 0

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult

        login = (auth.login.decode(), auth.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == (self.user, self.password))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content)
        self.fail_first -= 1
        if self.fail_first >= 0 or (self.fail_marker and self.fail_marker.encode() in data):
            self.refused += 1
            return "451 try again later"
        self.delivered.append(data)
        return "250 OK"


def intercept_non_loopback(monkeypatch: Any, fail_first: int = 0) -> list[dict[str, Any]]:
    """Answer hooks.slack.com and discord.com in-process; refuse anything else off loopback.

    slack:// and discord:// always post to those hosts, and no test may send a packet
    outside 127.0.0.0/8, so their requests are answered here (the first ``fail_first``
    with HTTP 500) and returned for inspection; loopback requests go through for real.
    """
    import requests

    real = requests.api.request
    calls: list[dict[str, Any]] = []

    def guarded(method: str, url: str, **kwargs: Any) -> Any:
        if url.startswith("http://127.0.0.1:"):
            return real(method, url, **kwargs)
        assert url.startswith(("https://hooks.slack.com/", "https://discord.com/")), (
            f"refused off-loopback URL {url}"
        )
        calls.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code = 500 if len(calls) <= fail_first else 200
        # Slack's webhook answers "ok"; Discord's, JSON.
        response._content = b"ok" if "slack" in url else b"{}"
        return response

    monkeypatch.setattr(requests.api, "request", guarded)
    monkeypatch.setattr(requests, "request", guarded)
    return calls


async def read_namespace(settings: Settings, namespace: str) -> dict[str, list[bytes]]:
    """Every record (key and value bytes) of every topic whose name starts with ``namespace``."""
    from aiokafka import TopicPartition

    consumer = make_consumer(settings.kafka, group_id=None)
    await consumer.start()
    found: dict[str, list[bytes]] = {}
    try:
        cluster = await consumer._client.fetch_all_metadata()
        for topic in sorted(t for t in cluster.topics() if t.startswith(namespace)):
            tps = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            records: list[bytes] = []
            while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for msgs in batch.values():
                    records += [(m.key or b"") + b" " + (m.value or b"") for m in msgs]
            found[topic] = records
    finally:
        await consumer.stop()
    return found


async def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
