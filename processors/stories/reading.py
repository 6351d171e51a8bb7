"""Reading an article: the stateless half of clustering (pure, no window, no IDF).

Tokens, stems, term counts, names, places, numbers, years and event markers
depend on the article alone, and cost about a fifth of clustering an article
with a body (bench/dedup_bench.py, ``stage cpu/s``). So they are computed where
the article is read: by the story stage
itself when one agent does everything, and by the matching stage, which runs on
every partition of news.raw, when the two are split. The story stage, which must
see every article in one place, then only weighs what it is handed against its
window (:func:`processors.stories.body.weigh_body`).

The wire form (:func:`dump_text` / :func:`load_text`) is plain JSON data with a
version and the summary length it was read with: a stage that reads another
version or length gets None and reads the article again itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec

from processors.stories.body import BodyText, read_body
from processors.stories.features import TextFeatures, build_features
from wirewatch.events import Article

# Bump when reading changes what it yields for the same article.
READ_VERSION = 1  # tests/unit/processors/test_story_reading.py pins what it yields


@dataclass(frozen=True, slots=True)
class ArticleText:
    """An article as read: its outlet, its title and summary features, its lead's text evidence."""

    source: str
    features: TextFeatures  # without body features: those need the window's IDF
    body: BodyText | None
    summary_chars: int


def pick_source(article: Article) -> str:
    """The outlet name, or the URL's host when a feed gives none."""
    if article.source.strip():
        return article.source.strip()
    return urlsplit(article.url).hostname or ""


def read_article(article: Article, summary_chars: int) -> ArticleText:
    """Read one article's text (see the module docstring)."""
    source = pick_source(article)
    # A feed without a summary still has its body's opening as one.
    summary = article.summary or article.body[: summary_chars + 100]
    features = build_features(article.title, summary, source, summary_chars)
    body = read_body(features.title_terms, article.title, article.summary, article.body)
    return ArticleText(source, features, body, summary_chars)


class _WireBody(msgspec.Struct, forbid_unknown_fields=True):
    counts: dict[str, int]
    entities: list[str]
    years: list[str]
    markers: list[str]


class _WireText(msgspec.Struct, forbid_unknown_fields=True):
    v: int
    summary_chars: int
    source: str
    title: str
    title_full: str
    summary: str
    title_terms: list[str]
    summary_terms: list[str]
    numbers: list[str]
    places: list[str]
    names: list[str]
    body: _WireBody | None


def dump_text(text: ArticleText) -> dict[str, Any]:
    """The wire form of a read article: JSON data."""
    f, b = text.features, text.body
    return {
        "v": READ_VERSION,
        "summary_chars": text.summary_chars,
        "source": text.source,
        "title": f.title,
        "title_full": f.title_full,
        "summary": f.summary,
        "title_terms": list(f.title_terms),
        "summary_terms": list(f.summary_terms),
        "numbers": sorted(f.numbers),
        "places": sorted(f.places),
        "names": sorted(f.names),
        "body": None
        if b is None
        else {
            "counts": b.counts,
            "entities": list(b.entities),
            "years": sorted(b.years),
            "markers": sorted(b.markers),
        },
    }


_EMPTY: frozenset[str] = frozenset()


def load_text(value: Any, summary_chars: int) -> ArticleText | None:
    """A read article from its wire form; None when it is of another version or length,
    or not one at all (the caller then reads the article itself)."""
    try:
        wire = msgspec.convert(value, _WireText)
    except msgspec.ValidationError:
        return None
    if wire.v != READ_VERSION or wire.summary_chars != summary_chars:
        return None
    title_terms = tuple(wire.title_terms)
    features = TextFeatures(
        title=wire.title,
        title_full=wire.title_full,
        summary=wire.summary,
        title_terms=title_terms,
        summary_terms=tuple(wire.summary_terms),
        title_set=frozenset(title_terms),
        numbers=frozenset(wire.numbers) or _EMPTY,
        places=frozenset(wire.places) or _EMPTY,
        names=frozenset(wire.names) or _EMPTY,
    )
    b = wire.body
    body = (
        None
        if b is None
        else BodyText(b.counts, tuple(b.entities), frozenset(b.years), frozenset(b.markers))
    )
    return ArticleText(wire.source, features, body, wire.summary_chars)
