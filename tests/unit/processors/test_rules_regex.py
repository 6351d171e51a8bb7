"""Rule regexes on RE2: what compiles, what is refused and where, and the text bound."""

from __future__ import annotations

import pytest

from processors.rules.model import Rule, RuleBook
from processors.rules.query import QuerySyntaxError, parse_query
from processors.rules.regex import MAX_TEXT_CHARS, PatternError, compile_pattern
from wirewatch.events import Article


@pytest.mark.parametrize(
    ("pattern", "offset", "message"),
    [
        ("a(", 1, "bad regex: missing )"),
        ("(x)\\1", 3, "no backreferences or lookaround"),
        ("x(?=y)", 1, "no backreferences or lookaround"),
        ("x(?<=y)", 1, "no backreferences or lookaround"),
        ("x{2000}", 1, "invalid repetition size"),
        ("\\b北京\\b", 0, "ASCII-only"),
        ("北京\\w+", 2, "ASCII-only"),
    ],
)
def test_refused_patterns_say_why_and_where(pattern: str, offset: int, message: str) -> None:
    with pytest.raises(PatternError) as err:
        compile_pattern(pattern)
    assert (err.value.offset, message in err.value.message) == (offset, True)


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("\\d+% tariff", "a 25% tariff", True),
        ("(?i)Tariff", "tariff", True),
        ("\\pL+京", "在北京", True),  # \pL is RE2's Unicode letter class
        ("北京", "在北京", True),
        ("\\\\b", "a\\b", True),  # an escaped backslash then b, not \b
        ("f-\\d+\\b", "the f-35s", False),
    ],
)
def test_accepted_patterns_match_like_before(pattern: str, text: str, found: bool) -> None:
    assert (compile_pattern(pattern).search(text) is not None) == found


def test_case_folding_is_an_option() -> None:
    assert compile_pattern("Cartel", ignore_case=True).search("cartel")
    assert not compile_pattern("Cartel").search("cartel")


def test_the_query_parser_reports_the_offset_in_the_query() -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse_query("cartel AND /(boss)\\1/")
    assert err.value.offset == len("cartel AND /(boss)")


def test_a_regex_sees_a_bounded_prefix_of_each_field() -> None:
    book = RuleBook([Rule(id="tail", query="/needle\\d/")])
    early = "x " * 100 + "needle1"
    late = "x " * MAX_TEXT_CHARS + "needle1"
    assert [m.rule_id for m in book.match(Article(id="a", title="t", summary=early))] == ["tail"]
    assert book.match(Article(id="b", title="t", summary=late)) == []
