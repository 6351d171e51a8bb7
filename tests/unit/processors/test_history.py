"""The backtest core of ``rules test --since``: the stream's pipeline over a history, no Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from processors.history import (
    History,
    HistoryRecord,
    diff_backtests,
    parse_since,
    run_backtest,
)
from processors.history_report import print_backtest, print_diff
from processors.rules import load_rules_bytes
from processors.stories.clusterer import make_story_id
from wirewatch.events import Article
from wirewatch.settings import load_settings

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WIDE = b"version: 1\nrules:\n  - id: quakes\n    query: earthquake* OR quake*\n"
NARROW = b"version: 1\nrules:\n  - id: quakes\n    query: (earthquake* OR quake*) AND japan\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("1.5w", timedelta(days=10.5)),
        (" 45s ", timedelta(seconds=45)),
    ],
)
def test_parse_since(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "3", "d3", "3 days", "-1d", "3y"])
def test_parse_since_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--since"):
        parse_since(text)


def make_history() -> History:
    titles = [
        ("jp", "Strong earthquake shakes northern Japan"),
        ("cl", "Earthquake hits central Chile mountains"),
        ("tax", "Parliament debates the schools budget"),
    ]
    records = [
        HistoryRecord(
            T0 + timedelta(minutes=i),
            Article(id=aid, title=title, source="Wire", published=T0),
            (0, i),
        )
        for i, (aid, title) in enumerate(titles)
    ]
    return History(records=records, first_at=T0)


def test_backtest_counts_and_diff_lists_the_dropped_story() -> None:
    settings = load_settings()
    history = make_history()
    wide = run_backtest(settings, load_rules_bytes(Path("wide.yaml"), WIDE), history)
    narrow = run_backtest(settings, load_rules_bytes(Path("narrow.yaml"), NARROW), history)
    assert wide.articles == 3
    assert wide.matched["quakes"] == 2
    assert wide.alert_keys() == {("quakes", make_story_id("jp")), ("quakes", make_story_id("cl"))}
    diff = diff_backtests(wide, narrow)
    assert diff.added == []
    assert [(a.rule.rule_id, a.story_id) for a in diff.dropped] == [("quakes", make_story_id("cl"))]

    console = Console(record=True, width=120)
    print_backtest(console, wide, history, examples=1)
    print_diff(console, diff)
    text = console.export_text()
    assert "3 article(s) from news.raw since 2026-03-01 08:00 UTC" in text
    assert "quakes" in text and "2        2" in text
    assert "would drop: 1 (rule, story) alert(s)" in text
    assert f"- quakes  story {make_story_id('cl')}" in text
