"""The pure pacing core and its time arithmetic, driven by an explicit clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.pacing import Pacer, Park, SendNow
from alerts.schedule import (
    ScheduleError,
    next_digest_at,
    parse_digest,
    parse_quiet_hours,
    parse_rate_limit,
    quiet_until,
)
from alerts.subscriptions import Subscription
from wirewatch.events import AlertDecision, Article, RuleMatch

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2024, 5, 1, 10, 7, tzinfo=UTC)  # 12:07 in Berlin (CEST)


def alert(story: str, severity: str = "normal", digest: str | None = None) -> AlertDecision:
    return AlertDecision(
        alert_id=f"r:{story}",
        rule=RuleMatch(rule_id="r", severity=severity, notify=("desk",)),
        story_id=story,
        article=Article(id=story, title=story),
        digest=digest,
    )


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("every 15m", T0, datetime(2024, 5, 1, 10, 15, tzinfo=UTC)),
        ("every 15m", datetime(2024, 5, 1, 10, 15, tzinfo=UTC), T0.replace(minute=30)),
        ("hourly", T0, datetime(2024, 5, 1, 11, 0, tzinfo=UTC)),
        # daily 08:00 Berlin = 06:00 UTC; already past today -> tomorrow.
        ("daily 08:00", T0, datetime(2024, 5, 2, 6, 0, tzinfo=UTC)),
        ("daily at 13:00", T0, datetime(2024, 5, 1, 11, 0, tzinfo=UTC)),
        ("every 30 minutes", T0, datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        # A zone in the schedule wins over the subscriber's: 13:00 London = 12:00 UTC.
        ("daily at 13:00 Europe/London", T0, datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("daily 08:00 UTC", T0, datetime(2024, 5, 2, 8, 0, tzinfo=UTC)),
    ],
)
def test_next_digest_boundary_in_subscriber_timezone(
    text: str, now: datetime, expected: datetime
) -> None:
    assert next_digest_at(parse_digest(text), now, BERLIN) == expected


def test_daily_digest_across_dst_change_keeps_local_time() -> None:
    # Night of 30-31 March 2024 Berlin moves to CEST; 08:00 local is 06:00 UTC after.
    before = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)
    at = next_digest_at(parse_digest("daily 08:00"), before, BERLIN)
    assert at.astimezone(BERLIN).hour == 8
    assert at.astimezone(UTC) == datetime(2024, 3, 31, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        "weekly",
        "every 7m",
        "every 0m",
        "every 15 fortnights",
        "daily 25:00",
        "every",
        "daily 8",
        "daily 08:00 Mars/Base",
    ],
)
def test_bad_digest_strings_are_rejected(bad: str) -> None:
    with pytest.raises(ScheduleError):
        parse_digest(bad)


@pytest.mark.parametrize(
    ("window", "local", "ends"),
    [
        ("22:00-07:00", (23, 30), (1, 7, 0)),  # after start: ends tomorrow morning
        ("22:00-07:00", (3, 0), (0, 7, 0)),  # after midnight: ends this morning
        ("22:00-07:00", (12, 0), None),
        ("12:00-13:00", (12, 30), (0, 13, 0)),
        ("12:00-13:00", (13, 0), None),  # end is exclusive
    ],
)
def test_quiet_hours(
    window: str, local: tuple[int, int], ends: tuple[int, int, int] | None
) -> None:
    now = datetime(2024, 5, 1, *local, tzinfo=BERLIN)
    until = quiet_until(parse_quiet_hours(window), now, BERLIN)
    if ends is None:
        assert until is None
    else:
        days, hour, minute = ends
        assert until == datetime(2024, 5, 1 + days, hour, minute, tzinfo=BERLIN)


def test_rate_limit_and_quiet_hours_parse_errors() -> None:
    assert parse_rate_limit("10/1h").window == timedelta(hours=1)
    for bad in ("0/1h", "x/1h", "10", "10/1y"):
        with pytest.raises(ScheduleError):
            parse_rate_limit(bad)
    for bad in ("22:00", "22:00-22:00", "24:00-01:00"):
        with pytest.raises(ScheduleError):
            parse_quiet_hours(bad)


def test_immediate_is_the_default() -> None:
    assert isinstance(Pacer().decide(alert("a"), "t", Subscription(), T0), SendNow)


def test_digest_batches_the_period_into_one_release() -> None:
    pacer = Pacer()
    sub = Subscription(timezone="Europe/Berlin", digest="every 15m")
    for i, story in enumerate(["a", "b", "c"]):
        decision = pacer.decide(alert(story), "t", sub, T0 + timedelta(minutes=i))
        assert isinstance(decision, Park)
        assert decision.entry.kind == "digest"
        assert decision.entry.release_at == datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
    assert pacer.release_due(T0 + timedelta(minutes=7)) == []
    (release,) = pacer.release_due(datetime(2024, 5, 1, 10, 15, tzinfo=UTC))
    assert release.is_digest
    assert [e.alert.story_id for e in release.entries] == ["a", "b", "c"]
    assert pacer.parked() == []


def test_rule_digest_applies_when_subscription_has_none() -> None:
    decision = Pacer().decide(alert("a", digest="hourly"), "t", Subscription(), T0)
    assert isinstance(decision, Park)
    assert decision.entry.release_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)


def test_rate_limit_overflow_rolls_into_one_digest_not_dropped() -> None:
    pacer = Pacer()
    sub = Subscription(rate_limit="2/1h")
    decisions = [
        pacer.decide(alert(f"s{i}"), "t", sub, T0 + timedelta(minutes=i)) for i in range(5)
    ]
    assert [type(d).__name__ for d in decisions] == ["SendNow", "SendNow", "Park", "Park", "Park"]
    parked = [d.entry for d in decisions if isinstance(d, Park)]
    assert {e.kind for e in parked} == {"overflow"}
    # All overflow waits for the first slot to free up: T0 + 1h.
    assert {e.release_at for e in parked} == {T0 + timedelta(hours=1)}
    # Another target is not affected by this one's limit.
    assert isinstance(pacer.decide(alert("x"), "other", sub, T0), SendNow)
    (release,) = pacer.release_due(T0 + timedelta(hours=1))
    assert release.is_digest
    assert [e.alert.story_id for e in release.entries] == ["s2", "s3", "s4"]


def test_quiet_hours_hold_until_end_except_high_severity() -> None:
    pacer = Pacer()
    sub = Subscription(timezone="Europe/Berlin", quiet_hours="12:00-13:00")
    held = pacer.decide(alert("calm"), "t", sub, T0)
    assert isinstance(held, Park)
    assert held.entry.kind == "hold"
    assert held.entry.release_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert isinstance(pacer.decide(alert("urgent", severity="high"), "t", sub, T0), SendNow)
    (release,) = pacer.release_due(datetime(2024, 5, 1, 11, 0, tzinfo=UTC))
    assert not release.is_digest  # one held alert goes out as itself
    assert release.entries[0].alert.story_id == "calm"


def test_digest_due_inside_quiet_hours_waits_for_their_end() -> None:
    sub = Subscription(timezone="UTC", digest="every 15m", quiet_hours="10:00-11:00")
    decision = Pacer().decide(alert("a"), "t", sub, T0)
    assert isinstance(decision, Park)
    assert decision.entry.release_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)


def test_restore_brings_parked_alerts_back_after_restart() -> None:
    first = Pacer()
    sub = Subscription(digest="hourly")
    decision = first.decide(alert("a"), "t", sub, T0)
    assert isinstance(decision, Park)
    second = Pacer()
    second.restore([decision.entry])
    assert second.is_parked("r:a", "t")
    assert second.next_release_at() == decision.entry.release_at
    (release,) = second.release_due(decision.entry.release_at)
    assert release.entries == (decision.entry,)
