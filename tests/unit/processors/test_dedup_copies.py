"""Synthetic check: perturbed re-publications must be flagged ``duplicate_of``.

Every title below is published once, then every perturbation of it that
syndication produces (outlet suffix, case, punctuation, one word changed,
truncation) arrives later, interleaved with the other stories. Each copy must
point at the original. ``bench/dedup_eval.py --copies`` runs the same check on
a labelled data set.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from processors.stories.clusterer import StoryClusterer
from wirewatch.events import Article

TITLES = [
    "Magnitude 6.4 earthquake strikes off the coast of central Chile",
    "Central bank raises interest rates by half a point to fight inflation",
    "Striking dock workers reach deal with port operators after two weeks",
    "Government unveils plan to build 300,000 homes by the end of the decade",
    "Heatwave pushes electricity demand to record high across the southern states",
    "Former finance minister charged with fraud over state contracts",
    "Tech giant fined for breaching competition rules in online advertising",
    "Rescue teams search for survivors after landslide buries mountain village",
    "National team coach resigns after World Cup qualifying defeat",
    "Researchers discover new species of frog in remote rainforest",
    "Airline cancels hundreds of flights as pilots walk out over pay",
    "Parliament approves controversial surveillance law after marathon session",
    "Drugmaker recalls blood pressure tablets over contamination fears",
    "Wildfire forces thousands to flee homes in the hills above the city",
    "Carmaker to cut 5,000 jobs as electric vehicle sales slow",
    "Supreme court blocks deportation flights pending a full hearing",
    "Stock markets tumble as bond yields hit their highest since 2007",
    "Opposition leader released from prison after three years in detention",
    "Storm knocks out power to half a million homes along the coast",
    "Museum returns looted bronze sculptures to their country of origin",
    "Police arrest 12 people after clashes outside football stadium",
    "Shipping giant warns of delays as canal drought limits crossings",
    "Hospital staff begin three-day strike over staffing and wages",
    "Space agency delays moon mission launch after fuel leak found",
    "Festival organisers cancel final day as floods swamp the site",
]

SUMMARY = (
    "Officials said on Tuesday that the situation was being monitored closely and that "
    "further updates would follow. Residents were urged to follow official guidance."
)
FILLERS = ["reportedly", "now", "officially", "again", "still", "finally"]
OUTLETS = [" - Reuters", " | BBC News", " - Yahoo News", " \u2013 The Guardian", " - AP"]


def add_suffix(title: str, rng: random.Random) -> str:
    return title + rng.choice(OUTLETS)


def change_case(title: str, rng: random.Random) -> str:
    return rng.choice([title.upper(), title.lower(), title.title()])


def change_punctuation(title: str, rng: random.Random) -> str:
    words = title.split()
    words[min(2, len(words) - 1)] += rng.choice([":", ",", " -", ";"])
    return " ".join(words).replace("'", "\u2019") + rng.choice([".", "!", ""])


def change_one_word(title: str, rng: random.Random) -> str:
    words = title.split()
    words[rng.randrange(len(words))] = rng.choice(FILLERS)
    return " ".join(words)


def truncate(title: str, rng: random.Random) -> str:
    words = title.split()
    keep = max(6, int(len(words) * rng.uniform(0.6, 0.8)))
    return " ".join(words[:keep]) + rng.choice([" ...", "\u2026", "  ..."])


PERTURBATIONS: list[Callable[[str, random.Random], str]] = [
    add_suffix,
    change_case,
    change_punctuation,
    change_one_word,
    truncate,
]


def make(article_id: str, title: str, minutes: int, summary: str) -> Article:
    when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return Article(id=article_id, title=title, summary=summary, published=when, fetched_at=when)


@pytest.mark.parametrize("with_summary", [False, True], ids=["titles-only", "with-summary"])
def test_perturbed_copies_are_flagged_duplicate_of_the_original(with_summary: bool) -> None:
    rng = random.Random(20260301)
    clusterer = StoryClusterer()
    summary = SUMMARY if with_summary else ""
    for i, title in enumerate(TITLES):
        # Distinct summaries per story keep the with-summary run honest: copies
        # must still find their own original, not another story's.
        text = f"{summary} Story {i}." if summary else ""
        assert clusterer.assign(make(f"o{i}", title, i, text)).new_story
    missed = []
    copies = 0
    for round_ in range(3):
        for i, title in enumerate(TITLES):
            for perturb in PERTURBATIONS:
                copies += 1
                text = f"{summary} Story {i}." if summary else ""
                copy = make(f"c{round_}-{i}-{perturb.__name__}", perturb(title, rng), 60, text)
                verdict = clusterer.assign(copy)
                if verdict.duplicate_of != f"o{i}":
                    missed.append((copy.title, verdict.reason))
    recall = 1 - len(missed) / copies
    assert recall >= 0.99, missed
