"""Per-subscription pacing settings: the ``subscriptions:`` section of notify.yaml.

Apprise's YAML has no place for a subscriber's timezone, digest, rate limit or quiet
hours, and apprise ignores top-level keys it does not know (checked by a unit test),
so they live beside ``urls:`` in the same file, keyed by tag::

    subscriptions:
      desk:
        timezone: Europe/Berlin
        digest: hourly            # or "every 15m", "daily 08:00"
        rate_limit: 10/1h
        quiet_hours: "22:00-07:00"
        templates: {slack: desk_slack.j2}   # relative to notify.yaml

A target takes the settings of the first (sorted) tag it carries that the alert was
routed by and that has an entry here; otherwise of any of its tags with an entry;
otherwise the defaults (``alerts.timezone``, immediate, no limit, no quiet hours).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from alerts.schedule import (
    DigestSchedule,
    QuietHours,
    RateLimit,
    ScheduleError,
    parse_digest,
    parse_quiet_hours,
    parse_rate_limit,
)

TemplateFormat = Literal["slack", "html", "text", "title"]


class Subscription(BaseModel):
    """One subscriber's pacing and presentation settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"
    digest: str | None = None
    rate_limit: str | None = None
    quiet_hours: str | None = None
    templates: dict[TemplateFormat, str] = {}

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("digest", "rate_limit", "quiet_hours")
    @classmethod
    def _check_schedule(cls, value: str | None, info: Any) -> str | None:
        if value is not None:
            parser = {
                "digest": parse_digest,
                "rate_limit": parse_rate_limit,
                "quiet_hours": parse_quiet_hours,
            }[info.field_name]
            try:
                parser(value)
            except ScheduleError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_schedule(self) -> DigestSchedule | None:
        return parse_digest(self.digest) if self.digest else None

    @property
    def rate(self) -> RateLimit | None:
        return parse_rate_limit(self.rate_limit) if self.rate_limit else None

    @property
    def quiet(self) -> QuietHours | None:
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None


@dataclass(frozen=True)
class Subscriptions:
    """Subscriptions by tag, a default for everyone else, and every problem found."""

    by_tag: dict[str, Subscription] = field(default_factory=dict)
    default: Subscription = field(default_factory=Subscription)
    errors: list[str] = field(default_factory=list)
    base_dir: Path = Path()

    def for_target(self, target_tags: Iterable[str], routed_by: Iterable[str]) -> Subscription:
        """The subscription that governs one target for an alert routed by ``routed_by``."""
        tags = set(target_tags)
        for tag in sorted(tags & set(routed_by)):
            if tag in self.by_tag:
                return self.by_tag[tag]
        for tag in sorted(tags):
            if tag in self.by_tag:
                return self.by_tag[tag]
        return self.default


def _find_section(root: yaml.Node | None) -> yaml.MappingNode | None:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "subscriptions":
                return value if isinstance(value, yaml.MappingNode) else None
    return None


def _line_of(entry: yaml.Node, loc: tuple[Any, ...]) -> int:
    node = entry
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
        if not found:
            break
        node = found[0]
    return node.start_mark.line + 1


def load_subscriptions(path: Path, default_timezone: str = "UTC") -> Subscriptions:
    """Read and validate ``subscriptions:`` from ``path``; every error as ``file:line: msg``."""
    default = Subscription(timezone=default_timezone)
    path = Path(path)
    if not path.exists():
        return Subscriptions(default=default, base_dir=path.parent)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        # notify_config reports the file's syntax errors with their line already.
        return Subscriptions(default=default, errors=[f"{path}:1: cannot read: {exc}"])
    raw = data.get("subscriptions") if isinstance(data, dict) else None
    section = _find_section(root)
    if raw is None or raw == {}:
        return Subscriptions(default=default, base_dir=path.parent)
    if not isinstance(raw, dict) or section is None:
        line = section.start_mark.line + 1 if section else 1
        return Subscriptions(
            default=default, errors=[f"{path}:{line}: 'subscriptions:' must map tag -> settings"]
        )
    nodes = {k.value: (k, v) for k, v in section.value if isinstance(k, yaml.ScalarNode)}
    by_tag: dict[str, Subscription] = {}
    errors: list[str] = []
    for tag, settings in raw.items():
        key_node, value_node = nodes[str(tag)]
        merged = {"timezone": default_timezone, **(settings or {})}
        if not isinstance(settings, dict | None):
            errors.append(f"{path}:{key_node.start_mark.line + 1}: {tag}: must be a mapping")
            continue
        try:
            by_tag[str(tag)] = Subscription.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                line = _line_of(value_node, err["loc"])
                errors.append(f"{path}:{line}: subscriptions.{tag}.{where}: {err['msg']}")
    return Subscriptions(by_tag=by_tag, default=default, errors=errors, base_dir=path.parent)
