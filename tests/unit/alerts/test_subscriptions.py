"""The subscriptions: section of notify.yaml: validation with lines, and which one applies."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts.offsets import OffsetTracker
from alerts.subscriptions import Subscription, load_subscriptions


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_section_or_file_gives_defaults(tmp_path: Path) -> None:
    assert load_subscriptions(tmp_path / "none.yaml", "Europe/Paris").default.timezone == (
        "Europe/Paris"
    )
    subs = load_subscriptions(write(tmp_path, "version: 1\nurls: []\nsubscriptions: {}\n"))
    assert (subs.by_tag, subs.errors) == ({}, [])


def test_valid_section(tmp_path: Path) -> None:
    subs = load_subscriptions(
        write(
            tmp_path,
            "subscriptions:\n"
            "  desk:\n"
            "    timezone: Europe/Berlin\n"
            "    digest: daily 08:00\n"
            "    rate_limit: 10/1h\n"
            '    quiet_hours: "22:00-07:00"\n'
            "  ops: {}\n",
        ),
        default_timezone="America/New_York",
    )
    assert subs.errors == []
    assert subs.by_tag["desk"].digest_schedule is not None
    assert subs.by_tag["desk"].rate is not None
    assert subs.by_tag["ops"].timezone == "America/New_York"


def test_every_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "subscriptions:\n"
        "  desk:\n"
        "    timezone: Mars/Olympus\n"
        "    digest: weekly\n"
        "  ops:\n"
        "    rate_limit: lots\n"
        "    colour: blue\n",
    )
    errors = load_subscriptions(path).errors
    assert len(errors) == 4
    assert errors[0].startswith(f"{path}:3: subscriptions.desk.timezone:")
    assert "unknown timezone 'Mars/Olympus'" in errors[0]
    assert errors[1].startswith(f"{path}:4: subscriptions.desk.digest:")
    assert errors[2].startswith(f"{path}:6: subscriptions.ops.rate_limit:")
    assert errors[3].startswith(f"{path}:7: subscriptions.ops.colour:")


def test_which_subscription_governs_a_target(tmp_path: Path) -> None:
    subs = load_subscriptions(
        write(
            tmp_path,
            "subscriptions:\n  desk: {timezone: Europe/Berlin}\n  ops: {timezone: Asia/Tokyo}\n",
        )
    )
    # Routed by ops: the ops settings, even though the target also carries desk.
    assert subs.for_target({"desk", "ops"}, ["ops"]).timezone == "Asia/Tokyo"
    # Routed by a tag without settings: any of the target's own tags with settings.
    assert subs.for_target({"desk", "all"}, ["all"]).timezone == "Europe/Berlin"
    assert subs.for_target({"other"}, ["other"]) == Subscription()


async def test_offsets_commit_only_past_fully_handled_records() -> None:
    loop = asyncio.get_running_loop()
    tracker = OffsetTracker()
    slow, fast = loop.create_future(), loop.create_future()
    tracker.track("p0", 10, [slow])
    tracker.track("p0", 11, [fast])
    tracker.track("p0", 12, [])
    fast.set_result(None)
    assert tracker.committable() == {"p0": 10}
    tracker.committed({"p0": 10})
    assert tracker.committable() == {}
    slow.set_result(None)
    assert tracker.committable() == {"p0": 13}
    tracker.committed({"p0": 13})
    assert tracker.in_flight() == 0
    failed = loop.create_future()
    failed.set_exception(RuntimeError("boom"))
    tracker.track("p0", 13, [failed])
    assert tracker.committable() == {}
