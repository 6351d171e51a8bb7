"""feeds.yaml loading (with line-numbered errors), merging, rendering, and OPML import."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.feedlist import (
    FeedList,
    FeedListError,
    FeedSpec,
    load_feed_list,
    merge_feeds,
    parse_duration,
    parse_feed_list,
    render_feed_list,
)
from ingest.opml import OpmlError, parse_opml

GOOD = """version: 1
feeds:
  - url: https://ex.com/rss
    name: Example
    interval: 10m
    tags: [world, business]
    language: en
  - url: http://other.org/atom.xml
"""


def test_good_file_loads() -> None:
    feeds = parse_feed_list(GOOD).feeds
    assert feeds[0] == FeedSpec(
        url="https://ex.com/rss",
        name="Example",
        interval=600,
        tags=("world", "business"),
        language="en",
    )
    assert feeds[1].interval is None and feeds[1].name == ""


def test_missing_or_empty_file_is_an_empty_list(tmp_path: Path) -> None:
    assert load_feed_list(tmp_path / "nope.yaml") == FeedList()
    (tmp_path / "empty.yaml").write_text("")
    assert load_feed_list(tmp_path / "empty.yaml") == FeedList()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("version: 1\nfeeds:\n  - url: https://a/\n  - url: ftp://b/x\n", 4, "must be http"),
        ("version: 1\nfeeds:\n  - url: https://a/\n    interval: often\n", 4, "interval"),
        ("version: 1\nfeeds:\n  - url: https://a/\n    colour: red\n", 4, "Extra inputs"),
        ("version: 2\nfeeds: []\n", 1, "unsupported feeds file version"),
        ("version: 1\nfeeds:\n  - name: no url\n", 3, "url"),
        ("version: 1\nfeeds:\n  - url: https://a/\n  - url: https://a/\n", 4, "duplicate"),
        ("version: 1\nfeeds: [\n", 3, "invalid YAML"),
        ("- just a list\n", 1, "top level"),
    ],
)
def test_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(FeedListError) as info:
        parse_feed_list(text, "feeds.yaml")
    assert any(e.startswith(f"feeds.yaml:{line}:") and fragment in e for e in info.value.errors), (
        info.value.errors
    )


def test_all_errors_are_reported_at_once() -> None:
    text = "version: 1\nfeeds:\n  - url: nope\n  - url: https://a/\n    interval: -5\n"
    with pytest.raises(FeedListError) as info:
        parse_feed_list(text, "f.yaml")
    assert len(info.value.errors) == 2


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(300, 300.0), ("45s", 45.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("1.5m", 90.0)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [0, -1, "fast", True, "10 parsecs"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_merge_adds_only_new_urls_and_render_round_trips() -> None:
    current = parse_feed_list(GOOD)
    merged, added, skipped = merge_feeds(
        current,
        [FeedSpec(url="https://ex.com/rss"), FeedSpec(url="https://new.org/feed", tags=("x",))],
    )
    assert [f.url for f in added] == ["https://new.org/feed"]
    assert [f.url for f in skipped] == ["https://ex.com/rss"]
    assert parse_feed_list(render_feed_list(merged)) == merged


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="News">
    <outline text="Example" title="Example News" type="rss" xmlUrl="https://ex.com/rss"
             htmlUrl="https://ex.com/"/>
    <outline text="Tech">
      <outline text="Blog" xmlUrl="https://blog.org/atom.xml" category="/dev,/python"/>
    </outline>
  </outline>
  <outline text="Top level" xmlUrl="http://top.org/feed" language="de"/>
  <outline text="Bad" xmlUrl="gopher://old.net/feed"/>
  <outline text="Just a link" htmlUrl="https://nofeed.org/"/>
</body></opml>"""


def test_opml_import_reads_nested_folders_as_tags() -> None:
    feeds, problems = parse_opml(OPML)
    assert [(f.url, f.name, f.tags, f.language) for f in feeds] == [
        ("https://ex.com/rss", "Example News", ("News",), ""),
        ("https://blog.org/atom.xml", "Blog", ("News", "Tech", "dev", "python"), ""),
        ("http://top.org/feed", "Top level", (), "de"),
    ]
    assert len(problems) == 1 and "gopher" in problems[0]


@pytest.mark.parametrize(
    "data",
    [
        b"<opml><body><outline",
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]><opml><body/></opml>',
        b"<opml><head/></opml>",
    ],
)
def test_opml_unreadable_raises(data: bytes) -> None:
    with pytest.raises(OpmlError):
        parse_opml(data)
