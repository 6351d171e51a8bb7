"""Which rules have gone quiet: rule matches read from ``news.events``, for a daily digest.

Opt-in (``health.rules`` in notify.yaml). At start the monitor reads
``news.events`` from ``quiet_days`` ago (``offsets_for_times``), then keeps up
with it; a rule's last activity is its last match, or the start of what the
topic still holds if it never matched there (so a young installation calls
nothing quiet before it has watched that long). The rule ids come from the
rules file named in settings: configuration, not the processor's code.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel, ConfigDict, ValidationError

from alerts.render import Message
from wirewatch.events import HealthEvent, RuleMatch
from wirewatch.kafka import topic_partitions
from wirewatch.settings import Settings

log = logging.getLogger(__name__)


class _Matched(BaseModel):
    """The part of a NewsEvent this module reads; the rest is not validated."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    matched_rules: tuple[RuleMatch, ...] = ()


def read_rule_ids(path: Path) -> list[str]:
    """Enabled rule ids in a rules file; empty if it cannot be read (the processor reports why)."""
    try:
        data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        return []
    return [
        str(r["id"])
        for r in rules
        if isinstance(r, dict) and "id" in r and r.get("enabled", True) is not False
    ]


class RuleActivity:
    """Last match per rule, kept current from ``news.events``."""

    def __init__(self, settings: Settings, quiet_days: float) -> None:
        self.settings = settings
        self.window = timedelta(days=quiet_days)
        self.last_match: dict[str, datetime] = {}
        self.watched_since: datetime | None = None

    async def start(self, consumer: AIOKafkaConsumer, now: datetime) -> bool:
        """Assign the events topic from ``quiet_days`` ago; False if it does not exist yet."""
        topic = self.settings.kafka.topics.events.name
        partitions = await topic_partitions(self.settings.kafka, topic)
        if not partitions:
            return False
        consumer.assign(partitions)
        cutoff = now - self.window
        found = await consumer.offsets_for_times(
            {tp: int(cutoff.timestamp() * 1000) for tp in partitions}
        )
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        covered = False
        for tp in partitions:
            hit = found.get(tp)
            offset = hit.offset if hit is not None else ends[tp]
            # The topic holds a record older than the cut-off: the window is complete.
            covered |= offset > starts[tp]
            consumer.seek(tp, offset)
        # Otherwise (a young topic, or retention shorter than the window) nothing
        # is known to have been quiet that long; watching starts now.
        self.watched_since = cutoff if covered else now
        return True

    def observe(self, value: bytes | None, timestamp_ms: int) -> None:
        if value is None:
            return
        try:
            event = _Matched.model_validate_json(value)
        except ValidationError:
            return  # the processor's own poison handling reports bad records
        at = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
        for match in event.matched_rules:
            if at > self.last_match.get(match.rule_id, at - timedelta(seconds=1)):
                self.last_match[match.rule_id] = at

    def last_activity(self, now: datetime) -> dict[str, datetime]:
        """Per enabled rule: its last match, or when watching began."""
        since = self.watched_since or now
        return {
            rule_id: max(self.last_match.get(rule_id, since), since)
            for rule_id in read_rule_ids(self.settings.processor.rules_file)
        }


def format_digest(quiet: list[HealthEvent], days: float) -> Message:
    """One message listing every quiet rule."""
    lines = [f"- {e.subject}: {e.detail}" for e in sorted(quiet, key=lambda e: e.subject)]
    title = f"wirewatch health: {len(quiet)} rule(s) without a match for {days:g} days"
    return Message(title=title, body="\n".join([title, *lines]), body_format="text")
