"""One asyncio task per target: a slow or dead target only ever delays itself.

A job is one message (a single alert, or a digest of several) for one target. The
worker marks every alert ``sending`` in the ledger (acked) before each attempt and
drops the mark again after a clean failure, so only a crash *during* a send leaves
an uncertain ``sending`` behind. It retries with exponential backoff and jitter,
records every attempt, and ends with each alert ``sent`` or dead-lettered. Once a
job has exhausted its attempts the target counts as down: later jobs get a single
attempt each until one succeeds, so a long outage costs minutes in the DLQ, not
hours of backoff per alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from alerts.delivery import DeliveryError, Endpoint, Sender, backoff_delay
from alerts.render import Renderer
from alerts.state import Store
from alerts.subscriptions import Subscription
from wirewatch.events import AlertDecision, DeadLetter, DeliveryAttempt, PendingAlert, SentRecord
from wirewatch.metrics import ALERTS_DEAD_LETTERED, ALERTS_RETRIED, ALERTS_SENT
from wirewatch.settings import AlertSettings

log = logging.getLogger(__name__)
# (target, ok, error, dead-lettered count): how the health monitor hears of sends.
SendObserver = Callable[[str, bool, str, int], None]


@dataclass
class Job:
    endpoint: Endpoint
    alerts: list[AlertDecision]
    sub: Subscription
    renderer: Renderer
    digest: bool = False
    parked: list[PendingAlert] = field(default_factory=list)
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class TargetWorker:
    """Runs the jobs of one endpoint in order."""

    def __init__(
        self,
        endpoint: Endpoint,
        sender: Sender,
        store: Store,
        settings: AlertSettings,
        clock: Callable[[], datetime],
        observer: SendObserver | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._observe: SendObserver = observer or (lambda *_: None)
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self._sender = sender
        self._store = store
        self._settings = settings
        self._clock = clock
        self._down = False

    async def run(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self.handle(job)
            except asyncio.CancelledError:
                job.done.cancel()
                raise
            except Exception as exc:  # keep the worker alive; the job stays unhandled
                log.exception("delivery to %s failed unexpectedly", self.endpoint.label)
                job.done.set_exception(exc)
            else:
                job.done.set_result(None)

    async def handle(self, job: Job) -> None:
        """Deliver one job: sent, or dead-lettered after its attempts."""
        key = self.endpoint.key
        try:
            message = job.renderer.render(
                job.alerts, self.endpoint.fmt, job.sub.tz, job.digest, self._clock()
            )
        except Exception as exc:  # a user template can still fail on odd data
            await self._dead_letter(job, f"render failed: {type(exc).__name__}: {exc}", 0)
            return
        max_attempts = 1 if self._down else self._settings.max_attempts
        attempt = 0
        while True:
            attempt += 1
            # Acked before the send: a crash from here on leaves "sending" behind,
            # which the next start treats as uncertain (it may have arrived).
            for alert in job.alerts:
                await self._store.mark(
                    SentRecord(alert_id=alert.alert_id, target=key, state="sending", alert=alert)
                )
            try:
                latency = await self._sender.send(
                    self.endpoint, message, self._settings.send_timeout_s
                )
            except DeliveryError as exc:
                await self._record(job, "failed", attempt, 0.0, str(exc))
                self._observe(key, False, str(exc), 0)
                if attempt >= max_attempts:
                    self._down = True
                    await self._dead_letter(job, str(exc), attempt)
                    return
                ALERTS_RETRIED.inc()
                # A clean failure: nothing arrived, so a crash during the backoff
                # must lead to a resend, not to an "uncertain" dead letter.
                for alert in job.alerts:
                    await self._store.forget(alert.alert_id, key)
                await asyncio.sleep(
                    backoff_delay(
                        attempt, self._settings.backoff_base_s, self._settings.backoff_max_s
                    )
                )
                continue
            self._down = False
            self._observe(key, True, "", 0)
            ALERTS_SENT.inc(len(job.alerts))
            await self._record(job, "sent", attempt, latency, "")
            now = self._clock()
            for alert in job.alerts:
                await self._store.mark(
                    SentRecord(alert_id=alert.alert_id, target=key, state="sent", at=now)
                )
            await self._store.unpark(job.parked)
            return

    async def _record(
        self,
        job: Job,
        status: Literal["sent", "failed", "dead_lettered"],
        attempt: int,
        latency: float,
        error: str,
    ) -> None:
        for alert in job.alerts:
            await self._store.attempt(
                DeliveryAttempt(
                    alert_id=alert.alert_id,
                    target=self.endpoint.key,
                    status=status,
                    attempt=attempt,
                    latency_ms=round(latency, 2),
                    error=error,
                    at=self._clock(),
                )
            )

    async def _dead_letter(self, job: Job, reason: str, attempts: int) -> None:
        key = self.endpoint.key
        log.warning(
            "dead-lettered %d alert(s) for %s after %d attempt(s): %s",
            len(job.alerts),
            self.endpoint.label,
            attempts,
            reason,
        )
        ALERTS_DEAD_LETTERED.inc(len(job.alerts))
        self._observe(key, False, reason, len(job.alerts))
        for alert in job.alerts:
            await self._store.dead_letter(
                DeadLetter(
                    alert=alert,
                    target=key,
                    target_label=self.endpoint.label,
                    target_tag=",".join(sorted(self.endpoint.tags)),
                    reason=reason,
                    attempts=attempts,
                    failed_at=self._clock(),
                )
            )
            await self._store.mark(
                SentRecord(alert_id=alert.alert_id, target=key, state="dead_lettered")
            )
        await self._record(job, "dead_lettered", attempts, 0.0, reason)
        await self._store.unpark(job.parked)
