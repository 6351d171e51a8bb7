"""Rule ``/regex/`` patterns on RE2: compiled once, matched in time linear in the text.

Rules are typed by users and run on the event loop against hostile feed text, so
a backtracking engine (stdlib ``re``) is out: ``/(a+)+b/`` against a few dozen
chars takes seconds there. RE2 (google-re2) never backtracks. Its price is that
it refuses backreferences and lookaround, which ``rules check`` reports at the
pattern's line and column, and that ``\\w``, ``\\d`` and ``\\b`` are ASCII-only.
Rule text is folded to ASCII for Latin scripts (``query_text.fold``); a pattern
with other letters and ``\\b``/``\\w`` is refused rather than left never matching.

Each match is bounded twice more: a regex sees at most ``MAX_TEXT_CHARS`` of a
field, and a compiled pattern (and its DFA cache) may use at most ``MAX_MEM``
bytes, so a huge pattern is refused at load instead of slowing every article.
"""

from __future__ import annotations

import re
from typing import Any

import re2

# Longest text, per field, that one regex is matched against. RE2 runs at
# roughly 100 MB/s once its DFA is warm; 100k chars is well under a millisecond.
MAX_TEXT_CHARS = 100_000
# Program plus DFA cache per pattern; RE2 refuses to compile a pattern whose
# program does not fit ("pattern too large").
MAX_MEM = 4 << 20
# Hostile or accidental: no watch rule needs more.
MAX_PATTERN_CHARS = 2_000


class PatternError(ValueError):
    """RE2 cannot take a pattern; ``offset`` is where in the pattern it fails."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Any:
    """Compile ``pattern`` for RE2, or raise :class:`PatternError` saying why and where."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"regex longer than {MAX_PATTERN_CHARS} chars", MAX_PATTERN_CHARS)
    ascii_class = _find_ascii_class(pattern)
    if ascii_class is not None:
        # Under stdlib re these were Unicode-aware; under RE2 /\b北京/ silently never matches.
        raise PatternError(
            "RE2's \\b and \\w are ASCII-only and do not work with this pattern's non-ASCII "
            "letters: use \\pL for a letter, or a word term instead of a regex",
            ascii_class,
        )
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.case_sensitive = not ignore_case
    # RE2 writes every refused pattern to stderr itself; the problem is reported here instead.
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise _explain(pattern, exc) from None


def _find_ascii_class(pattern: str) -> int | None:
    """Where ``\\b``, ``\\B``, ``\\w`` or ``\\W`` sits in a pattern that has non-ASCII text."""
    if pattern.isascii():
        return None
    i = 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] in "bBwW":
                return i
            i += 2
        else:
            i += 1
    return None


def _explain(pattern: str, exc: Exception) -> PatternError:
    detail = exc.args[0] if exc.args else str(exc)
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    if "too large" in detail:
        return PatternError(f"regex too large ({MAX_MEM >> 20} MB limit): {detail}", 0)
    # A plain syntax error (unbalanced parenthesis...) is one the stdlib parser
    # also finds, and it knows the exact position.
    try:
        re.compile(pattern)
    except re.error as std:
        return PatternError(f"bad regex: {std.msg}", std.pos or 0)
    # Otherwise it is a construct RE2 does not have; RE2 quotes the offending
    # piece after the colon ("invalid escape sequence: \1").
    piece = detail.rpartition(": ")[2]
    found = pattern.find(piece) if piece else -1
    hint = ""
    if detail.startswith(("invalid escape sequence", "invalid perl operator")):
        hint = " (RE2 has no backreferences or lookaround)"
    return PatternError(f"regex not supported by RE2{hint}: {detail}", max(found, 0))
