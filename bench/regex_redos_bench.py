"""Rule regexes against hostile text: RE2 (what rules run on) against stdlib ``re``.

Usage::

    .venv/bin/python bench/regex_redos_bench.py

For each nested-quantifier pattern, the time of one search through the rule
regex compiler (processors.rules.regex, RE2) over texts of growing length,
and the baseline in the same run: stdlib ``re`` on short texts, where its
backtracking time doubles with each char. The baseline stops once one search
passes a second, so the run stays short.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.rules.regex import MAX_TEXT_CHARS, compile_pattern

CASES = [("(a+)+b", "a"), ("(x+x+)+y", "x"), ("(\\w+\\s?)+$", "word ")]


def time_search(search: object, text: str) -> float:
    started = time.perf_counter()
    search(text)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    print(f"one search, seconds; RE2 sees at most {MAX_TEXT_CHARS:,} chars of a field\n")
    print(f"{'pattern':<14} {'engine':<10} {'text chars':>10} {'seconds':>10}")
    print("-" * 48)
    for pattern, unit in CASES:
        rx = compile_pattern(pattern)
        for chars in (24, 1_000, MAX_TEXT_CHARS):
            text = (unit * chars)[:chars] + "!"
            print(f"{pattern:<14} {'RE2':<10} {chars:>10,} {time_search(rx.search, text):>10.6f}")
        std = re.compile(pattern)
        chars = 12
        while True:
            text = (unit * chars)[:chars] + "!"
            spent = time_search(std.search, text)
            print(f"{pattern:<14} {'stdlib re':<10} {chars:>10,} {spent:>10.6f}")
            if spent > 1.0 or chars >= 40:
                break
            chars += 2


if __name__ == "__main__":
    main()
