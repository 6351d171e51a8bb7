"""An article prepared for matching, and the literal table it is scanned with.

Each field is folded and its words joined by single spaces
(:func:`~processors.rules.query_text.join_words`); the fields are joined into one haystack
``" w1 w2 \\x00 w3 ... "``. Every literal of every rule is one automaton key
(``" word "``, ``" two words "``, or ``" prefix"`` for ``prefix*``), all found
in one ``automaton.iter`` pass over the haystack. The spaces make keys match
whole words only and the ``\\x00`` separator stops a phrase from running from
one field into the next.

The scan only records which literals occur. Where a literal occurs is asked
for only by NEAR, field-scoped terms and highlighting, and then it is found
again with ``str.find`` on that one key (all in C); a word's index is the
number of spaces before it (``str.count``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import ahocorasick

from processors.rules.query import Words
from processors.rules.query_text import (
    FIELDS,
    fold,
    fold_with_offsets,
    folds_one_to_one,
    join_words,
    word_spans,
)

ALL_FIELDS = frozenset(range(len(FIELDS)))
SEP = "\x00"
_JOIN = " " + SEP + " "
Hit = tuple[int, int, int]  # field, word index, haystack offset of the first word
# field, first and last word index, and (haystack offset, width) of each leaf hit in it
Span = tuple[int, int, int, tuple[tuple[int, int], ...]]
_NON_SPACE_RE = re.compile("[^ ]")
# Placing a word costs a few str.count calls; placing every word of a field
# costs a split of it, which pays off once a field has this many to place.
_MAX_LOCATED = 8
_MAX_STEPS = 24


class Doc:
    """One article's fields, folded once, with the literals one automaton pass found.

    Word indexes count the spaces before a word in the haystack: consecutive
    within a field, comparable only within one field.
    """

    def __init__(self, fields: dict[str, str], used: frozenset[int] = ALL_FIELDS) -> None:
        self.texts = fields
        self.present = used  # fields nobody searches are left out of the haystack
        self.folded: list[str] = []
        self.masked: list[str | None] = []
        segments: list[str] = []
        for index, name in enumerate(FIELDS):
            text = fields.get(name, "") if index in used else ""
            folded = fold(text) if text else ""
            segment, masked = join_words(folded) if folded else ("", "")
            self.folded.append(folded)
            self.masked.append(masked)
            segments.append(segment)
        self.haystack = " " + _JOIN.join(segments) + " "
        # Char offset of each field's first word and the space after its last.
        self.starts: list[int] = []
        self.stops: list[int] = []
        at = 1
        for segment in segments:
            self.starts.append(at)
            self.stops.append(at + len(segment))
            at += len(segment) + len(_JOIN)
        self.found: set[int] = set()
        self.keys: list[str] = []
        self._hits: dict[int, list[Hit]] = {}
        self._located: dict[int, int] = {}
        self._word_spans: dict[int, tuple[list[int], list[int]]] = {}
        self._offsets: dict[int, list[int] | None] = {}
        self._maps: dict[int, tuple[str, list[int]]] = {}

    def scan(self, table: Literals) -> None:
        """Find which literals occur, in one automaton pass (hits collected in C)."""
        self.keys = table.keys
        if table.automaton is not None:
            self.found = set(map(itemgetter(1), table.automaton.iter(self.haystack)))

    def occurs_in(self, lid: int, fields: frozenset[int]) -> bool:
        """Whether literal ``lid`` occurs in one of ``fields``."""
        find, key = self.haystack.find, self.keys[lid]
        starts, stops = self.starts, self.stops
        # A key starts with the space before its first word and cannot cross SEP.
        return any(find(key, starts[f] - 1, stops[f] + 1) >= 0 for f in fields)

    def hits(self, lid: int) -> list[Hit]:
        """Every hit of literal ``lid``: field, word index and haystack offset of its first word."""
        found = self._hits.get(lid)
        if found is None:
            haystack, key, starts = self.haystack, self.keys[lid], self.starts
            find, spaces = haystack.find, haystack.count
            found = []
            at, done, words = find(key), 0, 0
            while at >= 0:  # overlapping hits too ("a a" in "a a a"), like the automaton
                words += spaces(" ", done, at + 1)
                done = at + 1
                found.append((bisect_right(starts, done) - 1, words, done))
                at = find(key, done)
            self._hits[lid] = found
        return found

    def folded_map(self, fidx: int) -> tuple[str, list[int]]:
        """Folded text of a field with each folded char's offset in the original."""
        if fidx not in self._maps:
            self._maps[fidx] = fold_with_offsets(self.texts.get(FIELDS[fidx], ""))
        return self._maps[fidx]

    def surface(self, fidx: int, at: int, width: int) -> tuple[int, int, str]:
        """Original text of the ``width + 1`` words from haystack offset ``at`` in field ``fidx``.

        Returns (field, start char in the original text, text).
        """
        haystack, first = self.haystack, self.starts[fidx]
        end = haystack.find(" ", at)
        last = at
        for _ in range(width):
            last = end + 1
            end = haystack.find(" ", last)
        # Offsets within the field: in the single-spaced segment, then in the folded text.
        lo, hi, size = at - first, last - first, end - last
        index = haystack.count(" ", first, at)
        masked, located = self.masked[fidx], self._located.get(fidx, 0)
        start = stop = -1
        if masked is not None and located < _MAX_LOCATED:
            self._located[fidx] = located + 1
            start = _locate_word(masked, lo, index, lo)
            last_start = _locate_word(masked, hi, index + width, start) if width else start
            stop = last_start + size if start >= 0 and last_start >= 0 else -1
        if stop < 0:  # many words to place (or text in another script): place them all once
            spans = self._word_spans.get(fidx)
            if spans is None:
                spans = self._word_spans[fidx] = word_spans(self.folded[fidx], masked)
            word_starts, word_lens = spans
            start = word_starts[index]
            stop = word_starts[index + width] + word_lens[index + width]
        text, offsets = self.texts[FIELDS[fidx]], self._offsets_of(fidx)
        if offsets is not None:
            start, stop = offsets[start], offsets[stop]
        return fidx, start, text[start:stop]

    def word_surfaces(self, lid: int, fields: frozenset[int]) -> list[tuple[int, int, str]]:
        """:meth:`surface` of every hit in ``fields`` of ``lid``, a one-word literal."""
        key = self.keys[lid]
        size, prefix = len(key), not key.endswith(" ")
        out: list[tuple[int, int, str]] = []
        for fidx in fields:
            masked = self.masked[fidx]
            if masked is None:
                out.extend(self.surface(f, at, 0) for f, _, at in self.hits(lid) if f == fidx)
                continue
            # The key finds the same hits in the space-padded masked text, at the
            # offsets of the folded text: nothing to place.
            text, offsets = self.texts[FIELDS[fidx]], self._offsets_of(fidx)
            find = (" " + masked + " ").find
            at = find(key)
            while at >= 0:
                stop = find(" ", at + size) - 1 if prefix else at + size - 2
                if offsets is None:
                    out.append((fidx, at, text[at:stop]))
                else:
                    start = offsets[at]
                    out.append((fidx, start, text[start : offsets[stop]]))
                at = find(key, at + 1)
        return out

    def _offsets_of(self, fidx: int) -> list[int] | None:
        """Offset in the original text of each folded char; None when they are the same."""
        if fidx not in self._offsets:
            one_to_one = folds_one_to_one(self.texts[FIELDS[fidx]])
            self._offsets[fidx] = None if one_to_one else self.folded_map(fidx)[1]
        return self._offsets[fidx]


