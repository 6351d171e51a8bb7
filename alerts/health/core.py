"""Health conditions as a state machine: observations in, start/recover transitions out (pure).

Each :meth:`HealthCore.step` takes what is known *now* (feed states, target
send results, stage consumer groups) and returns a :class:`HealthEvent` for
every condition that started or recovered since the last step, never one for a
condition that merely persists. Conditions that must hold for a while (a stage
with no consumer, lag above a bound) start only after that long.

Storms: when many feeds fail their latest poll at once (``storm_share`` of the
watched feeds, at least ``storm_min_feeds``), the cause is almost surely ours
(network, DNS, proxy). Then no feed starts its own condition; one
``feeds_failing`` summary stands for all of them, and only if some feed has
failed long enough to count, so a one-minute drop alerts nobody.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from wirewatch.events import FeedStatus, HealthEvent, HealthKind
from wirewatch.health_config import HealthConfig

SUMMARY = "feeds_failing|*"


@dataclass(frozen=True)
class TargetObservation:
    """Send results for one target since its last success."""

    failures: int = 0
    dead_lettered: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class StageObservation:
    """A stage's consumer group: members (None if the broker could not say) and lag."""

    members: int | None
    lag: int | None = None


@dataclass(frozen=True)
class Observations:
    now: datetime
    feeds: Mapping[str, FeedStatus] = field(default_factory=dict)
    targets: Mapping[str, TargetObservation] = field(default_factory=dict)
    stages: Mapping[str, StageObservation] = field(default_factory=dict)
    # Rule id -> its last match (or when watching began); only with health.rules.
    rules: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class _Condition:
    kind: HealthKind
    subject: str
    detail: str

    @property
    def id(self) -> str:
        return f"{self.kind}|{self.subject}"


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; 0.0 for none."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _ago(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


