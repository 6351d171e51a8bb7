"""``wirewatch tail``: follow news.events like ``tail -f``.

It reads without a consumer group (partitions are assigned directly), so
tailing never moves anyone's committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from wirewatch.events import NewsEvent
from wirewatch.kafka import make_consumer, topic_partitions
from wirewatch.settings import load_settings
from wirewatch.terminal import escape_markup as escape
from wirewatch.terminal import strip_control_chars


def tail(
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Start at the oldest."),
    rule: str | None = typer.Option(None, "--rule", help="Only events that matched this rule."),
    alerts_only: bool = typer.Option(False, "--alerts-only", help="Only events with a match."),
    as_json: bool = typer.Option(False, "--json", help="Raw JSON lines, for jq."),
    idle_exit: float | None = typer.Option(
        None, "--idle-exit", help="Exit after this many seconds without a new event."
    ),
) -> None:
    """Follow the processed-event topic, from now on unless --from-beginning."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_tail(from_beginning, rule, alerts_only, as_json, idle_exit))


def wanted(event: NewsEvent, rule: str | None, alerts_only: bool) -> bool:
    if alerts_only and not event.matched_rules:
        return False
    return rule is None or any(rule in (m.rule_id, m.name) for m in event.matched_rules)


def format_event(event: NewsEvent) -> str:
    """One readable, coloured line (rich markup): time, source, headline, marks, rules."""
    a = event.article
    marks = []
    if event.kind == "story_update":
        marks.append(f"[magenta]story grew: {event.source_count} outlets[/]")
    elif event.duplicate_of:
        marks.append(f"[yellow]dup of {escape(event.duplicate_of)}[/]")
    elif event.source_count > 1:
        marks.append(f"[cyan]{event.source_count} outlets[/]")
    rules = ",".join(m.rule_id for m in event.matched_rules)
    return " ".join(
        part
        for part in (
            f"[dim]{event.processed_at:%Y-%m-%d %H:%M:%S}[/]",
            f"[blue]{escape(a.source or '?')}[/]",
            f"[bold]{escape(a.title)}[/]",
            f"[dim]story={escape(event.story_id[:12])}[/]",
            *marks,
            f"[green]⚑ {escape(rules)}[/]" if rules else "",
        )
        if part
    )


async def _tail(
    from_beginning: bool,
    rule: str | None,
    alerts_only: bool,
    as_json: bool,
    idle_exit: float | None,
) -> None:
    settings = load_settings()
    topic = settings.kafka.topics.events.name
    assigned = await topic_partitions(settings.kafka, topic)
    if not assigned:
        raise SystemExit(f"topic {topic} does not exist yet (has wirewatch run?)")
    consumer = make_consumer(settings.kafka, group_id=None)
    console = Console(highlight=False)
    await consumer.start()
    try:
        consumer.assign(assigned)
        if from_beginning:
            await consumer.seek_to_beginning(*assigned)
        else:
            await consumer.seek_to_end(*assigned)
        while True:
            batch = await consumer.getmany(timeout_ms=int((idle_exit or 1.0) * 1000))
            if not batch and idle_exit is not None:
                return
            for records in batch.values():
                for record in records:
                    _show(record.value, rule, alerts_only, as_json, console)
    finally:
        await consumer.stop()


def _show(
    value: bytes, rule: str | None, alerts_only: bool, as_json: bool, console: Console
) -> None:
    try:
        event = NewsEvent.model_validate_json(value)
    except ValidationError as exc:
        reason = strip_control_chars(exc.errors()[0]["msg"])
        print(f"unreadable record: {reason}", file=sys.stderr)  # noqa: T201
        return
    if not wanted(event, rule, alerts_only):
        return
    if as_json:
        sys.stdout.write(value.decode() + "\n")
        sys.stdout.flush()
    else:
        console.print(format_event(event))
