"""Bodies the processing core must take in its stride: other languages, other scripts, junk.

Through the public API only (Pipeline, StoryClusterer.assign, RuleBook.match), so the
tests hold whatever features the clusterer builds from the body.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processors.pipeline import Pipeline
from processors.rules import load_rules
from processors.stories.clusterer import DedupConfig, StoryClusterer
from tests.news_articles import TRANSFER
from wirewatch.events import Article

T0 = datetime(2026, 8, 12, 21, 0, tzinfo=UTC)
RULES = Path(__file__).resolve().parents[3] / "config" / "rules.yaml"

_CODE_POINTS = [chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c < 0xE000]
BODIES = {
    "chinese": "墨西哥周二向美国移交了26名被捕的贩毒集团成员。这是今年第二次大规模移交。" * 60,
    "russian": "Мексика передала США 26 членов наркокартелей. Это уже вторая передача. " * 60,
    "arabic": "سلمت المكسيك 26 من أفراد عصابات المخدرات إلى الولايات المتحدة يوم الثلاثاء. " * 60,
    "spanish": "México envió el martes a Estados Unidos a 26 presuntos integrantes de cárteles. "
    * 60,
    "mixed scripts and emoji": "Mexico 墨西哥 Мексика 🇲🇽➡️🇺🇸 26 ‼️ cártel\u200b\u00ad extradición "
    * 80,
    "combining marks": "e\u0301" * 5000 + " a\u0308\u0308\u0308" * 1000,
    "random code points": "".join(random.Random(3).choices(_CODE_POINTS, k=20_000)),
}


def article(
    n: int, body: str, title: str = "Mexico sends 26 cartel suspects to the U.S."
) -> Article:
    when = T0 + timedelta(minutes=n)
    return Article(
        id=f"a{n}", title=title, body=body, source=f"Outlet {n}", published=when, fetched_at=when
    )


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_body_in_any_language_is_clustered_and_matched(body: str) -> None:
    pipeline = Pipeline(StoryClusterer(DedupConfig()), load_rules(RULES))
    first = pipeline.process(article(1, body), T0)
    (event,) = first.events
    assert event.article.body == body
    assert event.story_id and event.duplicate_of is None
    assert {m.rule_id for m in event.matched_rules} == {"cartel-extraditions"}
    # The same item from a second outlet is still recognised as a copy of the first.
    second = pipeline.process(article(2, body), T0 + timedelta(minutes=2))
    assert second.events[0].duplicate_of == "a1"
    assert second.alerts == []


def test_an_english_body_beside_a_foreign_one_opens_no_false_copy() -> None:
    clusterer = StoryClusterer(DedupConfig())
    english = article(1, TRANSFER.body, title="Steel talks resume in Washington")
    foreign = article(2, BODIES["chinese"], title="墨西哥向美国移交26名贩毒集团成员")
    verdicts = [clusterer.assign(a, a.published) for a in (english, foreign)]
    assert verdicts[1].duplicate_of is None
    assert verdicts[0].story_id != verdicts[1].story_id
