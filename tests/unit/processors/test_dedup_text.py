"""Tokenisation for story clustering: the translate fast path and the regex agree."""

from __future__ import annotations

import pytest

from processors.stories.features import extract_terms, normalise_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # No "." or "," that could join digits: the translate + split path.
        (
            "Quake hits Chile's coast; tsunami (warning) lifted!",
            "quake hits chile coast tsunami warning lifted",
        ),
        ("U.S. shares fall", "u s shares fall"),
        ("Magnitude 6 quake, no damage", "magnitude 6 quake no damage"),
        ("tab\tand_under-score", "tab and under score"),
        # Digits with a separator: the regex keeps "6.1" and "1,000" whole.
        ("Magnitude 6.1 quake kills 1,000", "magnitude 6.1 quake kills 1,000"),
        ("Profit of $1.5bn, up 3.5%.", "profit of 1.5 bn up 3.5"),
        # Non-ASCII is folded first; what is left outside [a-z0-9] separates.
        # A letter without an ASCII form stays a letter (it used to split words).
        ("Café in Zürich ß closes", "cafe in zurich ß closes"),
        ("", ""),
    ],
)
def test_normalise_text_tokens(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


def test_extract_terms_drops_stopwords_and_keeps_first_order() -> None:
    terms = extract_terms(normalise_text("The floods and the flooding hit towns, floods say"))
    assert terms == ["flood", "hit", "town"]
