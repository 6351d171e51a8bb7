"""Next-poll timing: interval, server hints, Retry-After, throttling, backoff and jitter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.schedule import (
    Outcome,
    SchedulePolicy,
    compute_delay,
    parse_max_age,
    parse_retry_after,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICY = SchedulePolicy(interval_s=300, max_interval_s=3600, max_backoff_s=7200, jitter=0.1)
MID = 0.5  # jitter-neutral


@pytest.mark.parametrize(
    ("outcome", "expected", "reason"),
    [
        (Outcome(ok=True, status=200), 300, "interval"),
        (Outcome(ok=True, status=304), 300, "interval"),
        (Outcome(ok=True, status=200, ttl_s=1800), 1800, "server hint"),
        (Outcome(ok=True, status=200, max_age_s=900), 900, "server hint"),
        (Outcome(ok=True, status=200, max_age_s=60), 300, "interval"),  # never faster
        (Outcome(ok=True, status=200, ttl_s=86400), 3600, "server hint"),  # capped
        (Outcome(ok=False, status=0, failures=1), 600, "backoff (1 failures)"),
        (Outcome(ok=False, status=500, failures=3), 2400, "backoff (3 failures)"),
        (Outcome(ok=False, status=500, failures=30), 7200, "backoff (30 failures)"),
        (Outcome(ok=False, status=429, failures=1), 600, "backoff (HTTP 429)"),
        (Outcome(ok=False, status=503, failures=2, retry_after_s=1000), 1000, "retry-after"),
        (Outcome(ok=False, status=429, failures=1, retry_after_s=10), 300, "retry-after"),
        (Outcome(ok=False, status=429, failures=1, retry_after_s=10**6), 7200, "retry-after"),
    ],
)
def test_compute_delay(outcome: Outcome, expected: float, reason: str) -> None:
    rand = MID if outcome.ok or outcome.status not in (429, 503) else 0.0
    delay, why = compute_delay(POLICY, outcome, rand)
    assert delay == pytest.approx(expected)
    assert why.startswith(reason)


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.75, 0.999])
def test_jitter_stays_within_bounds(rand: float) -> None:
    delay, _ = compute_delay(POLICY, Outcome(ok=True, status=200), rand)
    assert 270 <= delay <= 330


@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
def test_retry_after_is_never_shortened_by_jitter(rand: float) -> None:
    outcome = Outcome(ok=False, status=503, failures=1, retry_after_s=1000)
    delay, _ = compute_delay(POLICY, outcome, rand)
    assert 1000 <= delay <= 1100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Mon, 02 Nov 2026 12:10:00 GMT", 600.0),
        ("Mon, 02 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("public, max-age=600", 600.0),
        ("max-age=0, must-revalidate", 0.0),
        ('s-maxage="120"', 120.0),
        ("no-cache", None),
        (None, None),
    ],
)
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected
