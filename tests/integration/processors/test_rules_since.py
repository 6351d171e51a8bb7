"""``wirewatch rules test --since`` / ``--diff`` on the history of a real ``news.raw``.

A real ``wirewatch process`` worker handles a small news history first; the
backtest, run as the CLI afterwards over the same topic and rules file, must
report exactly the (rule, story) alerts the worker sent. ``--diff`` of a
narrowed rule must list exactly the stories the narrowing drops.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from processors.stories.clusterer import make_story_id
from tests.support import processor_env, produce_articles, spawn_stage, stop_stages
from wirewatch.events import AlertDecision, Article, utcnow
from wirewatch.kafka import ensure_topics
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

RULES = """version: 1
rules:
  - id: quakes
    query: earthquake* OR quake*
  - id: quakes-wide
    query: earthquake* OR quake*
    min_sources: 2
    followup_sources: 3
  - id: floods
    query: flood*
"""
# The narrowed edit: only quakes in Japan still alert.
NARROWED = RULES.replace(
    "  - id: quakes\n    query: earthquake* OR quake*\n",
    "  - id: quakes\n    query: (earthquake* OR quake*) AND japan\n",
)

STORIES = [
    # (first article id, outlets, title)
    ("jp", ["Wire A", "Wire B", "Wire C"], "Strong earthquake shakes northern Japan coast"),
    ("cl", ["Wire A", "Wire D"], "Earthquake of magnitude 6 hits central Chile mountains"),
    ("tr", ["Wire B"], "Quake damages old mosque in eastern Turkey village"),
    ("de", ["Wire C", "Wire D"], "Flood waters rise along the Rhine in Cologne"),
    ("tax", ["Wire A"], "Parliament debates the new budget for schools"),
]


def history() -> list[Article]:
    base = utcnow() - timedelta(minutes=30)
    articles = []
    for n, (first, outlets, title) in enumerate(STORIES):
        for k, outlet in enumerate(outlets):
            articles.append(
                Article(
                    id=first if k == 0 else f"{first}-{k}",
                    title=title if k == 0 else f"{title} ({outlet} report)",
                    source=outlet,
                    url=f"http://127.0.0.1:9/{first}/{k}",
                    published=base + timedelta(minutes=n * 3 + k),
                )
            )
    return articles


async def read_alerts(settings: Settings, want: int, timeout_s: float) -> list[AlertDecision]:
    consumer = AIOKafkaConsumer(
        settings.kafka.topics.alerts.name,
        bootstrap_servers=settings.kafka.bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    alerts: list[AlertDecision] = []
    try:
        deadline = time.monotonic() + timeout_s
        quiet_until = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                alerts += [AlertDecision.model_validate_json(r.value) for r in records]
            if len(alerts) >= want:
                # Wait a little longer: an alert too many must show up too.
                quiet_until = quiet_until or time.monotonic() + 3.0
                if time.monotonic() > quiet_until:
                    break
    finally:
        await consumer.stop()
    return alerts


def run_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "wirewatch", "rules", "test", *args, "--json", "--quiet"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def keys(alerts: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(a["rule"], a["story"], a["reason"]) for a in alerts}


async def test_since_reports_the_alerts_the_processor_sent_and_diff_lists_drops(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    namespace = unique_name("since")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    env = processor_env(kafka_bootstrap, namespace, rules, tmp_path)
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    await produce_articles(settings, history())

    # quakes: jp, cl, tr; quakes-wide: jp, cl (2 outlets) + jp follow-up (3); floods: de.
    expected = {
        ("quakes", make_story_id("jp"), "new_story"),
        ("quakes", make_story_id("cl"), "new_story"),
        ("quakes", make_story_id("tr"), "new_story"),
        ("quakes-wide", make_story_id("jp"), "new_story"),
        ("quakes-wide", make_story_id("cl"), "new_story"),
        ("quakes-wide", make_story_id("jp"), "followup"),
        ("floods", make_story_id("de"), "new_story"),
    }
    log = tmp_path / "processor.log"
    proc = spawn_stage("process", env, log)
    try:
        sent = await read_alerts(settings, len(expected), timeout_s=150)
    finally:
        stop_stages([proc], 30)
    sent_keys = {(a.rule.rule_id, a.story_id, a.reason) for a in sent}
    assert sent_keys == expected, log.read_text(errors="replace")[-3000:]

    doc = run_cli(env, str(rules), "--since", "2h")
    assert keys(doc["alerts"]) == sent_keys
    assert doc["articles"] == len(history())
    assert doc["rules"]["quakes"] == {"articles": 6, "stories": 3, "followups": 0}
    assert doc["rules"]["quakes-wide"] == {"articles": 6, "stories": 2, "followups": 1}

    # --diff: the narrowed file against the active one (env points at RULES).
    narrowed = tmp_path / "narrowed.yaml"
    narrowed.write_text(NARROWED, encoding="utf-8")
    diffed = run_cli(env, str(narrowed), "--since", "2h", "--diff")
    assert diffed["added"] == []
    assert {(a["rule"], a["story"]) for a in diffed["dropped"]} == {
        ("quakes", make_story_id("cl")),
        ("quakes", make_story_id("tr")),
    }
