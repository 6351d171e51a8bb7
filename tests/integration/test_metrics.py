"""Every process serves Prometheus /metrics on 127.0.0.1 with the wirewatch figures."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.support import free_port, scrape_metrics, spawn_stage, stop_stages
from wirewatch.demo.server import start_demo_server

pytestmark = pytest.mark.integration


async def test_ingest_and_processor_metrics(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path, repo_root: Path
) -> None:
    feeds_port, ingest_port, processor_port = free_port(), free_port(), free_port()
    runner = await start_demo_server(feeds_port)
    base = f"http://127.0.0.1:{feeds_port}/feeds"
    (tmp_path / "feeds.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "feeds": [
                    {"url": f"{base}/northern-ledger.xml", "name": "Northern Ledger"},
                    {"url": f"{base}/harbor-post.xml", "name": "Harbor Post"},
                ],
            }
        )
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WIREWATCH_KAFKA__NAMESPACE": unique_name("metrics"),
        "WIREWATCH_INGEST__FEEDS_FILE": str(tmp_path / "feeds.yaml"),
        # The feed server listens on loopback, which ingest refuses by default.
        "WIREWATCH_INGEST__ALLOW_ADDRESSES": '["127.0.0.1"]',
        "WIREWATCH_PROCESSOR__RULES_FILE": str(repo_root / "config" / "rules.yaml"),
        "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp_path / "faust"),
        "WIREWATCH_ALERTS__NOTIFY_FILE": str(tmp_path / "none.yaml"),
        "WIREWATCH_METRICS__INGEST_PORT": str(ingest_port),
        "WIREWATCH_METRICS__PROCESSOR_PORT": str(processor_port),
    }
    procs = [spawn_stage(s, env, tmp_path / f"{s}.log") for s in ("process", "ingest")]
    ingest: dict[str, float] = {}
    processor: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            try:
                ingest, processor = (
                    await scrape_metrics(ingest_port),
                    await scrape_metrics(processor_port),
                )
            except aiohttp.ClientError:
                continue
            if processor.get("wirewatch_articles_processed_total", 0) >= 7:
                break
    finally:
        stop_stages(procs, 30)
        await runner.cleanup()
    logs = [p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log")]
    assert ingest.get("wirewatch_articles_produced_total") == 7, logs
    assert ingest.get('wirewatch_feed_polls_total{status_class="2xx"}', 0) >= 2
    assert processor.get("wirewatch_articles_processed_total") == 7, logs
    assert processor.get("wirewatch_duplicates_total") == 1
    assert processor.get('wirewatch_rule_matches_total{rule="cartel-extraditions"}', 0) >= 1
    assert processor.get('wirewatch_alert_decisions_total{reason="new_story"}') == 2
    assert processor.get("wirewatch_processing_latency_seconds_count") == 7
