"""``wirewatch run``: the whole service on an embedded default, in one terminal.

Starts the local broker (unless KAFKA_BOOTSTRAP points elsewhere), creates the
topics, serves the bundled demo feeds on 127.0.0.1, then runs ingest, one
processor worker and the dispatcher as child processes so that each keeps its
own event loop, exactly as they run in production. Ctrl-C (or SIGTERM) stops
the children gracefully, then the broker it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys

from wirewatch.broker import BrokerError, LocalBroker
from wirewatch.kafka import ensure_topics
from wirewatch.settings import Settings, load_settings

log = logging.getLogger("wirewatch.run")

DEMO_PORT = int(os.environ.get("WIREWATCH_DEMO_PORT", "8765"))
STAGES = ("process", "dispatch", "ingest")


def run_all(demo: bool = True) -> None:
    settings = load_settings()
    broker = None
    if not os.environ.get("KAFKA_BOOTSTRAP"):
        broker = LocalBroker(settings.broker)
        log.info("starting the local Kafka broker (first run resolves its jars with Maven)")
        try:
            broker.start()
        except BrokerError as exc:
            log.error("%s", exc)
            raise SystemExit(1) from exc
        log.info("Kafka is up at %s", broker.bootstrap)
        # The stages (child processes) and this process talk to the broker just started.
        os.environ["KAFKA_BOOTSTRAP"] = broker.bootstrap
        settings = load_settings()
    try:
        asyncio.run(_run(settings, demo))
    except KeyboardInterrupt:
        pass
    finally:
        if broker is not None:
            log.info("stopping the local Kafka broker")
            broker.stop()


async def _run(settings: Settings, demo: bool) -> None:
    await ensure_topics(settings.kafka)
    runner = None
    if demo:
        from wirewatch.demo.server import start_demo_server

        runner = await start_demo_server(DEMO_PORT)
        log.info("demo feeds at http://127.0.0.1:%d/feeds/", DEMO_PORT)
        # The ingest child polls the demo server on loopback, which it refuses by default.
        allowed = [*settings.ingest.allow_addresses, "127.0.0.1"]
        os.environ["WIREWATCH_INGEST__ALLOW_ADDRESSES"] = json.dumps(allowed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    children = [_spawn(stage) for stage in STAGES]
    log.info(
        "running; alerts print here and are appended to %s. Ctrl-C stops everything.",
        settings.alerts.jsonl_path,
    )
    try:
        while not stop.is_set():
            for name, proc in zip(STAGES, children, strict=True):
                if proc.poll() is not None:
                    log.error("%s exited with code %s; stopping", name, proc.returncode)
                    stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        # Reverse start order: ingest stops producing first, the dispatcher last.
        for proc in reversed(children):
            _terminate(proc)
        if runner is not None:
            await runner.cleanup()


def _spawn(stage: str) -> subprocess.Popen[bytes]:
    # Own process group: the terminal's Ctrl-C reaches us, and we stop children in order.
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "wirewatch", stage], start_new_session=True
    )


def _terminate(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
