"""Full-text story evidence: features, story profiles, the shipped model, and restore."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processors.stories.body import (
    BODY_CHARS,
    FIGURE_LIMIT,
    VECTOR_TERMS,
    BodyProfile,
    IdfLookup,
    build_body_features,
    extract_entities,
    extract_markers,
    extract_years,
    without_full,
)
from processors.stories.clusterer import DedupConfig, StoryClusterer
from processors.stories.features import build_features, with_body
from processors.stories.model import FEATURES, MODEL_PATH, load_model
from wirewatch.events import Article

T0 = datetime(2026, 3, 1, tzinfo=UTC)

MEXICO_1 = (
    "Mexico sends 26 more captured cartel operatives to the United States",
    "Mexico on Tuesday sent 26 more people accused of working for drug cartels to the United "
    "States, the second such mass transfer this year. Among them was Abigael Gonzalez "
    "Valencia, a leader of the Los Cuinis group allied with the Jalisco New Generation cartel. "
    "The transfer came as President Trump has threatened high tariffs on Mexican goods unless "
    "Mexico does more against fentanyl trafficking. Attorney General Pam Bondi said the "
    "prisoners would face charges of drug trafficking, murder and racketeering in federal "
    "courts. Mexico's security cabinet said the transfer was made at the request of the "
    "Justice Department. Gonzalez Valencia's brother-in-law, Nemesio Oseguera, known as El "
    "Mencho, leads the Jalisco cartel and remains at large.",
)
MEXICO_2 = (
    "Twenty-six alleged cartel figures flown from Mexico to face US justice",
    "Mexican authorities flew 26 alleged cartel members to the United States on Tuesday, "
    "officials in both countries said, in the latest transfer under pressure from Washington. "
    "The group included Abigael Gonzalez Valencia, who led the Los Cuinis, a faction close "
    "to the Jalisco New Generation cartel run by Nemesio Oseguera. US Attorney General Pam "
    "Bondi said they will be prosecuted for trafficking, murder and racketeering. Mexico's "
    "security cabinet said the prisoners were sent at the request of the Justice Department, "
    "weeks after President Trump warned of tariffs over the flow of fentanyl.",
)
BRITAIN = (
    "Britain extradites alleged gang boss to Spain over cocaine shipments",
    "A British court on Friday approved the extradition of Daniel Kinahan associate Sean "
    "McGovern to Spain, where prosecutors accuse him of organising cocaine shipments through "
    "the port of Algeciras. Home Secretary Yvette Cooper signed the order after the High "
    "Court in London rejected his appeal. McGovern, 38, was arrested in Dubai last year and "
    "flown to London. Spanish police said the network moved tonnes of cocaine from Colombia "
    "through Valencia and Malaga between 2019 and 2022. His lawyers said he would apply to "
    "the European Court of Human Rights.",
)


def article(aid: str, title: str, body: str, minutes: int, source: str) -> Article:
    when = T0 + timedelta(minutes=minutes)
    return Article(id=aid, title=title, body=body, source=source, published=when, fetched_at=when)


def test_entities_are_capitals_inside_sentences_most_frequent_first() -> None:
    text = "Police said Reid left. Reid was seen in Malibu. Then Malibu police left Reid."
    entities = extract_entities(text)
    assert entities[0] == "reid"
    assert "malibu" in entities
    assert "police" not in entities  # only ever opens or follows a sentence start in lower case


@pytest.mark.parametrize(
    ("summary", "body"),
    [("", ""), ("Short summary.", ""), ("", "x" * 10)],
)
def test_short_texts_have_no_body_features(summary: str, body: str) -> None:
    assert build_body_features(("term",), "Title", summary, body, IdfLookup()) is None


@pytest.mark.parametrize(
    "body",
    [
        "word " * 2_000_000,  # 10 MB
        "\x00\x01\xff\ufffd" * 5000,  # binary junk
        "Der Bundestag hat am Donnerstag beschlossen, dass die Regierung " * 40,  # German
        "地震が東京を襲った。気象庁によると、マグニチュードは6.1だった。" * 40,  # Japanese
    ],
)
def test_any_body_yields_bounded_features(body: str) -> None:
    features = build_body_features(("title",), "A title", "", body, IdfLookup())
    if features is not None:
        assert len(features.terms) <= VECTOR_TERMS
        assert len(features.terms) == len(features.weights)
        assert len(features.markers) <= FIGURE_LIMIT + 7
    clusterer = StoryClusterer()
    verdict = clusterer.assign(article("x", "A title", body, 0, "Outlet"))
    assert verdict.new_story


def test_markers_are_figures_that_are_not_years_and_weekdays() -> None:
    text = "On Tuesday in 2009 a 6.1 quake killed 1,200 people; 7 towns, 7 days, 2010 aid."
    assert extract_markers(text) == {"tuesday", "6.1", "1200", "7"}
    many = " ".join(str(n) for n in range(3000, 100_000))
    assert len(extract_markers(many)) == FIGURE_LIMIT


# The plain forms of the year and figure patterns, as written before their
# faster scanning forms: the two must find the same things.
PLAIN_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
PLAIN_FIGURE = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)?(?![\d])")
TRICKY = [
    "In 2009, 1,000,000 fled; .5 of them by 12.30 on Monday's ferry.",
    "x2009 2009x _2009 2009_ é2009 2009é (1999) [2050] 1949 19999 ,2010 2010.5",
    "3Daily 1.2.3 4,5,6 7.. ..8 9, ,10 11.,12 Sunday Sundays sunday MONDAY",
    "",
    "no figures at all, and no weekday",
]


@pytest.mark.parametrize("text", TRICKY)
def test_years_and_markers_match_the_plain_patterns(text: str) -> None:
    assert extract_years(text) == frozenset(PLAIN_YEAR.findall(text))
    figures: list[str] = []
    for match in PLAIN_FIGURE.finditer(text):
        figure = match.group().replace(",", "")
        if not PLAIN_YEAR.fullmatch(figure) and figure not in figures:
            figures.append(figure)
    weekdays = re.findall(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", text)
    expected = frozenset(figures[:FIGURE_LIMIT]) | {d.lower() for d in weekdays}
    assert extract_markers(text) == expected


def test_with_body_and_without_full_equal_dataclass_replace() -> None:
    title, body = MEXICO_1
    features = build_features(title, "", "nyt", 600)
    found = build_body_features(features.title_terms, title, "", body, IdfLookup())
    assert found is not None and found.full
    assert with_body(features, found) == dataclasses.replace(features, body=found)
    assert without_full(found) == dataclasses.replace(found, full=None)
    assert without_full(found).full is None


def test_features_read_only_the_lead() -> None:
    lead = "Alpha beta gamma delta epsilon zeta. " * 60
    tail = " ".join(f"Tailword{i} appears late." for i in range(500))
    features = build_body_features((), "Title", "", lead[:BODY_CHARS] + tail, IdfLookup())
    assert features is not None
    assert not any(t.startswith("tailword") for t in features.terms)


def test_profile_add_then_remove_leaves_nothing() -> None:
    idf = IdfLookup()
    profile = BodyProfile()
    bodies = [build_body_features((), t, "", b, idf) for t, b in (MEXICO_1, MEXICO_2, BRITAIN)]
    for body in bodies:
        assert body is not None
        profile.add(body)
    assert profile.members == 3
    for body in bodies:
        assert body is not None
        profile.add(body, sign=-1)
    assert profile.members == 0
    assert not profile.centroid
    assert not profile.entities
    assert not profile.markers
    assert not profile.years
    assert profile.norm2 == pytest.approx(0.0, abs=1e-9)


def test_shipped_model_matches_the_code(tmp_path: Path) -> None:
    model = load_model()
    assert len(model.weights) == len(FEATURES)
    assert 0.5 <= model.threshold < 1.0
    data = json.loads(MODEL_PATH.read_text())
    data["features"] = data["features"][::-1]
    wrong = tmp_path / "model.json"
    wrong.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="do not match"):
        load_model(wrong)


def test_same_event_in_other_words_joins_and_another_event_of_its_kind_does_not() -> None:
    clusterer = StoryClusterer()
    first = clusterer.assign(article("nyt", *MEXICO_1, 0, "New York Times"))
    second = clusterer.assign(article("bbc", *MEXICO_2, 30, "BBC"))
    third = clusterer.assign(article("grd", *BRITAIN, 60, "Guardian"))
    assert first.new_story
    assert second.story_id == first.story_id, second.reason
    assert second.duplicate_of is None
    assert third.new_story, third.reason


def test_the_model_does_not_join_a_story_only_the_same_outlet_has_reported() -> None:
    # One outlet's house style and recurring names make its unrelated items look
    # alike, so a story only that outlet has reported is left to the copy rule;
    # across outlets the same pair joins (see the test above).
    for same_outlet_allowed in (False, True):
        clusterer = StoryClusterer(DedupConfig(own_outlet_joins=same_outlet_allowed))
        first = clusterer.assign(article("nyt", *MEXICO_1, 0, "New York Times"))
        second = clusterer.assign(article("nyt2", *MEXICO_2, 30, "New York Times"))
        assert first.new_story
        assert (second.story_id == first.story_id) is same_outlet_allowed, second.reason


def test_restore_reproduces_body_decisions() -> None:
    live = StoryClusterer()
    records: dict[str, object] = {}
    for verdict in (
        live.assign(article("nyt", *MEXICO_1, 0, "New York Times")),
        live.assign(article("grd", *BRITAIN, 10, "Guardian")),
    ):
        for key, value in verdict.state_updates:
            records[key] = value
    restored = StoryClusterer()
    restored.restore([(k, v) for k, v in records.items() if isinstance(v, dict)])
    late = article("bbc", *MEXICO_2, 30, "BBC")
    assert restored.assign(late).story_id == live.assign(late).story_id
