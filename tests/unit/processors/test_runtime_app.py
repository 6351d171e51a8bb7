"""The processor's Faust app takes its consumer settings from wirewatch's settings."""

from __future__ import annotations

from pathlib import Path

from processors.runtime.app import create_app
from processors.runtime.faust_fixes import FETCH_MAX_WAIT_MS
from processors.runtime.tables import ChangelogSchema
from wirewatch.settings import AlertSettings, ProcessorSettings, load_settings

MIB = 1024 * 1024


def make_settings(tmp_path: Path, **processor: object) -> ProcessorSettings:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: q\n    query: quake\n")
    return ProcessorSettings(rules_file=rules, state_dir=tmp_path / "faust", **processor)


def test_the_fetch_size_reaches_faust_and_defaults_to_4_mib(tmp_path: Path) -> None:
    # A standby reads its tables' whole changelog in fetches of this size
    # (bench/README.md, "A standby with no local state").
    alerts = AlertSettings(notify_file=tmp_path / "none.yaml")
    default = create_app(load_settings(processor=make_settings(tmp_path), alerts=alerts))
    assert default.conf.consumer_max_fetch_size == 4 * MIB
    chosen = make_settings(tmp_path, max_fetch_bytes=2 * MIB, app_id="other")
    app = create_app(load_settings(processor=chosen, alerts=alerts))
    assert app.conf.consumer_max_fetch_size == 2 * MIB


def test_both_tables_read_their_changelog_back_through_the_raw_schema(tmp_path: Path) -> None:
    alerts = AlertSettings(notify_file=tmp_path / "none.yaml")
    app = create_app(load_settings(processor=make_settings(tmp_path), alerts=alerts))
    assert sorted(app.tables) == ["alert-state", "dedup-state"]
    for table in app.tables.values():
        assert isinstance(table.changelog_topic.schema, ChangelogSchema)


async def test_the_worker_consumer_bounds_how_long_the_broker_holds_a_fetch(
    tmp_path: Path,
) -> None:
    # Faust's own consumer lets the broker hold a fetch for 1.5 s, and a source
    # partition's new records waited behind it (faust_fixes.ShortWaitConsumerThread).
    alerts = AlertSettings(notify_file=tmp_path / "none.yaml")
    app = create_app(load_settings(processor=make_settings(tmp_path), alerts=alerts))
    thread = app.consumer._new_consumer_thread()  # type: ignore[attr-defined]
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
        assert FETCH_MAX_WAIT_MS <= 100
    finally:
        await consumer.stop()  # never started: nothing to leave open
