"""``wirewatch feeds import|check|status`` end to end (loopback HTTP, real Kafka for status)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ingest.cli import feeds_app
from ingest.feedlist import load_feed_list
from ingest.poller import run_pollers
from wirewatch.settings import IngestSettings

from .conftest import FeedServer, make_settings, rss, wait_until, write_feeds, write_settings_yaml

pytestmark = pytest.mark.integration

OPML = """<?xml version="1.0"?><opml version="1.0"><head/><body>
<outline text="World"><outline text="Ex" xmlUrl="https://ex.com/rss"/></outline>
<outline text="Other" xmlUrl="https://other.org/feed.xml"/>
</body></opml>"""


async def invoke(*args: str) -> Result:
    # In a thread: the command runs its own event loop while the test's loop serves HTTP.
    return await asyncio.to_thread(CliRunner().invoke, feeds_app, list(args))


def test_import_adds_feeds_once(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML)
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("version: 1\nfeeds:\n  - url: https://ex.com/rss\n    name: Mine\n")
    result = CliRunner().invoke(feeds_app, ["import", str(opml), "--feeds-file", str(feeds_file)])
    assert result.exit_code == 0, result.output
    assert "added 1 feeds, 1 already listed" in result.output
    feeds = load_feed_list(feeds_file).feeds
    assert [(f.url, f.name, f.tags) for f in feeds] == [
        ("https://ex.com/rss", "Mine", ()),
        ("https://other.org/feed.xml", "Other", ()),
    ]
    again = CliRunner().invoke(feeds_app, ["import", str(opml), "--feeds-file", str(feeds_file)])
    assert "added 0 feeds, 2 already listed" in again.output


def test_import_rejects_broken_opml(tmp_path: Path) -> None:
    opml = tmp_path / "bad.opml"
    opml.write_text("<opml><body><outline")
    result = CliRunner().invoke(
        feeds_app, ["import", str(opml), "--feeds-file", str(tmp_path / "f.yaml")]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "f.yaml").exists()


async def test_check_url_lists_entries_and_problems(feed_server: FeedServer) -> None:
    body = rss([("c1", "Checked one"), ("c1", "Same guid"), ("c3", "Three")])
    body = body.replace("<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>", "", 1)
    url = feed_server.static("/check.xml", body)
    result = await invoke("check", url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == 200 and report["version"] == "rss20"
    # Same GUID and same link: one entry listed twice, so it would be produced once.
    assert [a["title"] for a in report["articles"]] == ["Checked one", "Three"]
    assert any(p.startswith("missing dates: 1") for p in report["problems"])
    assert any(p.startswith("duplicate guids: 1") for p in report["problems"])


async def test_check_reports_fetch_errors(feed_server: FeedServer) -> None:
    result = await invoke("check", feed_server.url("/missing.xml"))
    assert result.exit_code == 1
    assert "HTTP 404" in result.output


def test_check_local_file_and_bozo(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(rss([("f1", "File one")]).replace("</channel></rss>", "<item><title>x"))
    result = CliRunner().invoke(feeds_app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "File one" in result.output
    assert "problem bozo:" in result.output


async def test_status_shows_health_from_the_state_topic(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    feed_server: FeedServer,
    fast_ingest: IngestSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = feed_server.static("/ok.xml", rss([("s1", "Status one"), ("s2", "Status two")]))
    bad = feed_server.url("/gone.xml")
    feeds_file = write_feeds(tmp_path / "feeds.yaml", [good, bad], interval=30)
    settings = make_settings(kafka_bootstrap, unique_name, feeds_file, fast_ingest)
    monkeypatch.setenv(
        "WIREWATCH_SETTINGS", str(write_settings_yaml(tmp_path / "s.yaml", settings))
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_pollers(settings, stop=stop))
    try:
        assert await wait_until(lambda: feed_server.count("/gone.xml") >= 1, 20)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    result = await invoke("status", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["url"]: row for row in json.loads(result.output)}
    assert rows[good]["consecutive_failures"] == 0 and rows[good]["last_success"]
    assert rows[good]["entries_per_day"] == 2.0
    assert rows[good]["next_poll"]
    assert rows[bad]["consecutive_failures"] == 1
    assert rows[bad]["last_error"] == "HTTP 404 Not Found"
    assert "seen" not in rows[good]
    table = await invoke("status")
    assert table.exit_code == 0 and "HTTP 404" in table.output
