"""The offset guard finds the records a stream skipped (pure part)."""

from __future__ import annotations

from aiokafka import TopicPartition

from processors.runtime.offset_guard import OffsetGuard, TailWatch, merge, progress_key

A = TopicPartition("news.raw", 0)
B = TopicPartition("news.raw", 1)


def recs(tp: TopicPartition, *offsets: int) -> list[tuple[TopicPartition, int, bytes]]:
    return [(tp, o, f"{tp.partition}-{o}".encode()) for o in offsets]


def test_first_batch_of_an_unknown_partition_has_no_hole() -> None:
    assert OffsetGuard().holes(recs(A, 40, 41, 42)) == []


def test_hole_before_the_batch_and_inside_it() -> None:
    guard = OffsetGuard({A: 10})
    assert guard.holes(recs(A, 12, 13, 17)) == [(A, 10, 12), (A, 14, 17)]


def test_redelivered_offsets_are_not_holes() -> None:
    guard = OffsetGuard({A: 10})
    assert guard.holes(recs(A, 5, 6, 7, 8, 9, 10, 11)) == []


def test_partitions_are_tracked_apart() -> None:
    guard = OffsetGuard({A: 3, B: 100})
    assert guard.holes(recs(A, 3) + recs(B, 102)) == [(B, 100, 102)]


def test_advance_moves_forward_only_and_reports_what_moved() -> None:
    guard = OffsetGuard({A: 10})
    assert guard.advance(recs(A, 4, 5)) == {}
    assert guard.advance(recs(A, 10, 11) + recs(B, 0)) == {A: 12, B: 1}
    assert guard.expected == {A: 12, B: 1}


def test_merge_puts_refetched_records_in_offset_order() -> None:
    merged = merge(recs(A, 12, 13) + recs(B, 1), recs(A, 10, 11))
    order = [(tp.partition, o) for tp, o, _ in merged]
    assert order == [(0, 10), (0, 11), (0, 12), (0, 13), (1, 1)]


def test_progress_key_names_topic_and_partition() -> None:
    assert progress_key(B) == "news.raw:1"


def test_load_reads_persisted_progress_and_never_moves_back() -> None:
    guard = OffsetGuard({A: 50})
    guard.load([(progress_key(A), {"next": 40}), (progress_key(B), {"next": 7})])
    assert guard.expected == {A: 50, B: 7}


def test_tail_is_owed_after_a_whole_quiet_interval_only() -> None:
    watch = TailWatch()
    # First quiet look: records wait beyond the expected offset; they may be on their way.
    assert watch.owed({A: 10}, {A: 14}, quiet=True) == []
    # A whole quiet interval later, still not handed over: owed.
    assert watch.owed({A: 10}, {A: 14}, quiet=True) == [(A, 10, 14)]
    # Reported once; the next look starts the wait over.
    assert watch.owed({A: 10}, {A: 14}, quiet=True) == []


def test_tail_wait_restarts_when_batches_flow_or_the_offset_moves() -> None:
    watch = TailWatch()
    assert watch.owed({A: 10}, {A: 14}, quiet=True) == []
    assert watch.owed({A: 10}, {A: 14}, quiet=False) == []
    assert watch.owed({A: 10}, {A: 14}, quiet=True) == []
    assert watch.owed({A: 12}, {A: 14}, quiet=True) == []
    assert watch.owed({A: 12}, {A: 14}, quiet=True) == [(A, 12, 14)]


def test_tail_ignores_caught_up_and_unknown_partitions() -> None:
    watch = TailWatch()
    for _ in range(3):
        assert watch.owed({A: 14}, {A: 14, B: 9}, quiet=True) == []
