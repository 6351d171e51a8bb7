"""The processing core end to end, without Kafka: clustering + rules + alert decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from processors.pipeline import Pipeline
from processors.rules import load_rules_bytes
from processors.stories.clusterer import StoryClusterer
from wirewatch.events import Article

T0 = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)

RULES = b"""version: 1
rules:
  - id: quake
    name: Earthquakes
    query: earthquake
  - id: quake-wide
    name: Widely reported earthquakes
    query: earthquake
    min_sources: 3
  - id: quake-followup
    name: Earthquakes, with a follow-up
    query: earthquake
    followup_sources: 3
"""

STORY = "Magnitude 7.1 earthquake strikes off the coast of northern Chile"
COPIES = [
    ("Reuters", "Magnitude 7.1 earthquake strikes off the coast of northern Chile"),
    ("AP", "Magnitude 7.1 earthquake strikes off coast of northern Chile"),
    ("BBC", "Magnitude 7.1 earthquake strikes off the coast of northern Chile - BBC"),
    ("CNN", "Magnitude 7.1 earthquake strikes off the coast of northern Chile, USGS says"),
]


def article(i: int, source: str, title: str, **extra: Any) -> Article:
    when = T0 + timedelta(minutes=i)
    return Article(id=f"a{i}", title=title, source=source, published=when, fetched_at=when, **extra)


def make_pipeline() -> Pipeline:
    return Pipeline(StoryClusterer(), load_rules_bytes(Path("rules.yaml"), RULES))


def run(pipeline: Pipeline, items: list[Article]) -> tuple[list[Any], list[Any]]:
    events, alerts = [], []
    for a in items:
        result = pipeline.process(a, a.fetched_at)
        events += result.events
        alerts += result.alerts
    return events, alerts


def test_one_alert_per_rule_and_story_and_min_sources_and_one_followup() -> None:
    pipeline = make_pipeline()
    items = [article(i, src, title) for i, (src, title) in enumerate(COPIES)]
    events, alerts = run(pipeline, items)
    by_rule: dict[str, list[Any]] = {}
    for a in alerts:
        by_rule.setdefault(a.rule.rule_id, []).append(a)
    assert [a.reason for a in by_rule["quake"]] == ["new_story"]
    # min_sources=3: fires once, when the third outlet arrives.
    assert [a.reason for a in by_rule["quake-wide"]] == ["new_story"]
    assert by_rule["quake-wide"][0].source_count == 3
    assert len(by_rule["quake-wide"][0].story_sources) == 3
    assert [a.reason for a in by_rule["quake-followup"]] == ["new_story", "followup"]
    assert by_rule["quake-followup"][1].alert_id.endswith(":followup")
    story_ids = {e.story_id for e in events}
    assert len(story_ids) == 1
    assert all(a.alert_id.startswith(a.rule.rule_id + ":") for a in alerts)
    assert any(e.kind == "story_update" for e in events)


def test_every_article_gets_exactly_one_article_event_with_rules_version() -> None:
    pipeline = make_pipeline()
    items = [article(i, src, title) for i, (src, title) in enumerate(COPIES)]
    items.append(article(9, "Local", "City council approves new cycle lanes"))
    events, _ = run(pipeline, items)
    article_events = [e for e in events if e.kind == "article"]
    assert [e.article.id for e in article_events] == [a.id for a in items]
    assert all(e.rules_version == pipeline.rules_version != "" for e in article_events)
    assert article_events[-1].matched_rules == ()


def persist(store: dict[str, Any], updates: list[tuple[str, Any]]) -> None:
    for key, value in updates:
        if value is None:
            store.pop(key, None)
        else:
            store[key] = value


def test_restored_pipeline_does_not_alert_again_and_keeps_the_story() -> None:
    first = make_pipeline()
    dedup_state: dict[str, Any] = {}
    alert_state: dict[str, Any] = {}
    story_ids = set()
    for i, (src, title) in enumerate(COPIES[:2]):
        result = first.process(article(i, src, title), T0 + timedelta(minutes=i))
        persist(dedup_state, result.dedup_updates)
        persist(alert_state, result.alert_updates)
        story_ids.add(result.events[0].story_id)
    assert len(story_ids) == 1

    second = make_pipeline()
    second.restore(dedup_state.items(), alert_state.items())
    late = article(7, "BBC", COPIES[2][1])
    result = second.process(late, T0 + timedelta(minutes=7))
    assert result.events[0].story_id in story_ids
    # "quake" already alerted before the restart; the third outlet releases the
    # pending min_sources=3 alert and the one follow-up, nothing else.
    assert sorted((a.rule.rule_id, a.reason) for a in result.alerts) == [
        ("quake-followup", "followup"),
        ("quake-wide", "new_story"),
    ]


def test_alert_state_persisted_with_one_letter_field_names_still_restores() -> None:
    first = make_pipeline()
    dedup_state: dict[str, Any] = {}
    alert_state: dict[str, Any] = {}
    for i, (src, title) in enumerate(COPIES[:2]):
        result = first.process(article(i, src, title), T0 + timedelta(minutes=i))
        persist(dedup_state, result.dedup_updates)
        persist(alert_state, result.alert_updates)
    fields = {"status", "updated_at", "match", "article", "outlets"}
    assert all(set(value) <= fields for value in alert_state.values())
    assert {"status", "updated_at", "match", "article"} <= set(next(iter(alert_state.values())))
    short = {"status": "s", "updated_at": "t", "match": "m", "article": "a", "outlets": "o"}
    old_form = {k: {short[f]: v for f, v in value.items()} for k, value in alert_state.items()}

    second = make_pipeline()
    second.restore(dedup_state.items(), old_form.items())
    result = second.process(article(7, "BBC", COPIES[2][1]), T0 + timedelta(minutes=7))
    assert sorted((a.rule.rule_id, a.reason) for a in result.alerts) == [
        ("quake-followup", "followup"),
        ("quake-wide", "new_story"),
    ]


def test_different_events_of_the_same_type_alert_separately() -> None:
    pipeline = make_pipeline()
    items = [
        article(0, "Reuters", "Magnitude 7.1 earthquake strikes off the coast of northern Chile"),
        article(1, "AP", "Magnitude 5.2 earthquake shakes central Italy, no damage reported"),
    ]
    events, alerts = run(pipeline, items)
    assert events[0].story_id != events[1].story_id
    assert len([a for a in alerts if a.rule.rule_id == "quake"]) == 2


def test_reset_then_restore_takes_state_written_by_another_worker() -> None:
    """A worker whose partitions come back after a takeover rebuilds from the tables."""
    stale = make_pipeline()
    run(stale, [article(0, "Reuters", COPIES[0][1])])
    other = make_pipeline()
    dedup_state: dict[str, Any] = {}
    alert_state: dict[str, Any] = {}
    result = other.process(article(5, "AP", "Parliament passes the budget after a late vote"))
    persist(dedup_state, result.dedup_updates)
    persist(alert_state, result.alert_updates)

    stale.reset()
    assert len(stale.clusterer) == 0
    stale.restore(dedup_state.items(), alert_state.items())
    again = stale.process(article(6, "BBC", "Parliament passes the budget after a late vote"))
    assert again.events[0].story_id == result.events[0].story_id
    # The article the stale worker had seen before the takeover is gone with it.
    fresh = stale.process(article(7, "DW", COPIES[0][1]))
    assert fresh.new_story
