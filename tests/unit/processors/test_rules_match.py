"""RuleBook.match: matched terms, source/language filters, the prefilter, explanations."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from processors.rules.model import Rule, RuleBook, SourceFilter
from processors.rules.query_text import fold, join_words, leading_literal, word_spans
from wirewatch.events import Article


def article(summary: str = "", **fields: str) -> Article:
    ident, title = fields.pop("id", "a1"), fields.pop("title", "")
    return Article(id=ident, title=title, summary=summary, **fields)


def test_match_reports_rule_fields_and_surface_terms_in_text_order() -> None:
    rule = Rule(
        id="r1",
        name="Cartel handovers",
        query='cartel* NEAR/5 extradit* "U.S. Justice" mexico -film',
        severity="high",
        notify=("newsroom", "ops"),
    )
    text = "México extradited 26 Cartel members; the U.S. Justice Department agreed."
    [match] = RuleBook([rule]).match(article(text))
    assert match.rule_id == "r1"
    assert match.name == "Cartel handovers"
    assert match.severity == "high"
    assert match.notify == ("newsroom", "ops")
    assert match.terms == ("México", "extradited", "Cartel", "U.S. Justice")


def test_terms_come_from_positive_clauses_only() -> None:
    rule = Rule(id="r", query="(tariff* OR levies) -lifted OR NOT banana")
    [match] = RuleBook([rule]).match(article("tariffs and levies"))
    assert match.terms == ("tariffs", "levies")


def test_regex_terms_are_surface_text() -> None:
    [match] = RuleBook([Rule(id="r", query="/\\d+% tarif/")]).match(article("25% Tarifs!"))
    assert match.terms == ("25% Tarif",)


def test_near_terms_are_only_the_words_that_were_near() -> None:
    rule = Rule(id="r", query="cartel NEAR/2 extradited")
    text = "cartel news. many many many words later: cartel boss extradited"
    [match] = RuleBook([rule]).match(article(text))
    assert match.terms == ("cartel", "extradited")


@pytest.mark.parametrize(
    ("sources", "fields", "expected"),
    [
        (SourceFilter(include=("Reuters",)), {"source": "Reuters"}, True),
        (SourceFilter(include=("reuters",)), {"source": "REUTERS "}, True),
        (SourceFilter(include=("Reuters",)), {"source": "AP"}, False),
        (SourceFilter(include=("reuters.com",)), {"url": "https://www.reuters.com/x"}, True),
        (SourceFilter(include=("reuters.com",)), {"feed_url": "https://feeds.reuters.com/w"}, True),
        (SourceFilter(include=("reuters.com",)), {"url": "https://notreuters.com/x"}, False),
        (SourceFilter(exclude=("Tabloid",)), {"source": "Tabloid"}, False),
        (SourceFilter(exclude=("Tabloid",)), {"source": "Reuters"}, True),
        (SourceFilter(include=("Le Monde",)), {"source": "Le Mondé"}, True),
    ],
)
def test_source_filter(sources: SourceFilter, fields: dict[str, str], expected: bool) -> None:
    book = RuleBook([Rule(id="r", query="cartel", sources=sources)])
    assert bool(book.match(article("cartel", **fields))) is expected


@pytest.mark.parametrize(
    ("languages", "language", "expected"),
    [
        ((), "", True),
        (("en",), "en", True),
        (("en",), "en-US", True),
        (("EN",), "en_gb", True),
        (("es",), "en", False),
        (("es", "en"), "en", True),
        (("es",), "", False),
    ],
)
def test_language_filter(languages: tuple[str, ...], language: str, expected: bool) -> None:
    book = RuleBook([Rule(id="r", query="cartel", languages=languages)])
    assert bool(book.match(article("cartel", language=language))) is expected


def test_disabled_rules_do_not_match_but_can_be_looked_up() -> None:
    book = RuleBook([Rule(id="on", query="x1"), Rule(id="off", query="x1", enabled=False)])
    assert [m.rule_id for m in book.match(article("x1"))] == ["on"]
    assert [r.id for r in book.rules] == ["on"]
    off = book.get("off")
    assert off is not None and not off.enabled
    assert book.get("missing") is None


def test_matches_come_in_rule_order() -> None:
    rules = [Rule(id=f"r{i}", query=q) for i, q in enumerate(["zeta", "NOT nothing", "alpha"])]
    assert [m.rule_id for m in RuleBook(rules).match(article("alpha zeta"))] == ["r0", "r1", "r2"]


def test_version_is_stable_for_the_same_rules() -> None:
    rules = [Rule(id="a", query="x1")]
    assert RuleBook(rules).version == RuleBook(list(rules)).version
    assert RuleBook(rules).version != RuleBook([Rule(id="a", query="x2")]).version
    assert RuleBook(rules, version="v7").version == "v7"


def test_explain_names_the_failing_clause() -> None:
    book = RuleBook([Rule(id="r", query="cartel* NEAR/3 extradit* -film", languages=("en",))])
    lines = book.explain(article("cartel film about an extradition", language="en"), "r")
    assert lines[0] == "✓ source and language filters pass"
    assert lines[1] == "✗ AND"
    assert any("✓ cartel*" in line and "found: cartel" in line for line in lines)
    assert any(line.strip().startswith("✗ NOT") for line in lines)
    assert any(line.strip().startswith("✓ film") for line in lines)
    rejected = book.explain(article("cartel extradited", language="es"), "r")
    assert rejected[0].startswith("✗ language 'es'")
    assert book.explain(article("x"), "nope") == ["rule 'nope' is not in this file"]


# --- the prefilter never changes a result ------------------------------------

_VOCAB = ["cartel", "cartels", "extradited", "extradition", "tariff", "tariffs"]
_VOCAB += ["threat", "mexico", "film", "us", "u", "s"]


def _random_leaf(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(_VOCAB)
    if kind == 1:
        return rng.choice(["cart*", "extrad*", "tarif*", "threa*"])
    if kind == 2:
        return '"' + " ".join(rng.sample(_VOCAB, 2)) + '"'
    if kind == 3:
        return f"{rng.choice(_VOCAB)} NEAR/{rng.randint(0, 4)} {rng.choice(_VOCAB)}"
    return "/mex.co/"


def _random_query(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.4:
        return _random_leaf(rng)
    op = rng.choice([" AND ", " OR ", " ", " -"])
    left, right = _random_query(rng, depth + 1), _random_query(rng, depth + 1)
    return f"({left}{op}{right})" if op != " -" else f"({left} -({right}))"


def test_prefilter_agrees_with_evaluating_every_rule() -> None:
    rng = random.Random(7)
    rules = [Rule(id=f"r{i}", query=_random_query(rng)) for i in range(300)]
    book = RuleBook(rules)
    fired_total = 0
    for n in range(60):
        text = " ".join(rng.choice([*_VOCAB, "filler", "words", "here"]) for _ in range(25))
        doc_article = article(text, id=f"a{n}", title=rng.choice(_VOCAB))
        fast = {m.rule_id for m in book.match(doc_article)}
        doc = book.scan(doc_article)
        slow = {e.rule.id for e in book._entries if e.root.test(doc)}
        assert fast == slow
        fired_total += len(fast)
    assert fired_total > 100  # the table exercises real matches, not just misses


@pytest.mark.parametrize(
    ("query", "summary", "terms"),
    [
        # Folding moves word boundaries here (a combining accent, a soft hyphen,
        # a ligature); the terms must still be the exact original text.
        ("mexico", "in Me\u0301xico today", ("Me\u0301xico",)),
        ("extraordinary", "an extra\u00adordinary day", ("extra\u00adordinary",)),
        ("finance", "ﬁnance ministers", ("ﬁnance",)),
        ('"strasse 5"', "Hauptstraße 5 und Straße 5", ("Straße 5",)),
        ("cartel*", "Cártel, cartels y CARTELES", ("Cártel", "cartels", "CARTELES")),
    ],
)
def test_terms_are_exact_original_text_even_when_folding_moves_boundaries(
    query: str, summary: str, terms: tuple[str, ...]
) -> None:
    [match] = RuleBook([Rule(id="r", query=query)]).match(article(summary))
    assert match.terms == terms


# --- the fast text paths agree with their definitions ------------------------

_TRICKY = [*"aAzZ09_ -.,;'\"\t\n\x00", *"éÉçÇñÑüÜøØßſİıﬁﬀ\u00ad\u0301\u0308\u2019“”—…€™Σσς"]
_TRICKY += [*"ЖжПривет中文字\uff0c。\u00a0\u2003\u200bǅǆΩK\u0345", "\ud800", "\U0001d400"]


def _reference_fold(text: str) -> str:
    # The definition in query_text: per char casefold, NFKD, no combining marks, lower.
    def one(char: str) -> str:
        if char == "\u00ad":
            return ""
        decomposed = unicodedata.normalize("NFKD", char.casefold())
        return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()

    return "".join(one(c) for c in text).lower()


def test_fold_and_word_split_agree_with_their_definitions() -> None:
    rng = random.Random(3)
    for n in range(3000):
        # Long texts with many non-ASCII chars take the general paths, short ones the fast.
        text = "".join(rng.choice(_TRICKY) for _ in range(rng.randint(0, 30 if n % 4 else 400)))
        folded = fold(text)
        assert folded == _reference_fold(text), repr(text)
        words = re.findall(r"\w+", folded)
        segment, masked = join_words(folded)
        assert segment == " ".join(words)
        if masked is not None:
            assert len(masked) == len(folded) and masked.split() == words
        starts, lens = word_spans(folded, masked)
        assert [(s, s + n) for s, n in zip(starts, lens, strict=True)] == [
            m.span() for m in re.finditer(r"\w+", folded)
        ]


@pytest.mark.parametrize(
    ("query", "summary", "terms"),
    [
        # Word boundaries far from where single spacing puts them.
        ("gamma", "alpha ---------------------------- beta!!! ... gamma", ("gamma",)),
        (
            '"beta gamma"',
            "alpha, beta ...... gamma; beta gamma",
            ("beta ...... gamma", "beta gamma"),
        ),
        ("beta NEAR/1 delta", "beta -- -- -- gamma .. .. delta", ("beta", "delta")),
        # More words to place in one field than are placed one by one.
        ("tar*", " ; ".join(f"Tar{i}" for i in range(20)), tuple(f"Tar{i}" for i in range(20))),
        ('"tar1 tar2"', " ; ".join(f"Tar{i % 3}" for i in range(30)), ("Tar1 ; Tar2",)),
        # Text in another script (the general split) and words that folding changes.
        ("moskva", "Привет " * 60 + "\u041c\u041e\u0421\u041a\u0412\u0410, Moskvá", ("Moskvá",)),
        ('"zhong wen"', "中文字 " * 80 + "Zhong,  Wén!", ("Zhong,  Wén",)),
    ],
)
def test_terms_are_exact_original_text_whatever_the_spacing_and_script(
    query: str, summary: str, terms: tuple[str, ...]
) -> None:
    [match] = RuleBook([Rule(id="r", query=query)]).match(article(summary))
    assert match.terms == terms


@pytest.mark.parametrize(
    ("query", "summary", "fires"),
    [
        # The search starts at the literal's first occurrence; later ones still count.
        ("/\\bcartel\\W+\\d+/", "cartel, and a cartel 12", True),
        ("/\\bcartel\\W+\\d+/", "cartels 12 and the cartel", False),
        ("/cartel\\d/", "xcartel cartel1", True),
        # An upper-case pattern searches case-insensitively from the start.
        ("/Cartel\\W+\\d+/", "the CARTEL 12", True),
    ],
)
def test_regex_rules(query: str, summary: str, fires: bool) -> None:
    assert bool(RuleBook([Rule(id="r", query=query)]).match(article(summary))) is fires


@pytest.mark.parametrize(
    ("pattern", "lead"),
    [
        ("\\bcartel\\W+\\d+", "cartel"),
        ("tarif?", "tari"),
        ("ab\\.c+d", "ab.c"),
        ("abc{2}", "ab"),
        ("a|b", ""),
        ("(?i)abc", ""),
        ("\\d+%", ""),
        ("mex.co", "mex"),
    ],
)
def test_leading_literal(pattern: str, lead: str) -> None:
    assert leading_literal(pattern) == lead
    if lead:
        assert all(m.group().startswith(lead) for m in re.finditer(pattern, f"{lead}xx {lead}"))
