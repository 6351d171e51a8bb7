"""File positions for rules-file problems: YAML nodes, pydantic locs and query offsets.

Every problem is reported as ``file:line:col: message`` followed by the source
line and a caret under the offending spot, the way compilers do, so that a user
can fix all of them in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

# What YAML drops or rewrites between the file and the scalar value.
_DROPPABLE = frozenset(" \t\r\n'\"\\")


@dataclass(frozen=True)
class Problem:
    """One error in a rules file; ``line`` and ``col`` are 1-based (0 = unknown)."""

    path: str
    line: int
    col: int
    message: str
    source_line: str = ""

    def render(self) -> str:
        """``file:line:col: message`` plus the source line with a caret under ``col``."""
        where = f"{self.path}:{self.line}:{self.col}" if self.line else self.path
        text = f"{where}: {self.message}"
        if self.line and self.source_line:
            gutter = f"{self.line:>5} | "
            caret = " " * (len(gutter) - 2) + "| " + _caret_pad(self.source_line, self.col)
            text += f"\n{gutter}{self.source_line}\n{caret}^"
        return text

    def __str__(self) -> str:
        return self.render()


def _caret_pad(line: str, col: int) -> str:
    # Keep tabs so that the caret lines up with what the terminal shows.
    return "".join(c if c == "\t" else " " for c in line[: max(col - 1, 0)])


class SourceText:
    """A rules file's text, for turning char indexes into line/col problems."""

    def __init__(self, path: Path | str, text: str) -> None:
        self.path = str(path)
        self.text = text
        self.lines = text.splitlines()

    def problem_at(self, index: int, message: str) -> Problem:
        index = max(0, min(index, len(self.text)))
        line = self.text.count("\n", 0, index)
        col = index - (self.text.rfind("\n", 0, index) + 1)
        return self.problem(line + 1, col + 1, message)

    def problem(self, line: int, col: int, message: str) -> Problem:
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return Problem(self.path, line, col, message, source.rstrip("\r"))

    def at_node(self, node: yaml.Node | None, message: str) -> Problem:
        if node is None:
            return Problem(self.path, 0, 0, message)
        return self.problem_at(node.start_mark.index, message)

    def at_mark(self, mark: yaml.Mark | None, message: str) -> Problem:
        if mark is None:
            return Problem(self.path, 0, 0, message)
        return self.problem(mark.line + 1, mark.column + 1, message)


def scalar_index(node: yaml.ScalarNode, text: str, offset: int) -> int:
    """File char index of char ``offset`` of a scalar's value.

    Walks the value and the raw source side by side: YAML only drops or
    rewrites indentation, line breaks (folded to spaces), quotes and escapes, so
    each value char is the next raw char equal to it once those are skipped.
    Exact for plain, quoted, literal and folded scalars without escapes; an
    escape sequence may move later carets by a char or two.
    """
    start, end = node.start_mark.index, node.end_mark.index
    raw = text[start:end]
    j = 0
    if node.style in ("|", ">"):
        j = raw.find("\n") + 1  # skip the block header ("|-", ">2" ...)
    elif node.style in ("'", '"'):
        j = 1
    value = node.value
    for i, char in enumerate(value):
        k = j
        while k < len(raw) and raw[k] != char and raw[k] in _DROPPABLE:
            if char == " " and raw[k] == "\n":  # a folded line break
                break
            k += 1
        if k >= len(raw):
            return start + len(raw)
        if i == offset:
            return start + k
        j = k + 1
    return start + min(j, len(raw))


def compose(text: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (raises ``yaml.YAMLError``)."""
    return yaml.compose(text, Loader=yaml.SafeLoader)


def child(node: yaml.Node | None, key: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """``(key node, value node)`` of a mapping key or sequence index, if present."""
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for knode, vnode in node.value:
            if isinstance(knode, yaml.ScalarNode) and knode.value == key:
                return knode, vnode
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item: yaml.Node = node.value[key]
        return item, item
    return None, None


def node_for_loc(
    root: yaml.Node | None, loc: tuple[str | int, ...], *, key: bool
) -> yaml.Node | None:
    """The deepest node along a pydantic error ``loc``; its key node if ``key``.

    Pointing at the key is right for unknown keys; for a bad value the value is
    the spot to fix; for a missing key the enclosing mapping is what is left.
    """
    node: yaml.Node | None = root
    last: yaml.Node | None = root
    for part in loc:
        knode, vnode = child(node, part)
        if vnode is None:
            break
        last = knode if key and part == loc[-1] else vnode
        node = vnode
    return last
