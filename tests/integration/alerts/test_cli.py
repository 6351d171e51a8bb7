"""`wirewatch alerts test|dlq list|dlq retry` as a user runs them (a real subprocess)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from alerts.dispatch import run_dispatcher
from alerts.dlq import list_dead_letters
from wirewatch.notify_config import load_notify_config
from wirewatch.settings import Settings

from .conftest import WebhookSink, make_alert, produce

pytestmark = pytest.mark.integration


async def run_cli(
    settings: Settings, tmp_path: Path, repo_root: Path, *args: str
) -> tuple[int, str]:
    settings_file = tmp_path / "cli-settings.yaml"
    settings_file.write_text(
        yaml.safe_dump(
            {
                "kafka": settings.kafka.model_dump(mode="json", exclude_none=True),
                "alerts": settings.alerts.model_dump(mode="json"),
                "metrics": {"dispatcher_port": 0},  # several tests and helpers share a host
            }
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from alerts.cli import alerts_app; alerts_app(sys.argv[1:])",
        *args,
        cwd=repo_root,
        env={**os.environ, "WIREWATCH_SETTINGS": str(settings_file), "PYTHONPATH": str(repo_root)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_alerts_test_command_sends_to_tagged_targets(
    webhook: WebhookSink, make_settings: Callable[..., Settings], tmp_path: Path, repo_root: Path
) -> None:
    settings = make_settings(f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n")
    code, out = await run_cli(settings, tmp_path, repo_root, "test", "--tag", "desk")
    assert code == 0, out
    (target,) = load_notify_config(settings.alerts.notify_file).targets
    assert out == f"OK   json:{target.id}\n"
    (body,) = webhook.bodies("/hook")
    assert body["title"] == "wirewatch test message for tag desk (Example Wire)"
    code, out = await run_cli(settings, tmp_path, repo_root, "test", "--tag", "nobody")
    assert (code, out.strip()) == (1, "no target carries tag 'nobody'")


async def test_bad_url_is_reported_with_file_and_line(
    make_settings: Callable[..., Settings], tmp_path: Path, repo_root: Path
) -> None:
    settings = make_settings("urls:\n  - json://127.0.0.1/ok\n  - slack://${NOT_SET_ANYWHERE}\n")
    code, out = await run_cli(settings, tmp_path, repo_root, "test", "--tag", "desk")
    assert code == 2
    assert out.strip() == (
        f"{settings.alerts.notify_file}:3: slack:// needs unset environment variable "
        "NOT_SET_ANYWHERE"
    )


async def test_dlq_list_and_retry_commands(
    webhook: WebhookSink, make_settings: Callable[..., Settings], tmp_path: Path, repo_root: Path
) -> None:
    settings = make_settings(
        f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n", max_attempts=2
    )
    webhook.status = 500
    await produce(settings, [make_alert(story="s1"), make_alert(story="s2")])
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(settings, stop=stop))
    for _ in range(200):
        if len(await list_dead_letters(settings)) == 2:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 20)

    code, out = await run_cli(settings, tmp_path, repo_root, "dlq", "list")
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[-1] == "2 dead letter(s)"
    assert sorted(line.split()[2] for line in lines[:-1]) == ["quake:s1", "quake:s2"]
    # The first used every attempt; after that the target counts as down and the
    # next alert gets one attempt, not another full backoff series.
    assert sorted(line.split("(")[1].split(")")[0] for line in lines[:-1]) == [
        "attempts 1",
        "attempts 2",
    ]

    webhook.status = 200
    code, out = await run_cli(
        settings, tmp_path, repo_root, "dlq", "retry", "--alert-id", "quake:s2"
    )
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "1/1 delivered"
    assert len(webhook.received) == 1
    code, out = await run_cli(settings, tmp_path, repo_root, "dlq", "retry")
    assert out.strip().splitlines()[-1] == "1/1 delivered"
    code, out = await run_cli(settings, tmp_path, repo_root, "dlq", "list")
    assert out.strip() == "0 dead letter(s)"
    assert len(webhook.received) == 2
