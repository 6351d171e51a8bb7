"""``wirewatch status``: the whole service on one screen.

Feeds health (from the ingest state topic), active health conditions (from the
health topic the dispatcher's monitor writes), consumer lag per group, the rules
version in force, the last alerts, the dead-letter queue size and the poison records
the dispatcher set aside.
"""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table

from wirewatch.events import AlertDecision, NewsEvent
from wirewatch.kafka import group_lag, read_last
from wirewatch.settings import Settings, load_settings
from wirewatch.terminal import escape_markup as esc

console = Console(highlight=False)


def status() -> None:
    """Feeds health, health conditions, consumer lag, rules version, last alerts, DLQ size."""
    from alerts.dlq import list_dead_letters
    from alerts.health.topic import load_active
    from alerts.poison import count_poison
    from ingest.cli import status as feeds_status
    from processors.rules import hash_content

    settings = load_settings()
    console.rule("Feeds")
    feeds_status(as_json=False)
    console.rule("Health")
    active = asyncio.run(load_active(settings))
    health = Table("since (UTC)", "condition", "subject", "detail")
    for event in sorted(active, key=lambda e: e.since):
        health.add_row(
            f"{event.since:%Y-%m-%d %H:%M}", esc(event.kind), esc(event.subject), esc(event.detail)
        )
    console.print(health if active else "no active health condition")
    console.rule("Consumer lag")
    console.print(asyncio.run(_lag_table(settings)))
    console.rule("Rules")
    rules_file = settings.processor.rules_file
    try:
        file_version = hash_content(rules_file.read_bytes())
    except OSError as exc:
        file_version = f"unreadable: {exc}"
    last_events = asyncio.run(read_last(settings.kafka, settings.kafka.topics.events.name, 1))
    console.print(f"{rules_file}: version {file_version}", markup=False)
    console.print(f"last processed event used version {_rules_in_force(last_events)}", markup=False)
    console.rule("Last alerts")
    console.print(asyncio.run(_alerts_table(settings)))
    console.rule("Dead letters")
    try:
        dead = asyncio.run(list_dead_letters(settings))
    except ValueError as exc:  # a bad ledger record must not cost the whole screen
        console.print(f"unreadable: {esc(exc)}")
        return
    console.print(f"{len(dead)} in {settings.kafka.topics.dlq.name}"
                  + (" (wirewatch alerts dlq list)" if dead else ""), markup=False)  # fmt: skip
    for topic in (settings.kafka.topics.raw_poison.name, settings.kafka.topics.alerts_poison.name):
        poison = asyncio.run(count_poison(settings, topic))
        kinds = "".join(f", {kind} {n}" for kind, n in sorted(poison.items()))
        console.print(f"{sum(poison.values())} poison record(s) in {topic}{kinds}", markup=False)


async def _lag_table(settings: Settings) -> Table:
    table = Table("group", "topic", "partition", "lag")
    groups = [settings.processor.app_id, settings.alerts.group_id, settings.ingest.group_id]
    for group in groups:
        try:
            lags = await group_lag(settings.kafka, group)
        except Exception as exc:  # one unreachable group must not hide the rest
            table.add_row(esc(group), f"error: {esc(exc)}", "", "")
            continue
        if not lags:
            table.add_row(esc(group), "(no committed offsets)", "", "")
        for (topic, partition), lag in sorted(lags.items()):
            table.add_row(esc(group), esc(topic), str(partition), str(lag))
    return table


async def _alerts_table(settings: Settings, count: int = 10) -> Table:
    table = Table("decided", "rule", "reason", "outlets", "headline")
    unreadable = 0
    for raw in await read_last(settings.kafka, settings.kafka.topics.alerts.name, count):
        try:
            alert = AlertDecision.model_validate_json(raw or b"")
        except ValueError:  # one bad record must not hide the others
            unreadable += 1
            continue
        table.add_row(
            f"{alert.decided_at:%Y-%m-%d %H:%M}",
            esc(alert.rule.rule_id),
            esc(alert.reason),
            str(alert.source_count),
            esc(alert.article.title[:80]),
        )
    if unreadable:
        table.caption = f"{unreadable} unreadable record(s) skipped"
    return table


def _rules_in_force(last_events: list[bytes]) -> str:
    try:
        return NewsEvent.model_validate_json(last_events[-1] or b"").rules_version
    except IndexError:
        return "-"
    except ValueError:
        return "? (the last event is unreadable)"
