"""Printing a rule backtest over ``news.raw`` (``rules test --since``), for people or scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from processors.history import AlertDiff, Backtest, History
from processors.rules.backtest import render_article
from wirewatch.events import AlertDecision


def print_backtest(out: Console, report: Backtest, history: History, examples: int) -> None:
    """Per rule: articles matched, stories that would have alerted, and a few examples."""
    since = f" since {history.first_at:%Y-%m-%d %H:%M} UTC" if history.first_at else ""
    out.print(
        f"{report.articles} article(s) from news.raw{since}, rules version {report.book.version}",
        style="bold",
        markup=False,
    )
    out.print(f"  {'rule':<32} {'articles':>8} {'stories':>8} {'follow-ups':>10}", style="dim")
    for rule in report.book.rules:
        firsts = report.stories(rule.id)
        out.print(
            f"  {rule.id:<32} {report.matched[rule.id]:>8} {len(firsts):>8}"
            f" {len(report.stories(rule.id, 'followup')):>10}",
            markup=False,
        )
    for rule in report.book.rules:
        firsts = report.stories(rule.id)
        if not firsts or examples <= 0:
            continue
        out.print()
        out.print(f"{rule.id}: {len(firsts)} stories, e.g.", style="bold", markup=False)
        for alert in firsts[:examples]:
            print_alert(out, alert)


def print_alert(out: Console, alert: AlertDecision) -> None:
    """One would-be alert: the headline with its terms highlighted, story and outlets."""
    lines = render_article(alert.article, [alert.rule], width_hint=240)
    out.print(lines[0])
    note = Text(
        f"    story {alert.story_id}, {alert.source_count} outlet(s), "
        f"{alert.decided_at:%Y-%m-%d %H:%M}",
        style="dim",
    )
    out.print(note)
    for line in lines[2:]:
        out.print(line)


def print_diff(out: Console, diff: AlertDiff) -> None:
    """The stories the edited file would alert on that the active one does not, and back."""
    for title, alerts, mark in (
        ("would add", diff.added, "+"),
        ("would drop", diff.dropped, "-"),
    ):
        out.print()
        out.print(f"{title}: {len(alerts)} (rule, story) alert(s)", style="bold", markup=False)
        for alert in alerts:
            out.print(f"{mark} {alert.rule.rule_id}  story {alert.story_id}", markup=False)
            print_alert(out, alert)


def _alert_json(alert: AlertDecision) -> dict[str, Any]:
    return {
        "rule": alert.rule.rule_id,
        "story": alert.story_id,
        "reason": alert.reason,
        "article": alert.article.id,
        "title": alert.article.title,
        "terms": list(alert.rule.terms),
        "outlets": alert.source_count,
    }


def backtest_json(report: Backtest, history: History, diff: AlertDiff | None) -> str:
    """The whole result as one JSON document (``--json``)."""
    doc: dict[str, Any] = {
        "articles": report.articles,
        "unreadable": [f"{e.where}: {e.message}" for e in history.errors],
        "rules_version": report.book.version,
        "rules": {
            r.id: {
                "articles": report.matched[r.id],
                "stories": len(report.stories(r.id)),
                "followups": len(report.stories(r.id, "followup")),
            }
            for r in report.book.rules
        },
        "alerts": [_alert_json(a) for a in report.alerts],
    }
    if diff is not None:
        doc["added"] = [_alert_json(a) for a in diff.added]
        doc["dropped"] = [_alert_json(a) for a in diff.dropped]
    return json.dumps(doc, ensure_ascii=False)
