"""The one article reader shared by ``wirewatch replay`` and ``rules test``."""

from __future__ import annotations

import json
from pathlib import Path

from processors.articles_jsonl import ArticleLineError, read_articles


def test_articles_events_and_bad_lines_come_back_in_file_order(tmp_path: Path) -> None:
    event = {
        "article": {"id": "e1", "title": "From the event topic", "body": "Full text."},
        "story_id": "st-1",
    }
    lines = [
        json.dumps({"id": "a1", "title": "First", "published": "2026-11-30T10:00:00+00:00"}),
        "",
        "{not json",
        json.dumps(event),
        json.dumps({"title": "no id"}),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    items = list(read_articles(path))

    assert [type(i).__name__ for i in items] == [
        "Article",
        "ArticleLineError",
        "Article",
        "ArticleLineError",
    ]
    first, bad_json, from_event, no_id = items
    assert isinstance(bad_json, ArticleLineError) and isinstance(no_id, ArticleLineError)
    assert (bad_json.line, no_id.line) == (3, 5)
    assert str(bad_json).startswith(f"{path}:3: not JSON")
    assert no_id.message == "missing or empty 'id'"
    assert not isinstance(from_event, ArticleLineError)
    assert not isinstance(first, ArticleLineError)
    assert (from_event.id, from_event.body) == ("e1", "Full text.")
    # An undated line takes the time of the line before it.
    assert from_event.published == first.published
