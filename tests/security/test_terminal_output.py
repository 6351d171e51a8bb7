"""Issue 13, row 8: feed text reaches the terminal as text, never as markup or control codes.

A headline containing ``[/r/news]`` used to raise rich's MarkupError and kill
``wirewatch status`` and ``feeds status``; an ESC passed straight through, and
one malformed record crashed ``status``. Runs against the real broker.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ingest.state import FeedState
from wirewatch.cli import app
from wirewatch.cli_tail import format_event
from wirewatch.events import AlertDecision, Article, NewsEvent, RuleMatch
from wirewatch.kafka import ensure_topics, make_producer
from wirewatch.settings import load_settings
from wirewatch.terminal import escape_markup, strip_control_chars

HOSTILE = "Top [/r/news] [bold]story[/bold] \x1b]0;pwned\x07\x1b[2J\u202eevil"


def test_helpers_keep_the_text_and_drop_the_controls() -> None:
    assert strip_control_chars(HOSTILE) == "Top [/r/news] [bold]story[/bold] ]0;pwned[2Jevil"
    assert strip_control_chars("a\tb\nc\r\n") == "a b c  "
    assert strip_control_chars("a\nb\x1b", keep_newlines=True) == "a\nb"
    shown = io.StringIO()
    Console(file=shown, color_system=None, width=200).print(escape_markup(HOSTILE))
    assert shown.getvalue() == "Top [/r/news] [bold]story[/bold] ]0;pwned[2Jevil\n"


def test_tail_line_of_a_hostile_headline() -> None:
    event = NewsEvent(article=Article(id="a", title=HOSTILE, source="[/x]"), story_id="s[/]")
    shown = io.StringIO()
    Console(file=shown, color_system=None, width=300).print(format_event(event))
    assert "Top [/r/news] [bold]story[/bold]" in shown.getvalue()
    assert "\x1b" not in shown.getvalue() and "\u202e" not in shown.getvalue()


@pytest.mark.integration
async def test_status_survives_hostile_headlines_and_a_malformed_record(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    url = "https://news.example/[/r/news].xml"
    feeds_file.write_text(f"version: 1\nfeeds:\n  - url: '{url}'\n")
    monkeypatch.setenv("WIREWATCH_KAFKA__NAMESPACE", unique_name("termsec"))
    monkeypatch.setenv("WIREWATCH_INGEST__FEEDS_FILE", str(feeds_file))
    monkeypatch.setenv("COLUMNS", "250")  # tables wide enough to show whole titles
    settings = load_settings()
    topics = settings.kafka.topics
    await ensure_topics(settings.kafka)
    article = Article(id="a1", title=HOSTILE, source="[/r/news]")
    alert = AlertDecision(
        alert_id="x1", rule=RuleMatch(rule_id="r[/]"), story_id="s1", article=article
    )
    state = FeedState(url=url, title=HOSTILE, last_error="[/oops] \x1b[31m", problems=("[/p]",))
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topics.alerts.name, alert.model_dump_json().encode())
        await producer.send_and_wait(topics.alerts.name, b"{not json")
        await producer.send_and_wait(topics.events.name, b"\x00\xff")
        await producer.send_and_wait(
            topics.ingest_state.name, state.model_dump_json().encode(), key=url.encode()
        )
        await producer.send_and_wait(topics.ingest_state.name, b"[]", key=b"https://bad.example/")
    finally:
        await producer.stop()

    for args in (["status"], ["feeds", "status"]):
        # In a thread: the command runs its own event loop.
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert "\x1b" not in result.output, args
        assert "[/r/news]" in result.output, args
    assert "Top [/r/news] [bold]story[/bold]" in result.output  # feeds status: the title
    status = await asyncio.to_thread(CliRunner().invoke, app, ["status"])
    assert "skipped unreadable state record of https://bad.example/" in status.output
    assert "1 unreadable record(s) skipped" in status.output
    assert "the last event is unreadable" in status.output
