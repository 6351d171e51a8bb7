"""The health state machine: observations in, one start and one recovery out per condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.health.core import (
    HealthCore,
    Observations,
    StageObservation,
    TargetObservation,
    quantile,
)
from alerts.health.monitor import format_health
from wirewatch.events import FeedStatus
from wirewatch.health_config import HealthConfig, load_health_config

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def feed(url: str, failures: int = 0, **extra: object) -> FeedStatus:
    return FeedStatus.model_validate(
        {
            "url": url,
            "last_poll": T0,
            "consecutive_failures": failures,
            "last_success": T0 - timedelta(minutes=30) if failures else T0,
            "last_error": "HTTP 500" if failures else "",
            "updated_at": T0,
            **extra,
        }
    )


def feeds(n: int, failing: dict[int, int]) -> dict[str, FeedStatus]:
    return {
        f"http://127.0.0.1/f{i}": feed(f"http://127.0.0.1/f{i}", failing.get(i, 0))
        for i in range(n)
    }


def kinds(events: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return [(e.kind, e.subject, e.state) for e in events]


def test_feed_failing_starts_once_at_the_threshold_and_recovers_once() -> None:
    core = HealthCore(HealthConfig())
    url = "http://127.0.0.1/f0"
    out = []
    for failures in [1, 2, 3, 4, 5, 6, 7, 8, 0, 0]:
        out.append(kinds(core.step(Observations(T0, feeds(50, {0: failures})))))
    assert out[:4] == [[], [], [], []]
    assert out[4] == [("feed_failing", url, "started")]
    assert out[5:8] == [[], [], []]
    assert out[8] == [("feed_failing", url, "recovered")]
    assert out[9] == []


def test_failing_for_hours_counts_even_with_few_polls() -> None:
    core = HealthCore(HealthConfig())
    slow = feed("http://127.0.0.1/slow", 2, last_success=T0 - timedelta(hours=7))
    events = core.step(Observations(T0, {slow.url: slow, **feeds(20, {})}))
    assert kinds(events) == [("feed_failing", slow.url, "started")]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # The network drops for a minute: 400 of 500 feeds fail one poll. Nothing.
        ([dict.fromkeys(range(400), 1), {}], [[], []]),
        # It stays down: every feed reaches the threshold; one summary, then its recovery.
        (
            [
                dict.fromkeys(range(400), 1),
                dict.fromkeys(range(400), 6),
                dict.fromkeys(range(400), 9),
                {},
            ],
            [[], [("feeds_failing", "*", "started")], [], [("feeds_failing", "*", "recovered")]],
        ),
    ],
)
def test_many_feeds_failing_at_once_send_one_summary(
    steps: list[dict[int, int]], expected: list[list[tuple[str, str, str]]]
) -> None:
    core = HealthCore(HealthConfig())
    got = [kinds(core.step(Observations(T0, feeds(500, s)))) for s in steps]
    assert got == expected


def test_feed_silent_far_longer_than_its_own_gap() -> None:
    core = HealthCore(HealthConfig())
    hourly = tuple(3600.0 for _ in range(20))
    quiet = feed("http://127.0.0.1/q", item_gaps_s=hourly, last_item_at=T0 - timedelta(hours=11))
    assert core.step(Observations(T0, {quiet.url: quiet})) == []
    later = T0 + timedelta(hours=2)
    moved = quiet.model_copy(update={"last_poll": later})
    assert kinds(core.step(Observations(later, {quiet.url: moved}))) == [
        ("feed_silent", quiet.url, "started")
    ]
    back = moved.model_copy(update={"last_item_at": later})
    assert kinds(core.step(Observations(later, {quiet.url: back}))) == [
        ("feed_silent", quiet.url, "recovered")
    ]


def test_target_failing_and_dead_letters() -> None:
    core = HealthCore(HealthConfig())
    key = "json://127.0.0.1:9/hook"
    seq = [TargetObservation(1), TargetObservation(2), TargetObservation(3, 0, "refused")]
    seq += [TargetObservation(4), TargetObservation(0, 1), TargetObservation()]
    got = [kinds(core.step(Observations(T0, targets={key: s}))) for s in seq]
    assert got == [
        [],
        [],
        [("target_failing", key, "started")],
        [],
        [],
        [("target_failing", key, "recovered")],
    ]


def test_stage_down_only_after_the_grace_and_unknown_keeps_state() -> None:
    core = HealthCore(HealthConfig())
    at = [T0 + timedelta(seconds=s) for s in (0, 100, 200, 230, 260)]
    members = [0, 0, 0, None, 1]
    got = [
        kinds(core.step(Observations(t, stages={"processor": StageObservation(m, 0)})))
        for t, m in zip(at, members, strict=True)
    ]
    assert got == [
        [],
        [],
        [("stage_down", "processor", "started")],
        [],
        [("stage_down", "processor", "recovered")],
    ]


def test_processor_lag_above_the_bound_for_long_enough() -> None:
    core = HealthCore(HealthConfig())
    got = [
        kinds(core.step(Observations(T0 + timedelta(seconds=s), stages={"processor": o})))
        for s, o in [
            (0, StageObservation(1, 20_000)),
            (599, StageObservation(1, 20_000)),
            (601, StageObservation(1, 20_000)),
            (700, StageObservation(1, 10)),
        ]
    ]
    assert got == [[], [], [("stage_stalled", "processor", "started")],
                   [("stage_stalled", "processor", "recovered")]]  # fmt: skip


def test_a_restarted_core_resumes_without_alerting_again() -> None:
    first = HealthCore(HealthConfig())
    (started,) = first.step(Observations(T0, feeds(20, {3: 7})))
    again = HealthCore(HealthConfig(), [started])
    assert again.step(Observations(T0, feeds(20, {3: 8}))) == []
    assert kinds(again.step(Observations(T0, feeds(20, {})))) == [
        ("feed_failing", started.subject, "recovered")
    ]
    message = format_health(started)
    assert message.title == f"wirewatch health: feed failing: {started.subject}"
    assert "7 failed polls in a row" in message.body


def test_quantile() -> None:
    assert quantile([], 0.9) == 0.0
    assert quantile([5.0, 1.0, 3.0], 0.9) == 5.0
    assert quantile([float(i) for i in range(1, 11)], 0.9) == 9.0


def test_health_config_errors_have_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/a:\n      tag: ops\n"
        "health:\n  notify: [ops, pager]\n  feeds:\n    failures: 0\n    colour: red\n"
    )
    config, errors = load_health_config(path, {"ops"})
    assert config == HealthConfig()
    assert errors == [
        f"{path}:8: health.feeds.failures: Input should be greater than or equal to 1",
        f"{path}:9: health.feeds.colour: Extra inputs are not permitted",
    ]
    path.write_text("version: 1\nhealth:\n  notify: [ops, pager]\n  targets: {failures: 2}\n")
    config, errors = load_health_config(path, {"ops"})
    assert config.targets.failures == 2
    assert errors == [f"{path}:3: health.notify: no target carries tag 'pager'"]


def test_rule_quiet_starts_after_quiet_days_and_recovers_on_a_match(tmp_path: Path) -> None:
    from alerts.health.quiet_rules import format_digest, read_rule_ids
    from wirewatch.health_config import RulesHealthPolicy

    core = HealthCore(HealthConfig(rules=RulesHealthPolicy(quiet_days=2)))
    since = T0 - timedelta(days=3)
    steps = [
        {"a": T0 - timedelta(hours=1), "b": since},
        {"a": T0 - timedelta(hours=1), "b": since},
        {"a": T0, "b": T0},
    ]
    got = [kinds(core.step(Observations(T0, rules=s))) for s in steps]
    assert got == [[("rule_quiet", "b", "started")], [], [("rule_quiet", "b", "recovered")]]
    # Off without the section.
    assert HealthCore(HealthConfig()).step(Observations(T0, rules=steps[0])) == []

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - id: a\n    query: x\n  - id: b\n    query: y\n"
        "  - id: off\n    query: z\n    enabled: false\n"
    )
    assert read_rule_ids(rules) == ["a", "b"]
    assert read_rule_ids(tmp_path / "missing.yaml") == []
    started = HealthCore(HealthConfig(rules=RulesHealthPolicy(quiet_days=2))).step(
        Observations(T0, rules={"b": since})
    )
    message = format_digest(started, 2)
    assert message.title == "wirewatch health: 1 rule(s) without a match for 2 days"
    assert "- b: no match for 3.0 d" in message.body


def test_a_bad_quiet_rules_digest_is_refused_with_its_line(tmp_path: Path) -> None:
    from alerts.runtime import AlertConfigError, load_alerts_config
    from wirewatch.settings import load_settings

    notify = tmp_path / "notify.yaml"
    notify.write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/a:\n      tag: ops\n"
        "health:\n  notify: [ops]\n  rules:\n    quiet_days: 7\n    digest: weekly\n"
    )
    with pytest.raises(AlertConfigError) as err:
        load_alerts_config(load_settings(alerts={"notify_file": notify}))
    assert any(e.startswith(f"{notify}:9: health.rules.digest: ") for e in err.value.errors)
