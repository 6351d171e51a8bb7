"""The whole pipeline on the real broker, with real servers on 127.0.0.1.

Demo feeds come from the bundled demo server; ingest, processor and
dispatcher run as the same subprocesses `wirewatch run` starts; alerts arrive
at a real SMTP server (aiosmtpd) and a real HTTP webhook server.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiosmtpd.controller import Controller

from tests.support import free_port, spawn_stage, stop_stages
from wirewatch.demo.server import start_demo_server

pytestmark = pytest.mark.integration

DEMO_TITLE = "Mexico sends 26 more captured cartel operatives to the U.S."


class SmtpInbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[SmtpInbox, int]]:
    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[list[dict[str, Any]], int]]:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield received, port
    finally:
        await runner.cleanup()


@pytest.fixture
async def demo_feeds() -> AsyncIterator[int]:
    port = free_port()
    runner = await start_demo_server(port)
    try:
        yield port
    finally:
        await runner.cleanup()


def rule_tags(rules_file: Path) -> set[str]:
    data = yaml.safe_load(rules_file.read_text())
    return {tag for rule in data["rules"] for tag in rule.get("notify", [])}


def write_config(
    tmp: Path, repo: Path, feeds_port: int, smtp_port: int, hook_port: int
) -> dict[str, str]:
    rules = tmp / "rules.yaml"
    rules.write_text((repo / "config" / "rules.yaml").read_text())
    tags = sorted(rule_tags(rules)) or ["newsroom"]
    (tmp / "feeds.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "feeds": [
                    {
                        "url": f"http://127.0.0.1:{feeds_port}/feeds/northern-ledger.xml",
                        "name": "Northern Ledger",
                    },
                    {
                        "url": f"http://127.0.0.1:{feeds_port}/feeds/harbor-post.xml",
                        "name": "Harbor Post",
                    },
                ],
            }
        )
    )
    email = (
        f"mailto://127.0.0.1:{smtp_port}?smtp=127.0.0.1&mode=insecure"
        "&from=wirewatch@example.com&to=desk@example.com"
    )
    (tmp / "notify.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "urls": [
                    {email: [{"tag": ",".join(tags)}]},
                    {f"json://127.0.0.1:{hook_port}/hook": [{"tag": ",".join(tags)}]},
                ],
            }
        )
    )
    return {
        "WIREWATCH_INGEST__FEEDS_FILE": str(tmp / "feeds.yaml"),
        # The feed server listens on loopback, which ingest refuses by default.
        "WIREWATCH_INGEST__ALLOW_ADDRESSES": '["127.0.0.1"]',
        "WIREWATCH_PROCESSOR__RULES_FILE": str(rules),
        "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / "faust"),
        "WIREWATCH_ALERTS__NOTIFY_FILE": str(tmp / "notify.yaml"),
        "WIREWATCH_ALERTS__JSONL_PATH": str(tmp / "alerts.jsonl"),
    }


async def wait_until(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.5)
    return bool(predicate())


def tail_events(env: dict[str, str]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "wirewatch", "tail", "--json", "--from-beginning",
         "--idle-exit", "3"],
        env=env, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]


async def test_demo_story_alerts_once_per_rule_and_copy_is_a_duplicate(
    kafka_bootstrap: str,
    unique_name: Any,
    tmp_path: Path,
    repo_root: Path,
    demo_feeds: int,
    smtp_inbox: tuple[SmtpInbox, int],
    webhook: tuple[list[dict[str, Any]], int],
) -> None:
    inbox, smtp_port = smtp_inbox
    posts, hook_port = webhook
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WIREWATCH_KAFKA__NAMESPACE": unique_name("e2e"),
        **write_config(tmp_path, repo_root, demo_feeds, smtp_port, hook_port),
    }
    procs = [spawn_stage(s, env, tmp_path / f"{s}.log") for s in ("process", "dispatch", "ingest")]
    try:
        got_all = await wait_until(lambda: len(inbox.messages) >= 2 and len(posts) >= 2, 120)
        logs = {p.name: p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log")}
        assert got_all, f"no alerts: mails={len(inbox.messages)} posts={len(posts)} {logs}"
        # Give a wrong second alert (from the near-identical copy) time to show up.
        await asyncio.sleep(8)
        events = tail_events(env)
        status = subprocess.run(
            [sys.executable, "-m", "wirewatch", "status"],
            env={**env, "COLUMNS": "200"}, capture_output=True, timeout=60, check=True,
        ).stdout.decode()  # fmt: skip
    finally:
        stop_stages(procs, 30)

    assert len(inbox.messages) == 2, logs
    assert len(posts) == 2, logs
    subjects = " ".join(str(m["Subject"]) for m in inbox.messages)
    assert "Mexico sends 26" in subjects
    assert all("Mexico sends 26" in json.dumps(p) for p in posts)

    articles = {e["article"]["id"]: e for e in events if e["kind"] == "article"}
    assert len(articles) == 7, [e["article"]["title"] for e in events]
    mexico = [e for e in articles.values() if "Mexico sends 26" in e["article"]["title"]]
    assert len(mexico) == 2
    first, copy = sorted(mexico, key=lambda e: e["duplicate_of"] is not None)
    assert copy["duplicate_of"] == first["article"]["id"]
    assert copy["story_id"] == first["story_id"]
    assert {m["rule_id"] for m in first["matched_rules"]} == {
        "cartel-extraditions",
        "tariff-threats",
    }
    assert all(e["rules_version"] for e in articles.values())
    others = [e for e in articles.values() if "Mexico sends 26" not in e["article"]["title"]]
    assert not any(e["matched_rules"] for e in others), [e["article"]["title"] for e in others]
    jsonl = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert len(jsonl) == 2
    # `wirewatch status`: both feeds, the version in force, the two alerts, an empty DLQ.
    assert "Northern Ledger" in status and "Harbor Post" in status
    assert f"last processed event used version {first['rules_version']}" in status
    assert status.count("Mexico sends 26") == 2
    assert "\n0 in " in status
    assert "\n0 poison record(s) in " in status
