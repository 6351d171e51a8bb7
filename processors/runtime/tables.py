"""The processor's Faust tables: kept in RocksDB on local disk, counting what recovery reads.

Each table partition is a RocksDB database (through rocksdict) under the worker's
data directory, ``processor.state_dir / app_id``, and holds the changelog offset it
has applied. A restarted worker therefore reads only the changelog records
written after that offset; a worker with no local state (a new standby, a wiped
disk) reads the whole changelog. ``wirewatch_state_records_recovered`` counts
the records read, per table.

Values are JSON, written and read through msgspec (codec ``state-json``): a
restart decodes every window record once, and msgspec decodes them about twice
as fast as the standard library. Keys stay Faust's JSON, so the compacted
changelogs keep matching the keys earlier versions wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import faust
import msgspec
from faust.serializers import codecs

from wirewatch import metrics

MIB = 1024 * 1024

# Faust's RocksDB defaults are sized for a server of its own: a 2 GiB block
# cache and three 64 MiB memtables per partition. The processor keeps its
# window in memory (the story index) and reads a table back only to rebuild
# that index at start, in one sequential scan that a cache does not speed up.
# Writes are about 1 KB per article. Small caches keep the process within its
# memory budget (bench/README.md, the restart rows).
STORE_OPTIONS: dict[str, Any] = {
    "block_cache_size": 4 * MIB,
    "block_cache_compressed_size": 0,
    "write_buffer_size": 4 * MIB,
    "max_write_buffer_number": 2,
}


class StateJson(codecs.Codec):
    """JSON through msgspec; reads what the standard library's JSON wrote too."""

    _encoder = msgspec.json.Encoder()
    _decoder = msgspec.json.Decoder()

    def _dumps(self, obj: Any) -> bytes:
        return self._encoder.encode(obj)

    def _loads(self, s: bytes) -> Any:
        try:
            return self._decoder.decode(s)
        except msgspec.DecodeError:
            # The standard library writes a non-finite float as NaN or
            # Infinity, which is not JSON; records from before may hold one.
            return json.loads(s)


STATE_CODEC = "state-json"
codecs.register(STATE_CODEC, StateJson())


class ChangelogSchema(faust.Schema[Any, Any]):
    """The tables' changelog records as read back: events that keep the record's bytes.

    Recovery turns every changelog record it reads into an event, decoding its key
    and value through this schema, but Faust's stores apply the message's own bytes
    (``message.key``, ``message.value``) and never read the decoded pair. A standby's
    recovery of 126k records took 25 s with that decoding and 16 s without
    (bench/README.md, "A standby with no local state"). Writes still go out through
    the tables' codecs.
    """

    def loads_key(
        self, app: Any, message: Any, *, loads: Any = None, serializer: Any = None
    ) -> Any:
        return message.key

    def loads_value(
        self, app: Any, message: Any, *, loads: Any = None, serializer: Any = None
    ) -> Any:
        return message.value


class StateTable(faust.Table[Any, Any]):
    """Faust's table with ``state-json`` values, counting the changelog records recovery applies.

    While ``recovered`` is a list, it also notes each applied record's key and
    value hash (processors.runtime.warm_start compares them with what it read).
    """

    recovered: list[tuple[bytes, int | None]] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("schema", ChangelogSchema())
        super().__init__(*args, **kwargs)
        # Faust takes a table's value serializer from its value type's model
        # only; these tables hold plain JSON-able dicts. Set before the
        # changelog topic and the store, which copy it, are made.
        self.value_serializer = STATE_CODEC
        # Exported from the start: a restart that reads nothing shows a 0.
        metrics.STATE_RECORDS_RECOVERED.labels(self.name)

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        events = list(batch)
        metrics.STATE_RECORDS_RECOVERED.labels(self.name).inc(len(events))
        if self.recovered is not None:
            for event in events:
                value = event.message.value
                self.recovered.append((event.message.key, None if value is None else hash(value)))
        super().apply_changelog_batch(events)


def store_options() -> dict[str, Any]:
    """A fresh copy of the store options: Faust's RocksDB store pops keys from the one it gets."""
    return dict(STORE_OPTIONS)
