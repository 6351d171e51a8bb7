"""Which consumer offsets are safe to commit: only past records that are fully handled."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class OffsetTracker:
    """Per partition, records in order with the sends each still waits for.

    The commit point of a partition is the first record not yet handled, so an
    alert whose send is still retrying holds back the commit of everything after
    it; after a crash those later records are read again and deduplicated.
    """

    def __init__(self) -> None:
        self._records: dict[Any, deque[tuple[int, list[asyncio.Future[None]]]]] = {}
        self._next: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}

    def track(self, tp: Any, offset: int, futures: list[asyncio.Future[None]]) -> None:
        self._records.setdefault(tp, deque()).append((offset, futures))
        self._next[tp] = offset + 1

    def in_flight(self) -> int:
        return sum(len(records) for records in self._records.values())

    def committable(self) -> dict[Any, int]:
        """Offsets to commit now (the next offset to read), for partitions that moved."""
        result = {}
        for tp, records in self._records.items():
            point = self._next[tp]
            for offset, futures in records:
                if not all(_handled(f) for f in futures):
                    point = offset
                    break
            if point != self._committed.get(tp):
                result[tp] = point
        return result

    def committed(self, offsets: dict[Any, int]) -> None:
        """Forget records below the offsets the broker has accepted."""
        for tp, point in offsets.items():
            self._committed[tp] = point
            records = self._records.get(tp, deque())
            while records and records[0][0] < point:
                records.popleft()


def _handled(future: asyncio.Future[None]) -> bool:
    # A cancelled or crashed send is not handled: its record is re-read after a restart.
    return future.done() and not future.cancelled() and future.exception() is None
