"""An article prepared for matching, and the literal table it is scanned with.

Each field is folded and split into words, and all fields are joined into one
haystack ``" w1 w2 \\x00 w3 ... "``. Every literal of every rule is one
automaton key (``" word "``, ``" two words "``, or ``" prefix"`` for
``prefix*``), all found in one ``automaton.iter`` pass over the haystack. The
spaces make keys match whole words only and the ``\\x00`` separator stops a
phrase from running from one field into the next.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate, count
from operator import add, itemgetter
from typing import Any

import ahocorasick

from processors.query import Words
from processors.query_text import FIELDS, fold, fold_with_offsets, folds_one_to_one

_WORD_RE = re.compile(r"\w+")
_SPLIT_RE = re.compile(r"(\w+)")
ALL_FIELDS = frozenset(range(len(FIELDS)))
SEP = "\x00"
Span = tuple[int, int, tuple[tuple[int, int], ...]]  # first word, last word, leaf spans


class Doc:
    """One article's fields, folded once, with the literal hits of one automaton pass.

    Token indexes (for NEAR and highlighting) are computed only for the hits
    that need them; most rules only ask whether a literal occurs at all.
    """

    def __init__(self, fields: dict[str, str], used: frozenset[int] = ALL_FIELDS) -> None:
        self.texts = fields
        self.present = used  # fields nobody searches are left out of the haystack
        self.folded = {
            name: fold(fields.get(name, "")) if i in used else "" for i, name in enumerate(FIELDS)
        }
        pieces: list[str] = []
        self.words: list[list[str]] = []
        for name in FIELDS:
            words = _WORD_RE.findall(self.folded[name])
            self.words.append(words)
            if words:
                pieces.append(" ".join(words))
            pieces.append(SEP)
        # " w1 w2 \x00 w3 ... \x00 ": exactly one space before every word.
        self.haystack = " " + " ".join(pieces) + " "
        # Char offset of each field separator, to place a hit without counting words.
        self.char_bounds: list[int] = []
        at = 0
        for _ in FIELDS:
            at = self.haystack.index(SEP, at + 1)
            self.char_bounds.append(at)
        self.found: set[int] = set()
        self._pairs: list[tuple[int, int]] = []
        self._by_lid: tuple[list[tuple[int, int]], list[int]] | None = None
        self._starts: list[int] | None = None
        self._pair_ends: list[int] | None = None
        self._found_in: dict[int, set[int]] = {}
        self._token_bounds: list[int] | None = None
        self._word_ends: dict[int, tuple[list[int], list[int] | None]] = {}
        self._maps: dict[int, tuple[str, list[int]]] = {}
        self._table: Literals | None = None

    def scan(self, table: Literals) -> None:
        """Find every literal in one automaton pass (hits collected in C)."""
        self._table = table
        if table.automaton is not None:
            self._pairs = list(table.automaton.iter(self.haystack))
            self.found = set(map(itemgetter(1), self._pairs))

    def ends(self, lid: int) -> list[int]:
        """End offset in the haystack of every hit of literal ``lid``."""
        if self._by_lid is None:
            # Sorting by literal id (stable, so offsets stay in order) lets each
            # lookup be two bisects and a slice, all in C.
            by_lid = sorted(self._pairs, key=itemgetter(1))
            self._by_lid = (by_lid, list(map(itemgetter(1), by_lid)))
        pairs, lids = self._by_lid
        lo, hi = bisect_left(lids, lid), bisect_right(lids, lid)
        return list(map(itemgetter(0), pairs[lo:hi]))

    def positions(self, lid: int) -> list[int]:
        """Token index of the first word of every hit of literal ``lid``."""
        if self._starts is None:
            # Word i starts after i + 1 spaces and the words before it; built in C.
            lengths = accumulate(map(len, self.haystack.split(" ")))
            self._starts = list(map(add, lengths, count(1)))
        assert self._table is not None  # noqa: S101 - only called after scan()
        starts, size = self._starts, self._table.key_len[lid]
        return [bisect_left(starts, end - size + 2) for end in self.ends(lid)]

    def found_in(self, fidx: int) -> set[int]:
        """Literal ids with a hit inside field ``fidx``."""
        if fidx not in self._found_in:
            # Hits come in text order, so each field's hits are one slice.
            if self._pair_ends is None:
                self._pair_ends = list(map(itemgetter(0), self._pairs))
            ends, bounds = self._pair_ends, self.char_bounds
            lo = bisect_left(ends, bounds[fidx - 1]) if fidx else 0
            hi = bisect_left(ends, bounds[fidx])
            self._found_in[fidx] = set(map(itemgetter(1), self._pairs[lo:hi]))
        return self._found_in[fidx]

    @property
    def token_bounds(self) -> list[int]:
        """Token index of each field's separator."""
        if self._token_bounds is None:
            self._token_bounds = [self.haystack.count(" ", 0, b) - 1 for b in self.char_bounds]
        return self._token_bounds

    def field_of(self, token: int) -> int:
        return bisect_right(self.token_bounds, token)

    def folded_map(self, fidx: int) -> tuple[str, list[int]]:
        """Folded text of a field with each folded char's offset in the original."""
        if fidx not in self._maps:
            self._maps[fidx] = fold_with_offsets(self.texts.get(FIELDS[fidx], ""))
        return self._maps[fidx]

    def surface(self, lo: int, hi: int) -> tuple[int, int, str]:
        """The original text of words ``lo..hi``: (field, start char, text)."""
        fidx = self.field_of(lo)
        first = self.token_bounds[fidx - 1] + 1 if fidx else 0
        text = self.texts[FIELDS[fidx]]
        if fidx not in self._word_ends:
            if folds_one_to_one(text):
                # The usual case: folded chars sit at the original offsets.
                folded, offsets = self.folded[FIELDS[fidx]], None
            else:
                folded, offsets = self.folded_map(fidx)
            # split() alternates separator, word, separator...; the running sum
            # of part lengths gives every word's start and end in C.
            ends = list(accumulate(map(len, _SPLIT_RE.split(folded))))
            self._word_ends[fidx] = (ends, offsets)
        ends, offsets = self._word_ends[fidx]
        start, end = ends[2 * (lo - first)], ends[2 * (hi - first) + 1]
        if offsets is not None:
            start, end = offsets[start], offsets[end]
        return fidx, start, text[start:end]


@dataclass(frozen=True)
class Literals:
    """Every literal of a rule book as an automaton key, with each key's length."""

    automaton: Any  # None when no rule has a literal
    key_len: list[int]


class LiteralTable:
    """Interns literals so one used by many rules is searched once."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.key_len: list[int] = []

    def intern(self, node: Words) -> int:
        body = " " + " ".join(node.words)
        key = body if node.prefix else body + " "
        if key not in self.ids:
            self.ids[key] = len(self.key_len)
            self.key_len.append(len(key))
        return self.ids[key]

    def build(self) -> Literals:
        """The automaton over every interned key."""
        automaton = None
        if self.ids:
            automaton = ahocorasick.Automaton()
            for key, lid in self.ids.items():
                automaton.add_word(key, lid)
            automaton.make_automaton()
        return Literals(automaton=automaton, key_len=self.key_len)
