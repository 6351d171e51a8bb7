"""JSON-able records of the clustering window, for a changelog-backed table (pure).

Keys: ``a:<article id>`` holds one window entry with its normalised features
(so a restore needs no re-normalisation and reproduces the same decisions);
``s:<story id>`` holds a story's outlets. A ``None`` value deletes the key.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

import msgspec

from processors.stories.body import BodyFeatures
from processors.stories.features import TextFeatures
from processors.stories.window import Entry, Story

log = logging.getLogger(__name__)

# A stored record: decoded JSON, or the bytes of it as the table's store holds them.
StoredValue = dict[str, Any] | bytes


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


def load_records(
    records: Iterable[tuple[str, StoredValue | None]],
) -> tuple[list[tuple[Entry, tuple[str, ...]]], list[Story], list[str]]:
    """The window's entries in window order, each with its body terms (what the body
    IDF counts), its stories, and the keys of records that could not be read."""
    loaded: list[tuple[Entry, tuple[str, ...]]] = []
    stories: list[Story] = []
    unreadable: list[str] = []
    for key, value in records:
        if value is None:
            continue
        try:
            if key.startswith("a:"):
                if isinstance(value, bytes):
                    loaded.append(load_stored_entry(key[2:], value))
                else:
                    entry = load_entry(key[2:], value)
                    body = entry.features.body
                    loaded.append((entry, () if body is None else body.terms))
            elif key.startswith("s:"):
                stories.append(load_story(key[2:], value))
        except StateError as exc:
            # One unreadable record must not keep the worker from starting;
            # the article it held is simply no longer in the window.
            log.warning("skipping unreadable clustering state: %s", exc)
            unreadable.append(key)
    loaded.sort(key=lambda pair: (pair[0].ts, pair[0].seq))
    return loaded, stories, unreadable


def load_entry(article_id: str, value: dict[str, Any]) -> Entry:
    """Rebuild a window entry from :func:`dump_entry` output."""
    try:
        dup = value["dup"]
        return Entry(
            article_id=article_id,
            story_id=str(value["story"]),
            source=str(value["source"]),
            ts=float(value["ts"]),
            seq=int(value["seq"]),
            _features=load_features(value),
            indexed=load_terms(value["idx"]),
            duplicate_of=None if dup is None else str(dup),
            summary_mass=float(value["sm"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"bad window entry a:{article_id}: {exc!r}") from exc


def load_features(value: dict[str, Any]) -> TextFeatures:
    """The features of a stored entry (KeyError, TypeError or ValueError if malformed)."""
    title_terms = load_terms(value["tt"])
    title = str(value["title"])
    title_full = str(value["title_full"])
    return TextFeatures(
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


class _StoredBody(msgspec.Struct):
    terms: list[str]


class _StoredEntry(msgspec.Struct, kw_only=True):
    """What a restore reads of a stored entry at once. The features' fields must be
    there, and are parsed, but no object is made of them until they are read."""

    story: str
    source: str
    ts: float
    seq: int
    dup: str | None
    idx: list[str]
    sm: float
    body: _StoredBody | None = None
    title: msgspec.Raw
    title_full: msgspec.Raw
    summary: msgspec.Raw
    tt: msgspec.Raw
    st: msgspec.Raw
    num: msgspec.Raw
    places: msgspec.Raw
    names: msgspec.Raw


_read_stored = msgspec.json.Decoder(_StoredEntry).decode
_read_value = msgspec.json.Decoder().decode


def load_stored_entry(article_id: str, raw: bytes) -> tuple[Entry, tuple[str, ...]]:
    """A window entry from its stored bytes, features left to decode on first read,
    with its body terms (what the body IDF counts at a restore)."""
    try:
        head = _read_stored(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Not the shape this reader expects, or JSON only the standard library
        # reads (NaN): the full decode says what is wrong, or reads it.
        try:
            value = _read_value(raw)
        except msgspec.DecodeError:
            value = json.loads(raw)
        if not isinstance(value, dict):
            raise StateError(f"bad window entry a:{article_id}: not an object") from None
        entry = load_entry(article_id, value)
        body = entry.features.body
        return entry, () if body is None else body.terms
    entry = Entry(
        article_id=article_id,
        story_id=head.story,
        source=head.source,
        ts=head.ts,
        seq=head.seq,
        _features=None,
        indexed=load_terms(head.idx),
        duplicate_of=head.dup,
        summary_mass=head.sm,
        _stored=raw,
    )
    # Shared strings: the list lives until the restore has counted it, and the
    # features decoded later name the same terms.
    return entry, () if head.body is None else load_terms(head.body.terms)


def decode_features(article_id: str, raw: bytes) -> TextFeatures:
    """The features of an entry restored by :func:`load_stored_entry`."""
    try:
        return load_features(_read_value(raw))
    except (KeyError, TypeError, ValueError) as exc:
        # Its head was read at restore, so this is a malformed feature field: the
        # entry stays, with features that match nothing, rather than failing
        # every article it is a candidate for.
        log.error("bad window entry a:%s, its features are dropped: %r", article_id, exc)
        return _NO_FEATURES


_NO_FEATURES = TextFeatures(
    title="",
    title_full="",
    summary="",
    title_terms=(),
    summary_terms=(),
    title_set=frozenset(),
    numbers=frozenset(),
    places=frozenset(),
    names=frozenset(),
)


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


def load_story(story_id: str, value: StoredValue) -> Story:
    """Rebuild a story from :func:`dump_story` output (or its stored bytes), with zero members."""
    try:
        record = _read_value(value) if isinstance(value, bytes) else value
        return Story(
            story_id=story_id,
            first_article=str(record["first"]),
            sources=[str(s) for s in record["sources"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"bad story record s:{story_id}: {exc!r}") from exc
