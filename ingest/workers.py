"""One asyncio task per owned feed: wait, poll, produce, then persist state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ingest.cycle import PollResult, policy_for, poll_feed
from ingest.feedlist import FeedSpec
from ingest.fetch import Fetcher
from ingest.state import FeedState
from ingest.store import StateStore
from wirewatch import metrics
from wirewatch.events import utcnow
from wirewatch.settings import IngestSettings

log = logging.getLogger(__name__)


@dataclass
class _Worker:
    spec: FeedSpec
    task: asyncio.Task[None]
    stop: asyncio.Event


class FeedWorkers:
    """The feeds this process currently owns, each polled by its own task."""

    def __init__(
        self,
        settings: IngestSettings,
        producer: AIOKafkaProducer,
        store: StateStore,
        fetcher: Fetcher,
        raw_topic: str,
        owner: str,
    ) -> None:
        self.settings = settings
        self._producer = producer
        self._store = store
        self._fetcher = fetcher
        self._raw_topic = raw_topic
        self.owner = owner
        self._workers: dict[str, _Worker] = {}
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    @property
    def owned(self) -> set[str]:
        return set(self._workers)

    async def adopt(self, specs: list[FeedSpec]) -> None:
        """Start polling these feeds (restarting any whose settings changed)."""
        changed = [
            s.url for s in specs if s.url in self._workers and self._workers[s.url].spec != s
        ]
        await self.drop(changed)
        fresh = [s for s in specs if s.url not in self._workers]
        if not fresh:
            return
        # Another poller may have just handed these over; read its last state first.
        await self._store.catch_up()
        for spec in fresh:
            state = self._store.claim(spec.url)
            stop = asyncio.Event()
            task = asyncio.create_task(self._run(spec, state, stop), name=f"feed:{spec.url}")
            self._workers[spec.url] = _Worker(spec, task, stop)
        log.info("polling %d more feeds (%d owned)", len(fresh), len(self._workers))

    async def drop(self, urls: list[str] | set[str]) -> None:
        """Stop polling these feeds; an in-flight poll is finished and saved first."""
        workers = [self._workers.pop(u) for u in urls if u in self._workers]
        if not workers:
            return
        for worker in workers:
            worker.stop.set()
        grace = self.settings.total_timeout_s + 5.0
        _done, pending = await asyncio.wait([w.task for w in workers], timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        for worker in workers:
            self._store.release(worker.spec.url)
        log.info("stopped polling %d feeds (%d owned)", len(workers), len(self._workers))

    async def drop_all(self) -> None:
        await self.drop(list(self._workers))

    def _first_delay(self, spec: FeedSpec, state: FeedState) -> float:
        if state.next_poll is None:
            return 0.0
        policy = policy_for(spec, self.settings)
        # Honour a stored wait (Retry-After, backoff) across restarts, within reason.
        cap = max(policy.interval_s, policy.max_backoff_s)
        return min(max(0.0, (state.next_poll - utcnow()).total_seconds()), cap)

    async def _run(self, spec: FeedSpec, state: FeedState, stop: asyncio.Event) -> None:
        delay = self._first_delay(spec, state)
        while True:
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
            if stop.is_set():
                return
            state = await self._poll_once(spec, state)
            delay = max(0.0, ((state.next_poll or utcnow()) - utcnow()).total_seconds())

    async def _poll_once(self, spec: FeedSpec, state: FeedState) -> FeedState:
        try:
            result = await poll_feed(spec, state, self._fetcher, self.settings, rng=self._rng)
        except Exception:  # a bug on one feed must not stop the others
            log.exception("poll of %s failed unexpectedly", spec.url)
            retry = utcnow() + timedelta(seconds=policy_for(spec, self.settings).interval_s)
            return state.model_copy(update={"next_poll": retry, "last_error": "internal error"})
        try:
            sends = [
                await self._producer.send(self._raw_topic, a.to_bytes(), key=a.key)
                for a in result.articles
            ]
            await asyncio.gather(*sends)
            new_state = result.state.model_copy(update={"owner": self.owner})
            await self._store.save(new_state)
        except KafkaError as exc:
            # Keep the old memory so the entries are offered again on the next poll.
            log.warning("producing for %s failed (%s); will retry", spec.url, exc)
            retry = utcnow() + timedelta(
                seconds=min(30.0, policy_for(spec, self.settings).interval_s)
            )
            return state.model_copy(update={"next_poll": retry})
        record_poll_metrics(result)
        self._log(spec, result.fetch.status, new_state, len(result.articles), result.unchanged)
        return new_state

    def _log(self, spec: FeedSpec, status: int, state: FeedState, produced: int, same: int) -> None:
        if state.last_error_at == state.last_poll and state.last_error:
            log.warning(
                "%s: %s (failure %d, next in %s)",
                spec.url,
                state.last_error,
                state.consecutive_failures,
                state.next_poll_reason,
            )
        else:
            level = logging.INFO if produced else logging.DEBUG
            log.log(
                level, "%s: HTTP %s, %d produced, %d unchanged", spec.url, status, produced, same
            )


def record_poll_metrics(result: PollResult) -> None:
    """Count one completed poll (after its articles were acknowledged by Kafka)."""
    fetched = result.fetch
    if fetched.error:
        kind = fetched.error.split(":", 1)[0][:40] if fetched.status == 0 else "http"
        metrics.FEED_FETCH_ERRORS.labels(kind).inc()
    metrics.FEED_POLLS.labels(f"{fetched.status // 100}xx" if fetched.status else "none").inc()
    if fetched.not_modified:
        metrics.FEED_NOT_MODIFIED.inc()
    if result.parse is not None:
        metrics.FEED_PARSE_PROBLEMS.inc(len(result.parse.problems))
    metrics.ARTICLES_PRODUCED.inc(len(result.articles))
