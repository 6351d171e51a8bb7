"""The dispatcher: news.alerts -> console + JSONL + apprise targets, once per (alert, target).

Flow per AlertDecision: print it and append it to the JSONL file (once per alert
id), route it by the rule's notify tags, skip every target the sent ledger already
has, ask the pacer (send now / park), and hand sends to that target's worker. The
consumer offset of a record is committed only when every target it produced work
for is done (sent, dead-lettered, or parked in the pending topic). On start-up the
ledger and the pending topic are read back, and sends cut short by a crash
(``sending`` with no outcome) are dead-lettered as uncertain (or resent, if
``alerts.uncertain_sends: resend``). A record that cannot be read, or whose handling
raises, is set aside as poison (alerts/poison.py) and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiokafka import TopicPartition

from alerts.health.monitor import HealthMonitor
from alerts.health.redeliver import Redeliverer
from alerts.health.topic import load_active
from alerts.migrate import migrate_target_keys
from alerts.offsets import OffsetTracker
from alerts.pacing import Pacer, Park
from alerts.poison import handle_record
from alerts.runtime import AlertsConfig, load_alerts_config
from alerts.sinks import append_jsonl, write_console
from alerts.state import Store, pending_spec
from alerts.worker import Job, SendObserver, TargetWorker
from wirewatch.events import AlertDecision, DeadLetter, DeliveryAttempt, SentRecord, utcnow
from wirewatch.kafka import ensure_topics, make_consumer, make_producer
from wirewatch.settings import Settings

log = logging.getLogger(__name__)
_DONE = ("sent", "dead_lettered")
UNCERTAIN = (
    "uncertain: the dispatcher stopped while sending, so it may or may not have arrived; "
    "check the target, then `wirewatch alerts dlq retry` if it did not"
)
_MAX_IN_FLIGHT = 10_000


class Dispatcher:
    """Routing, dedup, pacing and worker hand-off; Kafka I/O goes through ``Store``."""

    def __init__(
        self,
        settings: Settings,
        config: AlertsConfig,
        store: Store,
        clock: Callable[[], datetime] = utcnow,
        observer: SendObserver | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.store = store
        self.clock = clock
        self.pacer = Pacer()
        self.sink_key = f"jsonl:{settings.alerts.jsonl_path}"
        self._claimed: set[tuple[str, str]] = set()
        self._seen: set[str] = set()
        self.workers = {
            e.key: TargetWorker(e, config.sender, store, settings.alerts, clock, observer)
            for e in config.sender.endpoints
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    def start(self) -> None:
        self._tasks = [asyncio.create_task(w.run()) for w in self.workers.values()]

    async def close(self, grace_s: float) -> None:
        """Let queued sends finish for up to ``grace_s``, then cancel the workers."""
        if self._closed:
            return
        self._closed = True
        deadline = asyncio.get_running_loop().time() + grace_s
        while self._claimed and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover(self, parked: list[Any]) -> None:
        """Settle uncertain sends, restore rate windows and parked alerts (start-up)."""
        if self.settings.alerts.uncertain_sends == "dead_letter":
            for record in list(self.store.ledger.values()):
                if record.state == "sending" and record.alert is not None:
                    label = self.config.sender.label(record.target)
                    await self.store.dead_letter(
                        DeadLetter(
                            alert=record.alert,
                            target=record.target,
                            target_label=label,
                            reason=UNCERTAIN,
                            attempts=1,
                        )
                    )
                    await self.store.mark(
                        SentRecord(
                            alert_id=record.alert_id, target=record.target, state="dead_lettered"
                        )
                    )
                    log.warning("uncertain send of %s to %s dead-lettered", record.alert_id, label)
        since = self.clock() - timedelta(days=1)
        sends = {(r.target, r.at) for r in self.store.ledger.values() if r.state == "sent"}
        for target, at in sorted(sends, key=lambda s: s[1]):
            if at > since:
                self.pacer.record_send(target, at)
        stale = [p for p in parked if self.store.state(p.alert.alert_id, p.target) in _DONE]
        await self.store.unpark(stale)
        self.pacer.restore(p for p in parked if p not in stale)

    def submit(self, job: Job) -> asyncio.Future[None]:
        keys = {(a.alert_id, job.endpoint.key) for a in job.alerts}
        self._claimed |= keys
        job.done.add_done_callback(lambda _f: self._claimed.difference_update(keys))
        self.workers[job.endpoint.key].queue.put_nowait(job)
        return job.done

    async def handle(self, alert: AlertDecision) -> list[asyncio.Future[None]]:
        """Deliver or park ``alert`` for every routed target; return the sends to await."""
        endpoints = self.config.sender.route(alert.rule.notify)
        if (
            alert.alert_id not in self._seen
            and self.store.state(alert.alert_id, self.sink_key) is None
        ):
            keys = [e.key for e in endpoints]
            if self.settings.alerts.console:
                write_console(alert, keys)
            append_jsonl(self.settings.alerts.jsonl_path, alert, keys)
            await self.store.mark(
                SentRecord(alert_id=alert.alert_id, target=self.sink_key, state="sent")
            )
        self._seen.add(alert.alert_id)
        now = self.clock()
        futures = []
        for endpoint in endpoints:
            key = (alert.alert_id, endpoint.key)
            if (
                key in self._claimed
                or self.store.state(*key) in _DONE
                or self.pacer.is_parked(*key)
            ):
                continue
            sub = self.config.subscriptions.for_target(endpoint.tags, alert.rule.notify)
            decision = self.pacer.decide(alert, endpoint.key, sub, now)
            if isinstance(decision, Park):
                entry = decision.entry
                await self.store.park(entry)
                status = "held" if entry.kind == "hold" else "digested"
                await self.store.attempt(
                    DeliveryAttempt(
                        alert_id=alert.alert_id, target=endpoint.key, status=status, at=now
                    )
                )
                continue
            job = Job(endpoint, [alert], sub, self.config.renderer_for(sub))
            futures.append(self.submit(job))
        return futures

    async def release_due(self) -> None:
        """Hand every parked alert that is due to its target's worker, one message each."""
        for release in self.pacer.release_due(self.clock()):
            entries = [
                e
                for e in release.entries
                if self.store.state(e.alert.alert_id, e.target) not in _DONE
            ]
            await self.store.unpark([e for e in release.entries if e not in entries])
            endpoint = self.config.sender.by_key(release.target)
            if not entries:
                continue
            if endpoint is None:
                for entry in entries:
                    await self.store.dead_letter(
                        DeadLetter(
                            alert=entry.alert,
                            target=entry.target,
                            reason="target is no longer in notify.yaml",
                            attempts=0,
                        )
                    )
                await self.store.unpark(entries)
                continue
            first = entries[0].alert
            sub = self.config.subscriptions.for_target(endpoint.tags, first.rule.notify)
            alerts = [e.alert for e in entries]
            renderer = self.config.renderer_for(sub)
            self.submit(Job(endpoint, alerts, sub, renderer, release.is_digest, entries))

    async def run_releases(self, stop: asyncio.Event, interval_s: float = 0.2) -> None:
        while not stop.is_set():
            try:
                await self.release_due()
            except Exception:  # never let the timer die; entries stay in the pending topic
                log.exception("releasing parked alerts failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


async def run_dispatcher(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Consume AlertDecisions and deliver them until ``stop`` is set (see module doc)."""
    stop = stop or asyncio.Event()
    config = load_alerts_config(settings)
    topics = settings.kafka.topics
    specs = [
        topics.alerts,
        topics.sent,
        topics.dlq,
        topics.deliveries,
        topics.health,
        topics.alerts_poison,
        pending_spec(settings),
    ]
    await ensure_topics(settings.kafka, specs)
    producer = make_producer(settings.kafka)
    await producer.start()
    consumer = make_consumer(
        settings.kafka,
        topics.alerts.name,
        group_id=settings.alerts.group_id,
        session_timeout_ms=settings.alerts.session_timeout_ms,
        heartbeat_interval_ms=settings.alerts.heartbeat_interval_ms,
    )
    dispatcher: Dispatcher | None = None
    health_stop = asyncio.Event()
    health: asyncio.Task[None] | None = None
    try:
        store = Store(settings, producer)
        parked = await store.load(settings.kafka)
        parked = await migrate_target_keys(settings, config.sender, store, parked)
        monitor = HealthMonitor(
            settings, config.health, config.sender, producer, await load_active(settings)
        )
        monitor.redeliverer = Redeliverer(settings, config, store, monitor.record_send, clock)
        health = asyncio.create_task(monitor.run(health_stop), name="health-monitor")
        dispatcher = Dispatcher(settings, config, store, clock, monitor.record_send)
        await dispatcher.recover(parked)
        dispatcher.start()
        log.info(
            "dispatcher up: %d target(s), %d parked alert(s), ledger %d",
            len(config.sender.endpoints),
            len(parked),
            len(store.ledger),
        )
        await consumer.start()
        await _consume(settings, dispatcher, consumer, stop)
    finally:
        health_stop.set()
        if health is not None:
            await asyncio.gather(health, return_exceptions=True)
        if dispatcher is not None:
            await dispatcher.close(grace_s=min(settings.alerts.send_timeout_s, 10.0))
        await consumer.stop()
        await producer.stop()


async def _consume(
    settings: Settings, dispatcher: Dispatcher, consumer: Any, stop: asyncio.Event
) -> None:
    tracker = OffsetTracker()
    releases = asyncio.create_task(dispatcher.run_releases(stop))
    loop = asyncio.get_running_loop()
    last_commit = loop.time()
    try:
        while not stop.is_set():
            if tracker.in_flight() < _MAX_IN_FLIGHT:
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
            else:
                batch = {}
                await asyncio.sleep(0.1)  # a slow target holds offsets back; stop reading
            for tp, records in batch.items():
                for record in records:
                    futures = await handle_record(dispatcher.handle, dispatcher.store, record)
                    tracker.track(tp, record.offset, futures)
            if loop.time() - last_commit >= settings.alerts.commit_interval_s:
                await _commit(consumer, tracker)
                last_commit = loop.time()
    finally:
        stop.set()
        await releases
        await dispatcher.store.flush()
        # Give in-flight sends their chance before the final commit.
        await dispatcher.close(grace_s=min(settings.alerts.send_timeout_s, 10.0))
        await _commit(consumer, tracker)


async def _commit(consumer: Any, tracker: OffsetTracker) -> None:
    offsets: dict[TopicPartition, int] = tracker.committable()
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
        tracker.committed(offsets)
    except Exception as exc:  # e.g. a rebalance; those records are re-read and deduplicated
        log.warning("offset commit failed: %s", exc)
