"""JSON-able records of the clustering window, for a changelog-backed table (pure).

Keys: ``a:<article id>`` holds one window entry with its normalised features
(so a restore needs no re-normalisation and reproduces the same decisions);
``s:<story id>`` holds a story's outlets. A ``None`` value deletes the key.
"""

from __future__ import annotations

import sys
from typing import Any

from processors.stories.body import BodyFeatures
from processors.stories.features import TextFeatures
from processors.stories.window import Entry, Story


class StateError(ValueError):
    """A persisted record does not have the expected shape."""


def dump_entry(entry: Entry) -> dict[str, Any]:
    """The persisted form of a window entry."""
    f = entry.features
    body = None
    if f.body is not None:
        body = {
            "terms": list(f.body.terms),
            "weights": [round(w, 5) for w in f.body.weights],
            "entities": list(f.body.entities),
            "years": sorted(f.body.years),
            "markers": sorted(f.body.markers),
        }
    return {
        "story": entry.story_id,
        "source": entry.source,
        "ts": entry.ts,
        "seq": entry.seq,
        "dup": entry.duplicate_of,
        "title": f.title,
        "title_full": f.title_full,
        "summary": f.summary,
        "tt": list(f.title_terms),
        "st": list(f.summary_terms),
        "num": sorted(f.numbers),
        "places": sorted(f.places),
        "names": sorted(f.names),
        "idx": list(entry.indexed),
        "sm": entry.summary_mass,
        "body": body,
    }


def load_entry(article_id: str, value: dict[str, Any]) -> Entry:
    """Rebuild a window entry from :func:`dump_entry` output."""
    try:
        title_terms = load_terms(value["tt"])
        title = str(value["title"])
        title_full = str(value["title_full"])
        features = TextFeatures(
            title=title,
            # Most titles carry no outlet suffix: one string serves both.
            title_full=title if title_full == title else title_full,
            summary=str(value["summary"]),
            title_terms=title_terms,
            summary_terms=load_terms(value["st"]),
            title_set=frozenset(title_terms),
            numbers=load_set(value["num"]),
            places=load_set(value["places"]),
            names=load_set(value["names"]),
            body=load_body(value.get("body")),
        )
        dup = value["dup"]
        return Entry(
            article_id=article_id,
            story_id=str(value["story"]),
            source=str(value["source"]),
            ts=float(value["ts"]),
            seq=int(value["seq"]),
            features=features,
            indexed=load_terms(value["idx"]),
            duplicate_of=None if dup is None else str(dup),
            summary_mass=float(value["sm"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"bad window entry a:{article_id}: {exc!r}") from exc


def load_body(value: Any) -> BodyFeatures | None:
    """Rebuild stored full-text features; entries written before bodies have none."""
    if value is None:
        return None
    return BodyFeatures(
        terms=load_terms(value["terms"]),
        weights=load_weights(value["weights"]),
        entities=load_terms(value["entities"]),
        years=load_set(value["years"]),
        # Entries written before markers were kept have none.
        markers=load_set(value.get("markers", ())),
    )


# Most entries name no number, country, person, year or marker: one empty set
# serves them all, where each its own took ~1 KB per entry (~100 MB at 100k).
_EMPTY: frozenset[str] = frozenset()


def load_set(values: Any) -> frozenset[str]:
    """Stored terms as a set of shared strings (TypeError on anything but strings)."""
    return frozenset(load_terms(values)) if values else _EMPTY


def load_terms(values: Any) -> tuple[str, ...]:
    """Stored terms as one shared string each (TypeError on anything but strings).

    Decoded JSON holds a new string for every occurrence of a term; the live
    window shares them. Interned, a rebuilt 100k-story window took ~0.96 GB, not ~1.6 GB.
    """
    return tuple(map(sys.intern, values))


# One float object per distinct stored weight. They are L2-normalised and rounded
# to 5 decimals, so there are at most ~100k; the cap only guards against surprises.
_WEIGHTS: dict[float, float] = {}
_MAX_WEIGHTS = 200_000


def load_weights(values: Any) -> tuple[float, ...]:
    """Stored body weights, equal values sharing one float (~80 MB less at a 100k window)."""
    floats = list(map(float, values))
    memo = _WEIGHTS if len(_WEIGHTS) < _MAX_WEIGHTS else {}
    return tuple(map(memo.setdefault, floats, floats))


def dump_story(story: Story) -> dict[str, Any]:
    """The persisted form of a story (members are recounted from entries on restore)."""
    return {"first": story.first_article, "sources": list(story.sources)}


def load_story(story_id: str, value: dict[str, Any]) -> Story:
    """Rebuild a story from :func:`dump_story` output, with zero members."""
    try:
        return Story(
            story_id=story_id,
            first_article=str(value["first"]),
            sources=[str(s) for s in value["sources"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"bad story record s:{story_id}: {exc!r}") from exc
