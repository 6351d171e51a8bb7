"""Loading and checking rules files: every problem, at the right line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.rules import Problem, RulesError, check_rules_bytes, load_rules


def at(text: str, marker: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, col) of the nth occurrence of ``marker`` in ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(marker, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def check(tmp_path: Path, text: str, notify: Path | None = None) -> list[Problem]:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    book, problems = check_rules_bytes(path, text.encode(), notify_config=notify)
    assert (book is None) == bool(problems)
    return problems


def where(problems: list[Problem]) -> list[tuple[int, int]]:
    return [(p.line, p.col) for p in problems]


GOOD = """\
version: 1
rules:
  - id: one
    query: cartel* NEAR/5 extradit*
    notify: [desk]
  - id: two
    name: Second
    query: '"tariff threat" OR tariffs'
    enabled: false
"""


def test_a_good_file_loads_with_its_content_hash_as_version(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    book = load_rules(path)
    assert [r.id for r in book.rules] == ["one"]
    assert [r.id for r in book.all_rules] == ["one", "two"]
    assert len(book.version) == 16
    assert load_rules(path).version == book.version
    path.write_text(GOOD + "# a comment changes the bytes\n")
    assert load_rules(path).version != book.version


# A query that breaks at the NEAR, written in each YAML scalar style.
@pytest.mark.parametrize(
    "query_yaml",
    [
        "query: cartel NEAR/3 (a AND b)",
        "query: 'it''s cartel NEAR/3 (a AND b)'",
        'query: "\\"q\\" cartel NEAR/3 (a AND b)"',
        "query: |\n      mexico OR\n      cartel NEAR/3 (a AND b)",
        "query: >-\n      mexico\n      OR cartel NEAR/3 (a AND b)",
        "query:\n      mexico OR tariffs OR\n      cartel NEAR/3 (a AND b)",
    ],
    ids=["plain", "single-quoted", "double-quoted", "literal", "folded", "plain-multiline"],
)
def test_query_errors_point_into_every_scalar_style(tmp_path: Path, query_yaml: str) -> None:
    text = f"version: 1\nrules:\n  - id: r\n    {query_yaml}\n"
    [problem] = check(tmp_path, text)
    assert (problem.line, problem.col) == at(text, "NEAR/3")
    assert problem.message.startswith("query: NEAR joins")


def test_query_error_at_the_end_points_after_the_last_char(tmp_path: Path) -> None:
    text = "version: 1\nrules:\n  - id: r\n    query: 'cartel OR'\n"
    [problem] = check(tmp_path, text)
    assert (problem.line, problem.col) == at(text, "'\n")
    assert "ends where a term was expected" in problem.message


def test_every_problem_is_reported_at_its_node(tmp_path: Path) -> None:
    text = """\
version: 1
rules:
  - id: a
    query: cartel
    sevrity: high
  - id: b
    query: (tariff
    severity: urgent
  - id: a
    query: ok
    sources: {include: [x], exlude: [y]}
  - name: no id
    query: fine
  - id: c
    query: x
    min_sources: 2
    followup_sources: 2
"""
    problems = check(tmp_path, text)
    assert where(problems) == [
        at(text, "sevrity"),
        at(text, "(tariff"),
        at(text, "urgent"),
        at(text, "a\n", 1),
        at(text, "exlude"),
        at(text, "name: no id"),
        at(text, "2\n", 1),
    ]
    messages = [p.message for p in problems]
    assert messages[0].startswith("unknown key 'sevrity' in rules.0 (rule keys: id, name, query")
    assert messages[1] == "query: missing ')' to close this '('"
    assert messages[2].startswith("rules.1.severity: Input should be 'low', 'normal' or 'high'")
    assert messages[3] == "duplicate rule id 'a' (first defined on line 3)"
    assert messages[4] == "unknown key 'exlude' in rules.2.sources"
    assert messages[5] == "missing required key 'id' in rules.3"
    assert "must be greater than min_sources (2)" in messages[6]


@pytest.mark.parametrize(
    ("text", "marker", "message"),
    [
        ("version: 1\nrules:\n  - id: a\n    query: [unclosed\n", "", "YAML syntax error"),
        ("rules: []\n", "rules", "missing required key 'version' in the top level"),
        ("version: 2\nrules: []\n", "2", "version: Input should be 1"),
        ("version: 1\nrule: []\n", "rule:", "unknown key 'rule' in the top level"),
        ("- just a list\n", "-", "expected a mapping"),
        ("version: 1\nrules:\n  - id: a\n    query: 12\n", "12", "Input should be a valid string"),
        ("version: 1\nrules:\n  - id: a\n    id: b\n    query: x\n", "id: b", "duplicate key 'id'"),
        ("version: 1\nrules:\n  - id: 'bad id'\n    query: x\n", "'bad id'", "should match"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, marker: str, message: str) -> None:
    [problem] = check(tmp_path, text)
    assert message in problem.message
    if marker:
        assert (problem.line, problem.col) == at(text, marker)
    else:  # the YAML parser's own mark: the end of the unclosed flow sequence
        assert problem.line >= 4


def test_render_shows_file_line_col_and_a_caret(tmp_path: Path) -> None:
    text = "version: 1\nrules:\n  - id: r\n    query: a NEAR b\n"
    [problem] = check(tmp_path, text)
    rendered = problem.render().splitlines()
    path = tmp_path / "rules.yaml"
    assert rendered[0] == f"{path}:4:14: query: NEAR needs a distance, e.g. NEAR/5"
    assert rendered[1] == "    4 |     query: a NEAR b"
    assert rendered[2] == "      |              ^"
    assert rendered[2].index("^") == rendered[1].index("NEAR")


def test_load_rules_raises_with_all_problems(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n  - id: a\n    query: (x\n  - id: a\n    query: y\n")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert [(p.line, p.col) for p in info.value.errors] == [(4, 12), (5, 9)]
    assert f"{path}:4:12: query: missing ')'" in str(info.value)
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.yaml")


def test_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    data = b"version: 1\nrules:\n  - id: a\n    query: caf\xe9\n"
    book, problems = check_rules_bytes(path, data)
    assert book is None
    assert [(p.line, p.message[:9]) for p in problems] == [(4, "not UTF-8")]


def test_notify_tags_must_be_carried_by_a_target(tmp_path: Path) -> None:
    notify = tmp_path / "notify.yaml"
    notify.write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/hook:\n      tag: desk, ops\n"
        "  - notaservice://nowhere\n"
    )
    text = GOOD.replace("notify: [desk]", "notify: [desk, newsroom]")
    problems = check(tmp_path, text, notify=notify)
    assert len(problems) == 2
    url_problem, tag_problem = sorted(problems, key=lambda p: p.path != str(notify))
    assert (url_problem.path, url_problem.line) == (str(notify), 5)
    assert "notaservice" in url_problem.message
    assert (tag_problem.line, tag_problem.col) == at(text, "newsroom")
    assert "notify tag 'newsroom' is carried by no target" in tag_problem.message
    assert "tags there: desk, ops" in tag_problem.message
    assert check(tmp_path, GOOD, notify=notify) != []  # the bad URL alone is still an error
    notify.write_text("version: 1\nurls:\n  - json://127.0.0.1:9/hook:\n      tag: desk\n")
    assert check(tmp_path, GOOD, notify=notify) == []


def test_no_targets_at_all_means_console_only_and_no_tag_errors(tmp_path: Path) -> None:
    # An empty or absent notify.yaml runs console + JSONL only; tags wait for targets.
    assert check(tmp_path, GOOD, notify=tmp_path / "absent.yaml") == []
    empty = tmp_path / "notify.yaml"
    empty.write_text("version: 1\nurls: []\n")
    assert check(tmp_path, GOOD, notify=empty) == []
    empty.write_text("version: 1\nurls:\n  - json://127.0.0.1:9/hook\n")
    [problem] = check(tmp_path, GOOD, notify=empty)
    assert "notify tag 'desk' is carried by no target" in problem.message
    assert "it has no tagged targets" in problem.message
