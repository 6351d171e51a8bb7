"""Rule regexes are hostile-input safe: RE2, bounded text, patterns RE2 refuses caught at check.

Issue 13: ``/(a+)+b/`` against a 24-character title took 1.8 s on stdlib ``re``
(doubling per character), on the event loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from processors.cli import rules_app
from processors.rules.model import Rule, RuleBook
from wirewatch.events import Article


# The guard is pytest's timeout: on a backtracking engine this title would take
# longer than the age of the universe; on RE2 it is microseconds.
@pytest.mark.timeout(30)
@pytest.mark.parametrize("field", ["title", "summary", "body"])
def test_nested_quantifier_against_a_long_text_returns(field: str) -> None:
    book = RuleBook([Rule(id="redos", query="/(a+)+b/")])
    hostile = "a" * 5_000 + "!"
    assert book.match(Article(id="x", **{"title": "t", field: hostile})) == []
    # Still a working regex: it fires when the text matches.
    [match] = book.match(Article(id="y", **{"title": "t", field: "a" * 5_000 + "b"}))
    assert match.rule_id == "redos"


@pytest.mark.timeout(30)
def test_explaining_a_hostile_match_returns_too() -> None:
    book = RuleBook([Rule(id="redos", query="/(x+x+)+y/")])
    lines = book.explain(Article(id="x", title="x" * 5_000), "redos")
    assert lines  # explain ran the regex to its end and said why it does not fire


@pytest.mark.parametrize(
    ("pattern", "marker", "why"),
    [
        (r"(cartel) \1", r"\1", "invalid escape sequence"),
        ("cartel(?= boss)", "(?=", "invalid perl operator"),
        ("(?<!drug )cartel", "(?<!", "invalid perl operator"),
    ],
)
def test_rules_check_rejects_what_re2_cannot_take_at_its_line_and_col(
    tmp_path: Path, pattern: str, marker: str, why: str
) -> None:
    rules = tmp_path / "rules.yaml"
    text = (
        "version: 1\nrules:\n  - id: ok\n    query: cartel\n"
        f"  - id: bad\n    query: 'x /{pattern}/'\n"
    )
    rules.write_text(text)
    result = CliRunner().invoke(rules_app, ["check", str(rules)])
    assert result.exit_code == 1
    col = text.splitlines()[5].index(marker) + 1
    assert f"{rules}:6:{col}: query: regex not supported by RE2" in result.stderr
    assert why in result.stderr


def test_rules_check_rejects_an_oversized_pattern(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    # Far above any real watch rule, and each one costs memory on every worker.
    rules.write_text(f"version: 1\nrules:\n  - id: big\n    query: /{'a' * 50_000}/\n")
    result = CliRunner().invoke(rules_app, ["check", str(rules)])
    assert result.exit_code == 1
    assert f"{rules}:4:" in result.stderr
    assert "regex longer than" in result.stderr
