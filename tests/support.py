"""Plain helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiokafka.errors import GroupCoordinatorNotAvailableError
from prometheus_client.parser import text_string_to_metric_families

from wirewatch.events import Article
from wirewatch.kafka import group_lag, make_producer
from wirewatch.settings import Settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on right now.

    The sockets stay bound until all are chosen: two separate ``free_port()``
    calls can return the same port (a broker once got one port for both of its
    listeners).
    """
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def broker_ports() -> dict[str, int]:
    """A local broker's two listener ports, different and free: BrokerSettings keywords."""
    port, controller_port = free_ports(2)
    return {"port": port, "controller_port": controller_port}


def spawn_stage(stage: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run ``wirewatch STAGE`` as production does, appending its output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wirewatch", stage], env=env, stdout=out, stderr=out
        )


def stop_stages(procs: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM every stage first (they drain in parallel), then wait for each to exit."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout_s)


def processor_env(bootstrap: str, namespace: str, rules: Path, tmp: Path) -> dict[str, str]:
    """Environment for a ``wirewatch process`` worker of its own: namespace, rules, state."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "WIREWATCH_KAFKA__NAMESPACE": namespace,
        "WIREWATCH_PROCESSOR__RULES_FILE": str(rules),
        "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / "faust"),
        "WIREWATCH_ALERTS__NOTIFY_FILE": str(tmp / "no-notify.yaml"),
    }


async def produce_articles(settings: Settings, articles: list[Article]) -> None:
    """Produce ``articles`` to news.raw in order; return once the broker has them all."""
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        raw = settings.kafka.topics.raw.name
        sends = [await producer.send(raw, a.to_bytes(), key=a.key) for a in articles]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def scrape_metrics(port: int) -> dict[str, float]:
    """A stage's /metrics samples by name and labels, e.g. 'x_total{rule="a"}'."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def wait_until_committed(
    settings: Settings, timeout_s: float, poll_s: float = 0.5
) -> dict[tuple[str, int], int]:
    """Poll the processor group's lag until it has committed everything; return the last lag.

    Faust flushes its producer before each commit, so once the group has
    committed a record its events, alerts and table changelog writes are on
    the broker. An empty lag means no commit yet; callers assert on the result.
    """
    lag: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            lag = await group_lag(settings.kafka.bootstrap, settings.processor.app_id)
        except GroupCoordinatorNotAvailableError:
            lag = {}  # a fresh broker is still creating its offsets topic
        if lag and sum(lag.values()) == 0:
            break
        await asyncio.sleep(poll_s)
    return lag
