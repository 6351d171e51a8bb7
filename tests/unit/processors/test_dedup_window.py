"""The clusterer's time window, its persisted state and restore after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.stories.clusterer import DedupConfig, StateUpdate, StoryClusterer
from wirewatch.events import Article

BASE = datetime(2026, 3, 1, tzinfo=UTC)

TOPICS = [
    "Tanker runs aground leaving Valletta harbour, fuel spills into bay",
    "Volcano erupts near Grindavik on Reykjanes peninsula",
    "Nordwind pilots strike over pay, airline cancels 300 flights",
    "Parliament passes Zephyria data protection bill after long debate",
    "Museum returns Benin bronzes looted in colonial raid",
    "Quarterly revenue at Acmecorp beats forecasts on cloud demand",
]


def make(article_id: str, title: str, hours: float, source: str = "Reuters") -> Article:
    when = BASE + timedelta(hours=hours)
    return Article(id=article_id, title=title, source=source, published=when, fetched_at=when)


def apply_updates(table: dict[str, dict[str, Any]], updates: tuple[StateUpdate, ...]) -> None:
    """What the Faust app does with a verdict's state updates: a changelogged dict."""
    for key, value in updates:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value


def test_articles_older_than_the_window_are_evicted_and_deleted_from_state() -> None:
    clusterer = StoryClusterer(DedupConfig(window_hours=2))
    table: dict[str, dict[str, Any]] = {}
    first = clusterer.assign(make("a", TOPICS[0], 0))
    apply_updates(table, first.state_updates)
    # A new story needs no record of its own: its first entry rebuilds it.
    assert set(table) == {"a:a"}
    apply_updates(table, clusterer.assign(make("b", TOPICS[1], 1)).state_updates)
    late = clusterer.assign(make("c", TOPICS[2], 2.5))
    apply_updates(table, late.state_updates)
    # "a" fell out of the 2 h window; its story had no other article and no
    # record of its own (one outlet), so only the entry is deleted.
    assert ("a:a", None) in late.state_updates
    assert not any(key.startswith("s:") for key, _ in late.state_updates)
    assert "a:a" not in table
    assert len(clusterer) == 2
    assert clusterer.story_count == 2


def test_a_copy_after_the_window_opens_a_new_story() -> None:
    clusterer = StoryClusterer(DedupConfig(window_hours=2))
    first = clusterer.assign(make("a", TOPICS[0], 0))
    within = clusterer.assign(make("b", TOPICS[0] + " - AP", 1.5, "AP"))
    after = clusterer.assign(make("c", TOPICS[0] + " - BBC", 4, "BBC"))
    assert within.duplicate_of == "a"
    assert after.new_story
    assert after.story_id != first.story_id


def test_memory_is_bounded_by_the_article_cap_even_inside_the_window() -> None:
    clusterer = StoryClusterer(DedupConfig(max_window_articles=50))
    for i in range(200):
        clusterer.assign(make(f"n{i}", f"Unrelated item number {i} about topic{i}", i / 100))
    assert len(clusterer) == 50
    assert clusterer.story_count <= 50


def test_a_future_dated_article_does_not_flush_the_window() -> None:
    clusterer = StoryClusterer(DedupConfig(window_hours=2))
    clusterer.assign(make("a", TOPICS[0], 0))
    future = make("f", TOPICS[1], 0).model_copy(update={"published": BASE + timedelta(days=30)})
    clusterer.assign(future)  # fetched_at is BASE: the clock stays there
    assert clusterer.assign(make("b", TOPICS[0] + " - AP", 0.5, "AP")).duplicate_of == "a"


@pytest.mark.parametrize("restart_after", [1, 3, len(TOPICS)])
def test_restore_rebuilds_the_window_so_a_near_duplicate_joins_the_old_story(
    restart_after: int,
) -> None:
    config = DedupConfig(window_hours=6)
    before = StoryClusterer(config)
    table: dict[str, dict[str, Any]] = {}
    verdicts = {}
    # Seven hours of articles: the first ones are evicted before the restart,
    # so the table also has to have seen deletes.
    for i, title in enumerate(TOPICS[:restart_after]):
        verdict = before.assign(make(f"t{i}", title, i * 1.5))
        verdicts[f"t{i}"] = verdict
        apply_updates(table, verdict.state_updates)
    assert all(v is not None for v in table.values())

    after = StoryClusterer(config)
    after.restore(table.items())
    assert len(after) == len(before)
    assert after.story_count == before.story_count

    last = restart_after - 1
    copy = make("copy", TOPICS[last].upper() + " - AFP", last * 1.5 + 0.5, "AFP")
    expected = before.assign(copy)
    got = after.assign(copy)
    assert got.story_id == verdicts[f"t{last}"].story_id
    assert got.duplicate_of == f"t{last}"
    assert got.source_added and got.story_sources == ("Reuters", "AFP")
    # The restored clusterer decides exactly as the one that never stopped.
    assert (got.story_id, got.duplicate_of, got.similarity, got.reason) == (
        expected.story_id,
        expected.duplicate_of,
        expected.similarity,
        expected.reason,
    )


