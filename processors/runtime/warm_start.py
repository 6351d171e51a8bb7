"""A story window built from the local table store while the worker starts, checked before use.

A restarted worker's RocksDB store already holds its window, and rebuilding the
in-memory window from it takes seconds at a large window. Starting takes
seconds too: after a kill -9 the group waits for the dead member for up to
``processor.session_timeout_s``. So the build starts at once, in a thread, from
a read-only view of the store, into a pipeline of its own.

It is used only if every changelog record that recovery then applied to the
tables is one the view already held (a write made before the kill whose
acknowledgement never reached the store). Anything else, such as another
worker's writes in the meantime, and the worker rebuilds from its recovered
tables instead. ``wirewatch_state_rebuilds{source}`` says which one it used.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import msgspec
import rocksdict

from processors.pipeline import Pipeline
from processors.runtime.tables import StateJson, StateTable

log = logging.getLogger(__name__)

# Where Faust's RocksDB store keeps a partition's changelog offset.
OFFSET_KEY = b"__faust\0offset__"


class WarmStart:
    """One build of the window from the local store, and the check that it may be used."""

    def __init__(self, pipeline: Pipeline, window: StateTable, alerts: StateTable) -> None:
        self.tables = (window, alerts)
        # Hashes of the values the view held, per table and key: what a
        # recovered record is compared with.
        self.seen: dict[str, dict[bytes, int]] = {window.name: {}, alerts.name: {}}
        self.counts = (0, 0)
        paths = [store_path(table) for table in self.tables]
        for table in self.tables:
            table.recovered = []
        executor = ThreadPoolExecutor(1, thread_name_prefix="warm-start")
        self._future: Future[Pipeline] = executor.submit(self._build, pipeline, paths)
        executor.shutdown(wait=False)

    @classmethod
    def maybe_start(
        cls, pipeline: Pipeline, window: StateTable, alerts: StateTable
    ) -> WarmStart | None:
        """Start a build if this worker has a local store of its story window."""
        if not store_path(window).is_dir():
            return None
        return cls(pipeline, window, alerts)

    async def take(self) -> Pipeline | None:
        """The built pipeline if it matches the recovered tables, else None."""
        try:
            pipeline = await asyncio.wrap_future(self._future)
        except Exception:
            log.exception("building the window from the local store failed")
            return None
        finally:
            recovered = [(table.name, table.recovered or []) for table in self.tables]
            self.drop()
        for name, records in recovered:
            seen = self.seen[name]
            if any(seen.get(key) != value for key, value in records):
                log.info("the changelog of %s holds writes the local store lacked", name)
                return None
        return pipeline

    def drop(self) -> None:
        """Stop noting recovered records; the build, if still running, is left to finish."""
        for table in self.tables:
            table.recovered = None

    def _build(self, pipeline: Pipeline, paths: list[Path]) -> Pipeline:
        names = [table.name for table in self.tables]
        restore_from_stores(pipeline, paths[0], paths[1], self.seen[names[0]], self.seen[names[1]])
        self.counts = (len(self.seen[names[0]]), len(self.seen[names[1]]))
        return pipeline


def restore_from_stores(
    pipeline: Pipeline,
    window_path: Path,
    alerts_path: Path,
    window_seen: dict[bytes, int],
    alerts_seen: dict[bytes, int],
) -> None:
    """Rebuild ``pipeline`` from two table stores, noting each value's hash per key in ``seen``."""
    # The collector would walk the growing window again and again while it
    # is built (it doubled a rebuild's time); nothing built here is garbage.
    gc.disable()
    try:
        # The window's values go in as stored: the clusterer decodes an entry's
        # features only when it first reads them.
        window = read_store(window_path, window_seen, decode=False)
        pipeline.restore(window, read_store(alerts_path, alerts_seen))
    finally:
        gc.enable()


def read_store(
    path: Path, seen: dict[bytes, int], *, decode: bool = True
) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a table partition's store, read-only, in one uncached scan;
    values decoded, or with ``decode=False`` as the stored bytes."""
    if not path.is_dir():
        return
    options = rocksdict.Options(raw_mode=True)
    # Every file opened now: the worker's own store may compact and delete
    # files while this view still reads them.
    options.set_max_open_files(-1)
    db = rocksdict.Rdict(str(path), options=options, access_type=rocksdict.AccessType.read_only())
    codec = StateJson()
    # One sequential scan: caching its blocks would only grow the process.
    scan = rocksdict.ReadOptions()
    scan.fill_cache(False)  # type: ignore[call-arg]  # the stub omits the argument
    try:
        for key, value in db.items(read_opt=scan):
            if key == OFFSET_KEY or not isinstance(key, bytes):
                continue
            seen[key] = hash(value)
            yield decode_key(key), codec.loads(cast(bytes, value)) if decode else value
    finally:
        db.close()


# Faust writes a table's keys as JSON strings.
decode_key = msgspec.json.Decoder().decode


def store_path(table: StateTable) -> Path:
    """Where Faust's RocksDB store keeps the table's one partition."""
    return cast(Path, cast(Any, table.data).partition_path(0))
