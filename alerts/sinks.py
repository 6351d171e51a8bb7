"""The sinks every alert reaches whatever notify.yaml says: console and a JSONL file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from wirewatch.events import AlertDecision


def _printable(text: str) -> str:
    # Feed text is hostile: no newlines or terminal escape sequences on the console.
    return "".join(c for c in " ".join(text.split()) if c.isprintable())


def format_console_line(alert: AlertDecision, targets: list[str]) -> str:
    """One line per alert for a terminal, with feed text reduced to printable characters."""
    where = f" -> {len(targets)} target(s)" if targets else " (console/JSONL only)"
    return (
        f"ALERT [{alert.rule.severity}] {_printable(alert.rule.name or alert.rule.rule_id)}: "
        f"{_printable(alert.article.title)} ({_printable(alert.article.source) or '?'}, "
        f"{alert.source_count} outlet(s)) {_printable(alert.article.url)}{where}"
    )


def write_console(alert: AlertDecision, targets: list[str]) -> None:
    sys.stdout.write(format_console_line(alert, targets) + "\n")
    sys.stdout.flush()


def append_jsonl(path: Path, alert: AlertDecision, targets: list[str]) -> None:
    """Append the alert as one JSON line (with the targets it was routed to)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**alert.model_dump(mode="json"), "targets": targets})
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
