"""Load and check everything the alert stage needs before it touches Kafka.

Targets (notify.yaml ``urls:``), subscriptions (notify.yaml ``subscriptions:``) and
templates are all validated at start-up; any problem stops the stage with every
error listed as ``file:line: message`` (with every target secret masked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alerts.delivery import Sender
from alerts.render import Renderer, TemplateProblem
from alerts.schedule import ScheduleError, parse_digest
from alerts.subscriptions import Subscription, Subscriptions, load_subscriptions
from wirewatch.health_config import HealthConfig, health_line, load_health_config
from wirewatch.notify_config import load_notify_config
from wirewatch.settings import Settings


class AlertConfigError(Exception):
    """The alert configuration is invalid; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid alert configuration:\n  " + "\n  ".join(errors))
        self.errors = errors


@dataclass
class AlertsConfig:
    sender: Sender
    subscriptions: Subscriptions
    max_chars: int
    health: HealthConfig = field(default_factory=HealthConfig)
    _renderers: dict[tuple[tuple[str, str], ...], Renderer] = field(default_factory=dict)

    def renderer_for(self, sub: Subscription) -> Renderer:
        """The (checked) renderer for a subscription's templates."""
        return self._renderers[_template_key(sub)]


def _template_key(sub: Subscription) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(sub.templates.items()))


def load_alerts_config(settings: Settings) -> AlertsConfig:
    """Targets, subscriptions and templates, or AlertConfigError with every problem."""
    notify_file = Path(settings.alerts.notify_file)
    notify = load_notify_config(notify_file)
    subs = load_subscriptions(notify_file, settings.alerts.timezone)
    health, health_errors = load_health_config(notify_file, notify.tags)
    if health.rules is not None:
        try:
            parse_digest(health.rules.digest)
        except ScheduleError as exc:
            line = health_line(notify_file, ("rules", "digest"))
            health_errors.append(f"{notify_file}:{line}: health.rules.digest: {exc}")
    errors = [*notify.errors, *subs.errors, *health_errors]
    renderers: dict[tuple[tuple[str, str], ...], Renderer] = {}
    for sub in [subs.default, *subs.by_tag.values()]:
        key = _template_key(sub)
        if key in renderers:
            continue
        overrides: dict[str, Path] = {
            name: subs.base_dir / rel for name, rel in sub.templates.items()
        }
        try:
            renderers[key] = Renderer(settings.alerts.max_message_chars, overrides)
        except TemplateProblem as exc:
            errors.extend(exc.errors)
    if errors:
        raise AlertConfigError(errors)
    return AlertsConfig(
        sender=Sender(notify.targets),
        subscriptions=subs,
        max_chars=settings.alerts.max_message_chars,
        health=health,
        _renderers=renderers,
    )
