"""The health topic read back: which conditions are active now (for a restart and for status)."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError

from wirewatch.events import HealthEvent
from wirewatch.kafka import make_consumer, topic_partitions
from wirewatch.settings import Settings


async def load_active(settings: Settings) -> list[HealthEvent]:
    """The conditions the health topic says are active (latest record per condition)."""
    consumer = make_consumer(settings.kafka, group_id=None)
    topic = settings.kafka.topics.health.name
    latest: dict[bytes, Any] = {}
    await consumer.start()
    try:
        partitions = await topic_partitions(settings.kafka, topic)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if record.key is not None:
                        latest[record.key] = record.value
    finally:
        await consumer.stop()
    events = []
    for value in latest.values():
        if value is None:
            continue
        with contextlib.suppress(ValidationError):
            events.append(HealthEvent.model_validate_json(value))
    return [e for e in events if e.state == "started"]
