"""Hot reload of the rules file while a processor runs.

The watcher polls rather than using inotify: editors and config-management
tools save by writing a new file and renaming it over the old one, so a watch
on the old inode goes quiet. Every poll compares (mtime, size, inode); a change
triggers a read and a content hash, and the hash alone decides whether the
rules changed. The hash is also the book's ``version``, which every event
records. Several workers reading the same file therefore converge on the same
version on their own: they hash the same bytes, and none depends on having
seen the intermediate edits. A rewrite that keeps mtime and size (possible
within one mtime tick) is still caught by a full re-hash every
``rehash_every_s``.

A change is loaded only after the file has stopped changing for ``settle_s``,
so a non-atomic save is not read half-written. An invalid edit is logged with
the same messages as ``wirewatch rules check`` and the last good book stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from processors.rules.load import RulesError, load_rules, load_rules_bytes
from processors.rules.model import RuleBook, hash_content

log = logging.getLogger("wirewatch.rules")


@dataclass(frozen=True)
class RuleChanges:
    """Rule ids added, removed and edited between two books; iterates all of them."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[str]:
        yield from (*self.added, *self.removed, *self.changed)

    def __len__(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def describe(self) -> str:
        parts = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if ids
        ]
        return "; ".join(parts) or "no rule changed"


def diff_books(old: RuleBook, new: RuleBook) -> RuleChanges:
    """What changed between the enabled rules of ``old`` and ``new``."""
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    return RuleChanges(
        added=tuple(i for i in after if i not in before),
        removed=tuple(i for i in before if i not in after),
        changed=tuple(i for i in after if i in before and before[i] != after[i]),
    )


OnChange = Callable[[RuleBook, RuleChanges], Awaitable[None] | None]


class RulesWatcher:
    """Poll ``path`` and swap in a new :class:`RuleBook` on every valid edit.

    ``on_change(new_book, changes)`` may be sync or async. Without ``book`` the
    file is loaded now and :class:`RulesError` is raised if it is bad (a process
    refuses to start on a bad rules file; only later edits are tolerated).
    """

    def __init__(
        self,
        path: Path,
        on_change: OnChange | None = None,
        *,
        book: RuleBook | None = None,
        notify_config: Path | None = None,
        interval_s: float = 0.5,
        settle_s: float = 0.05,
        rehash_every_s: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.book: RuleBook = book or load_rules(self.path, notify_config=notify_config)
        self.on_change = on_change
        self.notify_config = notify_config
        self.interval_s = min(interval_s, 0.5)
        self.settle_s = settle_s
        self.rehash_every_s = rehash_every_s
        self.rejected: str | None = None  # hash of the last invalid content, logged once
        self._stat = self._signature()
        self._hashed_at = time.monotonic()
        self._missing_logged = False

    @property
    def version(self) -> str:
        """Version of the active book: the content hash of the file it came from."""
        return self.book.version

    @classmethod
    def from_file(
        cls,
        path: Path,
        on_change: OnChange | None = None,
        *,
        notify_config: Path | None = None,
        interval_s: float = 0.5,
    ) -> RulesWatcher:
        """Load ``path`` now (raising :class:`RulesError` if bad) and watch it."""
        book = load_rules(path, notify_config=notify_config)
        return cls(path, on_change, book=book, notify_config=notify_config, interval_s=interval_s)

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)

    async def poll(self) -> bool:
        """Check the file once; True when a new book was swapped in."""
        signature = self._signature()
        if signature is None:
            if not self._missing_logged:
                log.warning(
                    "rules file %s is missing; keeping version %s", self.path, self.book.version
                )
                self._missing_logged = True
            return False
        self._missing_logged = False
        stale = time.monotonic() - self._hashed_at >= self.rehash_every_s
        if signature == self._stat and not stale:
            return False
        data = await self._read_settled()
        self._stat = self._signature()
        self._hashed_at = time.monotonic()
        if data is None:
            return False
        version = hash_content(data)
        if version in (self.version, self.rejected):
            return False
        return await self._apply(data, version)

    async def _read_settled(self) -> bytes | None:
        # Wait until two reads agree so that a file being written is not loaded.
        previous: bytes | None = None
        for _ in range(20):
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                log.warning("cannot read rules file %s: %s", self.path, exc)
                return None
            if data == previous:
                return data
            previous = data
            await asyncio.sleep(self.settle_s)
        return previous

    async def _apply(self, data: bytes, version: str) -> bool:
        try:
            book = load_rules_bytes(self.path, data, notify_config=self.notify_config)
        except RulesError as exc:
            self.rejected = version
            log.error(
                "rules file %s rejected (%d problem(s)); keeping version %s\n%s",
                self.path,
                len(exc.errors),
                self.book.version,
                exc,
            )
            return False
        changes = diff_books(self.book, book)
        old = self.version
        self.book = book
        self.rejected = None
        log.info(
            "rules reloaded: version %s -> %s (%d enabled; %s)",
            old,
            book.version,
            len(book.rules),
            changes.describe(),
        )
        if self.on_change is not None:
            try:
                result = self.on_change(book, changes)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # The watcher must outlive a failing callback, or reloads stop for good.
                log.exception("rules version %s: on_change callback failed", book.version)
        return True
