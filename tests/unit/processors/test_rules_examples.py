"""The shipped example rules fire on the demo story and its paraphrases, not on near misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.rules import RuleBook, load_rules
from processors.rules.model import Rule
from tests.news_articles import (
    DOMESTIC_DRUG_CASE,
    NEAR_MISSES,
    OTHER_EXTRADITION,
    TRANSFER,
    TRANSFER_COPY,
    TRANSFER_RETOLD,
    NewsArticle,
)
from wirewatch.events import Article

DEMO = (
    "Mexico sent 26 captured cartel operatives to the United States on Tuesday, the second "
    "such transfer after 29 cartel leaders were sent in February, under pressure from "
    "President Trump who had threatened high tariffs over immigration and drug cartels; the "
    "U.S. Justice Department committed not to seek the death penalty; President Claudia "
    "Sheinbaum rejected any U.S. military operation inside Mexico"
)
BOTH = {"cartel-extraditions", "tariff-threats"}
CARTEL = {"cartel-extraditions"}
TARIFF = {"tariff-threats"}


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rules(Path(__file__).resolve().parents[3] / "config" / "rules.yaml")


def fired(book: RuleBook, title: str, summary: str = "") -> set[str]:
    return {m.rule_id for m in book.match(Article(id="x", title=title, summary=summary))}


def test_the_demo_story_fires_both_rules(book: RuleBook) -> None:
    assert fired(book, "Mexico sends 26 cartel members to US", DEMO) == BOTH
    assert fired(book, DEMO) == BOTH  # the one sentence alone is enough


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("Sinaloa cartel boss extradited", "Mexico extradited him to face charges.", CARTEL),
        (
            "Cartel figures handed over to U.S. authorities",
            "Mexican officials handed over 10 cartel figures to U.S. authorities.",
            CARTEL,
        ),
        (
            "Colombia transferred to the United States three Clan del Golfo cartel leaders",
            "",
            CARTEL,
        ),
        (
            "Narco kingpins transferred to the United States",
            "Guatemala moved the men overnight.",
            CARTEL,
        ),
        ("México extradita a líder del cártel a EE.UU.", "Extraditado el jefe del cartel.", CARTEL),
        ("Trump threatens 25% tariffs on Mexican imports", "", TARIFF),
        ("Canada weighs its answer to the tariff threat", "", TARIFF),
        ("EU warns of retaliatory tariffs", "", TARIFF),
        ("Beijing vows levies on U.S. farm goods after threats", "", TARIFF),
    ],
)
def test_paraphrases_fire(book: RuleBook, title: str, summary: str, expected: set[str]) -> None:
    assert fired(book, title, summary) == expected


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Review: a cartel drama that never finds its footing",
            "The film follows a Sinaloa cartel boss sent from Mexico to the United States; "
            "the sequel is starring Benicio del Toro.",
        ),
        (
            "Netflix series on Mexican drug lords gets a second season",
            "The show imagines a kingpin extradited to the United States.",
        ),
        (
            "U.S. lifts steel tariffs on Mexico",
            "Washington lifted the tariffs it had threatened to extend, ending the dispute.",
        ),
        ("Tariffs on Canadian lumber dropped after talks", "The threat of a trade war receded."),
        (
            "Chicago man convicted in cartel-linked drug case",
            "A federal jury in Chicago convicted a local man of distributing cocaine supplied by "
            "a Mexican cartel; he faces sentencing in June.",
        ),
        (
            "Texas deputies seize cartel cash in traffic stop",
            "The money was sent to a state lab for testing.",
        ),
        ("Airline passengers face new fees", "Fees threaten to push up ticket prices."),
    ],
)
def test_near_misses_do_not_fire(book: RuleBook, title: str, summary: str) -> None:
    assert fired(book, title, summary) == set()


def test_demo_terms_are_highlightable_surface_words(book: RuleBook) -> None:
    matches = book.match(Article(id="x", title="", summary=DEMO))
    terms = {m.rule_id: m.terms for m in matches}
    assert {"cartel", "Mexico", "United States"} <= set(terms["cartel-extraditions"])
    assert terms["tariff-threats"] == ("threatened", "tariffs")
    assert all(t in DEMO for ts in terms.values() for t in ts)


# --- whole articles: the body is in the default scope -----------------------------------


def fired_on(book: RuleBook, story: NewsArticle) -> set[str]:
    article = Article(
        id=story.slug,
        title=story.title,
        summary=story.summary,
        body=story.body,
        source=story.source,
    )
    return {m.rule_id for m in book.match(article)}


@pytest.mark.parametrize(
    ("story", "expected"),
    [
        (TRANSFER, BOTH),
        (TRANSFER_COPY, BOTH),
        (TRANSFER_RETOLD, CARTEL),
        (OTHER_EXTRADITION, CARTEL),
    ],
    ids=lambda v: v.slug if isinstance(v, NewsArticle) else "",
)
def test_whole_articles_fire(book: RuleBook, story: NewsArticle, expected: set[str]) -> None:
    assert fired_on(book, story) == expected


def test_a_threat_only_the_body_reports_fires_tariff_threats(book: RuleBook) -> None:
    lead_only = Article(id="x", title=TRANSFER.title, summary=TRANSFER.summary)
    assert {m.rule_id for m in book.match(lead_only)} == CARTEL
    matches = book.match(
        Article(id="x", title=TRANSFER.title, summary=TRANSFER.summary, body=TRANSFER.body)
    )
    terms = {m.rule_id: m.terms for m in matches}
    assert terms["tariff-threats"] == ("threatened", "tariffs")
    assert "has threatened high tariffs" in TRANSFER.body


@pytest.mark.parametrize("story", NEAR_MISSES, ids=lambda s: s.slug)
def test_whole_article_near_misses_do_not_fire(book: RuleBook, story: NewsArticle) -> None:
    assert fired_on(book, story) == set()


def test_an_old_extradition_deep_in_a_trial_story_does_not_fire(book: RuleBook) -> None:
    # The domestic case names a cartel, Mexico and an extradition to the United
    # States, only not as its news: the transfer must be in the headline or description.
    body = DOMESTIC_DRUG_CASE.body
    assert "extradited from Mexico to the United States" in body
    article = Article(id="x", title=DOMESTIC_DRUG_CASE.title, summary="", body=body)
    assert book.match(article) == []
    lead = Article(id="y", title="Mexico extradites cartel figure to U.S.", body=body)
    assert {m.rule_id for m in book.match(lead)} == CARTEL


@pytest.mark.parametrize("scope", [("title", "summary"), ("body",)])
def test_scope_still_narrows_a_rule(scope: tuple[str, ...]) -> None:
    rule = Rule.model_validate({"id": "r", "query": "tariffs NEAR/3 threatened", "scope": scope})
    book = RuleBook([rule])
    fired = bool(book.match(Article(id="x", title=TRANSFER.title, body=TRANSFER.body)))
    assert fired == (scope == ("body",))
