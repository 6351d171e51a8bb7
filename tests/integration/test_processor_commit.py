"""After a worker has processed a backlog, its group's committed offset reaches the end.

Real broker, real Faust worker subprocess. Started on a backlog, Faust often
drops records right after the worker's first batch (see
processors.runtime.offset_guard); the worker reads them back, and Faust must then be
told they are done, or its commit stops before them for good: ``wirewatch
status`` would show that lag forever and every restart would process
everything since again.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import processor_env, produce_articles, spawn_stage
from wirewatch.events import Article, utcnow
from wirewatch.kafka import ensure_topics, group_lag
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

RULES = "version: 1\nrules:\n  - id: quake\n    name: Earthquakes\n    query: earthquake\n"
FIRST_RUN = 500
BACKLOG = 4000


async def test_commit_reaches_the_end_of_a_backlog(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    namespace = unique_name("commit")
    env = processor_env(kafka_bootstrap, namespace, rules, tmp_path)
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    # A first run leaves state in the changelogs: the restarted worker recovers
    # it, and that recovery is when Faust drops records.
    await produce_articles(settings, articles(0, FIRST_RUN))
    await run_until_committed(env, settings, tmp_path / "first.log")
    await produce_articles(settings, articles(FIRST_RUN, BACKLOG))
    text = await run_until_committed(env, settings, tmp_path / "second.log")
    # Whether Faust dropped records this time is up to timing; say so in the output.
    print("records Faust dropped and the worker read back:", "skipped offsets" in text)


def articles(start: int, end: int) -> list[Article]:
    now = utcnow()
    return [
        Article(id=f"b-{i}", title=f"Item {i} on subject {i % 97}", published=now)
        for i in range(start, end)
    ]


async def run_until_committed(env: dict[str, str], settings: Settings, log: Path) -> str:
    """Run a worker until its group has committed everything on its topics; return its log."""
    proc = spawn_stage("process", env, log)
    lag: dict[tuple[str, int], int] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lag = await group_lag(settings.kafka.bootstrap, settings.processor.app_id)
            if lag and sum(lag.values()) == 0:
                break
            await asyncio.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    text = log.read_text()
    assert lag and sum(lag.values()) == 0, (lag, text[-4000:])
    return text
