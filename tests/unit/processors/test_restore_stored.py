"""Restoring the window from stored bytes (the worker's warm start): lazy, and exact."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.runtime.tables import StateJson
from processors.stories.clusterer import DedupConfig, StoryClusterer, Verdict
from processors.stories.state import StoredValue
from wirewatch.events import Article

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WORDS = [f"{a}{b}{c}" for a in ("kar", "mel", "tos", "vin", "dra") for b in "aeiou" for c in "nrst"]
OUTLETS = ["Reuters", "AP", "AFP", "BBC"]


def corpus(count: int, seed: int, prefix: str) -> list[Article]:
    """Stories of one to four outlets, re-titled per outlet, with bodies of ~1,000 chars."""
    rng = random.Random(seed)
    out: list[Article] = []
    while len(out) < count:
        core = rng.sample(WORDS, 8)
        lead = rng.choices(WORDS, k=160)
        for outlet in rng.sample(OUTLETS, rng.randint(1, 4)):
            title = list(core)
            title[rng.randrange(8)] = rng.choice(WORDS)
            out.append(
                Article(
                    id=f"{prefix}{len(out)}",
                    title=" ".join(title).capitalize(),
                    summary=" ".join(lead[rng.randint(0, 4) :])[:300],
                    body=" ".join(lead + rng.choices(WORDS, k=40)),
                    source=outlet,
                )
            )
    return out[:count]


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def fill(clusterer: StoryClusterer, articles: list[Article]) -> dict[str, dict[str, Any]]:
    """Cluster the articles and keep the table the worker would hold."""
    table: dict[str, dict[str, Any]] = {}
    for i, article in enumerate(articles):
        for key, value in clusterer.assign(article, at(i)).state_updates:
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    return table


def stored(table: dict[str, dict[str, Any]]) -> list[tuple[str, StoredValue]]:
    """The table as the RocksDB store holds it: state-json bytes per key."""
    codec = StateJson()
    return [(key, codec.dumps(value)) for key, value in table.items()]


def summary(verdict: Verdict) -> tuple[Any, ...]:
    return (
        verdict.story_id,
        verdict.duplicate_of,
        verdict.similarity,
        verdict.matched_article,
        verdict.new_story,
        verdict.source_added,
        verdict.story_sources,
        verdict.reason,
        verdict.state_updates,
    )


@pytest.fixture(scope="module")
def window() -> tuple[StoryClusterer, dict[str, dict[str, Any]]]:
    # A cap below the corpus: the table has seen deletes, and every probe below
    # evicts an article, some of them members of a story that stays.
    live = StoryClusterer(DedupConfig(max_window_articles=150))
    table = fill(live, corpus(200, seed=3, prefix="w"))
    return live, table


def test_a_window_restored_from_stored_bytes_decides_as_one_restored_from_json(
    window: tuple[StoryClusterer, dict[str, dict[str, Any]]],
) -> None:
    live, table = window
    config = live.config
    from_json, from_bytes = StoryClusterer(config), StoryClusterer(config)
    from_json.restore(table.items())
    from_bytes.restore(stored(table))
    probes = corpus(60, seed=3, prefix="w")[:30] + corpus(30, seed=9, prefix="p")
    joined = 0
    for j, probe in enumerate(probes):
        probe = probe.model_copy(update={"id": f"probe{j}"})
        expected = from_json.assign(probe, at(200 + j))
        assert summary(from_bytes.assign(probe, at(200 + j))) == summary(expected)
        joined += not expected.new_story
    assert joined >= 10  # the probes did reach stories of the restored window


def test_with_the_live_body_idf_a_restored_window_decides_as_the_live_one(
    window: tuple[StoryClusterer, dict[str, dict[str, Any]]],
) -> None:
    live, table = window
    live = copy.deepcopy(live)
    restored = StoryClusterer(live.config)
    restored.restore(stored(table))
    # The store keeps each article's strongest body terms only, so a restart
    # rebuilds the body IDF from them; the rest of the window is exact.
    restored._idf = copy.deepcopy(live._idf)
    for j, probe in enumerate(corpus(40, seed=3, prefix="w")[:20] + corpus(20, seed=5, prefix="q")):
        probe = probe.model_copy(update={"id": f"probe{j}"})
        assert summary(restored.assign(probe, at(200 + j))) == summary(
            live.assign(probe, at(200 + j))
        )


def test_restored_entries_and_profiles_wait_until_they_are_read(
    window: tuple[StoryClusterer, dict[str, dict[str, Any]]],
) -> None:
    live, table = window
    restored = StoryClusterer(live.config)
    restored.restore(stored(table))
    entries = list(restored._index.entries.values())
    assert entries and all(e._features is None for e in entries)
    assert all(s._profile is None for s in restored._stories.values())
    # Built on first read, a profile holds what the live one does (body weights
    # up to the 5 decimals they are stored with).
    assert restored._stories.keys() == live._stories.keys()
    for story_id, story in restored._stories.items():
        other = live._stories[story_id]
        assert (story.members, story.terms, story.places) == (
            other.members,
            other.terms,
            other.places,
        )
        assert story.body.centroid == pytest.approx(other.body.centroid, abs=1e-4)
        assert story.body.norm2 == pytest.approx(other.body.norm2, rel=1e-3)
        assert story.body.entities == other.body.entities
    for entry in entries:
        mine, theirs = entry.features, live._index.entries[entry.article_id].features
        assert dataclasses.replace(mine, body=None) == dataclasses.replace(theirs, body=None)
        assert mine.body is not None and theirs.body is not None
        assert mine.body.terms == theirs.body.terms
        assert mine.body.weights == pytest.approx(theirs.body.weights, abs=1e-5)


def test_stored_records_that_the_fast_reader_refuses_still_restore_or_are_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = StoryClusterer()
    table = fill(live, corpus(3, seed=1, prefix="r"))
    keys = sorted(k for k in table if k.startswith("a:"))
    records = dict(stored(table))
    # The standard library's JSON, as older workers wrote it, with a NaN.
    records[keys[0]] = json.dumps({**table[keys[0]], "sm": float("nan")}).encode()
    records[keys[1]] = json.dumps({"story": "st-x"}).encode()  # truncated
    # Readable to the head, broken in a feature field: found when it is read.
    records[keys[2]] = StateJson().dumps({**table[keys[2]], "st": [1, 2]})
    restored = StoryClusterer()
    restored.restore(records.items())
    assert len(restored) == 2
    assert "skipping unreadable clustering state" in caplog.text
    broken = restored._index.entries[keys[2][2:]]
    assert broken.features.title_terms == ()
    assert "its features are dropped" in caplog.text
    verdict = restored.assign(corpus(1, seed=2, prefix="n")[0], at(10))
    assert (keys[1], None) in verdict.state_updates
