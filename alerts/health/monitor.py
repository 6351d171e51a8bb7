"""The health monitor of the alert stage: gathers observations, runs the core, sends transitions.

Runs inside ``wirewatch dispatch`` (the stage that owns apprise). Every
``health.check_every_s`` it gathers what is known now and asks
:class:`alerts.health.core.HealthCore` for transitions:

- feeds: ingest's compacted state topic, tailed (no stage imports another);
- targets: the dispatcher's own send results, reported by its target workers;
- stages: each watched stage's consumer group on the broker (members, lag).

A transition is written to the compacted health topic first (so a restart
resumes from it and never alerts twice), then counted in ``/metrics`` and sent
to the targets tagged ``health.notify``, except that a failing target is not
told about itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from alerts.delivery import DeliveryError, Sender, backoff_delay
from alerts.health.core import HealthCore, Observations, StageObservation, TargetObservation
from alerts.health.quiet_rules import RuleActivity, format_digest
from alerts.health.redeliver import Redeliverer
from alerts.render import Message
from alerts.schedule import next_digest_at, parse_digest
from wirewatch import metrics
from wirewatch.events import FeedStatus, HealthEvent, utcnow
from wirewatch.health_config import HealthConfig
from wirewatch.kafka import group_lag, make_admin, make_consumer, topic_partitions
from wirewatch.settings import Settings

log = logging.getLogger(__name__)
_SEND_ATTEMPTS = 3
_TITLES = {
    "feed_failing": "feed failing",
    "feeds_failing": "many feeds failing at once",
    "feed_silent": "feed silent",
    "target_failing": "notification target failing",
    "stage_down": "stage down",
    "stage_stalled": "stage stalled",
    "rule_quiet": "rule without matches",
}


def format_health(event: HealthEvent, subject: str | None = None) -> Message:
    """The message for one transition (plain text: it goes to every kind of target).

    ``subject`` names the subject for people (a target's label instead of its id).
    """
    what = _TITLES[event.kind]
    name = subject or event.subject
    if event.state == "started":
        title = f"wirewatch health: {what}: {name}"
        body = f"{what}: {name}\n{event.detail}\nsince {event.since:%Y-%m-%d %H:%M} UTC"
    else:
        title = f"wirewatch health: recovered: {what}: {name}"
        body = f"recovered: {what}: {name}\n{event.detail}"
    return Message(title=title, body=body, body_format="text")


class HealthMonitor:
    """Observations in from Kafka and the target workers, transitions out."""

    def __init__(
        self,
        settings: Settings,
        config: HealthConfig,
        sender: Sender,
        producer: AIOKafkaProducer,
        active: list[HealthEvent] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.core = HealthCore(config, active or [])
        self._sender = sender
        self._producer = producer
        self._targets: dict[str, TargetObservation] = {}
        self._feeds: dict[str, FeedStatus] = {}
        self._sends: set[asyncio.Task[None]] = set()
        # Set by the dispatcher, which owns the ledger the re-sends must update.
        self.redeliverer: Redeliverer | None = None
        policy = config.rules
        self.rules = RuleActivity(settings, policy.quiet_days) if policy else None
        self._next_digest: datetime | None = None
        for event in self.core.active.values():
            metrics.HEALTH_CONDITION.labels(event.kind, event.subject).set(1)

    # -- observations ---------------------------------------------------------
    def record_send(self, target: str, ok: bool, error: str = "", dead_lettered: int = 0) -> None:
        """A target worker's result: a success clears the target's failures."""
        if ok:
            self._targets[target] = TargetObservation()
            return
        seen = self._targets.get(target, TargetObservation())
        self._targets[target] = TargetObservation(
            failures=seen.failures + (0 if dead_lettered else 1),
            dead_lettered=seen.dead_lettered + dead_lettered,
            last_error=error or seen.last_error,
        )

    def _apply_state(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        url = key.decode(errors="replace")
        if value is None:
            self._feeds.pop(url, None)
            return
        try:
            self._feeds[url] = FeedStatus.model_validate_json(value)
        except ValidationError as exc:
            log.debug("unreadable feed state for %s: %s", url, exc.errors()[0]["msg"])

    async def _stages(self, admin: AIOKafkaAdminClient) -> dict[str, StageObservation]:
        groups = {
            "ingest": self.settings.ingest.group_id,
            "processor": self.settings.processor.app_id,
        }
        out: dict[str, StageObservation] = {}
        for stage in self.config.stages.watch:
            group = groups[stage]
            try:
                (response,) = await admin.describe_consumer_groups([group])
                members = sum(len(g[5]) for g in response.groups if g[1] == group)
                lag = None
                if stage == "processor":
                    lags = await group_lag(self.settings.kafka, group)
                    lag = sum(lags.values())
            except Exception as exc:  # unknown this round; the core keeps what it had
                log.debug("health: group %s not described: %s", group, exc)
                out[stage] = StageObservation(members=None)
                continue
            out[stage] = StageObservation(members=members, lag=lag)
        return out

    # -- loop -----------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``check_every_s`` until ``stop``; never raises on Kafka trouble."""
        kafka = self.settings.kafka
        state_topic = kafka.topics.ingest_state.name
        consumer = make_consumer(kafka, group_id=None)
        events = make_consumer(kafka, group_id=None)
        admin = make_admin(kafka)
        await consumer.start()
        await events.start()
        await admin.start()
        try:
            while not stop.is_set():
                try:
                    await self._follow_rules(events)
                    if not consumer.assignment():
                        # Ingest may not have created its state topic yet: ask each round.
                        partitions = await topic_partitions(kafka, state_topic)
                        if partitions:
                            consumer.assign(partitions)
                            await consumer.seek_to_beginning(*partitions)
                            await self._drain(consumer, until_end=True)
                    await self._drain(consumer, until_end=False)
                    await self.check(await self._stages(admin))
                except Exception:  # never let the monitor die; the next round retries
                    log.exception("health check failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.check_every_s)
        finally:
            if self._sends:
                await asyncio.wait(self._sends, timeout=5.0)
            if self.redeliverer is not None:
                await self.redeliverer.wait(5.0)
            await admin.close()
            await events.stop()
            await consumer.stop()

    async def _drain(self, consumer: AIOKafkaConsumer, *, until_end: bool) -> None:
        assigned = list(consumer.assignment())
        ends = await consumer.end_offsets(assigned) if until_end and assigned else {}
        while assigned:
            batch = await consumer.getmany(timeout_ms=200 if until_end else 0, max_records=5000)
            for records in batch.values():
                for record in records:
                    self._apply_state(record.key, record.value)
            if until_end:
                positions = [await consumer.position(tp) for tp in assigned]
                if all(p >= ends[tp] for p, tp in zip(positions, assigned, strict=True)):
                    return
            elif not batch:
                return

    async def _follow_rules(self, events: AIOKafkaConsumer) -> None:
        if self.rules is None:
            return
        if not events.assignment() and not await self.rules.start(events, utcnow()):
            return
        while batch := await events.getmany(timeout_ms=0, max_records=5000):
            for records in batch.values():
                for record in records:
                    self.rules.observe(record.value, record.timestamp)

    async def check(self, stages: dict[str, StageObservation]) -> list[HealthEvent]:
        """One round: run the core on what is known now and publish its transitions."""
        now = utcnow()
        rules = self.rules.last_activity(now) if self.rules is not None else {}
        obs = Observations(now, dict(self._feeds), dict(self._targets), stages, rules)
        events = self.core.step(obs)
        for event in events:
            try:
                await self._producer.send_and_wait(
                    self.settings.kafka.topics.health.name, event.to_bytes(), key=event.key
                )
            except Exception as exc:  # still tell people; only a restart could repeat it
                log.error(
                    "health: %s not recorded in the health topic: %s", event.condition_id, exc
                )
            metrics.HEALTH_TRANSITIONS.labels(event.kind, event.state).inc()
            gauge = metrics.HEALTH_CONDITION
            if event.state == "started":
                gauge.labels(event.kind, event.subject).set(1)
                log.warning("health: %s %s: %s", event.kind, event.subject, event.detail)
            else:
                with contextlib.suppress(KeyError):
                    gauge.remove(event.kind, event.subject)
                log.info("health: recovered %s %s %s", event.kind, event.subject, event.detail)
            if event.kind != "rule_quiet":  # those go out in the digest only
                self._spawn(self._notify(event))
        await self._maybe_digest(now)
        if self.redeliverer is not None and self.config.targets.redeliver:
            self.redeliverer.schedule(
                {e.subject for e in self.core.active.values() if e.kind == "target_failing"},
                {
                    e.subject
                    for e in events
                    if e.kind == "target_failing" and e.state == "recovered"
                },
            )
        return events

    def _spawn(self, send: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(send)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _maybe_digest(self, now: datetime) -> None:
        policy = self.config.rules
        if policy is None:
            return
        schedule = parse_digest(policy.digest)
        if self._next_digest is None:
            # Never at start-up: a restart after the hour must not send the day's twice.
            self._next_digest = next_digest_at(schedule, now, ZoneInfo("UTC"))
            return
        if now < self._next_digest:
            return
        self._next_digest = next_digest_at(schedule, now, ZoneInfo("UTC"))
        quiet = [e for e in self.core.active.values() if e.kind == "rule_quiet"]
        if quiet:
            self._spawn(self._send(format_digest(quiet, policy.quiet_days)))

    async def _notify(self, event: HealthEvent) -> None:
        # A target's subject is its opaque id; people read its label.
        target = event.kind == "target_failing"
        message = format_health(event, self._sender.label(event.subject) if target else None)
        await self._send(message, event.subject if target else None)

    async def _send(self, message: Message, skip: str | None = None) -> None:
        """To every target tagged health.notify but ``skip`` (a failing target itself)."""
        for endpoint in self._sender.route(self.config.notify):
            if endpoint.key == skip:
                continue
            for attempt in range(1, _SEND_ATTEMPTS + 1):
                try:
                    await self._sender.send(endpoint, message, self.settings.alerts.send_timeout_s)
                    break
                except DeliveryError as exc:
                    log.warning("health alert to %s failed (%d): %s", endpoint.label, attempt, exc)
                    await asyncio.sleep(backoff_delay(attempt, 1.0, 10.0))