class HealthCore:
    """The active conditions and the timers of conditions not yet started."""

    def __init__(self, config: HealthConfig, active: Iterable[HealthEvent] = ()) -> None:
        self.config = config
        self.active: dict[str, HealthEvent] = {
            e.condition_id: e for e in active if e.state == "started"
        }
        self._since: dict[str, datetime] = {}

    def step(self, obs: Observations) -> list[HealthEvent]:
        """The transitions since the previous step, given what is true now."""
        found = [*self._feeds(obs), *self._targets(obs), *self._stages(obs), *self._rules(obs)]
        wanted = {c.id: c for c in found}
        out: list[HealthEvent] = []
        for cid, condition in sorted(wanted.items()):
            if cid not in self.active:
                event = HealthEvent(
                    condition_id=cid,
                    kind=condition.kind,
                    subject=condition.subject,
                    state="started",
                    detail=condition.detail,
                    since=self._since.get(cid, obs.now),
                    at=obs.now,
                )
                self.active[cid] = event
                out.append(event)
        for cid in sorted(set(self.active) - set(wanted)):
            started = self.active.pop(cid)
            out.append(
                started.model_copy(
                    update={
                        "state": "recovered",
                        "at": obs.now,
                        "detail": f"after {_ago((obs.now - started.since).total_seconds())}",
                    }
                )
            )
        return out

    def _held(self, cid: str, true_now: bool, now: datetime, for_s: float) -> bool:
        """True once ``true_now`` has held for ``for_s`` without a break."""
        if not true_now:
            self._since.pop(cid, None)
            return False
        first = self._since.setdefault(cid, now)
        return (now - first).total_seconds() >= for_s

    # -- feeds --------------------------------------------------------------
    def _feeds(self, obs: Observations) -> list[_Condition]:
        policy = self.config.feeds
        stale = obs.now - timedelta(hours=policy.stale_hours)
        watched = {
            url: f
            for url, f in obs.feeds.items()
            if f.last_poll is not None and f.last_poll > stale
        }
        failing_now = [f for f in watched.values() if f.consecutive_failures > 0]
        failing = {
            url: _Condition("feed_failing", url, self._failure_detail(f, obs.now))
            for url, f in watched.items()
            if self._is_failing(f, obs.now)
        }
        threshold = max(policy.storm_min_feeds, math.ceil(policy.storm_share * len(watched)))
        conditions: list[_Condition] = []
        if len(failing_now) >= threshold:
            # Feeds already reported keep their condition; no new one starts.
            conditions += [c for c in failing.values() if c.id in self.active]
            if failing:
                conditions.append(self._summary(failing_now, len(watched)))
        else:
            conditions += failing.values()
        for url, status in watched.items():
            if url not in failing and status.consecutive_failures == 0:
                silent = self._silence(status, obs.now)
                if silent:
                    conditions.append(_Condition("feed_silent", url, silent))
        return conditions

    def _is_failing(self, status: FeedStatus, now: datetime) -> bool:
        policy = self.config.feeds
        if status.consecutive_failures <= 0:
            return False
        if status.consecutive_failures >= policy.failures:
            return True
        since = status.last_success
        return since is not None and now - since >= timedelta(hours=policy.failing_hours)

    @staticmethod
    def _failure_detail(status: FeedStatus, now: datetime) -> str:
        last = (
            f"last success {_ago((now - status.last_success).total_seconds())} ago"
            if status.last_success
            else "never succeeded"
        )
        return f"{status.consecutive_failures} failed polls in a row, {last}: {status.last_error}"

    @staticmethod
    def _summary(failing_now: list[FeedStatus], watched: int) -> _Condition:
        hosts = sorted({urlsplit(f.url).hostname or f.url for f in failing_now})
        errors: dict[str, int] = {}
        for status in failing_now:
            errors[status.last_error] = errors.get(status.last_error, 0) + 1
        common = max(errors.items(), key=lambda kv: kv[1])[0] if errors else ""
        sample = ", ".join(hosts[:5]) + (", ..." if len(hosts) > 5 else "")
        return _Condition(
            "feeds_failing",
            "*",
            f"{len(failing_now)} of {watched} feeds fail at once (e.g. {sample}); "
            f"most common error: {common}",
        )

    def _silence(self, status: FeedStatus, now: datetime) -> str:
        policy = self.config.feeds
        if status.last_item_at is None or len(status.item_gaps_s) < policy.silent_min_gaps:
            return ""
        usual = quantile(status.item_gaps_s, 0.9)
        bound = max(policy.silent_factor * usual, policy.silent_min_hours * 3600)
        quiet = (now - status.last_item_at).total_seconds()
        if quiet <= bound:
            return ""
        return f"no new item for {_ago(quiet)}; its usual gap is up to {_ago(usual)}"

    # -- targets and stages ---------------------------------------------------
    def _targets(self, obs: Observations) -> list[_Condition]:
        out = []
        for key, seen in obs.targets.items():
            if seen.failures >= self.config.targets.failures or seen.dead_lettered:
                dead = f", {seen.dead_lettered} dead-lettered" if seen.dead_lettered else ""
                detail = f"{seen.failures} failed sends in a row{dead}: {seen.last_error}"
                out.append(_Condition("target_failing", key, detail))
        return out

    def _stages(self, obs: Observations) -> list[_Condition]:
        policy = self.config.stages
        out = []
        for stage in policy.watch:
            seen = obs.stages.get(stage)
            down_id, stall_id = f"stage_down|{stage}", f"stage_stalled|{stage}"
            if seen is None or seen.members is None:
                # Unknown this time (broker busy): neither start nor recover on it.
                out += [self._keep(cid) for cid in (down_id, stall_id) if cid in self.active]
                continue
            if self._held(down_id, seen.members == 0, obs.now, policy.down_after_s):
                out.append(_Condition("stage_down", stage, "no member in its consumer group"))
            if stage == "processor":
                lagging = seen.lag is not None and seen.lag > policy.max_lag
                if self._held(stall_id, lagging, obs.now, policy.lag_for_s):
                    out.append(
                        _Condition("stage_stalled", stage, f"{seen.lag} records behind news.raw")
                    )
            elif stage == "ingest" and seen.members:
                newest = max(
                    (f.updated_at for f in obs.feeds.values() if f.updated_at), default=None
                )
                quiet = newest is not None and (
                    (obs.now - newest).total_seconds() > policy.ingest_quiet_s
                )
                if quiet and newest is not None:
                    out.append(
                        _Condition(
                            "stage_stalled",
                            stage,
                            f"no feed polled for {_ago((obs.now - newest).total_seconds())}",
                        )
                    )
        return out

    def _rules(self, obs: Observations) -> list[_Condition]:
        policy = self.config.rules
        if policy is None:
            return []
        bound = timedelta(days=policy.quiet_days)
        return [
            _Condition(
                "rule_quiet", rule_id, f"no match for {_ago((obs.now - last).total_seconds())}"
            )
            for rule_id, last in obs.rules.items()
            if obs.now - last >= bound
        ]

    def _keep(self, cid: str) -> _Condition:
        event = self.active[cid]
        return _Condition(event.kind, event.subject, event.detail)
