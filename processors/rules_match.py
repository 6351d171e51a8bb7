"""Compiled matching: every rule's query against one article in one Aho-Corasick pass.

Each field is folded and split into words, and all fields are joined into one
haystack ``" w1 w2 \\x00 w3 ... "``. Every literal of every rule becomes one
automaton key: ``" word "``, ``" two words "`` or ``" prefix"`` for
``prefix*``; the spaces make keys match whole words only and the ``\\x00``
separator stops a phrase from running from one field into the next. One
``automaton.iter`` over the haystack finds every literal; a rule is evaluated
only if each of its required clauses (see :func:`required_clauses`) has a hit.
Rules with no required literal (only NOT or regex parts) are always evaluated.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate, count
from operator import add, itemgetter
from typing import Any

import ahocorasick

from processors.query import (
    FIELDS,
    And,
    Node,
    Not,
    Or,
    Regex,
    Words,
    describe,
    fold,
    fold_with_offsets,
)

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
        self._pairs_pending = False
        self._found_in: dict[int, set[int]] = {}
        self._token_bounds: list[int] | None = None
        self._word_ends: dict[int, list[int]] = {}
        self._maps: dict[int, tuple[str, list[int]]] = {}
        self._table: Literals | None = None

    def scan(self, table: Literals) -> None:
        """Find every literal: single words by set intersection, the rest in one AC pass."""
        self._table = table
        word_lids = table.word_lids
        self.found = found = set()
        for fidx in self.present:
            # dict_keys & list and the map below both run in C.
            field_found = set(map(word_lids.__getitem__, word_lids.keys() & self.words[fidx]))
            self._found_in[fidx] = field_found
            found |= field_found
        if table.automaton is not None:
            self._pairs = list(table.automaton.iter(self.haystack))
            found.update(map(itemgetter(1), self._pairs))
            self._pairs_pending = bool(self._pairs)

    def ends(self, lid: int) -> list[int]:
        """End offset in the haystack of every hit of literal ``lid``."""
        assert self._table is not None  # noqa: S101 - only called after scan()
        key = self._table.word_keys.get(lid)
        if key is not None:
            # A single word is not in the automaton: find its few occurrences.
            out, find, at = [], self.haystack.find, self.haystack.find(key)
            while at >= 0:
                out.append(at + len(key) - 1)
                at = find(key, at + 1)
            return out
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
        if self._pairs_pending:
            # Automaton hits come in text order, so each field's hits are one slice.
            self._pairs_pending = False
            ends = list(map(itemgetter(0), self._pairs))
            for f in self.present:
                lo = bisect_left(ends, self.char_bounds[f - 1]) if f else 0
                hi = bisect_left(ends, self.char_bounds[f])
                self._found_in[f].update(map(itemgetter(1), self._pairs[lo:hi]))
        return self._found_in.get(fidx, set())

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
        folded, offsets = self.folded_map(fidx)
        if fidx not in self._word_ends:
            # split() alternates separator, word, separator...; the running sum
            # of part lengths gives every word's start and end in C.
            parts = _SPLIT_RE.split(folded)
            self._word_ends[fidx] = list(accumulate(map(len, parts)))
        ends = self._word_ends[fidx]
        start = offsets[ends[2 * (lo - first)]]
        end = offsets[ends[2 * (hi - first) + 1]]
        return fidx, start, self.texts[FIELDS[fidx]][start:end]


class CWords:
    def __init__(self, node: Words, lid: int, fields: frozenset[int]) -> None:
        self.node, self.lid, self.fields = node, lid, fields
        self.width = len(node.words) - 1

    def test(self, doc: Doc) -> bool:
        if self.lid not in doc.found:
            return False
        if self.fields >= doc.present:
            return True
        lid = self.lid
        return any(lid in doc.found_in(f) for f in self.fields)

    def spans(self, doc: Doc) -> list[Span]:
        width = self.width
        return [
            (p, p + width, ((p, p + width),))
            for p in doc.positions(self.lid)
            if doc.field_of(p) in self.fields
        ]

    def clauses(self) -> list[frozenset[int]]:
        return [frozenset((self.lid,))]


class CRegex:
    def __init__(self, node: Regex, fields: frozenset[int]) -> None:
        self.node, self.fields = node, fields
        # The text is case-folded already; IGNORECASE only matters (and costs)
        # when the pattern itself has upper-case letters outside escapes.
        bare = re.sub(r"\\.", "", node.pattern)
        flags = re.IGNORECASE if any(c.isupper() for c in bare) else 0
        self.regex = re.compile(node.pattern, flags)
        literal, word_start = required_literal(node.pattern)
        self.literal = literal.lower()
        head = _WORD_RE.match(self.literal)
        # After \b, the literal's first word must start a token in the haystack.
        self.token_start = " " + head.group() if word_start and head else ""

    def test(self, doc: Doc) -> bool:
        # Substring tests are far cheaper than a search starting at every char.
        if self.token_start not in doc.haystack:
            return False
        literal, texts = self.literal, doc.folded
        return any(
            literal in texts[FIELDS[f]] and self.regex.search(texts[FIELDS[f]]) for f in self.fields
        )

    def char_hits(self, doc: Doc) -> list[tuple[int, int, str]]:
        out = []
        for fidx in sorted(self.fields):
            text = doc.texts.get(FIELDS[fidx], "")
            folded, offsets = doc.folded_map(fidx)
            for m in self.regex.finditer(folded):
                if m.end() > m.start():
                    lo, hi = offsets[m.start()], offsets[m.end()]
                    out.append((fidx, lo, text[lo:hi]))
        return out

    def clauses(self) -> list[frozenset[int]]:
        return []


def required_literal(pattern: str) -> tuple[str, bool]:
    """The longest plain-text run every match of ``pattern`` must contain ('' if unsure).

    Conservative: gives up at alternation or groups, drops a char made optional
    by ``?``/``*``/``{``, and ends a run at any class, escape class or anchor.
    The flag says the run comes right after ``\\b``, i.e. starts a word.
    """
    if "|" in pattern:
        return "", False
    best, run = ("", False), ""
    bounded = after_boundary = False
    i = 0
    while i < len(pattern):
        char, nxt = pattern[i], pattern[i + 1 : i + 2]
        if char == "\\" and nxt and not nxt.isalnum():
            if not run:
                bounded = after_boundary
            run, i, after_boundary = run + nxt, i + 2, False
            continue
        if char == "(":
            break
        if char == "\\" or char in ".^$*+?{}[]":
            if char in "*?{":
                run = run[:-1]
            best = max(best, (run, bounded), key=lambda b: len(b[0]))
            run, after_boundary = "", char == "\\" and nxt == "b"
            if char == "[":
                i = _class_end(pattern, i)
            i += 2 if char == "\\" else 1
            continue
        if not run:
            bounded = after_boundary
        run, i, after_boundary = run + char, i + 1, False
    literal, word_start = max(best, (run, bounded), key=lambda b: len(b[0]))
    if len(literal) >= 3 and literal.isascii():
        return literal, word_start
    return "", False


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


@dataclass
class CBool:
    op: str  # AND OR NOT NEAR
    children: list[Compiled]
    distance: int = 0
    node: Node | None = field(default=None, repr=False)

    def test(self, doc: Doc) -> bool:
        if self.op == "AND":
            return all(c.test(doc) for c in self.children)
        if self.op == "OR":
            return any(c.test(doc) for c in self.children)
        if self.op == "NOT":
            return not self.children[0].test(doc)
        return all(c.test(doc) for c in self.children) and bool(self.spans(doc))

    def spans(self, doc: Doc) -> list[Span]:
        if self.op == "OR":
            return [s for c in self.children for s in _spans(c, doc)]
        left, right = (_spans(c, doc) for c in self.children)
        out: list[Span] = []
        for a in left:
            for b in right:
                # Overlapping spans are the same words, not two words near each other.
                if a[1] >= b[0] and b[1] >= a[0]:
                    continue
                gap = b[0] - a[1] - 1 if b[0] > a[1] else a[0] - b[1] - 1
                if gap <= self.distance and doc.field_of(a[0]) == doc.field_of(b[0]):
                    out.append((min(a[0], b[0]), max(a[1], b[1]), a[2] + b[2]))
        return out

    def clauses(self) -> list[frozenset[int]]:
        if self.op in ("AND", "NEAR"):
            return [cl for c in self.children for cl in c.clauses()]
        if self.op == "OR":
            per_child = [best_clause(c.clauses()) for c in self.children]
            if any(cl is None for cl in per_child):
                return []
            return [frozenset().union(*(cl for cl in per_child if cl is not None))]
        return []


Compiled = CWords | CRegex | CBool


def _spans(node: Compiled, doc: Doc) -> list[Span]:
    if isinstance(node, CRegex):  # pragma: no cover - the parser keeps regexes out of NEAR
        return []
    return node.spans(doc)


def best_clause(clauses: list[frozenset[int]]) -> frozenset[int] | None:
    """The most selective clause: fewest alternatives (a cheap stand-in for rarest)."""
    return min(clauses, key=len) if clauses else None


def collect_terms(node: Compiled, doc: Doc, out: list[tuple[int, int, str]]) -> None:
    """Add (field, char offset, surface text) of every positive literal that matched."""
    if isinstance(node, CWords):
        for lo, hi, _parts in node.spans(doc):
            out.append(doc.surface(lo, hi))
    elif isinstance(node, CRegex):
        out.extend(node.char_hits(doc))
    elif node.op == "NEAR":
        seen = {part for span in node.spans(doc) for part in span[2]}
        out.extend(doc.surface(lo, hi) for lo, hi in sorted(seen))
    elif node.op in ("AND", "OR"):
        for child in node.children:
            if child.test(doc):
                collect_terms(child, doc, out)


def explain_node(node: Compiled, doc: Doc, depth: int = 0) -> list[str]:
    """Lines ``✓``/``✗`` per clause, indented like the query tree."""
    ok = node.test(doc)
    mark = "✓" if ok else "✗"
    pad = "  " * depth
    if isinstance(node, CWords | CRegex):
        terms: list[tuple[int, int, str]] = []
        if ok:
            collect_terms(node, doc, terms)
        found = f"  found: {', '.join(sorted({t[2] for t in terms}))}" if terms else ""
        scope = "/".join(FIELDS[f] for f in sorted(node.fields))
        return [f"{pad}{mark} {node.node.text}  [{scope}]{found}"]
    label = {"NOT": "NOT (true when the clause below is absent)"}.get(node.op, node.op)
    if node.op == "NEAR":
        label = f"NEAR/{node.distance}"
    lines = [f"{pad}{mark} {label}"]
    for child in node.children:
        lines.extend(explain_node(child, doc, depth + 1))
    return lines


@dataclass(frozen=True)
class Literals:
    """Every literal of a rule book: single words in a dict, the rest in an automaton."""

    automaton: Any
    key_len: list[int]
    word_lids: dict[str, int]  # folded word -> literal id
    word_keys: dict[int, str]  # literal id -> " word "


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
        """Split off the single words (a set lookup beats the automaton for them)."""
        words = {k: lid for k, lid in self.ids.items() if _is_single_word(k)}
        automaton = None
        if len(words) < len(self.ids):
            automaton = ahocorasick.Automaton()
            for key, lid in self.ids.items():
                if key not in words:
                    automaton.add_word(key, lid)
            automaton.make_automaton()
        return Literals(
            automaton=automaton,
            key_len=self.key_len,
            word_lids={k[1:-1]: lid for k, lid in words.items()},
            word_keys={lid: k for k, lid in words.items()},
        )


def _is_single_word(key: str) -> bool:
    return key.endswith(" ") and key.count(" ") == 2


def fields_used(node: Compiled) -> frozenset[int]:
    """Every field some leaf of ``node`` searches."""
    if isinstance(node, CWords | CRegex):
        return node.fields
    return frozenset().union(*(fields_used(c) for c in node.children))


def compile_node(node: Node, table: LiteralTable, scope: frozenset[int]) -> Compiled:
    """Compile a syntax tree; unscoped leaves search the fields in ``scope``."""
    if isinstance(node, Words):
        fields = frozenset((FIELDS.index(node.field),)) if node.field else scope
        return CWords(node, table.intern(node), fields)
    if isinstance(node, Regex):
        fields = frozenset((FIELDS.index(node.field),)) if node.field else scope
        return CRegex(node, fields)
    if isinstance(node, And | Or):
        op = "AND" if isinstance(node, And) else "OR"
        return CBool(op, [compile_node(c, table, scope) for c in node.children], node=node)
    if isinstance(node, Not):
        return CBool("NOT", [compile_node(node.child, table, scope)], node=node)
    children = [compile_node(node.left, table, scope), compile_node(node.right, table, scope)]
    return CBool("NEAR", children, node.distance, node=node)


__all__ = ["Doc", "LiteralTable", "collect_terms", "compile_node", "describe", "explain_node"]
