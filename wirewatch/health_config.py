"""The ``health:`` section of ``config/notify.yaml``: who gets health alerts, and when.

Apprise ignores top-level keys it does not know, so the section lives beside
``urls:`` and ``subscriptions:`` in the same (``version: 1``) file::

    health:
      notify: [ops]            # tags of the targets that get health alerts
      check_every_s: 30
      feeds: {failures: 5, failing_hours: 6, silent_factor: 4, silent_min_hours: 12}
      targets: {failures: 3}
      stages: {watch: [ingest, processor], down_after_s: 180, max_lag: 10000}
      rules: {quiet_days: 7, digest: "daily 08:00"}   # optional quiet-rules digest

Without the section (or with an empty ``notify``) conditions are still tracked,
shown by ``wirewatch status`` and ``/metrics``, but sent nowhere. Every problem
is reported as ``file:line: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeedHealthPolicy(_Section):
    # A feed fails after this many failed polls in a row, or when it has not
    # succeeded for this long while failing (slow feeds back off to hours).
    failures: int = Field(5, ge=1)
    failing_hours: float = Field(6.0, gt=0)
    # Silent: no new item for silent_factor x the feed's 90th-percentile gap
    # between new items, and at least silent_min_hours; learned from this many gaps.
    silent_factor: float = Field(4.0, ge=1)
    silent_min_hours: float = Field(12.0, gt=0)
    silent_min_gaps: int = Field(8, ge=2)
    # When this share of the feeds (and at least storm_min_feeds) fail their
    # latest poll at once, the cause is ours (network, DNS): one summary alert.
    storm_share: float = Field(0.2, gt=0, le=1)
    storm_min_feeds: int = Field(5, ge=1)
    # A feed not polled for this long is no longer watched (removed, or ingest down).
    stale_hours: float = Field(24.0, gt=0)


class TargetHealthPolicy(_Section):
    # Failed sends in a row; any dead letter also counts.
    failures: int = Field(3, ge=1)
    # Re-send what was dead-lettered during an outage once the target is back,
    # probing a failing target with its oldest dead letter this often.
    redeliver: bool = True
    probe_every_s: float = Field(60.0, gt=0)


class StageHealthPolicy(_Section):
    watch: tuple[Literal["ingest", "processor"], ...] = ("ingest", "processor")
    # A stage's consumer group with no member for this long is down.
    down_after_s: float = Field(180.0, gt=0)
    # The processor is stalled when its lag stays above max_lag for lag_for_s.
    max_lag: int = Field(10_000, ge=1)
    lag_for_s: float = Field(600.0, gt=0)
    # Ingest is stalled when no feed state has changed for this long.
    ingest_quiet_s: float = Field(1800.0, gt=0)


class RulesHealthPolicy(_Section):
    # Rules with no match for this long are listed in one digest message on this
    # schedule ("daily 08:00", "every 6h", ...: the subscriptions' digest syntax).
    quiet_days: float = Field(7.0, gt=0)
    digest: str = "daily 08:00"


class HealthConfig(_Section):
    notify: tuple[str, ...] = ()
    check_every_s: float = Field(30.0, gt=0)
    feeds: FeedHealthPolicy = FeedHealthPolicy()
    targets: TargetHealthPolicy = TargetHealthPolicy()
    stages: StageHealthPolicy = StageHealthPolicy()
    # Off unless given: the quiet-rules digest reads news.events back quiet_days.
    rules: RulesHealthPolicy | None = None


def _section(root: yaml.Node | None) -> yaml.Node | None:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "health":
                return value if isinstance(value, yaml.Node) else None
    return None


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not found:
                break
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1


def health_line(path: Path, loc: tuple[Any, ...]) -> int:
    """The line of ``health.<loc>`` in ``path`` (1 if it cannot be found)."""
    try:
        node = _section(yaml.compose(Path(path).read_text(encoding="utf-8"), yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return 1
    return _line_of(node, loc) if node is not None else 1


def load_health_config(
    path: Path, known_tags: set[str] | None = None
) -> tuple[HealthConfig, list[str]]:
    """The ``health:`` section of ``path`` (defaults if absent) and every problem in it."""
    path = Path(path)
    if not path.exists():
        return HealthConfig(), []
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return HealthConfig(), []  # notify_config reports the file's own syntax errors
    raw = data.get("health") if isinstance(data, dict) else None
    node = _section(root)
    if raw is None or node is None:
        return HealthConfig(), []
    try:
        config = HealthConfig.model_validate(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "health"
            line = _line_of(node, tuple(err["loc"]))
            errors.append(f"{path}:{line}: health.{where}: {err['msg']}")
        return HealthConfig(), errors
    errors = []
    if known_tags is not None:
        for index, tag in enumerate(config.notify):
            if tag not in known_tags:
                line = _line_of(node, ("notify", index))
                errors.append(f"{path}:{line}: health.notify: no target carries tag {tag!r}")
    return config, errors
