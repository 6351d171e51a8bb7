"""Reading an article apart from the window: the half the matching stage computes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.stories.clusterer import DedupConfig, StoryClusterer
from processors.stories.reading import READ_VERSION, dump_text, load_text
from tests.news_articles import OTHER_EXTRADITION, STORY
from wirewatch.events import Article

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def articles() -> list[Article]:
    """A copy, a rewrite, another event of the same kind, headlines with and without a source."""
    texts = [(n.slug, n.title, n.summary, n.body, n.source) for n in (*STORY, OTHER_EXTRADITION)]
    texts += [
        ("h1", "Magnitude 7.1 earthquake strikes off northern Chile - Reuters", "", "", "Reuters"),
        ("h2", "Magnitude 7.1 earthquake strikes off northern Chile", "Quake.", "", ""),
    ]
    return [
        Article(
            id=aid,
            title=title,
            summary=summary,
            body=body,
            source=source,
            url=f"https://{aid}.example/story",
            published=T0 + timedelta(minutes=i),
            fetched_at=T0 + timedelta(minutes=i),
        )
        for i, (aid, title, summary, body, source) in enumerate(texts)
    ]


def over_the_wire(value: dict[str, Any]) -> Any:
    """The value as the story stage reads it back from a JSON record."""
    return json.loads(json.dumps(value))


def test_the_read_text_survives_its_wire_form() -> None:
    clusterer = StoryClusterer()
    for item in articles():
        text = clusterer.read(item)
        assert load_text(over_the_wire(dump_text(text)), 600) == text


def test_a_window_handed_read_texts_decides_as_one_that_reads_them_itself() -> None:
    reads, handed = StoryClusterer(), StoryClusterer()
    for item in articles():
        own = reads.assign(item)
        text = load_text(over_the_wire(dump_text(handed.read(item))), 600)
        other = handed.assign(item, text=text)
        assert (other.story_id, other.duplicate_of, other.reason, other.state_updates) == (
            own.story_id,
            own.duplicate_of,
            own.reason,
            own.state_updates,
        )
    # The fixtures exercise the copy, full-text and headline paths, not only new stories.
    assert reads.story_count < len(articles())


@pytest.mark.parametrize(
    "change",
    [
        {"v": READ_VERSION + 1},  # read by other code
        {"summary_chars": 300},  # read with another summary length
        {"title_terms": "not a list"},
        {"body": {"counts": {"cartel": "many"}, "entities": [], "years": [], "markers": []}},
        {"unexpected": 1},
    ],
)
def test_a_text_this_stage_cannot_use_is_refused(change: dict[str, Any]) -> None:
    wire = dump_text(StoryClusterer().read(articles()[0]))
    assert load_text({**wire, **change}, 600) is None


@pytest.mark.parametrize("value", [None, [], "text", {"v": READ_VERSION}])
def test_what_is_not_a_read_text_at_all_is_refused(value: Any) -> None:
    assert load_text(value, 600) is None


def test_a_text_read_with_another_summary_length_is_read_again() -> None:
    """Handed directly, not over the wire: the window still reads with its own settings."""
    item = articles()[0]
    short = StoryClusterer(DedupConfig(summary_chars=100)).read(item)
    own, handed = StoryClusterer(), StoryClusterer()
    assert handed.assign(item, text=short).state_updates == own.assign(item).state_updates


# What reading yields for articles() at READ_VERSION 1. A stage of other code reads a
# handed text only if the versions agree, so a change to what reading yields must bump
# READ_VERSION; this pin fails until both it and the digest below are updated.
PINNED = (1, "c42f077d15177a435a9a140fe89008ad9a0967e595cfbe372d35786dabc15784")


def test_a_change_to_what_reading_yields_comes_with_a_new_version() -> None:
    clusterer = StoryClusterer()
    wire = json.dumps([dump_text(clusterer.read(item)) for item in articles()], sort_keys=True)
    digest = hashlib.sha256(wire.encode()).hexdigest()
    assert (READ_VERSION, digest) == PINNED, "reading changed: bump READ_VERSION, then PINNED"
