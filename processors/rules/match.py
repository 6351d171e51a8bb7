"""Compiled rules: the query tree as objects that test, explain and collect terms.

A rule is evaluated only if each of its required clauses has a hit: a clause
is a set of literal ids of which at least one must occur for the query to be
true (see ``clauses``). The rule book indexes each rule under its most
selective clause, so an article only visits the rules one of whose literals it
contains. Rules with no required literal (only NOT or regex parts) are always
evaluated. Scanning the article is :mod:`processors.rules.doc`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from processors.rules.doc import Doc, LiteralTable, Span
from processors.rules.query import And, Node, Not, Or, Regex, Words
from processors.rules.query_text import FIELDS, leading_literal, required_literal
from processors.rules.regex import MAX_TEXT_CHARS, compile_pattern

_WORD_RE = re.compile(r"\w+")


class CWords:
    def __init__(self, node: Words, lid: int, fields: frozenset[int]) -> None:
        self.node, self.lid, self.fields = node, lid, fields
        self.width = len(node.words) - 1
        self.whole = False  # searches every field of the haystack (set by fuse)

    def test(self, doc: Doc) -> bool:
        if self.lid not in doc.found:
            return False
        return self.whole or doc.occurs_in(self.lid, self.fields)

    def spans(self, doc: Doc) -> list[Span]:
        if self.lid not in doc.found:  # the usual case in an OR-group under NEAR
            return []
        width, fields = self.width, self.fields
        return [(f, p, p + width, ((at, width),)) for f, p, at in doc.hits(self.lid) if f in fields]

    def clauses(self, costs: Sequence[float]) -> list[frozenset[int]]:
        return [frozenset((self.lid,))]


class CRegex:
    def __init__(self, node: Regex, fields: frozenset[int]) -> None:
        self.node, self.fields = node, fields
        # The text is case-folded already; IGNORECASE only matters (and costs)
        # when the pattern itself has upper-case letters outside escapes.
        bare = re.sub(r"\\.", "", node.pattern)
        ignore_case = any(c.isupper() for c in bare)
        self.regex = compile_pattern(node.pattern, ignore_case=ignore_case)
        literal, word_start = required_literal(node.pattern)
        self.literal = literal.lower()
        head = _WORD_RE.match(self.literal)
        # After \b, the literal's first word must start a token in the haystack.
        self.token_start = " " + head.group() if word_start and head else ""
        # Every match starts with ``lead``, so the search may start at its first
        # occurrence (a search from every char is the costly part). Not under
        # IGNORECASE, where a match may start with a case variant of it.
        self.lead = "" if ignore_case else leading_literal(node.pattern)

    def test(self, doc: Doc) -> bool:
        # Substring tests are far cheaper than a search starting at every char.
        if self.token_start not in doc.haystack:
            return False
        literal, lead, search = self.literal, self.lead, self.regex.search
        for fidx in self.fields:
            text = doc.folded[fidx][:MAX_TEXT_CHARS]
            if literal in text:
                start = text.find(lead) if lead else 0
                if start >= 0 and search(text, start):
                    return True
        return False

    def char_hits(self, doc: Doc) -> list[tuple[int, int, str]]:
        out = []
        for fidx in sorted(self.fields):
            text = doc.texts.get(FIELDS[fidx], "")
            folded, offsets = doc.folded_map(fidx)
            for m in self.regex.finditer(folded[:MAX_TEXT_CHARS]):
                if m.end() > m.start():
                    lo, hi = offsets[m.start()], offsets[m.end()]
                    out.append((fidx, lo, text[lo:hi]))
        return out

    def clauses(self, costs: Sequence[float]) -> list[frozenset[int]]:
        return []


@dataclass
class CBool:
    op: str  # AND OR NOT NEAR
    children: list[Compiled]
    distance: int = 0
    node: Node | None = field(default=None, repr=False)
    # Set by fuse(): whole-scope word children, tested with one set operation.
    lids: frozenset[int] = frozenset()
    rest: list[Compiled] | None = None

    def test(self, doc: Doc) -> bool:
        op = self.op
        if op == "OR":
            if not doc.found.isdisjoint(self.lids):
                return True
            for child in self.children if self.rest is None else self.rest:
                if child.test(doc):
                    return True
            return False
        if op == "AND":
            if not self.lids <= doc.found:
                return False
            for child in self.children if self.rest is None else self.rest:
                if not child.test(doc):
                    return False
            return True
        if op == "NOT":
            return not self.children[0].test(doc)
        for child in self.children:
            if not child.test(doc):
                return False
        return bool(self._near(doc, first_only=True))

    def spans(self, doc: Doc) -> list[Span]:
        if self.op == "OR":
            return [s for c in self.children for s in _spans(c, doc)]
        return self._near(doc, first_only=False)

    def _near(self, doc: Doc, first_only: bool) -> list[Span]:
        """Pairs of a left and a right span at most ``distance`` words apart (in any order)."""
        left, right = (_spans(c, doc) for c in self.children)
        if not left or not right:
            return []
        # Only right spans starting in a window around each left span can be
        # near it: bisect the window instead of pairing every two spans.
        right.sort(key=_first_word)
        firsts = [b[1] for b in right]
        distance = self.distance
        reach = distance + 1 + max(b[2] - b[1] for b in right)
        out: list[Span] = []
        for field_a, lo_a, hi_a, parts_a in left:
            lo = bisect_left(firsts, lo_a - reach)
            hi = bisect_right(firsts, hi_a + distance + 1)
            for field_b, lo_b, hi_b, parts_b in right[lo:hi]:
                # Overlapping spans are the same words, not two words near each other.
                if field_a != field_b or (hi_a >= lo_b and hi_b >= lo_a):
                    continue
                gap = lo_b - hi_a - 1 if lo_b > hi_a else lo_a - hi_b - 1
                if gap <= distance:
                    out.append((field_a, min(lo_a, lo_b), max(hi_a, hi_b), parts_a + parts_b))
                    if first_only:
                        return out
        return out

    def clauses(self, costs: Sequence[float]) -> list[frozenset[int]]:
        if self.op in ("AND", "NEAR"):
            return [cl for c in self.children for cl in c.clauses(costs)]
        if self.op == "OR":
            per_child = [best_clause(c.clauses(costs), costs) for c in self.children]
            if any(cl is None for cl in per_child):
                return []
            return [frozenset().union(*(cl for cl in per_child if cl is not None))]
        return []


Compiled = CWords | CRegex | CBool
_first_word = itemgetter(1)


def _spans(node: Compiled, doc: Doc) -> list[Span]:
    if isinstance(node, CRegex):  # pragma: no cover - the parser keeps regexes out of NEAR
        return []
    return node.spans(doc)


def best_clause(clauses: list[frozenset[int]], costs: Sequence[float]) -> frozenset[int] | None:
    """The most selective clause: least total cost of its literals (a stand-in for rarest).

    ``costs[lid]`` is :attr:`LiteralTable.costs`.
    """
    return min(clauses, key=lambda c: sum(costs[lid] for lid in c)) if clauses else None


def collect_terms(node: Compiled, doc: Doc, out: list[tuple[int, int, str]]) -> None:
    """Add (field, char offset, surface text) of every positive literal that matched."""
    if isinstance(node, CWords):
        if node.width:
            for fidx, _lo, _hi, ((at, width),) in node.spans(doc):
                out.append(doc.surface(fidx, at, width))
        else:
            out.extend(doc.word_surfaces(node.lid, node.fields))
    elif isinstance(node, CRegex):
        out.extend(node.char_hits(doc))
    elif node.op == "NEAR":
        seen = {(span[0], *part) for span in node.spans(doc) for part in span[3]}
        out.extend(doc.surface(fidx, at, width) for fidx, at, width in sorted(seen))
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


def fields_used(node: Compiled) -> frozenset[int]:
    """Every field some leaf of ``node`` searches."""
    if isinstance(node, CWords | CRegex):
        return node.fields
    return frozenset().union(*(fields_used(c) for c in node.children))


def fuse(node: Compiled, present: frozenset[int]) -> None:
    """Let AND/OR test their whole-scope word children as one set operation.

    ``present`` are the fields a scanned article has words for; a word that
    searches all of them is true exactly when its id is in ``doc.found``.
    """
    if isinstance(node, CWords):
        node.whole = node.fields >= present
    if not isinstance(node, CBool):
        return
    for child in node.children:
        fuse(child, present)
    if node.op in ("AND", "OR"):
        simple = [c for c in node.children if isinstance(c, CWords) and c.whole]
        node.lids = frozenset(c.lid for c in simple)
        node.rest = [c for c in node.children if not any(c is s for s in simple)]


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


__all__ = ["Doc", "LiteralTable", "collect_terms", "compile_node", "explain_node", "fuse"]
