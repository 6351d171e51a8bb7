"""Pairwise evidence that two articles are copies or report the same event (pure).

Two scores, both 0-100 so that thresholds read the same way:

- ``copy``: how near-identical the two texts are (rapidfuzz ratio on normalised
  titles, a truncation-aware prefix match, and the summaries when both have one).
- ``story``: how much the two share: title terms in common (the strongest
  single signal on labelled data), rapidfuzz token_set_ratio, and the
  IDF-weighted overlap of the summaries when both have one.

Numbers, places and names are vetoes, not evidence: two quake reports with
magnitudes 6.1 and 5.2, two extraditions from Mexico and from Britain, or of two
different people, are different events however alike the wording is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import repeat
from typing import NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from processors.stories.features import TextFeatures, names_conflict
from processors.stories.places import places_conflict

# A truncated copy must keep enough of the title to still identify the piece.
_PREFIX_MIN_WORDS = 5
_PREFIX_MIN_SHARE = 0.5
# One swapped word in a short title can be the event itself ("Wildfire forces
# evacuations near Los Angeles" / "Flooding forces ..."), but syndication edits
# one word of short titles too; copies must be caught, so titles alone decide
# from five words on, and differing summaries (summary_floor) keep such pairs apart.
_EDIT_MIN_WORDS = 5


class PairScore(NamedTuple):
    """Scores of one query/candidate pair, kept for the explanation in the event."""

    copy: float
    story: float
    shared_terms: int
    conflict: str  # "" or why the pair cannot be the same event ("numbers", "places", "names")


def numbers_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Each title carries a number the other lacks ("as it happened - March 10" / "- March 11").

    A title that only drops a figure the other has (a truncation, a shorter
    rewrite) does not conflict.
    """
    return bool(a - b) and bool(b - a)


def score_prefix(a: str, b: str) -> float:
    """100 when the shorter text is a long enough prefix of the longer (a truncated copy)."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if not short or not long_.startswith(short):
        return 0.0
    if len(short.split()) < _PREFIX_MIN_WORDS or len(short) < _PREFIX_MIN_SHARE * len(long_):
        return 0.0
    return 100.0


def score_word_edits(a: str, b: str) -> float:
    """High when two titles differ by about one word in eight (an edited copy), else 0.

    Character ratio punishes one swapped word in a short title too much ("ECB to
    reveal..." / "ECB set to reveal..."), so copies are also recognised at the
    word level: at most one word edit per eight words, at least five words.
    """
    wa, wb = a.split(), b.split()
    shorter = min(len(wa), len(wb))
    if shorter < _EDIT_MIN_WORDS:
        return 0.0
    edits = Levenshtein.distance(wa, wb)
    if edits > max(1, max(len(wa), len(wb)) // 8):
        return 0.0
    return 100.0 - 5.0 * edits


def score_summaries(a: str, b: str) -> float | None:
    """Similarity of two summaries over their common length; None if either is empty."""
    if not a or not b:
        return None
    length = min(len(a), len(b))
    return fuzz.ratio(a[:length], b[:length])


def score_copy(q: TextFeatures, c: TextFeatures, summary_floor: float) -> float:
    """Near-identity of two articles, 0-100.

    Titles decide; a pair of summaries that disagree (below ``summary_floor``)
    caps the score, since two feeds reuse a generic title ("Market update") for
    different items. Identical long bodies under different titles (a re-titled
    republication) also count as copies.
    """
    # The outlet-suffix strip can eat a real clause ("Review - Titanfall towers
    # above"), so the whole titles are compared too and the better score counts.
    title = max(
        fuzz.ratio(q.title, c.title),
        fuzz.ratio(q.title_full, c.title_full),
        score_prefix(q.title, c.title),
        score_prefix(q.title_full, c.title_full),
        score_word_edits(q.title_full, c.title_full),
    )
    summary = score_summaries(q.summary, c.summary)
    if summary is None:
        return title
    if summary < summary_floor:
        return min(title, summary)
    if min(len(q.summary), len(c.summary)) >= 200 and summary >= 97.0:
        return max(title, summary)
    return title


def score_pair(
    q: TextFeatures,
    c: TextFeatures,
    q_summary_weights: dict[str, float],
    q_summary_mass: float,
    c_summary_mass: float,
    summary_floor: float,
    story_threshold: float = 0.0,
) -> PairScore:
    """Score a candidate against the query.

    ``story`` = 15 per shared title term + 0.15 x token_set_ratio of the titles
    + 30 x IDF-weighted overlap of the summaries' own terms, capped at 100: five
    shared title terms and a full token-set match reach 90. The summary weights
    and masses are IDF sums computed once per article (the query's now, the
    candidate's when it entered the window), which keeps a pair to set
    operations and a few rapidfuzz calls. Conflicting numbers or countries end
    the scoring early with the reason.
    """
    if q.numbers and c.numbers and numbers_conflict(q.numbers, c.numbers):
        return PairScore(0.0, 0.0, 0, "numbers")
    if q.places and c.places and places_conflict(q.places, c.places):
        return PairScore(0.0, 0.0, 0, "places")
    if q.names and c.names and names_conflict(q.names, q.title_set, c.names, c.title_set):
        return PairScore(0.0, 0.0, 0, "names")
    shared = len(q.title_set & c.title_set)
    summary = 0.0
    if q_summary_mass > 0 and c_summary_mass > 0:
        # Summing the query's weight of each candidate term (0 when absent) at C
        # speed beats building the set of common terms; every IDF is positive, so
        # a zero total means no common term.
        total = sum(map(q_summary_weights.get, c.summary_terms, repeat(0.0)))
        if total:
            summary = total / (q_summary_mass * c_summary_mass) ** 0.5
    story = 15.0 * shared + 30.0 * min(1.0, summary)
    # token_set_ratio adds at most 15: skip it when it cannot lift the pair to the
    # threshold (the score then is a lower bound, used only for ranking).
    if shared and story + 15.0 >= story_threshold:
        story += 0.15 * fuzz.token_set_ratio(q.title, c.title)
    story = min(100.0, story)
    copy = 0.0
    # Copies share nearly all title terms (or, re-titled, nearly all the body):
    # skip the costlier copy scores for the rest.
    if 2 * shared >= min(len(q.title_set), len(c.title_set)) or summary >= 0.5:
        copy = score_copy(q, c, summary_floor)
    return PairScore(copy=copy, story=story, shared_terms=shared, conflict="")


def title_weigher(size: int, df: Callable[[str], int]) -> Callable[[str], float]:
    """Smoothed IDF of a title term over a window of ``size`` articles (never below 1)."""
    size += 1
    log = math.log

    def weigh(term: str) -> float:
        return log(size / (df(term) + 1)) + 1.0

    return weigh


def title_cosine(
    q_weights: dict[str, float], q_norm: float, terms: frozenset[str], weigh: Callable[[str], float]
) -> float:
    """IDF-weighted cosine of the query's terms (``q_weights``) and a candidate's ``terms``.

    The decision passes title and summary terms on both sides, as the online
    TF-IDF baseline reads title and summary.
    """
    if not q_norm or not terms:
        return 0.0
    dot = 0.0
    norm = 0.0
    for term in terms:
        w = q_weights.get(term)
        if w is None:
            w = weigh(term)
        else:
            dot += w * w
        norm += w * w
    return dot / (q_norm * math.sqrt(norm))