def _locate_word(masked: str, offset: int, index: int, low: int) -> int:
    """Where word ``index`` starts in ``masked``, given it starts at ``offset`` when single-spaced.

    ``index`` words (``offset - index`` word chars) come before it, so it starts at
    the first word char with that many word chars before it. Each step moves on by
    the word chars still missing (never past the word) and skips the spaces there;
    the missing count shrinks fast. -1 if it takes too long (long runs of short words).
    """
    wanted = offset - index
    done = spaces = 0
    at = low
    for _ in range(_MAX_STEPS):
        word = _NON_SPACE_RE.search(masked, at)
        if word is None:  # pragma: no cover - the word looked for is always there
            break
        at = word.start()
        spaces += masked.count(" ", done, at)
        done = at
        missing = wanted - (at - spaces)
        if not missing:
            return at
        at += missing
    return -1


@dataclass(frozen=True)
class Literals:
    """Every literal of a rule book as an automaton key; ``keys[lid]`` is its key."""

    automaton: Any  # None when no rule has a literal
    keys: list[str]


class LiteralTable:
    """Interns literals so one used by many rules is searched once."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.keys: list[str] = []
        # How often a literal is guessed to occur, relative to a word: a phrase
        # needs its words side by side; a prefix matches many words, a short one more.
        self.costs: list[float] = []

    def intern(self, node: Words) -> int:
        body = " " + " ".join(node.words)
        key = body if node.prefix else body + " "
        if key not in self.ids:
            self.ids[key] = len(self.keys)
            self.keys.append(key)
            cost = 0.5 if len(node.words) > 1 else 1.0
            self.costs.append(cost * (1 + 6 / len(node.words[-1])) if node.prefix else cost)
        return self.ids[key]

    def build(self) -> Literals:
        """The automaton over every interned key."""
        automaton = None
        if self.ids:
            automaton = ahocorasick.Automaton()
            for key, lid in self.ids.items():
                automaton.add_word(key, lid)
            automaton.make_automaton()
        return Literals(automaton=automaton, keys=self.keys)
