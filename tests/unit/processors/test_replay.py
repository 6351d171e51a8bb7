"""``wirewatch replay``: JSONL in, one event per input line out, through the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from processors.articles_jsonl import ArticleLineError, parse_article_line
from processors.replay import replay, replay_command

RULES = """\
version: 1
rules:
  - id: quakes
    query: earthquake OR quake
"""

LINES: list[dict[str, Any]] = [
    {
        "id": "1",
        "title": "Magnitude 6.4 earthquake strikes off the coast of central Chile",
        "summary": "",
        "url": "https://example.org/a",
        "source": "Reuters",
        "published": "2026-03-01T08:00:00+00:00",
    },
    {
        "id": "2",
        "title": "Magnitude 6.4 earthquake strikes off the coast of central Chile - AP",
        "source": "AP",
        "published": "2026-03-01T08:10:00Z",
    },
    {"id": "3", "title": "Parliament passes data protection bill", "published": ""},
    {
        "id": "4",
        "title": "Heatwave pushes electricity demand to a record high",
        "url": "https://news.example.com/heat",
        "published": "2026-03-01T09:00:00",
    },
    {
        "id": "5",
        "title": "Magnitude 6.4 earthquake strikes off the coast of central Chile",
        "source": "Reuters",
        "published": "2026-03-06T08:00:00+00:00",
    },
]


def write_jsonl(path: Path, lines: list[dict[str, Any]], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + extra)
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_replay_writes_one_event_per_line_in_order(tmp_path: Path) -> None:
    articles = write_jsonl(tmp_path / "in.jsonl", LINES)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    out = tmp_path / "out.jsonl"
    summary = replay(articles, rules, out, progress=False)
    events = read_jsonl(out)
    assert [e["id"] for e in events] == ["1", "2", "3", "4", "5"]
    first, copy, bill, heat, week_later = events
    assert copy["duplicate_of"] == "1" and copy["story_id"] == first["story_id"]
    assert copy["source_count"] == 2 and copy["story_sources"] == ["Reuters", "AP"]
    assert copy["reason"].startswith("copy of 1")
    assert first["matched_rules"] == ["quakes"] and first["alerts"] == [
        "quakes:" + first["story_id"]
    ]
    assert copy["matched_rules"] == ["quakes"] and copy["alerts"] == []
    assert bill["matched_rules"] == [] and bill["new_story"]
    assert heat["story_sources"] == ["news.example.com"]
    # Five days later the original has left the 72 h window: a new story.
    assert week_later["new_story"] and week_later["story_id"] != first["story_id"]
    assert (summary.articles, summary.errors, summary.duplicates) == (5, 0, 1)


def test_replay_without_rules_still_clusters(tmp_path: Path) -> None:
    articles = write_jsonl(tmp_path / "in.jsonl", LINES[:2])
    out = tmp_path / "out.jsonl"
    replay(articles, None, out, progress=False)
    events = read_jsonl(out)
    assert events[1]["duplicate_of"] == "1"
    assert all(e["matched_rules"] == [] for e in events)


def test_bad_lines_are_reported_in_place_and_nothing_else_is_lost(tmp_path: Path) -> None:
    articles = write_jsonl(
        tmp_path / "in.jsonl", LINES[:1], extra='{"id": "x"}\nnot json\n' + json.dumps(LINES[1])
    )
    out = tmp_path / "out.jsonl"
    summary = replay(articles, None, out, progress=False)
    events = read_jsonl(out)
    assert [e.get("id") for e in events] == ["1", None, None, "2"]
    assert events[1] == {"line": 2, "error": f"{articles}:2: missing or empty 'title'"}
    assert events[2]["line"] == 3 and "not JSON" in events[2]["error"]
    assert events[3]["duplicate_of"] == "1"
    assert summary.errors == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "", "title": "t"}', "missing or empty 'id'"),
        ('{"id": "a", "title": "t", "published": "yesterday"}', "bad published"),
    ],
)
def test_parse_rejects_unusable_lines_with_file_and_line(line: str, message: str) -> None:
    with pytest.raises(ArticleLineError, match=message) as info:
        parse_article_line(line, "in.jsonl:7")
    assert str(info.value).startswith("in.jsonl:7: ")


def test_a_line_without_published_takes_the_previous_time() -> None:
    before = parse_article_line(json.dumps(LINES[0]), "x:1")
    undated = parse_article_line(json.dumps(LINES[2]), "x:2", before.published)
    assert undated.published == before.published


def test_replay_command_prints_a_summary_and_fails_on_bad_lines(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(replay_command)
    articles = write_jsonl(tmp_path / "in.jsonl", LINES[:2])
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    ok = runner.invoke(app, ["--articles", str(articles), "--output", str(out), "--quiet"])
    assert ok.exit_code == 0, ok.output
    assert "2 article(s), 1 stories, 1 duplicate(s)" in ok.output
    assert len(read_jsonl(out)) == 2
    strict = runner.invoke(
        app,
        ["--articles", str(articles), "--output", str(out), "-q", "--duplicate-threshold", "101"],
    )
    assert strict.exit_code == 0
    assert read_jsonl(out)[1]["duplicate_of"] is None
    bad = write_jsonl(tmp_path / "bad.jsonl", LINES[:1], extra="oops\n")
    failed = runner.invoke(app, ["--articles", str(bad), "--output", str(out), "-q"])
    assert failed.exit_code == 1
    missing = runner.invoke(app, ["--articles", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2


def test_replay_matches_rules_on_the_body(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("earthquake OR quake", "aftershock*"))
    lines = [
        {**LINES[0], "body": "Two aftershocks followed within the hour, the survey said."},
        {**LINES[3], "body": ""},
    ]
    out = tmp_path / "out.jsonl"
    replay(write_jsonl(tmp_path / "in.jsonl", lines), rules, out, progress=False)
    quake, heat = read_jsonl(out)
    assert quake["matched_rules"] == ["quakes"] and len(quake["alerts"]) == 1
    assert heat["matched_rules"] == []


def test_a_line_without_body_has_an_empty_one() -> None:
    assert parse_article_line(json.dumps(LINES[0]), "x:1").body == ""
    with_body = parse_article_line(json.dumps({**LINES[0], "body": "Full text."}), "x:1")
    assert with_body.body == "Full text."
