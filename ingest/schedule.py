"""When to poll a feed next (pure): interval, server hints, backoff and jitter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)
# Statuses that mean "you are asking too often / come back later", not "broken".
THROTTLE_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class SchedulePolicy:
    interval_s: float
    max_interval_s: float = 6 * 3600.0
    max_backoff_s: float = 6 * 3600.0
    jitter: float = 0.1


@dataclass(frozen=True)
class Outcome:
    """What one poll said about timing. ``failures`` counts this poll if it failed."""

    ok: bool
    status: int = 0
    failures: int = 0
    ttl_s: float | None = None
    max_age_s: float | None = None
    retry_after_s: float | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` (or ``s-maxage``) of a ``Cache-Control`` header, in seconds."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def compute_delay(policy: SchedulePolicy, outcome: Outcome, rand: float) -> tuple[float, str]:
    """Seconds until the next poll and a short reason; ``rand`` in [0, 1) drives jitter.

    Server hints only ever slow a feed down: a ``ttl`` or ``max-age`` longer than
    the configured interval is honoured (up to ``max_interval_s``), a shorter
    one is not. Throttling (429/503) waits at least ``Retry-After``; other
    failures back off exponentially, capped at ``max_backoff_s``.
    """
    interval = policy.interval_s
    if outcome.ok:
        hint = max(outcome.ttl_s or 0.0, outcome.max_age_s or 0.0)
        delay = max(interval, min(hint, policy.max_interval_s))
        reason = "server hint" if delay > interval else "interval"
        return delay * (1 + policy.jitter * (2 * rand - 1)), reason
    backoff = min(interval * 2.0 ** min(max(outcome.failures, 1), 30), policy.max_backoff_s)
    if outcome.status in THROTTLE_STATUSES or outcome.retry_after_s is not None:
        if outcome.retry_after_s is not None:
            delay = max(interval, min(outcome.retry_after_s, policy.max_backoff_s))
            reason = f"retry-after (HTTP {outcome.status})"
        else:
            delay, reason = backoff, f"backoff (HTTP {outcome.status})"
        # Never earlier than the server asked: jitter only pushes later.
        return delay * (1 + policy.jitter * rand), reason
    return backoff * (1 + policy.jitter * (2 * rand - 1)), f"backoff ({outcome.failures} failures)"
