"""kill -9 of a dispatcher subprocess mid-send, then restart: still one delivery each."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from alerts.dlq import list_dead_letters
from alerts.state import read_table
from wirewatch.events import SentRecord
from wirewatch.notify_config import load_notify_config
from wirewatch.settings import Settings

from .conftest import WebhookSink, make_alert, produce, wait_for

pytestmark = pytest.mark.integration


async def start_dispatcher(
    settings: Settings, tmp_path: Path, repo_root: Path
) -> asyncio.subprocess.Process:
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(
        yaml.safe_dump(
            {
                "kafka": settings.kafka.model_dump(mode="json", exclude_none=True),
                "alerts": settings.alerts.model_dump(mode="json"),
                "metrics": {"dispatcher_port": 0},  # several tests and helpers share a host
            }
        )
    )
    env = {**os.environ, "WIREWATCH_SETTINGS": str(settings_file), "PYTHONPATH": str(repo_root)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from alerts.cli import run_dispatcher; run_dispatcher()",
        cwd=repo_root,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def ledger_states(settings: Settings) -> dict[str, str]:
    table = await read_table(settings.kafka, settings.kafka.topics.sent.name)
    records = [SentRecord.model_validate_json(v) for v in table.values()]
    return {r.target: r.state for r in records if not r.target.startswith("jsonl:")}


async def test_kill_9_mid_send_and_restart_keeps_one_delivery_per_subscriber(
    webhook: WebhookSink,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    repo_root: Path,
) -> None:
    settings = make_settings(
        "urls:\n"
        f"  - json://127.0.0.1:{webhook.port}/a:\n      tag: desk\n      name: a\n"
        f"  - json://127.0.0.1:{webhook.port}/b:\n      tag: desk\n      name: b\n"
    )
    ids = {t.label: t.id for t in load_notify_config(settings.alerts.notify_file).targets}
    # /a holds its response: the dispatcher is mid-send when it is killed.
    webhook.delay_s, webhook.slow_paths = 60.0, {"/a"}
    # The processor may emit the same decision many times.
    await produce(settings, [make_alert()] * 20)

    first = await start_dispatcher(settings, tmp_path, repo_root)
    try:
        await wait_for(
            lambda: len(webhook.bodies("/a")) == 1 and len(webhook.bodies("/b")) == 1, 60
        )
        # /b's POST arriving is not yet /b recorded as sent; kill only once it is,
        # or /b too is (rightly) treated as an uncertain send after the restart.
        for _ in range(300):
            if "sent" in (await ledger_states(settings)).values():
                break
            await asyncio.sleep(0.1)
    finally:
        first.kill()  # SIGKILL: no cleanup of any kind
        _, stderr = await first.communicate()
    assert first.returncode == -9, stderr.decode()[-2000:]

    webhook.delay_s = 0.0
    second = await start_dispatcher(settings, tmp_path, repo_root)
    try:
        states: dict[str, str] = {}
        for _ in range(300):
            states = await ledger_states(settings)
            if len(states) == 2 and "sending" not in states.values():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # any duplicate would show up by now
    finally:
        second.terminate()
        _, stderr = await second.communicate()

    assert len(webhook.bodies("/a")) == 1
    assert len(webhook.bodies("/b")) == 1
    a_key = ids["a"]
    # /a was on the wire when the process died: it may have arrived, so it is not
    # resent blindly but parked in the DLQ for a human (uncertain_sends=dead_letter).
    assert states[a_key] == "dead_lettered"
    b_key = ids["b"]
    assert states[b_key] == "sent"
    letters = await list_dead_letters(settings)
    assert [letter.target for letter in letters] == [a_key]
    assert letters[0].reason.startswith("uncertain")
    jsonl = settings.alerts.jsonl_path.read_text().splitlines()
    assert [json.loads(line)["alert_id"] for line in jsonl] == ["quake:s1"]


async def test_kill_9_during_backoff_resends_after_restart_without_loss(
    webhook: WebhookSink,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    repo_root: Path,
) -> None:
    settings = make_settings(
        f"urls:\n  - json://127.0.0.1:{webhook.port}/c:\n      tag: desk\n",
        backoff_base_s=20.0,
        backoff_max_s=20.0,
    )
    webhook.status = 503
    await produce(settings, [make_alert()] * 3)
    first = await start_dispatcher(settings, tmp_path, repo_root)
    try:
        await wait_for(lambda: webhook.refused >= 1, 60)
        # The failed attempt was clean, so its "sending" mark is withdrawn before the
        # (long) backoff; kill the process inside that backoff.
        for _ in range(100):
            if "sending" not in (await ledger_states(settings)).values():
                break
            await asyncio.sleep(0.1)
    finally:
        first.kill()
        await first.communicate()
    assert webhook.refused == 1

    webhook.status = 200
    second = await start_dispatcher(settings, tmp_path, repo_root)
    try:
        await wait_for(lambda: len(webhook.bodies("/c")) >= 1, 60)
        await asyncio.sleep(1.0)
    finally:
        second.terminate()
        await second.communicate()
    assert second.returncode == 0  # SIGTERM is a clean stop
    assert len(webhook.bodies("/c")) == 1
    assert list((await ledger_states(settings)).values()) == ["sent"]
    assert await list_dead_letters(settings) == []
