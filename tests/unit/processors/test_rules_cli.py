"""``wirewatch rules check`` and ``wirewatch rules test`` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from processors.cli import rules_app
from wirewatch.events import Article

RULES = """\
version: 1
rules:
  - id: cartel
    query: cartel* NEAR/5 extradit* -film
    notify: [desk]
  - id: tariffs
    query: tariff* NEAR/4 threat*
"""
FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Test Wire</title><language>en</language>
<item><title>Cartel boss extradited</title><link>https://e.test/1</link>
<description>&lt;p&gt;The &lt;b&gt;cartel&lt;/b&gt; leader was extradited.&lt;/p&gt;
</description></item>
<item><title>Weather</title><link>https://e.test/2</link><description>Sunny.</description></item>
</channel></rss>
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    notify = tmp_path / "notify.yaml"
    notify.write_text("version: 1\nurls:\n  - json://127.0.0.1:9/hook:\n      tag: desk\n")
    return rules, notify


def test_check_ok(runner: CliRunner, files: tuple[Path, Path]) -> None:
    rules, notify = files
    result = runner.invoke(rules_app, ["check", str(rules), "--notify", str(notify)])
    assert result.exit_code == 0, result.output
    assert "OK, 2 enabled rule(s)" in result.stdout


def test_check_reports_every_error_with_a_caret_and_fails(
    runner: CliRunner, files: tuple[Path, Path]
) -> None:
    rules, notify = files
    rules.write_text(
        RULES.replace("extradit* -film", "(extradit*")
        .replace("notify: [desk]", "notify: [desk, ops]")
        .replace("  - id: tariffs", "  - id: cartel\n    colour: red")
    )
    result = runner.invoke(rules_app, ["check", str(rules), "--notify", str(notify)])
    assert result.exit_code == 1
    err = result.stderr
    assert f"{rules}:4:27: query: missing ')' to close this '('" in err
    assert f"{rules}:5:20: notify tag 'ops' is carried by no target" in err
    assert f"{rules}:6:9: duplicate rule id 'cartel'" in err
    assert f"{rules}:7:5: unknown key 'colour'" in err
    line = "    query: cartel* NEAR/5 (extradit*"
    assert f"    4 | {line}\n      | " + " " * line.index("(") + "^\n" in err
    assert "4 error(s)" in err


def test_check_unreadable_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(rules_app, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read rules file" in result.stderr


def test_backtest_jsonl_highlights_and_counts(
    runner: CliRunner, files: tuple[Path, Path], tmp_path: Path
) -> None:
    rules, _ = files
    jsonl = tmp_path / "articles.jsonl"
    fire = Article(id="1", title="Cartel boss extradited", source="Wire")
    event = {"kind": "article", "article": Article(id="2", title="Tariff threat").model_dump()}
    jsonl.write_text(
        fire.model_dump_json()
        + "\n"
        + json.dumps(event, default=str)
        + "\n"
        + Article(id="3", title="Cartel film: extradited").model_dump_json()
        + "\n"
    )
    result = runner.invoke(rules_app, ["test", str(rules), "--articles", str(jsonl)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "● Cartel boss extradited" in out
    assert "fired cartel (normal)  terms: Cartel, extradited" in out
    assert "fired tariffs (normal)  terms: Tariff, threat" in out
    assert "○ Cartel film: extradited" in out
    assert "3 article(s)" in out
    assert "cartel                           fired on 1" in out


def test_backtest_explain_shows_the_failing_clause(
    runner: CliRunner, files: tuple[Path, Path], tmp_path: Path
) -> None:
    rules, _ = files
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(Article(id="3", title="Cartel film: extradited").model_dump_json() + "\n")
    result = runner.invoke(
        rules_app, ["test", str(rules), "--articles", str(jsonl), "--explain", "cartel"]
    )
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "✗ AND" in lines
    assert "✗ NOT (true when the clause below is absent)" in lines
    assert "✓ film  [title/summary/body]  found: film" in lines


def test_backtest_bad_lines_are_reported_and_fail(
    runner: CliRunner, files: tuple[Path, Path], tmp_path: Path
) -> None:
    rules, _ = files
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"id": "1", "title": "cartel extradited"}\nnot json\n{"title": 5}\n')
    result = runner.invoke(rules_app, ["test", str(rules), "--articles", str(jsonl)])
    assert result.exit_code == 1
    assert f"{jsonl}:2: not JSON" in result.stderr
    assert f"{jsonl}:3: missing or empty 'id'" in result.stderr
    assert "1 article(s)" in result.stdout  # the good line is still tested


def test_backtest_feed_file(runner: CliRunner, files: tuple[Path, Path], tmp_path: Path) -> None:
    rules, _ = files
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED)
    result = runner.invoke(rules_app, ["test", str(rules), "--feed", str(feed), "--only-matches"])
    assert result.exit_code == 0, result.output
    assert "● Cartel boss extradited  [Test Wire]" in result.stdout
    assert "The cartel leader was extradited." in result.stdout
    assert "Weather" not in result.stdout
    assert "2 article(s)" in result.stdout


@pytest.mark.parametrize(
    "args",
    [[], ["--articles", "a.jsonl", "--feed", "f.xml"], ["--feed", "f.xml", "--explain", "nope"]],
)
def test_backtest_usage_errors(
    runner: CliRunner, files: tuple[Path, Path], args: list[str]
) -> None:
    result = runner.invoke(rules_app, ["test", str(files[0]), *args])
    assert result.exit_code == 2


def test_backtest_matches_the_body_and_shows_where(
    runner: CliRunner, files: tuple[Path, Path], tmp_path: Path
) -> None:
    rules, _ = files
    body = "Officials met on Monday. " * 40 + "The president repeated his tariff threat."
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        json.dumps({"id": "1", "title": "Leaders meet", "summary": "Talks go on.", "body": body})
        + "\n"
        + json.dumps({"id": "2", "title": "Leaders meet again"})  # no body: still an article
        + "\n"
    )
    result = runner.invoke(rules_app, ["test", str(rules), "--articles", str(jsonl)])
    assert result.exit_code == 0, result.output
    assert "fired tariffs (normal)  terms: tariff, threat" in result.stdout
    assert "body: …" in result.stdout and "his tariff threat." in result.stdout
    assert "2 article(s)" in result.stdout


def test_backtest_feed_reads_the_full_content_as_body(
    runner: CliRunner, files: tuple[Path, Path], tmp_path: Path
) -> None:
    rules, _ = files
    feed = tmp_path / "feed.xml"
    content = "<p>" + "Ministers met. " * 30 + "They traded tariff threats.</p>"
    feed.write_text(
        FEED.replace(
            "<rss version",
            '<rss xmlns:content="http://purl.org/rss/1.0/modules/content/" version',
        ).replace(
            "<description>Sunny.</description>",
            f"<description>Sunny.</description><content:encoded><![CDATA[{content}]]>"
            "</content:encoded>",
        )
    )
    result = runner.invoke(rules_app, ["test", str(rules), "--feed", str(feed), "--only-matches"])
    assert result.exit_code == 0, result.output
    assert "● Weather" in result.stdout
    assert "fired tariffs (normal)  terms: tariff, threats" in result.stdout
