"""Pairs that must and must not be merged by the story clusterer.

Each case feeds two articles (optionally after some unrelated background
articles, so term statistics look like a real window) and checks the verdict
on the second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.stories.clusterer import DedupConfig, StoryClusterer, Verdict
from wirewatch.events import Article

BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

BACKGROUND = [
    "Central bank holds interest rates steady as inflation cools",
    "Local council approves budget for new city library",
    "Football club signs striker on three-year contract",
    "Storm warning issued for the northern coast this weekend",
    "Tech company reports record quarterly revenue on cloud demand",
    "Parliament debates new data protection bill",
    "Oil prices climb after supply cut announcement",
    "Museum returns looted artefacts to their country of origin",
]

LONG_BODY = (
    "The agency said the vessel ran aground shortly after midnight while leaving the "
    "harbour, spilling an unknown quantity of fuel oil into the bay. Coast guard crews "
    "deployed floating barriers and the port authority suspended all departures until "
    "further notice while divers inspect the hull for damage."
)


def make(
    article_id: str, title: str, summary: str = "", source: str = "", minutes: float = 0
) -> Article:
    when = BASE + timedelta(minutes=minutes)
    return Article(
        id=article_id, title=title, summary=summary, source=source, published=when, fetched_at=when
    )


def feed_pair(
    first: Article, second: Article, config: DedupConfig | None = None
) -> tuple[Verdict, Verdict]:
    clusterer = StoryClusterer(config or DedupConfig())
    for i, title in enumerate(BACKGROUND):
        clusterer.assign(make(f"bg{i}", title, minutes=-60 + i))
    return clusterer.assign(first), clusterer.assign(second)


# (first title, second title, first summary, second summary)
COPIES = [
    pytest.param(
        "Magnitude 6.4 earthquake strikes off the coast of Chile",
        "Magnitude 6.4 earthquake strikes off the coast of Chile - Reuters",
        "",
        "",
        id="outlet-suffix",
    ),
    pytest.param(
        "Court orders extradition of former banker to France",
        "COURT ORDERS EXTRADITION OF FORMER BANKER TO FRANCE",
        "",
        "",
        id="case",
    ),
    pytest.param(
        "Fed's Powell: rates to stay high, inflation 'still too hot'",
        "Fed\u2019s Powell - rates to stay high; inflation still too hot.",
        "",
        "",
        id="punctuation",
    ),
    pytest.param(
        "Government announces new tariffs on imported steel and aluminium",
        "Government unveils new tariffs on imported steel and aluminium",
        "",
        "",
        id="one-word-changed",
    ),
    pytest.param(
        "Striking dock workers reach deal with port operators after two weeks of talks",
        "Striking dock workers reach deal with port operators ...",
        "",
        "",
        id="truncated",
    ),
    pytest.param(
        "Tanker runs aground leaving harbour, fuel spills into bay",
        "Fuel spill closes port after tanker grounding",
        LONG_BODY,
        LONG_BODY,
        id="retitled-same-body",
    ),
    pytest.param(
        "Tanker runs aground leaving harbour, fuel spills into bay",
        "Tanker runs aground leaving harbour, fuel spills into bay | Maritime News",
        LONG_BODY,
        LONG_BODY[:180] + "...",
        id="syndicated-shorter-summary",
    ),
]


@pytest.mark.parametrize(("title_a", "title_b", "summary_a", "summary_b"), COPIES)
def test_near_identical_copies_are_flagged_duplicate_of(
    title_a: str, title_b: str, summary_a: str, summary_b: str
) -> None:
    first, second = feed_pair(
        make("a", title_a, summary_a, "Reuters"), make("b", title_b, summary_b, "AP", minutes=30)
    )
    assert first.new_story
    assert second.duplicate_of == "a"
    assert second.story_id == first.story_id
    assert second.matched_article == "a"
    assert second.similarity is not None
    assert second.similarity >= DedupConfig().duplicate_threshold
    assert second.reason.startswith("copy of a")


@pytest.mark.parametrize(
    ("title_a", "title_b"),
    [
        pytest.param(
            "Заява Умєрова про мобілізацію та Орбан проти України",
            "Одеса попрощалась із загиблим на війні херсонцем",
            id="cyrillic",
        ),
        pytest.param(
            "看完行业真相人们似乎真是要用不起充电宝了", "京东7亿美元投资兴盛优选", id="chinese"
        ),
        pytest.param("Σεισμός 6,1 Ρίχτερ στην Κρήτη", "Πυρκαγιά στην Αττική", id="greek"),
    ],
)
def test_titles_in_other_scripts_are_not_copies_of_each_other(title_a: str, title_b: str) -> None:
    # They used to fold to an empty string, so every one was a copy of the first.
    _, second = feed_pair(make("a", title_a, "", "Outlet A"), make("b", title_b, "", "B"))
    assert second.duplicate_of is None, second.reason
    assert second.new_story
    _, copy = feed_pair(make("d", title_a, "", "Outlet A"), make("e", title_a, "", "B"))
    assert copy.duplicate_of == "d"


@pytest.mark.parametrize("own_outlet_joins", [False, True])
def test_a_story_only_the_same_outlet_has_reported_is_joined_only_by_a_copy(
    own_outlet_joins: bool,
) -> None:
    # A blog's posts on its own products, a site's templated announcements: one
    # outlet's items look alike to the headline rules without being one story.
    config = DedupConfig(own_outlet_joins=own_outlet_joins, signature_min_window=0)
    first, second = feed_pair(
        make("a", "Hugging Face and Graphcore partner for IPU-optimized Transformers", "", "HF"),
        make("b", "Graphcore and Hugging Face launch new lineup of IPU-ready models", "", "HF", 30),
        config,
    )
    assert first.new_story
    assert second.new_story is not own_outlet_joins, second.reason
    _, copy = feed_pair(
        make("c", "Graphcore and Hugging Face launch new lineup of IPU-ready models", "", "HF"),
        make("d", "Graphcore and Hugging Face launch new lineup of IPU-ready models", "", "HF", 30),
        config,
    )
    assert copy.duplicate_of == "c"


# Rewordings only the title-cosine rule joins (the pair score stays under 90).
CLOSE_HEADLINES = [
    pytest.param(
        "Edward Snowden speaks at SXSW conference", "Snowden speaks at SXSW", id="shortened"
    ),
    pytest.param(
        "Twitch streaming arrives on Xbox One ahead of Titanfall",
        "Twitch arrives on Xbox One as Titanfall launches",
        id="reworded",
    ),
]


SAME_STORY = [
    pytest.param(
        "Volcano erupts on Iceland's Reykjanes peninsula, town of Grindavik evacuated",
        "Grindavik evacuated again as Reykjanes volcano erupts in Iceland",
        id="reworded-rare-names",
    ),
    pytest.param(
        "Airline Nordwind cancels 300 flights as pilots strike over pay",
        "Nordwind pilots strike over pay, airline cancels 300 flights",
        id="reordered-with-number",
    ),
    *CLOSE_HEADLINES,
]


@pytest.mark.parametrize(("title_a", "title_b"), SAME_STORY)
def test_same_event_in_other_words_joins_the_story_without_being_a_copy(
    title_a: str, title_b: str
) -> None:
    first, second = feed_pair(make("a", title_a, source="BBC"), make("b", title_b, minutes=45))
    assert second.story_id == first.story_id
    assert second.duplicate_of is None
    assert second.matched_article == "a"
    assert not second.new_story


DIFFERENT = [
    pytest.param(
        "Magnitude 6.2 earthquake strikes off the coast of Chile",
        "Magnitude 5.1 earthquake strikes northern Japan",
        id="two-earthquakes-numbers-and-countries",
    ),
    pytest.param(
        "Strong earthquake hits eastern Turkey, buildings collapse",
        "Strong earthquake hits southern Peru, buildings collapse",
        id="two-earthquakes-countries-only",
    ),
    pytest.param(
        "Mexico extradites cartel leader to the United States",
        "Britain approves extradition of hacker to the United States",
        id="two-extraditions-countries",
    ),
    pytest.param(
        "Court orders extradition of rapper John Doe over fraud charges",
        "Court orders extradition of banker Jan Kowalski over fraud charges",
        id="two-extraditions-people",
    ),
    pytest.param(
        "US announces 25% tariffs on Chinese steel imports",
        "US announces 10% tariffs on Canadian steel imports",
        id="two-tariffs-numbers",
    ),
    pytest.param(
        "EU threatens tariffs on American whiskey in trade row",
        "India threatens tariffs on American almonds in trade row",
        id="two-tariffs-countries",
    ),
    pytest.param(
        "Business news live: as it happened - March 10, 2026",
        "Business news live: as it happened - March 11, 2026",
        id="daily-live-blogs",
    ),
    pytest.param(
        "PostGIS 3.5.0alpha1 released with new raster functions",
        "PostGIS 3.5.0alpha2 released with new raster functions",
        id="versions-a-digit-apart",
    ),
    pytest.param(
        "Leaders gather for the G7 summit as trade talks stall",
        "Leaders gather for the G20 summit as trade talks stall",
        id="g7-and-g20",
    ),
]


# In a near-empty window the signature rule is off (no statistics yet); the
# vetoes must hold with it on too, where every shared term looks story-specific.
CONFIGS = [
    pytest.param(DedupConfig(), id="default"),
    pytest.param(DedupConfig(signature_min_window=0), id="signature-on"),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize(("title_a", "title_b"), DIFFERENT)
def test_same_type_different_events_stay_apart(
    title_a: str, title_b: str, config: DedupConfig
) -> None:
    first, second = feed_pair(make("a", title_a), make("b", title_b, minutes=20), config)
    assert second.story_id != first.story_id, second.reason
    assert second.duplicate_of is None
    assert second.new_story
    assert second.reason.startswith("new story")


def test_one_word_apart_short_titles_are_told_apart_by_their_summaries() -> None:
    first, second = feed_pair(
        make(
            "a", "Wildfire forces evacuations near Los Angeles", "Flames spread across dry hills."
        ),
        make("b", "Flooding forces evacuations near Los Angeles", "Heavy rain swelled the river."),
    )
    assert second.duplicate_of is None
    assert second.story_id != first.story_id


def test_one_word_apart_short_titles_without_summaries_count_as_copies() -> None:
    # The price of catching syndication edits: with titles alone, one swapped
    # word in a five-word-plus title is taken as an edited copy.
    _, second = feed_pair(
        make("a", "Wildfire forces evacuations near Los Angeles"),
        make("b", "Flooding forces evacuations near Los Angeles"),
    )
    assert second.duplicate_of == "a"


def test_generic_title_with_different_summaries_is_not_a_copy() -> None:
    first, second = feed_pair(
        make("a", "Market update", "Shares in mining companies fell sharply on Monday."),
        make("b", "Market update", "The euro rose against the dollar after the ECB decision."),
    )
    assert second.duplicate_of is None
    assert second.story_id != first.story_id


def test_story_sources_grow_once_per_outlet() -> None:
    clusterer = StoryClusterer()
    title = "Tanker runs aground leaving harbour, fuel spills into bay"
    first = clusterer.assign(make("a", title, source="Reuters"))
    second = clusterer.assign(make("b", title + " - AP", source="AP", minutes=1))
    third = clusterer.assign(make("c", title + " - Reuters", source="Reuters", minutes=2))
    assert (first.new_story, first.source_added, first.source_count) == (True, False, 1)
    assert (second.source_added, second.source_count) == (True, 2)
    assert second.story_sources == ("Reuters", "AP")
    assert (third.source_added, third.source_count) == (False, 2)
    assert third.duplicate_of == "a"


def test_missing_source_falls_back_to_the_url_host() -> None:
    clusterer = StoryClusterer()
    article = make("a", "Tanker runs aground").model_copy(
        update={"url": "https://news.example.org/x"}
    )
    assert clusterer.assign(article).story_sources == ("news.example.org",)


def test_same_id_again_returns_the_same_story_and_grows_no_state() -> None:
    clusterer = StoryClusterer()
    first = clusterer.assign(make("a", "Tanker runs aground leaving harbour", source="BBC"))
    edited = make("a", "Tanker runs aground leaving harbour (updated)", source="BBC", minutes=5)
    again = clusterer.assign(edited)
    assert again.story_id == first.story_id
    assert again.duplicate_of == "a"
    assert again.redelivered
    assert not again.new_story and not again.source_added
    assert again.state_updates == ()
    assert len(clusterer) == 1


def test_copy_of_a_copy_points_to_the_first_article() -> None:
    clusterer = StoryClusterer()
    title = "Striking dock workers reach deal with port operators after two weeks"
    clusterer.assign(make("a", title))
    clusterer.assign(make("b", title + " - AP", minutes=1))
    third = clusterer.assign(make("c", title.upper(), minutes=2))
    assert third.duplicate_of == "a"


def test_every_verdict_explains_itself() -> None:
    first, second = feed_pair(
        make("a", "Magnitude 6.4 earthquake strikes off the coast of Chile"),
        make("b", "Magnitude 6.4 earthquake strikes off the coast of Chile - AFP", minutes=3),
    )
    assert first.reason.startswith("new story")
    assert "similarity" in second.reason


@pytest.mark.parametrize("own_outlet_joins", [False, True])
def test_the_processor_setting_reaches_the_clusterer(own_outlet_joins: bool) -> None:
    from processors.pipeline import build_pipeline
    from wirewatch.settings import ProcessorSettings

    pipeline = build_pipeline(ProcessorSettings(own_outlet_joins=own_outlet_joins), None)
    assert pipeline.clusterer.config.own_outlet_joins is own_outlet_joins


@pytest.mark.parametrize(("title_a", "title_b"), CLOSE_HEADLINES)
def test_a_headline_close_by_idf_weighted_cosine_joins_by_that_rule(
    title_a: str, title_b: str
) -> None:
    _, second = feed_pair(make("a", title_a, source="BBC"), make("b", title_b, minutes=30))
    assert second.reason.startswith("same story as a: title cosine"), second.reason
    assert second.similarity is not None and second.similarity >= 70.0
    # Without the rule the other headline rules leave the pair apart.
    off = DedupConfig(title_cosine_threshold=101.0)
    _, alone = feed_pair(make("a", title_a, source="BBC"), make("b", title_b, minutes=30), off)
    assert alone.new_story, alone.reason


def test_the_title_cosine_rule_leaves_full_text_to_the_model() -> None:
    title = "Edward Snowden speaks at SXSW conference"
    body = LONG_BODY * 3
    first = make("a", title, source="BBC").model_copy(update={"body": body})
    second = make("b", "Snowden speaks at SXSW", minutes=30)
    second = second.model_copy(update={"body": body.replace("vessel", "tanker")})
    _, verdict = feed_pair(first, second)
    assert "title cosine" not in verdict.reason, verdict.reason


def test_of_several_stories_whose_signature_an_article_carries_it_joins_the_largest() -> None:
    # A side story that shares the main story's signature and more of the
    # article's words (a stronger signature match) must not draw the story's
    # next articles away from the story most outlets have joined.
    config = DedupConfig(signature_min_window=0, title_cosine_threshold=101.0)
    clusterer = StoryClusterer(config)
    for i, title in enumerate(BACKGROUND):
        clusterer.assign(make(f"bg{i}", title, minutes=-60 + i))
    main = [
        ("m1", "Chiquita and Fyffes agree merger", "Reuters"),
        ("m2", "Fyffes shareholders back Chiquita merger", "BBC"),
        ("m3", "Chiquita Fyffes merger under way", "CNBC"),
    ]
    for n, (article_id, title, source) in enumerate(main):
        clusterer.assign(make(article_id, title, source=source, minutes=n), place_in="main")
    side = make("s1", "Banana group Chiquita Fyffes weighs Irish tax move", source="FT", minutes=4)
    clusterer.assign(side, place_in="side")
    article = make("q", "Chiquita Fyffes merger: banana giant picks Irish domicile", minutes=5)
    verdict = clusterer.assign(article)
    assert "signature" in verdict.reason, verdict.reason
    assert verdict.story_id == "main", verdict.reason


def test_a_source_holding_most_of_the_window_is_not_treated_as_one_outlet() -> None:
    # Every item of an aggregator's feed carries the aggregator's name (or its
    # host): the own-outlet rule would leave every story to the copy rule.
    aggregator = "Google News"
    clusterer = StoryClusterer(DedupConfig())
    table: dict[str, Any] = {}
    for i, title in enumerate(BACKGROUND * 2):
        verdict = clusterer.assign(make(f"bg{i}", f"{title} {i}", "", aggregator, -60 + i))
        table.update(verdict.state_updates)
    volcano = "Volcano erupts on Iceland's Reykjanes peninsula, town of Grindavik evacuated"
    first = clusterer.assign(make("a", volcano, "", aggregator))
    table.update(first.state_updates)
    restarted = StoryClusterer(DedupConfig())
    restarted.restore(table.items())
    second = make("b", "Grindavik evacuated again as Reykjanes volcano erupts", "", aggregator, 30)
    for verdict in (clusterer.assign(second), restarted.assign(second)):
        assert verdict.story_id == first.story_id, verdict.reason
        assert verdict.matched_article == "a"
