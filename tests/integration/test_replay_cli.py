"""`wirewatch replay` as a user runs it: JSONL in, one event per line out, in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ARTICLES = [
    {
        "id": "nl-1",
        "title": "Mexico sends 26 more captured cartel operatives to the U.S.",
        "summary": "Mexico transferred 26 captured cartel operatives to the United States "
        "under pressure from President Trump, who threatened high tariffs.",
        "url": "https://northern-ledger.example/a",
        "source": "Northern Ledger",
        "published": "2026-05-20T10:00:00Z",
    },
    {"id": "cycle", "title": "City council approves new cycle lanes downtown"},
    {
        "id": "hp-1",
        "title": "Mexico sends 26 more captured cartel operatives to US",
        "summary": "",
        "url": "",
        "source": "Harbor Post",
        "published": "2026-05-20T10:05:00Z",
    },
]


def test_replay_writes_one_event_per_line_with_story_duplicate_and_rules(
    tmp_path: Path, repo_root: Path
) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    output = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, "-m", "wirewatch", "replay", "--articles", str(articles),
         "--rules", str(repo_root / "config" / "rules.yaml"), "--output", str(output), "-q"],
        check=True, timeout=120, cwd=repo_root,
    )  # fmt: skip
    events = [json.loads(line) for line in output.read_text().splitlines()]
    assert [e["id"] for e in events] == ["nl-1", "cycle", "hp-1"]
    assert events[2]["duplicate_of"] == "nl-1"
    assert events[2]["story_id"] == events[0]["story_id"] != events[1]["story_id"]
    assert set(events[0]["matched_rules"]) == {"cartel-extraditions", "tariff-threats"}
    assert events[1]["matched_rules"] == [] and events[1]["duplicate_of"] is None
