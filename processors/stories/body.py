"""Full-text evidence: an article's body against a story's profile (pure).

Headlines alone say too little to tell two earthquakes, or two extraditions,
apart; the body names the people, places and years. Here an article with a
body becomes

- a sparse term vector (title terms counted twice, then the body's lead),
  sublinear tf times the window's IDF, L2-normalised, cut to its strongest
  ``VECTOR_TERMS`` terms so that a 100k-article window stays small,
- its named entities (capitalised words inside sentences) by frequency,
- the years it mentions,

and a story keeps the sum of its members' vectors (a centroid whose squared
norm is maintained incrementally) with entity and year counts. Comparing an
article with a story yields the features that :mod:`processors.stories.model`
weighs (BodyEvidence): centroid cosine, best single-article cosine, entity
cosine, how many of the story's defining names and years the article lacks,
and the event markers it shares.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from operator import mul
from typing import NamedTuple

from processors.stories.features import normalise_text, stem_all

# The lead carries the event; later paragraphs drift into background that
# other stories share. 1,500 characters is what the baseline reads too.
BODY_CHARS = 1500
# A one- or two-sentence feed summary is not full text: the model was fitted on
# articles, and short texts stay with the headline rules.
MIN_TEXT_CHARS = 400
VECTOR_TERMS = 24
ENTITY_LIMIT = 12
_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*|[.!?\n]")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
# The scanning forms of the year and figure patterns: a pattern that opens with
# a lookbehind or \b is tried at every character, one that opens with a digit
# lets the regex engine skip to the next candidate (3x faster on a 1,500-character
# lead). The opening condition (\b before a year; no digit, "." or "," before a
# figure) is checked on the match instead; a match it refuses cannot hide a
# valid one, since every position inside it is preceded by a digit or by a
# character the refused match already had before it.
_YEAR_SCAN = re.compile(r"(?:19[5-9]|20[0-4])\d(?!\w)")
_SENTENCE_END = frozenset(".!?\n")
# Event markers: figures other than years (tolls, magnitudes, sums, days of the
# month) and weekdays ("on Tuesday"), which reports of one event repeat and two
# events of the same kind rarely share.
_FIGURE_SCAN = re.compile(r"\d+(?:[.,]\d+)?(?!\d)")
_NOT_BEFORE_FIGURE = frozenset("0123456789.,")
FIGURE_LIMIT = 8
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")\b")


@dataclass(frozen=True, slots=True)
class BodyFeatures:
    """What the body comparison keeps of one article."""

    terms: tuple[str, ...]  # strongest terms, best first
    weights: tuple[float, ...]  # their L2-normalised tf-idf weights at admission
    entities: tuple[str, ...]  # most frequent first
    years: frozenset[str]
    # Every term of the article, L2-normalised: the query side of a comparison
    # reads the whole lead, while the window keeps only ``terms``. Not persisted.
    full: dict[str, float] | None = field(default=None, compare=False)
    markers: frozenset[str] = frozenset()


def without_full(body: BodyFeatures) -> BodyFeatures:
    """The body features the window keeps: all but the whole-lead query vector."""
    return BodyFeatures(body.terms, body.weights, body.entities, body.years, None, body.markers)


def count_terms(text: str) -> Counter[str]:
    """Stemmed content terms of a text with their counts."""
    counts = Counter(stem_all(normalise_text(text)))
    counts.pop("", None)  # stopwords
    return counts


def extract_entities(text: str) -> tuple[str, ...]:
    """Capitalised words that do not open a sentence, as terms, most frequent first.

    Without a tagger this is the cheap proxy for names: in running text a
    capital inside a sentence marks a person, place or organisation.
    """
    capitals = []
    sentence_start = True
    for word in _WORD.findall(text):
        if word in _SENTENCE_END:
            sentence_start = True
            continue
        if not sentence_start and word[0].isupper():
            capitals.append(word)
        sentence_start = False
    if not capitals:
        return ()
    found = count_terms(" ".join(capitals))
    return tuple(e for e, _ in found.most_common(ENTITY_LIMIT))


def extract_markers(text: str) -> frozenset[str]:
    """A text's event markers: its first figures that are not years, and its weekdays."""
    found: list[str] = []
    for match in _FIGURE_SCAN.finditer(text):
        start = match.start()
        if start and text[start - 1] in _NOT_BEFORE_FIGURE:
            continue  # the tail of "1,000,000" or ".5": not a figure of its own
        figure = match.group().replace(",", "")
        if not _YEAR.fullmatch(figure) and figure not in found:
            found.append(figure)
            if len(found) >= FIGURE_LIMIT:
                break
    markers = frozenset(found)
    # Seven substring tests are cheaper than the regex over a text with no weekday.
    if any(day in text for day in _WEEKDAYS):
        markers = markers.union(day.lower() for day in _WEEKDAY.findall(text))
    return markers


