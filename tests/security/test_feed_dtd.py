"""Issue 13, row 1: a DTD internal subset never reaches an expanding parser, wherever it sits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.feeds import parse_feed

FETCHED = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _bomb(prolog: str) -> bytes:
    # Five levels of ten: 100,000 "lol"s if expanded; enough to see, small enough for any parser.
    levels = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 6))
    return (
        f'<?xml version="1.0"?>{prolog}<!DOCTYPE rss [<!ENTITY l0 "lol">{levels}]>'
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>boom &l5;</title><link>https://ex.com/b</link></item>"
        "<item><title>good</title><link>https://ex.com/g</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "prolog",
    ["<!-- <a -->\n", "\n<!-- <rss> -->", "<?note <b ?>\n"],
    ids=["comment-with-tag", "comment-with-root-name", "pi-with-tag"],
)
def test_prolog_trick_does_not_reach_entity_expansion(prolog: str) -> None:
    result = parse_feed(_bomb(prolog), fetched_at=FETCHED)
    assert any(p.startswith("dtd: internal subset refused") for p in result.problems)
    assert [e.title for e in result.entries] == ["boom &l5;", "good"]
    assert all("lollol" not in e.title for e in result.entries)
