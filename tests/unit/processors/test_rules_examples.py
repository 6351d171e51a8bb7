"""The shipped example rules fire on the demo story and its paraphrases, not on near misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.rules import RuleBook, load_rules
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
