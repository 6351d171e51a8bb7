"""Pure pacing core: send now, or park for a digest, quiet hours or rate-limit overflow.

No I/O and no clock of its own: the dispatcher passes ``now`` in, persists every
``Park`` it gets back (pending topic) and calls :meth:`Pacer.release_due` on a timer.
Order of decisions for one alert and one target:

1. a digest schedule (the subscription's, else the rule's) parks it until the next
   boundary (pushed past quiet hours);
2. quiet hours park it until they end, unless the rule's severity is ``high``;
3. over the rate limit it parks as ``overflow`` until the window frees a slot and
   then goes out with everything else due for that target, as one digest;
4. otherwise it is sent now.

Parked alerts are never dropped: a release hands back every due alert for a target
as one batch, which goes out as a single message whatever the rate limit says.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from alerts.schedule import (
    DigestSchedule,
    ScheduleError,
    next_digest_at,
    parse_digest,
    quiet_until,
)
from alerts.subscriptions import Subscription
from wirewatch.events import AlertDecision, PendingAlert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendNow:
    """Deliver this alert to the target immediately."""


@dataclass(frozen=True)
class Park:
    """Keep this alert (durably) until ``entry.release_at``."""

    entry: PendingAlert


@dataclass(frozen=True)
class Release:
    """Alerts due for one target, to go out as one message (a digest if > 1)."""

    target: str
    entries: tuple[PendingAlert, ...]

    @property
    def is_digest(self) -> bool:
        return len(self.entries) > 1 or any(e.kind == "digest" for e in self.entries)


@dataclass
class Pacer:
    """Per-target pacing state: recent sends (for rate limits) and parked alerts."""

    _sends: dict[str, deque[datetime]] = field(default_factory=dict)
    _parked: dict[tuple[str, str], PendingAlert] = field(default_factory=dict)

    def is_parked(self, alert_id: str, target: str) -> bool:
        return (alert_id, target) in self._parked

    def parked(self) -> list[PendingAlert]:
        return list(self._parked.values())

    def restore(self, entries: Iterable[PendingAlert]) -> None:
        """Rebuild parked alerts read back from the pending topic after a restart."""
        for entry in entries:
            self._parked[(entry.alert.alert_id, entry.target)] = entry

    def record_send(self, target: str, at: datetime) -> None:
        """Count one message to ``target`` against its rate limit."""
        self._sends.setdefault(target, deque()).append(at)

    def decide(
        self, alert: AlertDecision, target: str, sub: Subscription, now: datetime
    ) -> SendNow | Park:
        """Decide what happens to ``alert`` for ``target`` at ``now``."""
        digest = sub.digest_schedule or _rule_digest(alert)
        quiet = sub.quiet
        if digest is not None:
            release = next_digest_at(digest, now, sub.tz)
            release = quiet_until(quiet, release, sub.tz) or release
            return self._park(alert, target, "digest", release, now)
        if alert.rule.severity != "high" and (end := quiet_until(quiet, now, sub.tz)):
            return self._park(alert, target, "hold", end, now)
        rate = sub.rate
        if rate is not None:
            sends = self._sends.setdefault(target, deque())
            while sends and sends[0] <= now - rate.window:
                sends.popleft()
            if len(sends) >= rate.count:
                # Every overflow waits for the same slot, so they leave as one digest.
                release = sends[0] + rate.window
                release = quiet_until(quiet, release, sub.tz) or release
                return self._park(alert, target, "overflow", release, now)
        self.record_send(target, now)
        return SendNow()

    def _park(
        self,
        alert: AlertDecision,
        target: str,
        kind: Literal["digest", "hold", "overflow"],
        release_at: datetime,
        now: datetime,
    ) -> Park:
        entry = PendingAlert(
            alert=alert, target=target, kind=kind, release_at=release_at, queued_at=now
        )
        self._parked[(alert.alert_id, target)] = entry
        return Park(entry)

    def next_release_at(self) -> datetime | None:
        """The earliest moment something parked becomes due (None if nothing is)."""
        return min((e.release_at for e in self._parked.values()), default=None)

    def release_due(self, now: datetime) -> list[Release]:
        """Take every due alert out, one batch per target, oldest first.

        Each batch counts as one message against the target's rate limit.
        """
        due: dict[str, list[PendingAlert]] = {}
        for key, entry in list(self._parked.items()):
            if entry.release_at <= now:
                due.setdefault(entry.target, []).append(entry)
                del self._parked[key]
        releases = []
        for target, entries in sorted(due.items()):
            entries.sort(key=lambda e: (e.queued_at, e.alert.alert_id))
            self.record_send(target, now)
            releases.append(Release(target, tuple(entries)))
        return releases


def _rule_digest(alert: AlertDecision) -> DigestSchedule | None:
    if not alert.digest:
        return None
    try:
        return parse_digest(alert.digest)
    except ScheduleError:
        # The rules check rejects this at load; an old record still must not be lost.
        log.warning("alert %s: unreadable digest %r, sending now", alert.alert_id, alert.digest)
        return None
