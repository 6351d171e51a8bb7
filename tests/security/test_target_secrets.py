"""No target secret in a topic, log line, metric or CLI output: delivery, retry, dead letter.

A secret token is planted in every kind of target URL the project supports (json://
path, password and ``+Header``, form:// ``-param``, a Mattermost webhook token, an
ntfy topic, a mailto password, a Slack token) and used for real against loopback
servers: a first attempt that fails and is retried, a delivery, a dead letter, then
``dlq list``, ``alerts test``, ``dlq retry`` and ``status``, all as a user runs them
(``wirewatch -v ...`` subprocesses), plus an in-process run with every logger at
DEBUG. Then every record of every topic of the namespace (read back from the real
broker), every log line, the metrics page, the JSONL file and every CLI output are
searched for the secrets: 0 hits.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from alerts.dispatch import run_dispatcher
from alerts.dlq import list_dead_letters
from tests.security.alert_servers import (
    AuthSmtp,
    RawSink,
    intercept_non_loopback,
    read_namespace,
    wait_until,
)
from tests.support import free_port
from wirewatch.events import AlertDecision, Article, RuleMatch
from wirewatch.kafka import ensure_topics, make_producer
from wirewatch.settings import Settings, load_settings

pytestmark = pytest.mark.integration

# Every secret contains MARKER, so one search finds any of them.
MARKER = "wwsecret"
SECRETS = {
    "json:// path token": "wwsecret-json-path",
    "json:// password": "wwsecret-json-pass",
    "json:// +Header value": "wwsecret-header",
    "form:// -param value": "wwsecret-form-param",
    "mmost:// webhook token (Slack-style)": "wwsecretmmost0123456789",
    "ntfy:// topic": "wwsecret-ntfy-topic",
    "mailto:// password": "wwsecret-smtp-pass",
    "slack:// token": "wwsecretslacktokenabcdef",
}


def notify_yaml(http: int, smtp: int) -> str:
    return (
        "version: 1\nurls:\n"
        f"  - json://127.0.0.1:{http}/hook/wwsecret-json-path:\n      tag: sec\n"
        f"  - json://wwuser:wwsecret-json-pass@127.0.0.1:{http}/auth:\n      tag: sec\n"
        f"  - json://127.0.0.1:{http}/hdr?+X-Api-Key=wwsecret-header:\n      tag: sec\n"
        f"  - form://127.0.0.1:{http}/form?-token=wwsecret-form-param:\n      tag: sec\n"
        f"  - mmost://127.0.0.1:{http}/wwsecretmmost0123456789:\n      tag: sec\n"
        f"  - ntfy://127.0.0.1:{http}/wwsecret-ntfy-topic:\n      tag: sec\n"
        f"  - mailto://wwuser:wwsecret-smtp-pass@127.0.0.1:{smtp}"
        "?to=desk@example.com&from=ww@example.com&mode=insecure:\n"
        "      tag: sec\n      name: desk mail\n"
    )


HTTP_TARGETS = 6


def alert(story: str, title: str) -> AlertDecision:
    return AlertDecision(
        alert_id=f"sec:{story}",
        rule=RuleMatch(rule_id="sec", name="Security rule", terms=("quake",), notify=("sec",)),
        story_id=story,
        article=Article(
            id=f"a-{story}",
            title=title,
            url=f"https://news.example.com/{story}",
            source="Example Wire",
        ),
    )


def hits(where: str, text: str) -> list[str]:
    return [f"{where}: {name}" for name, secret in SECRETS.items() if secret in text] + (
        [f"{where}: {MARKER}..."] if MARKER in text and not any(s in text for s in SECRETS.values())
        else []
    )  # fmt: skip


async def produce(settings: Settings, alerts: list[AlertDecision]) -> None:
    await ensure_topics(settings.kafka, [settings.kafka.topics.alerts])
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        for a in alerts:
            await producer.send_and_wait(settings.kafka.topics.alerts.name, a.to_bytes(), key=a.key)
    finally:
        await producer.stop()


class Cli:
    """``python -m wirewatch -v ...`` with this test's settings file, output kept."""

    def __init__(self, settings: Settings, tmp: Path, repo: Path, metrics_port: int) -> None:
        self.file = tmp / "settings.yaml"
        self.file.write_text(
            yaml.safe_dump(
                {
                    "kafka": settings.kafka.model_dump(mode="json", exclude_none=True),
                    "alerts": settings.alerts.model_dump(mode="json"),
                    "metrics": {
                        "dispatcher_port": metrics_port,
                        "ingest_port": 0,
                        "processor_port": 0,
                    },
                }
            )
        )
        self.repo = repo
        self.env = {
            **os.environ,
            "WIREWATCH_SETTINGS": str(self.file),
            "PYTHONPATH": str(repo),
            "WIREWATCH_LOG_FORMAT": "human",
        }
        self.outputs: dict[str, str] = {}

    async def run(self, *args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wirewatch", "-v", *args,
            cwd=self.repo, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        text = out.decode(errors="replace")
        self.outputs[" ".join(args)] = text
        assert proc.returncode is not None
        return proc.returncode, text

    async def start(self, log: Path, *args: str) -> asyncio.subprocess.Process:
        with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "wirewatch", "-v", *args,
                cwd=self.repo, env=self.env, stdout=handle, stderr=handle,
            )  # fmt: skip


async def test_no_target_secret_in_topics_logs_metrics_or_cli_output(
    raw_sink: RawSink,
    auth_smtp: AuthSmtp,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    repo_root: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = unique_name("ww-sec")
    notify = tmp_path / "notify.yaml"
    notify.write_text(notify_yaml(raw_sink.port, auth_smtp.port))
    settings = load_settings(
        kafka={"bootstrap": kafka_bootstrap, "namespace": namespace},
        alerts={
            "notify_file": notify,
            "jsonl_path": tmp_path / "alerts.jsonl",
            "max_attempts": 2,
            "backoff_base_s": 0.05,
            "backoff_max_s": 0.2,
            "send_timeout_s": 10.0,
            "commit_interval_s": 0.2,
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
        },
    )
    # Every topic exists, as in a deployment (`wirewatch status` reads news.events).
    await ensure_topics(settings.kafka)
    metrics_port = free_port()
    cli = Cli(settings, tmp_path, repo_root, metrics_port)
    found: list[str] = []

    # 1. The dispatcher as production runs it: every target refuses its first attempt
    #    (retried, then delivered), and refuses story "dead" for good (dead letter).
    raw_sink.fail_first = auth_smtp.fail_first = 1
    raw_sink.fail_marker = auth_smtp.fail_marker = "DEADLETTERB"
    await produce(settings, [alert("ok", "Quake shakes A town"), alert("dead", "DEADLETTERB")])
    log = tmp_path / "dispatch.log"
    proc = await cli.start(log, "dispatch")
    try:

        async def settled() -> bool:
            return (
                len(raw_sink.delivered) >= HTTP_TARGETS
                and len(auth_smtp.delivered) >= 1
                and len(await list_dead_letters(settings)) >= HTTP_TARGETS + 1
            )

        await wait_until(settled, 90, "deliveries and dead letters")
        metrics = await asyncio.to_thread(
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
                .read()
                .decode()
            )
        )
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    assert "wirewatch_alerts_retried_total" in metrics
    found += hits("dispatcher metrics", metrics)
    found += hits("dispatcher process log", log.read_text(errors="replace"))

    # 2. The CLI a user runs next.
    code, out = await cli.run("alerts", "dlq", "list")
    assert code == 0, out[-3000:]
    assert f"{HTTP_TARGETS + 1} dead letter(s)" in out
    dlq_list = out
    code, out = await cli.run("alerts", "test", "--tag", "sec")
    assert code == 0, out[-3000:]
    raw_sink.fail_marker = auth_smtp.fail_marker = ""
    code, out = await cli.run("alerts", "dlq", "retry")
    assert code == 0, out[-3000:]
    assert f"{HTTP_TARGETS + 1}/{HTTP_TARGETS + 1} delivered" in out
    code, out = await cli.run("status")
    assert code == 0, out[-3000:]
    for command, output in cli.outputs.items():
        found += hits(f"`wirewatch -v {command}`", output)

    # 3. In-process with every logger at DEBUG and a Slack target (answered in-process).
    slack_calls = intercept_non_loopback(monkeypatch, fail_first=1)  # one retry
    notify.write_text(
        notify_yaml(raw_sink.port, auth_smtp.port)
        + "  - slack://T1234ABCD/B1234ABCD/wwsecretslacktokenabcdef/#news:\n      tag: sec\n"
    )
    caplog.set_level(logging.DEBUG)
    delivered_before = len(raw_sink.delivered)
    await produce(settings, [alert("late", "Aftershock hits A town")])
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(settings, stop=stop))
    try:

        async def late_delivered() -> bool:
            return (
                len(raw_sink.delivered) >= delivered_before + HTTP_TARGETS and len(slack_calls) >= 2
            )

        await wait_until(late_delivered, 60, "the in-process delivery")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    found += hits("caplog", caplog.text)
    for record in caplog.records:
        found += hits(f"log record {record.name}", f"{record.getMessage()} {record.exc_text}")

    # 4. Everything the project wrote to Kafka and to disk.
    topics = await read_namespace(settings, namespace)
    assert {
        settings.kafka.topics.sent.name,
        settings.kafka.topics.dlq.name,
        settings.kafka.topics.deliveries.name,
        settings.kafka.topics.alerts.name,
    } <= set(topics)
    for topic, records in topics.items():
        found += hits(f"topic {topic}", "\n".join(r.decode(errors="replace") for r in records))
    found += hits("alerts.jsonl", settings.alerts.jsonl_path.read_text())

    # The secrets were real: each target got its own, so a leak had something to leak.
    received = " ".join(r.text() for r in raw_sink.delivered)
    basic = base64.b64encode(b"wwuser:wwsecret-json-pass").decode()
    assert f"Basic {basic}" in received  # the json:// password, as HTTP basic auth
    for name, secret in SECRETS.items():
        if name.startswith(("mailto", "slack", "json:// password")):
            continue
        assert secret in received, name
    assert ("wwuser", "wwsecret-smtp-pass") in auth_smtp.logins
    assert all("wwsecretslacktokenabcdef" in call["url"] for call in slack_calls)
    assert len(raw_sink.refused) >= HTTP_TARGETS * 2  # first attempts and the dead story

    assert found == []
    assert "-> desk mail" in dlq_list  # the label from notify.yaml's name:
