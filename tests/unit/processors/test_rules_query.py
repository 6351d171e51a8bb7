"""The query language: grammar, precedence, error positions, folding and matching."""

from __future__ import annotations

import pytest

from processors.rules.model import Rule, RuleBook
from processors.rules.query import QuerySyntaxError, describe, fold, parse_query, tokenize
from wirewatch.events import Article


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("cartel", "cartel"),
        ("a b", "(a AND b)"),
        ("a AND b", "(a AND b)"),
        ("a b c", "(a AND b AND c)"),
        ("a OR b", "(a OR b)"),
        ("a OR b c", "(a OR (b AND c))"),
        ("a b OR c", "((a AND b) OR c)"),
        ("a AND b OR c AND d", "((a AND b) OR (c AND d))"),
        ("a AND (b OR c)", "(a AND (b OR c))"),
        ("NOT a b", "(NOT a AND b)"),
        ("-a OR b", "(NOT a OR b)"),
        ("NOT NOT a", "NOT NOT a"),
        ("a -(b OR c)", "(a AND NOT (b OR c))"),
        ("a NEAR/3 b c", "(a NEAR/3 b AND c)"),
        ("NOT a NEAR/3 b", "NOT a NEAR/3 b"),
        ("a NEAR/3 b NEAR/2 c", "a NEAR/3 b NEAR/2 c"),
        ("(a OR b) NEAR/5 cat*", "(a OR b) NEAR/5 cat*"),
        ('"exact phrase" extradit*', '("exact phrase" AND extradit*)'),
        ("title:(a OR b) c", "((title:a OR title:b) AND c)"),
        ("title:a NEAR/2 b", "title:a NEAR/2 b"),
        ("title:(a url:b)", "(title:a AND url:b)"),
        ("source:reuters", "source:reuters"),
        ("url:https://example.com/x", "url:https://example.com/x"),
        ("/\\d+%/ tariff*", "(/\\d+%/ AND tariff*)"),
        ("covid-19 and or", "(covid-19 AND and AND or)"),
        ("10:30", "10:30"),
    ],
)
def test_grammar_and_precedence(query: str, tree: str) -> None:
    assert describe(parse_query(query)) == tree


@pytest.mark.parametrize(
    ("query", "offset", "message"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("a OR", 4, "query ends where a term was expected"),
        ("(a OR b", 0, "missing ')'"),
        ("a (b OR (c)", 2, "missing ')'"),
        ("a )", 2, "unbalanced ')'"),
        ('x "abc', 2, "unterminated phrase"),
        ("x /ab", 2, "unterminated regex"),
        ("x /a(/", 4, "bad regex"),
        ("x //", 2, "empty regex"),
        ("a foo:bar", 2, "unknown field 'foo:'"),
        ("a NEAR b", 2, "NEAR needs a distance"),
        ("a NEAR/3 (b AND c)", 2, "NEAR joins"),
        ("a NEAR/3 -b", 9, "expected a term, found '-'"),
        ("a NEAR/3 /b/", 2, "NEAR joins"),
        ("ex*tra", 2, "only allowed at the end"),
        ('"drug* lord"', 5, "only allowed at the end"),
        ("a -*", 3, "must follow a letter"),
        ("ab*", 0, "shorter than 3 letters"),
        ("AND a", 0, "expected a term, found 'AND'"),
        ("a OR OR b", 5, "expected a term, found 'OR'"),
        ("x title:", 2, "needs a term"),
        ("a !!!", 2, "has no letters or digits"),
        ('a ""', 2, "has no letters or digits"),
    ],
)
def test_syntax_errors_point_at_the_culprit(query: str, offset: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.offset == offset
    assert message in info.value.message


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("México", "mexico"),
        ("MEXICO", "mexico"),
        ("Me\u0301xico", "mexico"),  # decomposed accent
        ("Straße", "strasse"),
        ("naïve Zoë", "naive zoe"),
        ("İstanbul", "istanbul"),
        ("extra\u00adordinary", "extraordinary"),  # soft hyphen
        ("ﬁnance", "finance"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_tokenize_splits_on_non_word_characters() -> None:
    assert tokenize("U.S. threatens 25% tariffs—again") == [
        "u", "s", "threatens", "25", "tariffs", "again",
    ]  # fmt: skip


def fires(query: str, title: str = "", summary: str = "", **fields: str) -> bool:
    book = RuleBook([Rule(id="r", query=query)])
    article = Article(id="a", title=title, summary=summary, **fields)
    return bool(book.match(article))


@pytest.mark.parametrize(
    ("query", "summary", "expected"),
    [
        ("Mexico", "México envió a 26 narcos", True),
        ("méxico", "MEXICO CITY", True),
        ("mexico", "Me\u0301xico", True),
        ("strasse", "Die Straße ist gesperrt", True),
        ("tariff", "new tariffs", False),
        ("tariff*", "new tariffs", True),
        ("tariff*", "a tariff", True),
        ("extradit*", "after extradition", True),
        ("tariff*", "antitariff rhetoric", False),
        ('"U.S. Justice"', "the U.S. Justice Department", True),
        ('"us justice"', "the U.S. Justice Department", False),
        ('"justice department"', "justice was done; the department", False),
        ('"drug cartel*"', "rival drug cartels", True),
        ("cartel NEAR/2 extradit*", "cartel leaders were extradited", True),
        ("cartel NEAR/1 extradit*", "cartel leaders were extradited", False),
        ("extradit* NEAR/2 cartel", "cartel leaders were extradited", True),
        ('cartel NEAR/0 "were extradited"', "cartel leaders were extradited", False),
        ('leaders NEAR/0 "were extradited"', "cartel leaders were extradited", True),
        ("cartel NEAR/3 cartel*", "cartels", False),
        ("(a1 OR b1) NEAR/1 c1", "b1 x c1", True),
        ("a1 NEAR/1 b1 NEAR/1 c1", "a1 b1 x c1", True),
        ("a1 NEAR/1 b1 NEAR/1 c1", "a1 b1 x x c1", False),
        ("cartel -film", "a cartel film", False),
        ("cartel -film", "a cartel operation", True),
        ("cartel NOT (film OR movie)", "the cartel movie", False),
        ("NOT film", "anything at all", True),
        ("NOT film", "a film", False),
        ("cartel OR tariff", "tariff talk", True),
        ("cartel tariff", "tariff talk", False),
        ("/\\d+% tariff/", "25% tariffs on steel", True),
        ("/\\d+% tariff/", "high tariffs", False),
        ("/mexico/", "México", True),
        ("covid-19", "COVID 19 cases", True),
        ("and", "salt and pepper", True),
    ],
)
def test_matching_table(query: str, summary: str, expected: bool) -> None:
    assert fires(query, summary=summary) is expected


@pytest.mark.parametrize(
    ("query", "fields", "expected"),
    [
        ("title:cartel", {"title": "x", "summary": "cartel"}, False),
        ("title:cartel", {"title": "Cartel", "summary": ""}, True),
        ("summary:cartel", {"title": "cartel", "summary": "x"}, False),
        ("source:reuters", {"title": "x", "source": "Reuters"}, True),
        ("reuters", {"title": "x", "source": "Reuters"}, False),  # default scope: title+summary
        ("url:example", {"title": "x", "url": "https://example.com/a"}, True),
        ("url:mexico*", {"title": "x", "url": "https://e.com/mexico-sends-26"}, True),
        ("cartel NEAR/3 extradited", {"title": "the cartel", "summary": "extradited"}, False),
        ('"cartel extradited"', {"title": "the cartel", "summary": "extradited"}, False),
        ("title:cartel NEAR/3 extradited", {"title": "cartel was extradited"}, True),
        ("title:cartel NEAR/3 summary:extradited", {"title": "cartel extradited"}, False),
    ],
)
def test_field_scopes(query: str, fields: dict[str, str], expected: bool) -> None:
    assert fires(query, **fields) is expected


def test_rule_scope_changes_the_default_fields() -> None:
    book = RuleBook([Rule(id="r", query="reuters", scope=("source",))])
    assert book.match(Article(id="a", title="x", source="Reuters"))
    assert not book.match(Article(id="b", title="Reuters"))
