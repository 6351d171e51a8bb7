"""Text normalisation and features for story clustering (pure, no I/O).

Feed titles of one event differ in ways that say nothing about the event: an
outlet suffix (" - Reuters"), case, punctuation, a truncation ellipsis, a
possessive. Everything here removes that noise so that rapidfuzz and the token
index compare what the articles actually say.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from processors.stories.places import extract_places

if TYPE_CHECKING:
    from processors.stories.body import BodyFeatures

# Short function words carry no evidence that two articles share an event.
_STOPWORDS_TEXT = """a an the and or but nor of to in on at by for from with without into onto
over under as is are was were be been being has have had do does did will would shall should
can could may might must it its this that these those there here he she they them his her
their our we you your i me my mine us not no yes so than then too very just also only about
after before again against all any because between both down during each few more most other
out own same some such up what when where which while who whom why how says said say new news
via amid vs s t"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# Dashes (hyphen, en, em), bar and "::" separate an outlet name from the title.
_OUTLET_SEPARATORS = re.compile(
    r"\s+(?:-|\u2013|\u2014|\||::)\s+(?P<tail>[^-\u2013\u2014|]{1,60})$"
)
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|\u2026)\s*$")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
# Letters and digits of any script: a Cyrillic, Greek or Chinese title must not
# fold to nothing (every such title would then be a copy of every other).
_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")
_SPACES = re.compile(r"\s+")
_DIGITS = "0123456789"
# Every ASCII character that cannot be part of a token becomes a space.
_SEPARATE = str.maketrans(
    {chr(i): " " for i in range(128) if not (chr(i).isdigit() or "a" <= chr(i) <= "z")}
)
_JOINER_CHARS = frozenset("'\u2019-")
_JOINERS = re.compile(r"(?<=\w)['\u2019-](?=\w)")
# Countries named deep in a long body are context, not the event's place.
_LEAD_CHARS = 300


def strip_accents(text: str) -> str:
    """Drop combining marks after NFKD decomposition ("Zürich" -> "Zurich"); ASCII as is."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_text(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace."""
    return _SPACES.sub(" ", strip_accents(text)).strip().lower()


def strip_title_noise(title: str, source: str = "") -> str:
    """Drop a trailing outlet name (" - Reuters", " | BBC News") and truncation marks.

    A tail after a dash or bar is treated as an outlet only when it is short
    (at most four words) or equals the article's source, so that a real clause
    like "X - a history of Y in three parts" survives.
    """
    text = title.strip()
    # The substring tests are cheap guards: most titles need neither regex.
    has_ellipsis = "..." in text or "\u2026" in text
    if has_ellipsis:
        text = _ELLIPSIS.sub("", text)
    match = _OUTLET_SEPARATORS.search(text)
    if match:
        tail = match.group("tail").strip()
        is_source = bool(source) and fold_text(tail) == fold_text(source)
        if is_source or len(tail.split()) <= 4:
            text = text[: match.start()]
    return _ELLIPSIS.sub("", text) if has_ellipsis else text


def normalise_text(text: str) -> str:
    """Fold and reduce to space-separated word tokens (punctuation removed)."""
    folded = strip_accents(text).lower()
    if "'" in folded or "\u2019" in folded:
        folded = _POSSESSIVE.sub("", folded)
    # Without a "." or "," that could join digits ("6.1", "1,000"), tokens are
    # just the runs of [a-z0-9]: one C-level translate and split replace the regex.
    if folded.isascii() and (
        ("." not in folded and "," not in folded) or not any(d in folded for d in _DIGITS)
    ):
        return " ".join(folded.translate(_SEPARATE).split())
    return " ".join(_TOKEN.findall(folded))


def stem_token(token: str) -> str:
    """A deliberately tiny stemmer: plural and -ing/-ed forms meet their base."""
    if token[0].isdigit() or len(token) <= 4:
        return token
    for suffix in ("ings", "ing", "ies", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            stem = token[: -len(suffix)]
            if suffix == "ies":
                return stem + "y"
            if suffix == "s" and stem.endswith(("s", "u", "i")):
                return token
            return stem
    return token


# Stems of every token seen; a plain dict is the cheapest memo. Cleared when
# it grows past the cap so a long-running worker's memory stays bounded.
_STEMS: dict[str, str] = {}
_STEMS_CAP = 500_000


def stem_all(normalised: str) -> list[str]:
    """The stem of every token of a normalised text, "" for a stopword."""
    stems = _STEMS
    if len(stems) > _STEMS_CAP:
        stems.clear()
    tokens = normalised.split()
    # One C-level lookup pass; the Python loop runs only for tokens never seen.
    mapped = list(map(stems.get, tokens))
    if None in mapped:
        for i, stem in enumerate(mapped):
            if stem is None:
                tok = tokens[i]
                stop = tok in STOPWORDS or (len(tok) == 1 and not tok.isdigit())
                mapped[i] = stems[tok] = "" if stop else stem_token(tok)
    return mapped  # type: ignore[return-value]  # the None holes were filled above


def collect_terms(normalised: str) -> dict[str, None]:
    """Content terms of a normalised text as dict keys (first-sight order)."""
    terms = dict.fromkeys(stem_all(normalised))
    terms.pop("", None)  # stopwords
    return terms


def extract_terms(normalised: str) -> list[str]:
    """Content terms of a normalised text, stemmed, stopwords removed, order kept."""
    return list(collect_terms(normalised))


def extract_numbers(normalised: str) -> frozenset[str]:
    """Numbers in a text: magnitudes, percentages, tolls, years. They tell events apart.

    A word with a digit in it counts too: versions ("alpha2"), flights ("mh17"),
    summits ("g20") differ in that digit alone.
    """
    return frozenset(
        tok.replace(",", "")
        for tok in normalised.split()
        # isalpha() settles most words in C before the per-character test.
        if not tok.isalpha() and any(c.isdigit() for c in tok)
    )


_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*")


def extract_names(title: str) -> frozenset[str]:
    """Capitalised words after the first, as terms, when the title is in sentence case.

    In a sentence-case title ("Court orders extradition of rapper John Doe") the
    capitals mark names; in a Title Case one every word has them, so it yields
    nothing rather than noise.
    """
    words = _WORD.findall(title)[1:]
    capitals = [w for w in words if w[0].isupper()]
    if not capitals or 2 * len(capitals) > len(words):
        return frozenset()
    return frozenset(extract_terms(normalise_text(" ".join(capitals))))


def names_conflict(
    q_names: frozenset[str],
    q_terms: frozenset[str],
    c_names: frozenset[str],
    c_terms: frozenset[str],
) -> bool:
    """Each title names someone the other does not mention, and they share no name."""
    return (
        bool(q_names - c_terms)
        and bool(c_names - q_terms)
        and q_names.isdisjoint(c_terms)
        and c_names.isdisjoint(q_terms)
    )


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What the clusterer compares about one article."""

    title: str  # normalised title without outlet suffix
    title_full: str  # normalised whole title, words kept whole ("tech-savvy", "i'd")
    summary: str  # normalised summary, truncated to the configured length
    title_terms: tuple[str, ...]
    summary_terms: tuple[str, ...]  # terms of the summary not already in the title
    title_set: frozenset[str]
    numbers: frozenset[str]
    places: frozenset[str]  # countries named in the title or the summary's lead
    names: frozenset[str]  # proper-noun terms of a sentence-case title (empty otherwise)
    # Full-text evidence (processors.stories.body); None for a headline-only article.
    body: BodyFeatures | None = None


def with_body(features: TextFeatures, body: BodyFeatures | None) -> TextFeatures:
    """``features`` with another body (dataclasses.replace, at a tenth of its cost)."""
    f = features
    return TextFeatures(
        f.title, f.title_full, f.summary, f.title_terms, f.summary_terms, f.title_set,
        f.numbers, f.places, f.names, body,
    )  # fmt: skip


# Most articles name no number, country or person: they all share one empty set
# instead of each keeping its own (less memory, fewer objects for the GC to walk).
_NONE: frozenset[str] = frozenset()


def build_features(title: str, summary: str, source: str, summary_chars: int) -> TextFeatures:
    """Compute the comparable features of an article's title and summary."""
    clean_title = strip_title_noise(title, source)
    norm_title = normalise_text(clean_title)
    # Cut the raw summary first: normalising a full-text body only to drop it is waste.
    norm_summary = normalise_text(summary[: summary_chars + 100])[:summary_chars]
    title_terms = tuple(collect_terms(norm_title))
    summary_dict = collect_terms(norm_summary)
    for term in title_terms:
        summary_dict.pop(term, None)
    summary_terms = tuple(summary_dict)
    if clean_title == title.strip() and not _JOINER_CHARS.intersection(title):
        full_title = norm_title  # nothing stripped, nothing to join: the same text
    else:
        full_title = normalise_text(_JOINERS.sub("", title))
    lead_tokens = norm_title.split() + norm_summary[:_LEAD_CHARS].split()
    return TextFeatures(
        title=norm_title,
        title_full=full_title,
        summary=norm_summary,
        title_terms=title_terms,
        summary_terms=summary_terms,
        title_set=frozenset(title_terms),
        # From the whole title: an outlet-like tail can be a date ("- March 10").
        numbers=extract_numbers(full_title) or _NONE,
        places=extract_places(f"{title} {summary[:_LEAD_CHARS]}", lead_tokens) or _NONE,
        names=extract_names(clean_title) or _NONE,
    )
