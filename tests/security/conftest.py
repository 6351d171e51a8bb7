"""Fixtures of the security tests: real loopback targets (see alert_servers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.security.alert_servers import AuthSmtp, RawSink, start_raw_sink
from tests.support import free_port


@pytest.fixture
async def raw_sink() -> AsyncIterator[RawSink]:
    sink, runner = await start_raw_sink()
    try:
        yield sink
    finally:
        await runner.cleanup()


@pytest.fixture
def auth_smtp() -> Iterator[AuthSmtp]:
    from aiosmtpd.controller import Controller

    sink = AuthSmtp(port=free_port(), user="wwuser", password="wwsecret-smtp-pass")
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=sink.port,
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
