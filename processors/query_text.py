"""Text folding and word splitting shared by queries and articles, plus regex hints.

Folding is per character: ``casefold``, compatibility decomposition (NFKD),
combining marks dropped, then ``lower`` so every folded char is a fixed point
of ``lower`` (which lets :func:`fold` lower ASCII in one C pass). Because it is
per character, :func:`fold_with_offsets` can map every folded char back to
the original text for highlighting, and always agrees with :func:`fold`.
"""

from __future__ import annotations

import re
import unicodedata

FIELDS = ("title", "summary", "source", "url")
_WORD_RE = re.compile(r"\w+")
_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")


class _FoldTable(dict[int, str]):
    """``str.translate`` table, filled lazily: one char -> its folded form."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if code == 0xAD:  # soft hyphen: feeds put it inside words
            folded = ""
        else:
            decomposed = unicodedata.normalize("NFKD", char.casefold())
            stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
            # lower() makes the result a fixed point of lower(), so fold() may
            # lower the ASCII around it in one pass (see fold).
            folded = stripped.lower()
        if len(folded) != 1:
            _IRREGULAR.add(char)
        self[code] = folded
        return folded


_FOLD = _FoldTable()
_IRREGULAR: set[str] = set()  # chars whose folded form is not exactly one char


def fold(text: str) -> str:
    """Case- and accent-fold ``text`` ("México" -> "mexico")."""
    if text.isascii():
        return text.lower()
    # Only the (usually few) non-ASCII runs need the table; translate() over the
    # whole text is several times slower than this for Latin-script news.
    return _NON_ASCII_RUN_RE.sub(_fold_run, text).lower()


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Fold like :func:`fold` and also return, per folded char, its index in ``text``.

    The extra entry at the end maps the end of the folded text to ``len(text)``.
    Only the non-ASCII chars need a lookup; ASCII runs map one to one.
    """
    parts: list[str] = []
    offsets: list[int] = []
    done = 0
    for match in _NON_ASCII_RUN_RE.finditer(text):
        start, end = match.span()
        if start > done:
            parts.append(text[done:start].lower())
            offsets.extend(range(done, start))
        run = match.group()
        folded = run.translate(_FOLD)  # fills the table (and _IRREGULAR) first
        parts.append(folded)
        if _IRREGULAR.isdisjoint(run):  # one char in, one char out: offsets are a range
            offsets.extend(range(start, end))
        else:
            for index, char in enumerate(run, start):
                offsets.extend([index] * len(_FOLD[ord(char)]))
        done = end
    parts.append(text[done:].lower())
    offsets.extend(range(done, len(text) + 1))
    return "".join(parts), offsets


def folds_one_to_one(text: str) -> bool:
    """Whether every char of ``text`` folds to exactly one char (after :func:`fold`).

    Then ``fold(text)`` has the same char offsets as ``text``.
    """
    return text.isascii() or _IRREGULAR.isdisjoint(text)


def tokenize(text: str) -> list[str]:
    """Folded words of ``text`` in order."""
    return _WORD_RE.findall(fold(text))


def surface_spans(
    text: str, folded_map: tuple[str, list[int]] | None = None
) -> list[tuple[int, int]]:
    """``(start, end)`` in ``text`` of each word that :func:`tokenize` returns, in order."""
    folded, offsets = folded_map or fold_with_offsets(text)
    return [(offsets[m.start()], offsets[m.end()]) for m in _WORD_RE.finditer(folded)]


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