def test_restore_keeps_evicting_where_the_old_worker_left_off() -> None:
    config = DedupConfig(window_hours=2)
    before = StoryClusterer(config)
    table: dict[str, dict[str, Any]] = {}
    for i in range(3):
        apply_updates(table, before.assign(make(f"t{i}", TOPICS[i], i)).state_updates)
    after = StoryClusterer(config)
    after.restore(table.items())
    verdict = after.assign(make("late", TOPICS[4], 3.5))
    assert ("a:t0", None) in verdict.state_updates
    assert ("a:t1", None) in verdict.state_updates
    assert len(after) == 2


def test_restore_rebuilds_story_signatures_and_keeps_new_ids_unique() -> None:
    config = DedupConfig(signature_min_window=0)
    before = StoryClusterer(config)
    table: dict[str, dict[str, Any]] = {}
    titles = [
        "Grindavik volcano eruption: lava reaches town defences",
        "Iceland volcano near Grindavik erupts for the fourth time",
        "Grindavik residents evacuated again as volcano erupts",
    ]
    for i, title in enumerate(titles):
        apply_updates(table, before.assign(make(f"v{i}", title, i / 10)).state_updates)
    after = StoryClusterer(config)
    after.restore(table.items())
    probe = make("p", "Volcano erupts again near Grindavik, lava flows toward town", 0.5)
    assert after.assign(probe).story_id == before.assign(probe).story_id


def test_an_unreadable_state_record_is_skipped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    before = StoryClusterer()
    table: dict[str, dict[str, Any]] = {}
    apply_updates(table, before.assign(make("a", TOPICS[0], 0)).state_updates)
    apply_updates(table, before.assign(make("b", TOPICS[1], 0.1)).state_updates)
    table["a:b"] = {"story": "st-x"}  # truncated by some earlier bug
    table["s:st-orphan"] = {"first": "gone", "sources": ["AP"]}  # its articles were deleted
    after = StoryClusterer()
    after.restore(table.items())
    assert len(after) == 1
    assert "skipping unreadable clustering state" in caplog.text
    verdict = after.assign(make("c", TOPICS[0] + " - AP", 0.2, "AP"))
    assert verdict.duplicate_of == "a"
    # The next verdict tells the table to drop what restore could not use.
    assert ("a:b", None) in verdict.state_updates
    assert ("s:st-orphan", None) in verdict.state_updates


def test_state_values_are_json_serialisable() -> None:
    import json

    clusterer = StoryClusterer()
    for i, title in enumerate(TOPICS):
        for key, value in clusterer.assign(make(f"t{i}", title, i)).state_updates:
            assert isinstance(key, str)
            assert json.loads(json.dumps(value)) == value


def test_a_story_record_is_written_only_when_a_second_outlet_joins_and_outlives_its_articles() -> (
    None
):
    config = DedupConfig(window_hours=2)
    before = StoryClusterer(config)
    table: dict[str, dict[str, Any]] = {}
    first = before.assign(make("a", TOPICS[0], 0, "Reuters"))
    apply_updates(table, first.state_updates)
    assert not any(key.startswith("s:") for key, _ in first.state_updates)
    joined = before.assign(make("b", TOPICS[0] + " - AP", 1.5, "AP"))
    apply_updates(table, joined.state_updates)
    assert (f"s:{first.story_id}", {"first": "a", "sources": ["Reuters", "AP"]}) in (
        joined.state_updates
    )
    # "a" leaves the window; its outlet still counts for the story.
    later = before.assign(make("c", TOPICS[1], 2.5, "BBC"))
    apply_updates(table, later.state_updates)
    assert "a:a" not in table
    assert f"s:{first.story_id}" in table
    after = StoryClusterer(config)
    after.restore(table.items())
    copy = make("d", TOPICS[0].upper(), 3.0, "AFP")
    expected, got = before.assign(copy), after.assign(copy)
    assert got.story_sources == expected.story_sources == ("Reuters", "AP", "AFP")
    assert got.source_count == 3


def test_a_two_outlet_story_leaving_the_window_deletes_its_record() -> None:
    clusterer = StoryClusterer(DedupConfig(window_hours=2))
    table: dict[str, dict[str, Any]] = {}
    first = clusterer.assign(make("a", TOPICS[0], 0, "Reuters"))
    for verdict in (first, clusterer.assign(make("b", TOPICS[0] + " - AP", 0.5, "AP"))):
        apply_updates(table, verdict.state_updates)
    assert f"s:{first.story_id}" in table
    late = clusterer.assign(make("c", TOPICS[1], 3, "BBC"))
    apply_updates(table, late.state_updates)
    assert (f"s:{first.story_id}", None) in late.state_updates
    assert set(table) == {"a:c"}


def test_outlets_that_left_the_window_are_not_remembered() -> None:
    clusterer = StoryClusterer(DedupConfig(window_hours=2))
    for i in range(5):
        clusterer.assign(make(f"o{i}", TOPICS[i % len(TOPICS)] + f" {i}", i * 3, f"Outlet {i}"))
    # Every article but the last has left the 2 h window, and with it its outlet.
    assert len(clusterer) == 1
    assert dict(clusterer._outlets) == {"Outlet 4": 1}
