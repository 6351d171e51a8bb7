"""Chaos fixtures: a broker of the suite's own (it gets restarted), and a results table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import Stack
from tests.support import broker_ports
from wirewatch.broker import LocalBroker
from wirewatch.settings import BrokerSettings

RESULTS: list[str] = []


@pytest.fixture(scope="module")
def chaos_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    broker = LocalBroker(
        BrokerSettings(
            **broker_ports(),
            data_dir=tmp_path_factory.mktemp("chaos-kafka"),
        )
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def stack(
    chaos_broker: LocalBroker, unique_name: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[Stack]:
    running = Stack(chaos_broker.bootstrap, unique_name("chaos"), tmp_path)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def report() -> Callable[[str], None]:
    return RESULTS.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.section("chaos results")
        for line in RESULTS:
            terminalreporter.write_line(line)