def extract_years(text: str) -> frozenset[str]:
    """The years from 1950 to 2049 a text names, as _YEAR finds them."""
    years = set()
    for match in _YEAR_SCAN.finditer(text):
        start = match.start()
        before = text[start - 1] if start else " "
        if not (before.isalnum() or before == "_"):  # \b before the year
            years.add(match.group())
    return frozenset(years)


def lead_text(title: str, summary: str, body: str) -> str:
    """The text the body comparison reads: the title, then summary and body up to the cap."""
    if not body:
        rest = summary
    elif not summary or summary[:200] in body[:2000]:
        rest = body  # the summary is the body's own opening: read it once
    else:
        rest = f"{summary}\n{body}"
    return f"{title}.\n{rest[:BODY_CHARS]}"


@dataclass(frozen=True, slots=True)
class BodyText:
    """What reading an article's lead yields before the window is consulted.

    Stateless (no IDF yet), so it can be computed wherever the article is read:
    the matching stage reads it and the story stage only weighs it.
    """

    counts: dict[str, int]  # stemmed lead terms; each title term counted twice more
    entities: tuple[str, ...]  # most frequent first
    years: frozenset[str]
    markers: frozenset[str]


def read_body(title_terms: tuple[str, ...], title: str, summary: str, body: str) -> BodyText | None:
    """The lead's terms, names, years and markers, or None when it has no text beyond its title."""
    if len(summary) + len(body) < MIN_TEXT_CHARS:
        return None
    text = lead_text(title, summary, body)
    counts = count_terms(text[len(title) + 2 :])
    for term in title_terms:
        counts[term] += 2
    if not counts:
        return None
    return BodyText(
        counts=dict(counts),
        entities=extract_entities(text),
        years=extract_years(text),
        markers=extract_markers(text),
    )


def weigh_body(text: BodyText, idf: IdfLookup) -> BodyFeatures:
    """An article's body features: its lead counted into the window's IDF, then weighed by it."""
    counts = text.counts
    idf.observe_distinct(counts.keys())  # keys: a mapping would add its counts
    weighted = idf.weigh(counts)
    best = sorted(weighted, key=weighted.__getitem__, reverse=True)[:VECTOR_TERMS]
    best_weights = list(map(weighted.__getitem__, best))
    # Sums of squares through map(mul): the same products in the same order as
    # a generator, without a Python frame per term.
    norm = math.sqrt(sum(map(mul, best_weights, best_weights))) or 1.0
    every = weighted.values()
    full_norm = math.sqrt(sum(map(mul, every, every))) or 1.0
    return BodyFeatures(
        terms=tuple(best),
        weights=tuple([w / norm for w in best_weights]),
        entities=text.entities,
        years=text.years,
        markers=text.markers,
        full={t: w / full_norm for t, w in weighted.items()},
    )


def build_body_features(
    title_terms: tuple[str, ...], title: str, summary: str, body: str, idf: IdfLookup
) -> BodyFeatures | None:
    """Body features of an article, or None when it has no text beyond its title."""
    text = read_body(title_terms, title, summary, body)
    return None if text is None else weigh_body(text, idf)


