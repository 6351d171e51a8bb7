"""RulesWatcher on a temp file: valid edits swap the book, invalid ones are logged and ignored."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from processors.rules import RuleBook, RuleChanges, RulesError, RulesWatcher, hash_content
from wirewatch.events import Article

V1 = """\
version: 1
rules:
  - id: keep
    query: cartel
  - id: edit
    query: tariff*
  - id: drop
    query: mexico
"""
V2 = """\
version: 1
rules:
  - id: keep
    query: cartel
  - id: edit
    query: tariff* NEAR/3 threat*
  - id: new
    query: extradit*
"""
BAD = "version: 1\nrules:\n  - id: keep\n    query: cartel NEAR/x\n"


def write_atomically(path: Path, text: str) -> None:
    # How editors save: write a new file, rename it over the old one.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[RuleBook, RuleChanges]] = []
        self.event = asyncio.Event()

    async def __call__(self, book: RuleBook, changes: RuleChanges) -> None:
        self.calls.append((book, changes))
        self.event.set()


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(V1, encoding="utf-8")
    return path


async def test_valid_edit_swaps_the_book_and_reports_the_changes(
    rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    watcher = RulesWatcher(rules_file, recorder, settle_s=0.01)
    assert watcher.version == hash_content(V1.encode())
    assert await watcher.poll() is False  # nothing changed yet

    write_atomically(rules_file, V2)
    with caplog.at_level(logging.INFO, logger="wirewatch.rules"):
        assert await watcher.poll() is True
    [(book, changes)] = recorder.calls
    assert book is watcher.book
    assert book.version == hash_content(V2.encode())
    assert (changes.added, changes.removed, changes.changed) == (("new",), ("drop",), ("edit",))
    assert sorted(changes) == ["drop", "edit", "new"] and len(changes) == 3
    assert "added: new; removed: drop; changed: edit" in caplog.text
    assert [m.rule_id for m in book.match(Article(id="a", title="extradited"))] == ["new"]


async def test_invalid_edit_is_logged_like_rules_check_and_the_old_book_stays(
    rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    watcher = RulesWatcher(rules_file, recorder, settle_s=0.01)
    good = watcher.book
    write_atomically(rules_file, BAD)
    with caplog.at_level(logging.ERROR, logger="wirewatch.rules"):
        assert await watcher.poll() is False
    assert watcher.book is good and recorder.calls == []
    assert f"{rules_file}:4:19: query: NEAR needs a distance" in caplog.text
    assert "    4 |     query: cartel NEAR/x" in caplog.text
    assert f"keeping version {good.version}" in caplog.text

    caplog.clear()
    os.utime(rules_file)  # same bad content again: not logged a second time
    assert await watcher.poll() is False
    assert caplog.text == ""

    write_atomically(rules_file, V2)  # fixing the file applies it
    assert await watcher.poll() is True
    assert watcher.version == hash_content(V2.encode())


async def test_rewrite_with_same_content_is_not_a_change(rules_file: Path) -> None:
    recorder = Recorder()
    watcher = RulesWatcher(rules_file, recorder, settle_s=0.01)
    write_atomically(rules_file, V1)
    assert await watcher.poll() is False
    assert recorder.calls == []


async def test_same_size_edit_within_one_mtime_tick_is_caught_by_the_rehash(
    rules_file: Path,
) -> None:
    watcher = RulesWatcher(rules_file, settle_s=0.01, rehash_every_s=0.0)
    stat = rules_file.stat()
    same_size = V1.replace("mexico", "canada")
    rules_file.write_text(same_size, encoding="utf-8")
    os.utime(rules_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # stat looks unchanged
    assert await watcher.poll() is True
    rule = watcher.book.get("drop")
    assert rule is not None and rule.query == "canada"


async def test_missing_file_keeps_the_book(
    rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = RulesWatcher(rules_file, settle_s=0.01)
    book = watcher.book
    rules_file.unlink()
    with caplog.at_level(logging.WARNING, logger="wirewatch.rules"):
        assert await watcher.poll() is False
        assert await watcher.poll() is False
    assert watcher.book is book
    assert caplog.text.count("is missing") == 1
    write_atomically(rules_file, V2)
    assert await watcher.poll() is True


async def test_run_applies_an_edit_within_a_second_and_stops(rules_file: Path) -> None:
    recorder = Recorder()
    watcher = RulesWatcher(rules_file, recorder, interval_s=0.1, settle_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    await asyncio.sleep(0.05)
    write_atomically(rules_file, V2)
    await asyncio.wait_for(recorder.event.wait(), timeout=1.0)
    stop.set()
    await asyncio.wait_for(task, timeout=1.0)
    assert watcher.version == hash_content(V2.encode())


async def test_sync_callback_and_interval_cap(rules_file: Path) -> None:
    seen: list[str] = []
    watcher = RulesWatcher(rules_file, lambda book, _changes: seen.append(book.version))
    assert watcher.interval_s == 0.5
    assert RulesWatcher(rules_file, interval_s=5).interval_s == 0.5  # never slower than 0.5 s
    write_atomically(rules_file, V2)
    await watcher.poll()
    assert seen == [hash_content(V2.encode())]


async def test_workers_watching_one_file_converge_on_one_version(rules_file: Path) -> None:
    workers = [RulesWatcher(rules_file, settle_s=0.01) for _ in range(3)]
    write_atomically(rules_file, V2)
    await workers[0].poll()  # one worker sees the intermediate edit, the others do not
    write_atomically(rules_file, V2.replace("cartel", "cartels"))
    for watcher in workers:
        await watcher.poll()
    assert len({w.version for w in workers}) == 1
    assert workers[0].version == hash_content(V2.replace("cartel", "cartels").encode())


def test_constructing_without_a_book_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(BAD)
    with pytest.raises(RulesError):
        RulesWatcher(path)
    with pytest.raises(RulesError):
        RulesWatcher.from_file(path)


async def test_a_failing_callback_does_not_stop_the_watcher(
    rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def explode(book: RuleBook, _changes: RuleChanges) -> None:
        calls.append(book.version)
        raise RuntimeError("downstream broke")

    watcher = RulesWatcher(rules_file, explode, settle_s=0.01)
    write_atomically(rules_file, V2)
    with caplog.at_level(logging.ERROR, logger="wirewatch.rules"):
        assert await watcher.poll() is True
    assert "on_change callback failed" in caplog.text
    write_atomically(rules_file, V1)
    assert await watcher.poll() is True
    assert calls == [hash_content(V2.encode()), hash_content(V1.encode())]


async def test_an_empty_rule_list_is_valid_and_matches_nothing(rules_file: Path) -> None:
    watcher = RulesWatcher(rules_file, settle_s=0.01)
    write_atomically(rules_file, "version: 1\nrules: []\n")
    assert await watcher.poll() is True
    assert watcher.book.rules == ()
    assert watcher.book.match(Article(id="a", title="cartel earthquake")) == []
