"""The one place where wirewatch overrides faust-streaming (0.15.3, the latest release).

- :class:`SeekFirstRecovery`: the order in which a worker starts its streams
  after table recovery. Faust resumes the source partitions, then seeks them
  to the committed offsets (one broker round trip per assigned partition,
  changelogs included), and only then calls ``flow_control.resume()``, which
  empties every stream queue. Records the fetcher delivered meanwhile are
  dropped while the fetch position is already past them, so the agent never
  sees them and Faust's commit stops before them for good. Upstream:
  https://github.com/faust-streaming/faust/issues/596 (open, no fix released).
  Here the seek and the emptying happen while the source partitions are still
  paused, and the partitions are resumed last.
- :class:`SnapshotFetchConsumer`: which partitions a fetch may return. Without
  it, records fetched while table recovery ends are dropped (see the class).
- :class:`PartitionerRocksDBStore`: which RocksDB database a table write goes
  to. Upstream, a write outside an event's processing fails, and one inside
  goes to the source record's partition, not to the changelog's (see the class).
- :class:`ShortWaitConsumerThread`: how long the broker may hold a worker's
  fetch. Faust fixes it at 1.5 s, and the source partition's new records wait
  behind such a fetch (see the class).
- :class:`IdempotentProducer`: Faust enables producer idempotence only inside
  transactions; wirewatch wants it always (no duplicates from producer retries).
  It also learns the changelog topics' partitions before the first table write
  (see :meth:`IdempotentProducer.learn_partitions`).

They are installed through Faust's own settings (``TableManager``, ``store``),
its store registry and its transport's class attributes, by :func:`app_overrides`
and at import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, cast

from faust import stores
from faust.stores import rocksdb as faust_rocksdb
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

# How long the broker may hold a worker's fetch when its partitions have no new
# data (see ShortWaitConsumerThread). In bench/e2e.py at 200 articles/s and a
# 10k window, p50 / p99 from produce to news.events: 1,500 ms (Faust's): 1,621 /
# 2,108 ms; 100 ms: 252 / 575 ms; 50 ms: 124 / 605 and 82 / 324 ms; 10 ms: 367 /
# 1,220 ms (more idle fetches to serve on two busy cores).
FETCH_MAX_WAIT_MS = 50


class SeekFirstRecovery(Recovery):
    """Recovery that seeks and empties the stream queues before resuming the source topics."""

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Faust's ``Recovery.on_recovery_completed`` with the stream start-up reordered."""
        app = cast(Any, self.app)
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning("Recovery rebalancing again")
            return
        sources = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        if assignment:
            # Still paused: Faust hands the streams nothing of them while the
            # seek awaits the committed offsets (see SnapshotFetchConsumer).
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        self.completed.set()
        # Empties the stream queues (clear_on_resume) before a source record is
        # fetched, instead of after: nothing fetched at the new position is lost.
        app.flow_control.resume()
        consumer.resume_partitions(sources)
        consumer.resume_flow()
        await app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")


class SeekFirstTableManager(TableManager):
    """Faust's table manager, with :class:`SeekFirstRecovery` as its recovery service."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


class SnapshotFetchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, fetching only the partitions active when a fetch starts.

    Faust hands aiokafka its live set of active partitions. While aiokafka waits
    for data, Faust may pause partitions, emptying that set (it does so at the
    end of table recovery), and aiokafka reads an empty set as *every*
    partition: it returns the source topic's records, advances its position past
    them, and Faust discards them as not active. The records are never seen
    again. robinhood/faust#69 fixed this race with a lock that faust-streaming
    no longer has. A copy taken when the fetch starts cannot empty itself.
    """

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        snapshot = None if active_partitions is None else set(active_partitions)
        return await super()._getmany(snapshot, timeout)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)


class ShortWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread, with the broker's fetch wait bounded to FETCH_MAX_WAIT_MS.

    Faust 0.15.3 builds its worker's consumer with ``fetch_max_wait_ms=1500``
    written into ``AIOKafkaConsumerThread._create_worker_consumer``; no setting
    reaches it, and no upstream issue asks for one (faust-streaming/faust#306,
    open, reports agents slow to see new messages after an idle spell). aiokafka
    leaves a partition whose fetched records are not yet consumed out of the
    next fetch request, and sends one request per broker at a time. So while
    the agent works on a batch, the request in flight names only partitions
    without new data (Faust's ``__assignor-__leader`` partition), the broker
    holds it for the whole wait, and the source partition's next records wait
    behind it: at 200 articles/s, half of them reached ``news.events`` 1.6 s
    after they were produced.
    """

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer with idempotence on, inside transactions or not."""

    # mode names a service's logger after its module; keep Faust's chatter under "faust".
    logger = logging.getLogger("faust.transport.producer")

    def _settings_extra(self) -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}

    async def learn_partitions(self, topics: Iterable[str]) -> None:
        """Keep the partition metadata of ``topics`` in the producer, from now on.

        A table with ``use_partitioner`` places each changelog record with
        ``key_partition``, synchronously, from what the producer already knows:
        before the producer has sent to a topic, that is nothing, and a table
        write raises TypeError. ``add_topic`` also keeps the topic in every
        later metadata refresh; ``partitions_for`` alone does not when the
        topic happens to be known already, and a refresh then drops it again.
        """
        producer = self._ensure_producer()
        for topic in topics:
            await producer.client.add_topic(topic)
            await producer.partitions_for(topic)


class PartitionerRocksDBStore(faust_rocksdb.Store):
    """Faust's RocksDB store, keeping a key in the partition its changelog record went to.

    Upstream ``Store._set`` asserts that a stream event is being processed and
    writes to that event's partition (faust-streaming/faust#261, open). A table
    with ``use_partitioner`` is written outside any one event (once per batch
    here), and its changelog record goes to the partition the producer's
    partitioner picks from the key: a restarted worker recovers the key into
    that partition's database, so the live write belongs there too.
    """

    def _set(self, key: bytes, value: bytes | None) -> None:
        if not self.table.use_partitioner:
            super()._set(key, value)
            return
        topic = self.table.changelog_topic.get_topic_name()
        partition = self.app.producer.key_partition(topic, key).partition
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)


STORE_URL = "wirewatch-rocksdb://"
stores.STORES.aliases["wirewatch-rocksdb"] = f"{__name__}:PartitionerRocksDBStore"
faust_aiokafka.Transport.Producer = IdempotentProducer
faust_aiokafka.Transport.Consumer = SnapshotFetchConsumer


def app_overrides() -> dict[str, Any]:
    """The ``faust.App`` settings that install these overrides."""
    return {"TableManager": SeekFirstTableManager, "store": STORE_URL}
