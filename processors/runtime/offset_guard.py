"""At-least-once guard: find offsets the stream skipped, and read them back.

Faust can drop records it has fetched without handing them to the agent. The
case seen here, with Faust's debug log: when table recovery completes, Faust
resumes the news.raw partition and seeks it to the committed offset, and only
then calls ``flow_control.resume()``, which empties every stream queue
(``clear_on_resume``). Records the fetcher delivered in between are gone, while
the fetch position is already past them. The agent's first batch gets the
first of them, the rest vanish (offsets 106-779 of 3,000 in one run; 14 of 15
benchmark worker starts), and since Faust never sees them acknowledged, its
commit stops before them for good. (Faust also skips, and acknowledges, records
that arrive while flow control is paused or that carry an older consumer
generation.)

So the worker keeps its own account of the next offset it expects per
partition (persisted with its state, so it survives restarts and takeovers): a
batch that starts beyond it has a hole, and the hole is read back straight from
Kafka and processed first, in offset order. Once its outputs have landed, the
range is acknowledged to Faust (see processors.runtime.app), so the commit moves on.

A hole is only seen when a later record arrives. When the skipped records are
the last ones (the feeds went quiet, as in a chaos run where the worker was
killed after ingest had produced everything), nothing arrives to reveal them,
so :class:`TailWatch` also compares the expected offsets with the partitions'
end offsets while the stream is quiet.

Offsets below the expected one are redeliveries (after a crash or a seek back
to the committed offset) and are processed again, as at-least-once requires;
the pipeline recognises an article it has already clustered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from wirewatch.kafka import make_consumer
from wirewatch.settings import KafkaSettings

log = logging.getLogger(__name__)

# (partition, offset, value): one record of news.raw as the agent handles it.
Record = tuple[TopicPartition, int, bytes]


def progress_key(tp: TopicPartition) -> str:
    """The key under which a partition's next expected offset is persisted."""
    return f"{tp.topic}:{tp.partition}"


@dataclass
class OffsetGuard:
    """The next offset expected per partition, and the holes before a batch (pure)."""

    expected: dict[TopicPartition, int] = field(default_factory=dict)

    def holes(self, records: Sequence[Record]) -> list[tuple[TopicPartition, int, int]]:
        """Ranges ``[start, end)`` skipped before or inside this batch, per partition."""
        found: list[tuple[TopicPartition, int, int]] = []
        cursor = dict(self.expected)
        for tp, offset, _ in records:
            want = cursor.get(tp)
            if want is not None and offset > want:
                found.append((tp, want, offset))
            if want is None or offset + 1 > want:
                cursor[tp] = offset + 1
        return found

    def load(self, persisted: Iterable[tuple[str, dict[str, int]]]) -> None:
        """Take the expected offsets persisted under :func:`progress_key` (never moving back)."""
        for key, value in persisted:
            topic, _, partition = key.rpartition(":")
            tp = TopicPartition(topic, int(partition))
            self.expected[tp] = max(self.expected.get(tp, 0), int(value["next"]))

    def advance(self, records: Iterable[Record]) -> dict[TopicPartition, int]:
        """Record a handled batch; return the partitions whose expected offset moved."""
        moved: dict[TopicPartition, int] = {}
        for tp, offset, _ in records:
            if offset + 1 > self.expected.get(tp, -1):
                self.expected[tp] = moved[tp] = offset + 1
        return moved


@dataclass
class TailWatch:
    """Records the stream owes at the end of a partition (pure).

    A partition whose end offset lies beyond the expected one, and whose
    expected offset did not move during a whole quiet check interval (the agent
    was handed nothing), has records the stream is not going to deliver.
    """

    _waiting: dict[TopicPartition, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget what waits: the stream is busy, or the check could not look."""
        self._waiting.clear()

    def owed(
        self,
        expected: Mapping[TopicPartition, int],
        ends: Mapping[TopicPartition, int],
        quiet: bool,
    ) -> list[tuple[TopicPartition, int, int]]:
        """Ranges ``[start, end)`` owed now; ``quiet``: no batch since the last check."""
        if not quiet:
            # Records are flowing: whatever waits may still be delivered.
            self.reset()
            return []
        found: list[tuple[TopicPartition, int, int]] = []
        for tp, end in ends.items():
            want = expected.get(tp)
            if want is None or end <= want:
                self._waiting.pop(tp, None)
                continue
            if self._waiting.get(tp) == want:
                found.append((tp, want, end))
                del self._waiting[tp]
            else:
                self._waiting[tp] = want
        return found


def merge(records: Sequence[Record], refetched: Sequence[Record]) -> list[Record]:
    """The batch with the refetched records in place, in offset order per partition."""
    return sorted([*records, *refetched], key=lambda r: (r[0].topic, r[0].partition, r[1]))


async def read_range(
    kafka: KafkaSettings, tp: TopicPartition, start: int, end: int
) -> list[Record]:
    """Records ``[start, end)`` of one partition, read without a consumer group.

    Records deleted by retention meanwhile cannot be read back; they are
    reported, not waited for. Records still there that cannot be read (the
    broker does not answer) raise OSError.
    """
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        first = (await consumer.beginning_offsets([tp]))[tp]
        if first > start:
            log.error(
                "offsets %d-%d of %s were deleted before they could be re-read",
                start,
                first - 1,
                tp,
            )
            start = first
        consumer.seek(tp, start)
        out: list[Record] = []
        while start < end:
            batch = await consumer.getmany(tp, timeout_ms=5000, max_records=end - start)
            got = batch.get(tp, [])
            if not got:
                # Raising stops the batch unacknowledged: a restarted worker is
                # handed these records again, instead of this one passing them by.
                raise OSError(f"offsets {start}-{end - 1} of {tp} could not be re-read")
            for rec in got:
                if rec.offset < end and rec.value is not None:
                    out.append((tp, rec.offset, rec.value))
            start = got[-1].offset + 1
        return out
    finally:
        await consumer.stop()