class IdfLookup:
    """Document frequencies of body terms over the recent stream, decayed.

    Every body term is counted (in C, by ``Counter.update``); every
    ``half_life`` articles all counts halve and the faint ones are dropped.
    That tracks IDF over the live window without keeping each article's full
    term list for eviction, and keeps the vocabulary bounded.
    """

    def __init__(self, half_life: int = 20_000) -> None:
        self.half_life = half_life
        self.df: Counter[str] = Counter()
        self.size = 0.0
        self._since = 0

    def observe_distinct(self, terms: Iterable[str]) -> None:
        """Count one article's terms, each given once."""
        self.df.update(terms)
        self.size += 1.0
        self._since += 1
        if self._since >= self.half_life:
            self._since = 0
            self.size /= 2.0
            self.df = Counter({t: c // 2 for t, c in self.df.items() if c >= 2})

    def __call__(self, term: str) -> float:
        return math.log((self.size + 1.0) / (self.df.get(term, 0) + 1.0)) + 1.0

    def weigh(self, counts: dict[str, int]) -> dict[str, float]:
        """Sublinear tf times IDF for every term of an article."""
        top = math.log(self.size + 1.0) + 1.0
        get = self.df.get
        # Logs of small counts come from a table, inline: a function call per
        # term was a third of the cost of building an article's body features.
        logs, n, log = _LOGS, len(_LOGS), math.log
        return {
            t: (1.0 + (logs[c] if c < n else log(c)))
            * (top - (logs[d] if (d := get(t, 0) + 1) < n else log(d)))
            for t, c in counts.items()
        }


# log(n) for the counts that dominate: term counts in a lead, document frequencies.
_LOGS = [0.0] + [math.log(i) for i in range(1, 4096)]


@dataclass(slots=True)
class BodyProfile:
    """A story's running sum of its members' body vectors, entities and years."""

    members: int = 0
    centroid: dict[str, float] = field(default_factory=dict)
    norm2: float = 0.0
    entities: Counter[str] = field(default_factory=Counter)
    entity_norm2: float = 0.0
    years: Counter[str] = field(default_factory=Counter)
    markers: Counter[str] = field(default_factory=Counter)
    # (members, names) of the last defining-names computation: reused until the
    # story changes, since every article compared with the story asks for it.
    _defining: tuple[int, tuple[str, ...]] = (-1, ())

    def defining_entities(self) -> tuple[str, ...]:
        """The story's defining names: of its top five, those half its articles carry."""
        members, names = self._defining
        if members != self.members:
            need = 0.5 * self.members
            names = tuple(e for e, c in self.entities.most_common(5) if c >= need)
            self._defining = (self.members, names)
        return names

    def add(self, body: BodyFeatures, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` remove) one member's body features."""
        centroid = self.centroid
        for term, weight in zip(body.terms, body.weights, strict=True):
            old = centroid.get(term)
            if old is None:
                # The weight itself, not an equal new float: most terms of a
                # large window belong to one article, and a float is 24 bytes.
                old, new = 0.0, weight if sign > 0 else -weight
            else:
                new = old + sign * weight
            self.norm2 += new * new - old * old
            if abs(new) > 1e-9:
                centroid[term] = new
            else:
                centroid.pop(term, None)
        entities = self.entities
        for entity in body.entities:
            old_count = entities.get(entity, 0)
            new_count = old_count + sign
            self.entity_norm2 += new_count * new_count - old_count * old_count
            if new_count > 0:
                entities[entity] = new_count
            else:
                entities.pop(entity, None)
        for counts, seen in ((self.years, body.years), (self.markers, body.markers)):
            if sign > 0:
                counts.update(seen)
            else:
                counts.subtract(seen)
                for key in [k for k in seen if counts[k] <= 0]:
                    del counts[key]
        self.members += sign
        self._defining = (-1, ())


def vector_of(body: BodyFeatures) -> dict[str, float]:
    """An article's query vector: its whole lead, or (restored) its stored terms."""
    if body.full is not None:
        return body.full
    return dict(zip(body.terms, body.weights, strict=True))


class BodyEvidence(NamedTuple):
    """What an article's body says about one candidate story (see compare_body)."""

    centroid_cos: float  # cosine with the story's centroid
    link_cos: float  # the best cosine with one of the story's articles
    entity_cos: float  # cosine of the names the two carry
    defining_missing: float  # share of the story's defining names the article lacks
    year_conflict: float  # 1 when the story's common years and the article's do not meet
    markers_shared: float  # share of the article's event markers the story carries


def compare_body(body: BodyFeatures, profile: BodyProfile, link: float) -> BodyEvidence:
    """The body evidence of an (article, story) pair, as :mod:`model` reads it.

    ``link`` is the best cosine between the article and one of the story's
    articles among the candidates.
    """
    centroid = profile.centroid
    if body.full is not None:
        query = body.full
        # Look up the smaller side in the larger: a young story's centroid has
        # a few dozen terms, a whole lead a hundred or more.
        if len(centroid) < len(query):
            small, large = centroid, query
        else:
            small, large = query, centroid
        dot: float = sum(map(mul, map(large.get, small, repeat(0.0)), small.values()))
    else:
        dot = sum(map(mul, map(centroid.get, body.terms, repeat(0.0)), body.weights))
    centroid_cos = dot / math.sqrt(profile.norm2) if profile.norm2 > 1e-12 else 0.0
    entities = profile.entities
    entity_cos = defining_missing = 0.0
    if body.entities and entities:
        shared: int = sum(map(entities.get, body.entities, repeat(0)))
        entity_cos = shared / math.sqrt(len(body.entities) * profile.entity_norm2)
        defining = profile.defining_entities()
        if defining:
            have = set(body.entities)
            defining_missing = sum(e not in have for e in defining) / len(defining)
    year_conflict = 0.0
    if body.years and profile.years:
        common = {y for y, c in profile.years.items() if c >= 0.5 * profile.members}
        year_conflict = float(bool(common) and body.years.isdisjoint(common))
    markers_shared = 0.0
    if body.markers and profile.markers:
        markers_shared = sum(m in profile.markers for m in body.markers) / len(body.markers)
    return BodyEvidence(
        centroid_cos, link, entity_cos, defining_missing, year_conflict, markers_shared
    )
