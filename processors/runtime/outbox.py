"""One batch's output records, produced as whole Kafka batches (thin adapter).

A batch of 100 articles yields a few hundred records: events, alert decisions
and the changelog records of the worker's tables. Sending them one by one, via
``producer.send`` or Faust's per-key table writes, cost more CPU than clustering
the articles. Here they are appended to one aiokafka batch per topic partition
and sent with ``send_batch``, which keeps order within each partition.

Table records are written in the form Faust's changelog recovery reads (JSON
key, JSON value, a tombstone to delete), and set in the table's in-memory store
directly, so the table stays what Faust would have made of the same writes.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

_PARTITIONER = DefaultPartitioner()


class Outbox:
    """Collects (topic, key, value) records and sends them as batches."""

    def __init__(self, producer: AIOKafkaProducer, partitions: dict[str, list[int]]) -> None:
        self._producer = producer
        self._partitions = partitions
        self._records: dict[tuple[str, int], list[tuple[bytes, bytes | None]]] = defaultdict(list)

    def add(self, topic: str, key: bytes, value: bytes | None) -> None:
        """Queue one record; its partition is the key's, as Kafka's default partitioner picks it."""
        parts = self._partitions[topic]
        partition = parts[0] if len(parts) == 1 else _PARTITIONER(key, parts, parts)
        self._records[(topic, partition)].append((key, value))

    def put_state(self, table: Any, key: str, record: dict[str, Any] | None) -> None:
        """Set (or with ``None`` delete) a Faust table key and queue its changelog record."""
        if record is None:
            table.data.pop(key, None)
            value = None
        else:
            table.data[key] = record
            value = json.dumps(record, separators=(",", ":")).encode()
        self.add(table.changelog_topic_name, json.dumps(key).encode(), value)

    async def send(self) -> list[asyncio.Future[Any]]:
        """Send everything queued; return the futures of the broker's acknowledgements."""
        producer = self._producer
        futures: list[asyncio.Future[Any]] = []
        for (topic, partition), records in self._records.items():
            batch = producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is not None:
                    continue
                if batch.record_count():
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None) is not None:
                        continue
                # A record larger than a whole batch goes on its own.
                futures.append(await producer.send(topic, value, key=key, partition=partition))
            if batch.record_count():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
        self._records.clear()
        return futures
