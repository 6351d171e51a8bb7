"""Re-alert policy in the core: a follow-up on fast spread, listing the new outlets with links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processors.pipeline import Pipeline
from processors.rules import RulesError, load_rules_bytes
from processors.stories.clusterer import StoryClusterer
from wirewatch.events import AlertDecision, Article

T0 = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
TITLE = "Magnitude 7.1 earthquake strikes off the coast of northern Chile"
RULES = b"""version: 1
rules:
  - id: spread
    query: earthquake
    followup_spread: {outlets: 2, minutes: 10}
  - id: both
    query: earthquake
    followup_sources: 5
    followup_spread: {outlets: 3, minutes: 10}
"""


def run(minutes: list[float]) -> list[AlertDecision]:
    """One outlet per entry, joining the story that many minutes after T0."""
    pipeline = Pipeline(StoryClusterer(), load_rules_bytes(Path("r.yaml"), RULES))
    alerts: list[AlertDecision] = []
    for i, minute in enumerate(minutes):
        when = T0 + timedelta(minutes=minute)
        article = Article(
            id=f"a{i}",
            title=TITLE,
            source=f"Outlet {i}",
            url=f"https://outlet{i}.test/quake",
            published=when,
            fetched_at=when,
        )
        alerts += pipeline.process(article, when).alerts
    return alerts


def summary(alerts: list[AlertDecision]) -> list[tuple[str, str, str, list[str]]]:
    return [(a.rule.rule_id, a.reason, a.trigger, [o.url for o in a.outlets]) for a in alerts]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # Two new outlets within 10 minutes of each other: one spread follow-up.
        (
            [0, 20, 25, 26, 27],
            [
                ("spread", "new_story", "", []),
                ("both", "new_story", "", []),
                (
                    "spread",
                    "followup",
                    "spread",
                    ["https://outlet1.test/quake", "https://outlet2.test/quake"],
                ),
                (
                    "both",
                    "followup",
                    "spread",
                    [f"https://outlet{i}.test/quake" for i in (1, 2, 3)],
                ),
            ],
        ),
        # Outlets trickle in slowly: no spread; `both` follows up at 5 outlets.
        (
            [0, 20, 40, 60, 80],
            [
                ("spread", "new_story", "", []),
                ("both", "new_story", "", []),
                (
                    "both",
                    "followup",
                    "sources",
                    [f"https://outlet{i}.test/quake" for i in (1, 2, 3, 4)],
                ),
            ],
        ),
    ],
)
def test_spread_followup_once_with_outlet_links(
    minutes: list[float], expected: list[tuple[str, str, str, list[str]]]
) -> None:
    alerts = run(minutes)
    assert summary(alerts) == expected
    follow = [a for a in alerts if a.reason == "followup"]
    assert all(a.alert_id.endswith(":followup") for a in follow)
    assert all(
        o.source.startswith("Outlet ") and o.at is not None for a in follow for o in a.outlets
    )


def test_spread_policy_is_validated() -> None:
    bad = b"version: 1\nrules:\n  - id: x\n    query: a\n    followup_spread: {outlets: 0}\n"
    with pytest.raises(RulesError) as err:
        load_rules_bytes(Path("r.yaml"), bad)
    assert "followup_spread" in str(err.value)
