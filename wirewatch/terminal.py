"""Feed and record text made safe to print: no terminal control characters, no rich markup.

Headlines, URLs, error messages and rule ids in the CLI come from feeds and
topics that strangers write to. An ESC character would let them recolour,
clear or retitle the terminal (rich passes ESC through untouched), bidi
overrides would reorder what is shown, and a headline such as ``[/r/news]``
read as rich markup raises ``MarkupError``. Every CLI that prints such text
goes through :func:`escape_markup` (for markup strings and table cells) or
:func:`strip_control_chars` (for plain output).
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0 controls but tab and newline, DEL, C1 controls (8-bit CSI, OSC...), and the
# bidi embedding/override/isolate characters of "Trojan Source" text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_AND_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_control_chars(text: object, *, keep_newlines: bool = False) -> str:
    """``str(text)`` without control characters; tabs and, unless kept, newlines become spaces."""
    value = str(text)
    if keep_newlines:
        return _CONTROL.sub("", value.replace("\t", " "))
    return _CONTROL_AND_BREAKS.sub(_space_for_breaks, value)


def _space_for_breaks(match: re.Match[str]) -> str:
    return " " if match.group() in "\t\n\r" else ""


def escape_markup(text: object, *, keep_newlines: bool = False) -> str:
    """Text to embed in a rich markup string or table cell: shown exactly, never parsed."""
    return escape(strip_control_chars(text, keep_newlines=keep_newlines))
