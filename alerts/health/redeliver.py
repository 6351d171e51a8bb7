"""Alerts dead-lettered while a target was down go out once it is back.

While a target's ``target_failing`` condition is active, its oldest outstanding
dead letter is re-sent once every ``health.targets.probe_every_s`` as a probe
(a message that is owed anyway, never a synthetic "test"). When a probe or a
live alert gets through, the target recovers and every other outstanding dead
letter of the outage is re-sent, oldest first, through the same worker code as
``wirewatch alerts dlq retry`` (ledger marks, so nothing goes twice). Letters
dead-lettered for reasons a retry cannot fix (a crash mid-send, whose delivery
is uncertain; a template that failed) are left to a human.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from alerts.dlq import list_dead_letters
from alerts.runtime import AlertsConfig
from alerts.state import Store
from alerts.worker import Job, SendObserver, TargetWorker
from wirewatch.events import DeadLetter
from wirewatch.settings import Settings

log = logging.getLogger(__name__)
_NOT_RETRIED = ("uncertain", "render failed")


class Redeliverer:
    """Re-sends the dead letters of failing and recovered targets, one target at a time."""

    def __init__(
        self,
        settings: Settings,
        config: AlertsConfig,
        store: Store,
        observer: SendObserver,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.config = config
        self.store = store
        self.observer = observer
        self.clock = clock
        self._probed: dict[str, float] = {}
        self._busy: dict[str, asyncio.Task[int]] = {}

    def schedule(self, failing: set[str], recovered: set[str]) -> None:
        """Start a probe for failing targets that are due, a full re-send for recovered ones."""
        now = self.clock().timestamp()
        every = self.config.health.targets.probe_every_s
        for key in sorted(failing | recovered):
            if key in self._busy or self.config.sender.by_key(key) is None:
                continue
            probe = key in failing
            if probe and now - self._probed.get(key, 0.0) < every:
                continue
            self._probed[key] = now
            task = asyncio.create_task(self.resend(key, first_only=probe))
            self._busy[key] = task
            task.add_done_callback(self._release)

    def _release(self, task: asyncio.Task[int]) -> None:
        for key, running in list(self._busy.items()):
            if running is task:
                del self._busy[key]

    async def wait(self, timeout_s: float) -> None:
        if self._busy:
            await asyncio.wait(list(self._busy.values()), timeout=timeout_s)

    async def outstanding(self, key: str) -> list[DeadLetter]:
        """This target's dead letters a re-send may fix, oldest first."""
        letters = await list_dead_letters(self.settings)
        return [
            letter
            for letter in letters
            if letter.target == key
            and self.store.state(letter.alert.alert_id, key) == "dead_lettered"
            and not letter.reason.startswith(_NOT_RETRIED)
        ]

    async def resend(self, key: str, *, first_only: bool) -> int:
        """Re-send this target's outstanding letters, one attempt each; stop at a failure."""
        endpoint = self.config.sender.by_key(key)
        if endpoint is None:
            return 0
        # One attempt each: the probe decides, backoff is the probe interval.
        once = self.settings.alerts.model_copy(update={"max_attempts": 1})
        worker = TargetWorker(endpoint, self.config.sender, self.store, once, self.clock,
                              self.observer)  # fmt: skip
        sent = 0
        try:
            letters = await self.outstanding(key)
            for letter in letters[:1] if first_only else letters:
                sub = self.config.subscriptions.for_target(endpoint.tags, letter.alert.rule.notify)
                await worker.handle(
                    Job(endpoint, [letter.alert], sub, self.config.renderer_for(sub))
                )
                if self.store.state(letter.alert.alert_id, key) != "sent":
                    break
                sent += 1
            if first_only and sent and len(letters) > 1:
                sent += await self.resend(key, first_only=False)
        except Exception:  # a Kafka hiccup: the next round tries again
            log.exception("re-sending dead letters to %s failed", key)
        if sent:
            log.info("re-sent %d dead-lettered alert(s) to %s", sent, key)
        return sent
