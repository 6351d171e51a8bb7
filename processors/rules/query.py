r"""The watch-rule query language: syntax tree and a recursive-descent parser.

Grammar (operators are upper case; lower-case ``and``/``or``/``not`` are plain words)::

    query    := or_expr EOF
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := not_expr (["AND"] not_expr)*         adjacent terms mean AND
    not_expr := ("NOT" | "-") not_expr | near_expr
    near_expr:= atom ("NEAR/" N atom)*                 N words may sit between the two
    atom     := "(" or_expr ")" | FIELD ":" atom | WORD | WORD* | "PHRASE" | /REGEX/

Precedence, tightest first: field scope, NEAR, NOT, AND, OR. Matching is on
words: text and query are folded the same way (case-insensitive, accents
removed so ``Mexico`` matches ``México``; see :mod:`processors.rules.query_text`) and
split on non-word characters, so ``tariff`` never matches inside ``tariffs``
while ``tariff*`` does (a prefix needs 3+ letters; ``*`` may also end the last
word of a phrase). A word that folds into several words (``U.S.``,
``covid-19``) is a phrase. ``NEAR/N`` joins words, phrases, prefixes or OR-groups
of them, in either order, within one field. Fields are ``title: summary: body:
source: url:``; unscoped terms search the rule's ``scope`` (title, summary and
body by default). ``/regex/`` runs (Python syntax, ``\/`` for a slash) on the folded
text of each field in scope. Errors carry the offset of the offending char.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from processors.rules.query_text import FIELDS, fold, tokenize
from processors.rules.regex import PatternError, compile_pattern

__all__ = ["FIELDS", "QuerySyntaxError", "describe", "fold", "parse_query", "tokenize"]

MIN_PREFIX = 3
_WORD_RE = re.compile(r"\w+")
_NEAR_RE = re.compile(r"NEAR/(\d+)")
_SPECIAL = frozenset('()"')


class QuerySyntaxError(ValueError):
    """A query that does not parse; ``offset`` is the 0-based index in the query."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset {offset})")
        self.message = message
        self.offset = offset


# --- syntax tree -----------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """Consecutive words; ``prefix`` means the last one is a prefix (``extradit*``)."""

    words: tuple[str, ...]
    prefix: bool
    text: str
    offset: int
    field: str | None = None


@dataclass(frozen=True)
class Regex:
    pattern: str
    text: str
    offset: int
    field: str | None = None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    distance: int


Node = Words | Regex | And | Or | Not | Near


# --- lexer -------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD PHRASE REGEX LPAREN RPAREN AND OR NOT MINUS NEAR FIELD EOF
    text: str
    offset: int
    value: str = ""


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            toks.append(_Tok("LPAREN" if char == "(" else "RPAREN", char, i))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated phrase: missing closing '\"'", i)
            toks.append(_Tok("PHRASE", query[i : end + 1], i, query[i + 1 : end]))
            i = end + 1
        elif char == "/":
            end = i + 1
            while end < n and query[end] != "/":
                end += 2 if query[end] == "\\" else 1
            if end >= n:
                raise QuerySyntaxError("unterminated regex: missing closing '/'", i)
            pattern = query[i + 1 : end].replace("\\/", "/")
            toks.append(_Tok("REGEX", query[i : end + 1], i, pattern))
            i = end + 1
        elif char == "-" and i + 1 < n and not query[i + 1].isspace():
            toks.append(_Tok("MINUS", "-", i))
            i += 1
        else:
            i = _lex_word(query, i, toks)
    toks.append(_Tok("EOF", "", n))
    return toks


def _lex_word(query: str, start: int, toks: list[_Tok]) -> int:
    end = start
    while end < len(query) and not query[end].isspace() and query[end] not in _SPECIAL:
        end += 1
    text = query[start:end]
    head, colon, rest = text.partition(":")
    if colon and head.isalpha() and head.islower() and not rest.startswith("//"):
        if head not in FIELDS:
            raise QuerySyntaxError(f"unknown field '{head}:' (fields: {', '.join(FIELDS)})", start)
        toks.append(_Tok("FIELD", head + ":", start, head))
        return start + len(head) + 1
    near = _NEAR_RE.fullmatch(text)
    if text in ("AND", "OR", "NOT"):
        toks.append(_Tok(text, text, start))
    elif near:
        toks.append(_Tok("NEAR", text, start, near.group(1)))
    elif text.startswith("NEAR"):
        raise QuerySyntaxError("NEAR needs a distance, e.g. NEAR/5", start)
    else:
        toks.append(_Tok("WORD", text, start, text))
    return end


# --- parser --------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise QuerySyntaxError("empty query", 0)
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise QuerySyntaxError("unbalanced ')': no '(' to close", tok.offset)
        if tok.kind != "EOF":  # pragma: no cover - and_expr consumes everything else
            raise QuerySyntaxError(f"unexpected {tok.text!r}", tok.offset)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.peek().kind not in ("OR", "RPAREN", "EOF"):
            if self.peek().kind == "AND":
                self.take()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.peek().kind in ("NOT", "MINUS"):
            self.take()
            return Not(self.not_expr())
        return self.near_expr()

    def near_expr(self) -> Node:
        node = self.atom()
        while self.peek().kind == "NEAR":
            tok = self.take()
            _check_positional(node, tok)
            right = self.atom()
            _check_positional(right, tok)
            node = Near(node, right, int(tok.value))
        return node

    def atom(self, field: str | None = None) -> Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            node = self.or_expr()
            if self.peek().kind != "RPAREN":
                raise QuerySyntaxError("missing ')' to close this '('", tok.offset)
            self.take()
            return _scope(node, field) if field else node
        if tok.kind == "FIELD":
            if self.peek().kind in ("EOF", "RPAREN", "OR", "AND"):
                raise QuerySyntaxError(f"'{tok.text}' needs a term after it", tok.offset)
            return self.atom(field=tok.value)
        if tok.kind in ("WORD", "PHRASE"):
            return _words(tok, field)
        if tok.kind == "REGEX":
            return _regex(tok, field)
        if tok.kind == "EOF":
            raise QuerySyntaxError("query ends where a term was expected", tok.offset)
        raise QuerySyntaxError(f"expected a term, found {tok.text!r}", tok.offset)


def _scope(node: Node, field: str) -> Node:
    """Push a field scope down to the leaves; an inner scope wins."""
    if isinstance(node, Words | Regex):
        return node if node.field else _replace_field(node, field)
    if isinstance(node, And | Or):
        return type(node)(tuple(_scope(c, field) for c in node.children))
    if isinstance(node, Not):
        return Not(_scope(node.child, field))
    return Near(_scope(node.left, field), _scope(node.right, field), node.distance)


def _replace_field(node: Words | Regex, field: str) -> Words | Regex:
    if isinstance(node, Words):
        return Words(node.words, node.prefix, node.text, node.offset, field)
    return Regex(node.pattern, node.text, node.offset, field)


def _check_positional(node: Node, tok: _Tok) -> None:
    # NEAR needs word positions; NOT/AND have none and a regex spans characters.
    if isinstance(node, Words | Near):
        return
    if isinstance(node, Or) and all(isinstance(c, Words | Near | Or) for c in node.children):
        for child in node.children:
            _check_positional(child, tok)
        return
    raise QuerySyntaxError("NEAR joins words, phrases, wildcards or OR-groups of them", tok.offset)


def _words(tok: _Tok, field: str | None) -> Words:
    raw = tok.value
    body_offset = tok.offset + (1 if tok.kind == "PHRASE" else 0)
    star = raw.find("*")
    prefix = star >= 0
    if prefix and star != len(raw) - 1:
        raise QuerySyntaxError("'*' is only allowed at the end of a word", body_offset + star)
    if prefix and (star == 0 or not _WORD_RE.match(raw[star - 1])):
        raise QuerySyntaxError("'*' must follow a letter or digit", body_offset + star)
    words = tuple(tokenize(raw[:star] if prefix else raw))
    if not words:
        what = "phrase" if tok.kind == "PHRASE" else "term"
        raise QuerySyntaxError(f"{what} {tok.text!r} has no letters or digits", tok.offset)
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise QuerySyntaxError(
            f"wildcard prefix {words[-1]!r} is shorter than {MIN_PREFIX} letters", tok.offset
        )
    return Words(words, prefix, tok.text, tok.offset, field)


def _regex(tok: _Tok, field: str | None) -> Regex:
    if not tok.value:
        raise QuerySyntaxError("empty regex", tok.offset)
    try:
        compile_pattern(tok.value)
    except PatternError as exc:
        raise QuerySyntaxError(exc.message, tok.offset + 1 + exc.offset) from exc
    return Regex(tok.value, tok.text, tok.offset, field)


def parse_query(query: str) -> Node:
    """Parse ``query`` into a syntax tree; raises :class:`QuerySyntaxError`."""
    return _Parser(query).parse()


def describe(node: Node) -> str:
    """Render ``node`` back as query text (fully parenthesised), for explanations."""
    if isinstance(node, Words | Regex):
        return f"{node.field}:{node.text}" if node.field else node.text
    if isinstance(node, Not):
        return f"NOT {describe(node.child)}"
    if isinstance(node, Near):
        return f"{describe(node.left)} NEAR/{node.distance} {describe(node.right)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(describe(c) for c in node.children) + ")"
