"""Console and JSONL sinks."""

from __future__ import annotations

import json
from pathlib import Path

from alerts.render import sample_alert
from alerts.sinks import append_jsonl, format_console_line


def test_console_line_strips_terminal_escapes_and_newlines() -> None:
    alert = sample_alert()
    alert = alert.model_copy(
        update={
            "article": alert.article.model_copy(
                update={"title": "Hack\x1b[2J\x1b]0;pwned\x07 the\nterminal"}
            )
        }
    )
    line = format_console_line(alert, ["json://x"])
    assert "\x1b" not in line
    assert "\x07" not in line
    assert "\n" not in line
    assert line == (
        "ALERT [normal] Sample rule: Hack[2J]0;pwned the terminal "
        "(Example Wire, 3 outlet(s)) https://example.com/story -> 1 target(s)"
    )
    assert format_console_line(sample_alert(), []).endswith("(console/JSONL only)")


def test_jsonl_appends_one_parseable_line_per_alert(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "alerts.jsonl"
    append_jsonl(path, sample_alert(), ["json://a"])
    append_jsonl(path, sample_alert(), [])
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["alert_id"] == "sample-rule:s1"
    assert first["targets"] == ["json://a"]
    assert first["article"]["title"] == "Sample headline <b>&</b>"
