"""The dispatcher's durable state, all in Kafka: sent ledger, parked alerts, DLQ, attempts.

- sent ledger (compacted, key ``alert_id|target``): ``sending`` before a send,
  ``sent`` / ``dead_lettered`` after. Read back in full at start-up.
- pending (compacted, same key): digest / quiet-hours / overflow buffers; a
  tombstone removes an entry once it has been handled.
- dlq, deliveries and alerts_poison: append-only logs of DeadLetter, DeliveryAttempt
  and PoisonRecord records.

Writes that a restart depends on (ledger, pending, dlq) wait for the broker's ack.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer, TopicPartition

from wirewatch.events import DeadLetter, DeliveryAttempt, PendingAlert, PoisonRecord, SentRecord
from wirewatch.kafka import make_consumer
from wirewatch.settings import KafkaSettings, Settings, TopicSpec

log = logging.getLogger(__name__)


def pending_spec(settings: Settings) -> TopicSpec:
    """The compacted pending topic: explicit name, else ``<sent topic prefix>.pending``."""
    name = settings.alerts.pending_topic or (
        settings.kafka.topics.sent.name.rsplit(".", 1)[0] + ".pending"
    )
    return TopicSpec(name=name, partitions=1, retention_ms=-1, cleanup_policy="compact")


async def read_table(kafka: KafkaSettings, topic: str) -> dict[bytes, bytes]:
    """Every key's latest value in ``topic`` up to its current end; tombstones delete."""
    consumer = make_consumer(kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    table: dict[bytes, bytes] = {}
    try:
        # consumer.partitions_for_topic() only reads a cache that an unsubscribed
        # consumer never fills; ask the cluster.
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return table
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if record.key is None:
                        continue
                    if record.value is None:
                        table.pop(record.key, None)
                    else:
                        table[record.key] = record.value
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return table


class Store:
    """Writes the dispatcher's records and keeps the ledger in memory."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        topics = settings.kafka.topics
        self._producer = producer
        self._sent = topics.sent.name
        self._pending = pending_spec(settings).name
        self._dlq = topics.dlq.name
        self._deliveries = topics.deliveries.name
        self._poison = topics.alerts_poison.name
        self.ledger: dict[str, SentRecord] = {}

    def state(self, alert_id: str, target: str) -> str | None:
        record = self.ledger.get(f"{alert_id}|{target}")
        return record.state if record else None

    async def load(self, kafka: KafkaSettings) -> list[PendingAlert]:
        """Read the ledger and the parked alerts back (start-up)."""
        for key, value in (await read_table(kafka, self._sent)).items():
            try:
                self.ledger[key.decode()] = SentRecord.model_validate_json(value)
            except ValueError:
                log.error("unreadable record in %s under key %r; ignored", self._sent, key)
        parked = []
        for key, value in (await read_table(kafka, self._pending)).items():
            try:
                parked.append(PendingAlert.model_validate_json(value))
            except ValueError:
                log.error("unreadable record in %s under key %r; ignored", self._pending, key)
        return parked

    async def mark(self, record: SentRecord) -> None:
        key = record.key
        await self._producer.send_and_wait(self._sent, record.to_bytes(), key=key)
        self.ledger[key.decode()] = record

    async def forget(self, alert_id: str, target: str) -> None:
        """Drop a ``sending`` mark for a send that certainly did not start (tombstone)."""
        key = f"{alert_id}|{target}"
        await self._producer.send_and_wait(self._sent, None, key=key.encode())
        self.ledger.pop(key, None)

    async def park(self, entry: PendingAlert) -> None:
        await self._producer.send_and_wait(self._pending, entry.to_bytes(), key=entry.key)

    async def unpark(self, entries: list[PendingAlert]) -> None:
        for entry in entries:
            await self._producer.send_and_wait(self._pending, None, key=entry.key)

    async def dead_letter(self, letter: DeadLetter) -> None:
        await self._producer.send_and_wait(self._dlq, letter.to_bytes(), key=letter.key)

    async def poison(self, record: PoisonRecord) -> None:
        # Acked: the consumer skips the record on the strength of this write.
        await self._producer.send_and_wait(self._poison, record.to_bytes(), key=record.key)

    async def attempt(self, attempt: DeliveryAttempt) -> None:
        # Observability only: queue it, never wait for it.
        await self._producer.send(self._deliveries, attempt.to_bytes(), key=attempt.key)

    async def flush(self) -> None:
        await self._producer.flush()


def decode_dead_letters(table: dict[bytes, bytes]) -> list[DeadLetter]:
    letters = []
    for key, value in table.items():
        try:
            letters.append(DeadLetter.model_validate_json(value))
        except ValueError:
            log.error("unreadable dead letter under key %r; ignored", key)
    return letters
