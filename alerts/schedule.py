"""Pure time arithmetic for pacing: digest schedules, quiet hours, rate limits.

Every function takes ``now`` (timezone-aware) and a zone explicitly, so tests drive
them with any clock and DST rules come from zoneinfo, not from the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A digest, quiet-hours or rate-limit string that cannot be understood."""


def parse_duration(text: str) -> timedelta:
    """``"15m"`` / ``"1h"`` / ``"30s"`` / ``"1d"`` -> timedelta (positive)."""
    match = _DURATION_RE.match(text.lower())
    if not match or match.group(2) not in _UNITS or int(match.group(1)) == 0:
        raise ScheduleError(f"not a duration like 15m, 1h or 1d: {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_clock(text: str) -> time:
    """``"08:00"`` -> time; 24-hour clock."""
    match = _CLOCK_RE.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ScheduleError(f"not a time of day like 08:00: {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class DigestSchedule:
    """Either every ``period`` (aligned to local midnight) or daily at ``at``.

    ``timezone`` (if the schedule names one) wins over the subscriber's.
    """

    period: timedelta = timedelta(days=1)
    at: time | None = None
    timezone: str | None = None

    def describe(self) -> str:
        if self.at is not None:
            return f"daily {self.at:%H:%M}"
        return f"every {int(self.period.total_seconds() // 60)} min"


def parse_digest(text: str) -> DigestSchedule:
    """``"every 15m"``, ``"every 15 minutes"``, ``"hourly"``, ``"daily 08:00"``, with an
    optional trailing IANA timezone (``"daily at 08:00 Europe/Berlin"``)."""
    words = [w for w in text.strip().split() if w.lower() != "at"]
    zone = None
    if len(words) > 1 and ("/" in words[-1] or words[-1].upper() == "UTC"):
        zone = words.pop()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ScheduleError(f"unknown timezone {zone!r} in digest {text!r}") from exc
    lowered = [w.lower() for w in words]
    if lowered == ["hourly"]:
        return DigestSchedule(period=timedelta(hours=1), timezone=zone)
    if lowered and lowered[0] == "every" and len(lowered) in (2, 3):
        period = parse_duration("".join(lowered[1:]))
        if period < timedelta(minutes=1) or timedelta(days=1) % period:
            raise ScheduleError(f"digest period must divide a day, at least 1m: {text!r}")
        return DigestSchedule(period=period, timezone=zone)
    if len(lowered) == 2 and lowered[0] == "daily":
        return DigestSchedule(at=parse_clock(lowered[1]), timezone=zone)
    raise ScheduleError(
        f"digest must be 'every 15m', 'hourly' or 'daily 08:00' (+ timezone): {text!r}"
    )


def _local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def next_digest_at(schedule: DigestSchedule, now: datetime, tz: ZoneInfo) -> datetime:
    """The first digest boundary strictly after ``now`` (in the schedule's zone, else ``tz``)."""
    if schedule.timezone:
        tz = ZoneInfo(schedule.timezone)
    midnight = _local_midnight(now, tz)
    if schedule.at is not None:
        for days in range(3):
            day = (midnight + timedelta(days=days)).date()
            candidate = datetime.combine(day, schedule.at, tzinfo=tz)
            if candidate > now:
                return candidate
        raise AssertionError("unreachable: a daily time recurs within 2 days")
    # Count in absolute time from local midnight: DST days still get every slot.
    elapsed = now - midnight
    slots = int(elapsed / schedule.period) + 1
    return midnight + slots * schedule.period


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(text: str) -> QuietHours:
    """``"22:00-07:00"`` (may cross midnight)."""
    parts = text.split("-")
    if len(parts) != 2:
        raise ScheduleError(f"quiet hours must look like 22:00-07:00: {text!r}")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise ScheduleError(f"quiet hours start and end are equal: {text!r}")
    return QuietHours(start, end)


def quiet_until(quiet: QuietHours | None, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the quiet period containing ``now`` ends, or None if ``now`` is not quiet."""
    if quiet is None:
        return None
    local = now.astimezone(tz)
    today, clock = local.date(), local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= clock < quiet.end
        end_day = today
    else:
        inside = clock >= quiet.start or clock < quiet.end
        end_day = today + timedelta(days=1) if clock >= quiet.start else today
    if not inside:
        return None
    return datetime.combine(end_day, quiet.end, tzinfo=tz)


@dataclass(frozen=True)
class RateLimit:
    count: int
    window: timedelta

    def describe(self) -> str:
        return f"{self.count}/{int(self.window.total_seconds())}s"


def parse_rate_limit(text: str) -> RateLimit:
    """``"10/1h"``: at most 10 immediate messages per target per sliding hour."""
    count, _, window = text.partition("/")
    if not count.strip().isdigit() or int(count) < 1:
        raise ScheduleError(f"rate limit must look like 10/1h: {text!r}")
    return RateLimit(int(count), parse_duration(window))
