"""Text folding and word splitting shared by queries and articles, plus regex hints.

Folding is per character: ``casefold``, compatibility decomposition (NFKD),
combining marks dropped, then ``lower`` so every folded char is a fixed point
of ``lower`` (which lets :func:`fold` lower ASCII in one C pass). Because it is
per character, :func:`fold_with_offsets` can map every folded char back to
the original text for highlighting, and always agrees with :func:`fold`.

Matching runs these on every article, so the common cases stay in C: ASCII
text is lowered in one pass, and a text with a handful of distinct non-ASCII
chars (curly quotes, accented names) gets one ``str.replace`` per distinct
char instead of a Python call per non-ASCII run. :func:`mask_words` blanks
non-word chars with one byte-table ``translate``.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate, compress, count
from operator import add

# Appended, never reordered: compiled rules refer to fields by index.
FIELDS = ("title", "summary", "source", "url", "body")
_WORD_RE = re.compile(r"\w+")
_SPLIT_RE = re.compile(r"(\w+)")
_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")
_ASCII_BYTES = bytes(range(128))
# Per byte: ASCII non-word chars become a space; bytes >= 0x80 (inside UTF-8
# sequences) are left for the per-char pass in mask_words.
_MASK_BYTES = bytes(b if b >= 0x80 or _WORD_RE.fullmatch(chr(b)) else 0x20 for b in range(256))
# Beyond this many distinct chars to change, one replace() per char stops paying off.
_MAX_REPLACED = 24
_MAX_NON_ASCII_BYTES = 512  # some 170 to 250 chars of Latin, Greek, Cyrillic or CJK
_UTF8 = "utf-8"
_SURROGATES = "surrogatepass"  # lone surrogates in feed text must not raise


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
        self[code] = folded  # before the lookups below: a char may fold to itself
        # Replacing char by char is only the same as one translate() pass when
        # no replacement holds a char that another replacement would change.
        if any(c != char and not c.isascii() and self[ord(c)] != c for c in folded):
            _UNSAFE.add(char)
        return folded


_FOLD = _FoldTable()
_IRREGULAR: set[str] = set()  # chars whose folded form is not exactly one char
_UNSAFE: set[str] = set()  # chars whose folded form holds a char that folds further


class _WordCharTable(dict[str, bool]):
    """Whether a char is a regex word char (``\\w``), filled lazily."""

    def __missing__(self, char: str) -> bool:
        self[char] = is_word = _WORD_RE.fullmatch(char) is not None
        return is_word


_IS_WORD = _WordCharTable()


def few_non_ascii_chars(text: str) -> set[str] | None:
    """The distinct non-ASCII chars of ``text``, or None if it has too many of them.

    Many means a text in another script (Chinese, Russian...): there the
    per-char fast paths below lose to the general ones.
    """
    # UTF-8 spells every non-ASCII char with bytes >= 0x80 only, so deleting the
    # ASCII bytes leaves exactly the non-ASCII chars, still decodable, in C.
    rest = text.encode(_UTF8, _SURROGATES).translate(None, _ASCII_BYTES)
    if len(rest) > _MAX_NON_ASCII_BYTES:
        return None
    return set(rest.decode(_UTF8, _SURROGATES))


def fold(text: str) -> str:
    """Case- and accent-fold ``text`` ("México" -> "mexico")."""
    if text.isascii():
        return text.lower()
    chars = few_non_ascii_chars(text)
    if chars is None:  # another script: most chars need the table anyway
        return text.translate(_FOLD).lower()
    replaced = [(c, f) for c in chars if (f := _FOLD[ord(c)]) != c]  # fills _UNSAFE
    if len(replaced) <= _MAX_REPLACED and _UNSAFE.isdisjoint(chars):
        for char, folded in replaced:
            text = text.replace(char, folded)
        return text.lower()
    # Only the non-ASCII runs need the table; translate() over the whole text
    # is several times slower than this for Latin-script news.
    return _NON_ASCII_RUN_RE.sub(_fold_run, text).lower()


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD)


def mask_words(folded: str) -> str | None:
    """``folded`` with every non-word char (``\\W``) replaced by a space.

    Same length and char offsets as ``folded``; its ``split()`` is
    ``re.findall(r"\\w+", folded)``. None when ``folded`` has many distinct
    non-ASCII chars (see :func:`few_non_ascii_chars`): ``findall`` is faster then.
    """
    if not folded.isascii():
        chars = few_non_ascii_chars(folded)
        if chars is None:
            return None
        for char in chars:
            if not _IS_WORD[char]:
                folded = folded.replace(char, " ")
        if not folded.isascii():  # word chars beyond ASCII: mask the ASCII bytes around them
            masked = folded.encode(_UTF8, _SURROGATES).translate(_MASK_BYTES)
            return masked.decode(_UTF8, _SURROGATES)
    return folded.encode("ascii").translate(_MASK_BYTES).decode("ascii")


def join_words(folded: str) -> tuple[str, str | None]:
    """The words of ``folded`` joined by single spaces, and :func:`mask_words` of it."""
    masked = mask_words(folded)
    if masked is None:
        return " ".join(_WORD_RE.findall(folded)), None
    return " ".join(masked.split()), masked


def word_spans(folded: str, masked: str | None) -> tuple[list[int], list[int]]:
    """Start offset and length of every word of ``folded``; ``masked`` from :func:`join_words`."""
    if masked is None:
        # split() alternates separator, word, separator...; running sums of the
        # part lengths give every word's start in C.
        lens = list(map(len, _SPLIT_RE.split(folded)))
        return list(accumulate(lens))[0::2][:-1], lens[1::2]
    # Pieces between single spaces: piece j starts after the pieces before it
    # and j spaces; the non-empty pieces are the words. All of it runs in C.
    lens = list(map(len, masked.split(" ")))
    piece_starts = map(add, accumulate(lens, initial=0), count())
    return list(compress(piece_starts, lens)), list(filter(None, lens))


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
    if text.isascii():
        return True
    chars = few_non_ascii_chars(text)
    return _IRREGULAR.isdisjoint(text if chars is None else chars)


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


def leading_literal(pattern: str) -> str:
    """Plain text that every match of ``pattern`` starts with ('' if unsure).

    Conservative like :func:`required_literal`: a leading ``\\b`` is skipped
    (it matches no chars), and the run ends at the first class, group, anchor,
    escape class or a char that a quantifier may leave out.
    """
    if "|" in pattern:
        return ""
    run = ""
    i = 2 if pattern.startswith("\\b") else 0
    while i < len(pattern):
        char, nxt = pattern[i], pattern[i + 1 : i + 2]
        if char == "\\" and nxt and not nxt.isalnum():
            piece, i = nxt, i + 2
        elif char == "\\" or char in ".^$*+?{}[]()":
            break
        else:
            piece, i = char, i + 1
        quantifier = pattern[i : i + 1]
        if quantifier and quantifier in "*?{":
            break
        run += piece
        if quantifier == "+":
            break
    return run


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i
