"""Shared fixtures: a session-scoped real Kafka broker and unique names.

Kafka is never mocked. ``KAFKA_BOOTSTRAP`` points the suite at a running
broker; without it the project's own local broker is started once for the
session on spare ports and stopped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import broker_ports
from wirewatch.broker import LocalBroker
from wirewatch.settings import BrokerSettings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (soak scenarios) run only with WIREWATCH_SLOW=1."""
    if os.environ.get("WIREWATCH_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set WIREWATCH_SLOW=1 to run it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    existing = os.environ.get("KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    data_dir = tmp_path_factory.mktemp("kafka")
    broker = LocalBroker(BrokerSettings(**broker_ports(), data_dir=data_dir))
    broker.start()
    os.environ["KAFKA_BOOTSTRAP"] = broker.bootstrap
    try:
        yield broker.bootstrap
    finally:
        os.environ.pop("KAFKA_BOOTSTRAP", None)
        broker.stop()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Topic/group names private to one test, so tests never see each other's records."""

    def make(prefix: str) -> str:
        return f"{prefix}.{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
