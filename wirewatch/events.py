"""The records wirewatch writes to Kafka, defined once.

Every record is UTF-8 JSON with a ``schema_version`` so that kcat or
``kafka-console-consumer`` users can read it and so that a reader can refuse a
version it does not know. Keys are stable ids (see each model's ``key``).

Topics (names come from settings, these are the defaults):

- ``news.raw``     key = article id, value = :class:`Article`
- ``news.events``  key = article id, value = :class:`NewsEvent`
- ``news.alerts``  key = alert id,   value = :class:`AlertDecision`
- ``news.alerts.dlq`` key = alert id + target, value = :class:`DeadLetter`
- ``news.deliveries`` key = alert id, value = :class:`DeliveryAttempt`
- ``wirewatch.health`` key = condition id, value = :class:`HealthEvent` (compacted)
- ``news.raw.poison``, ``news.alerts.poison`` key = topic|partition|offset,
  value = :class:`PoisonRecord`

Field changes that a reader could misread bump ``schema_version``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# 2: Article gained ``body`` (the full text where the feed carries it). Version-1
# records have no body and still load: it defaults to empty.
# 3: ``target`` in DeliveryAttempt, DeadLetter, SentRecord and PendingAlert is the
# target's opaque id (it was apprise's privacy URL, which kept tokens in clear).
# The dispatcher rewrites older ledger, pending and DLQ records (alerts/migrate.py).
SCHEMA_VERSION = 3
# The first version whose alert-state ``target`` is an opaque id.
TARGET_ID_VERSION = 3


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp in a record is UTC."""
    return datetime.now(UTC)


class _Record(BaseModel):
    # Readers ignore fields they do not know so that a newer writer does not
    # break an older tail; writers never emit unknown fields.
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class Article(_Record):
    """One fetched feed entry, normalised. Written by ingest to ``news.raw``."""

    id: str = Field(description="Stable canonical id: trusted GUID, canonical URL or content hash")
    title: str
    summary: str = Field("", description="Plain text, markup removed")
    summary_html: str = Field("", description="Original HTML, kept for templates that want it")
    body: str = Field(
        "", description="Full article text, plain, capped; empty when the feed carries none"
    )
    url: str = ""
    source: str = Field("", description="Outlet name, e.g. 'Reuters'")
    feed_url: str = ""
    guid: str = ""
    language: str = ""
    tags: tuple[str, ...] = ()
    published: AwareDatetime = Field(default_factory=utcnow)
    fetched_at: AwareDatetime = Field(default_factory=utcnow)
    content_hash: str = Field("", description="Hash of title+summary; changes when edited")
    is_update: bool = Field(False, description="An edit of an article produced before")

    @property
    def key(self) -> bytes:
        return self.id.encode()


class RuleMatch(BaseModel):
    """One watch rule that matched an article, with the terms that made it fire."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    rule_id: str
    name: str = ""
    terms: tuple[str, ...] = ()
    severity: Literal["low", "normal", "high"] = "normal"
    notify: tuple[str, ...] = ()


class NewsEvent(_Record):
    """The processed verdict for one article. Written by processors to ``news.events``.

    ``kind`` is ``article`` for the first verdict on an article and
    ``story_update`` when a story gains a new outlet (the event then carries the
    article that brought the new source).
    """

    kind: Literal["article", "story_update"] = "article"
    article: Article
    story_id: str
    duplicate_of: str | None = Field(None, description="Id of the earlier near-identical article")
    similarity: float | None = Field(None, description="Score against the matched article, 0-100")
    matched_article: str | None = Field(None, description="Article the story decision rests on")
    story_sources: tuple[str, ...] = ()
    source_count: int = 1
    matched_rules: tuple[RuleMatch, ...] = ()
    rules_version: str = ""
    processed_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return self.article.id.encode()


class Outlet(BaseModel):
    """One outlet's article in a story: named and linked in a follow-up alert."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source: str
    url: str = ""
    title: str = ""
    at: AwareDatetime | None = Field(None, description="When it joined the story")


class AlertDecision(_Record):
    """A decision to alert on (rule, story). Written by processors to ``news.alerts``.

    ``alert_id`` is deterministic (``rule_id:story_id`` and a suffix for a
    follow-up) so that the dispatcher can deliver each one at most once per
    target even if the decision is produced twice.
    """

    alert_id: str
    reason: Literal["new_story", "followup", "test"] = "new_story"
    rule: RuleMatch
    story_id: str
    article: Article
    source_count: int = 1
    story_sources: tuple[str, ...] = ()
    rules_version: str = ""
    digest: str | None = Field(None, description="Digest schedule asked for by the rule, if any")
    trigger: Literal["", "sources", "spread"] = Field(
        "", description="For a follow-up: the outlet count reached, or a fast spread"
    )
    outlets: tuple[Outlet, ...] = Field(
        (), description="For a follow-up: outlets that joined since the first alert, with links"
    )
    decided_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return self.alert_id.encode()


class DeliveryAttempt(_Record):
    """One attempt to deliver an alert to one target. Written to ``news.deliveries``."""

    alert_id: str
    target: str = Field(description="The target's opaque id (see notify_ids); never a URL")
    status: Literal["sent", "failed", "dead_lettered", "held", "digested"]
    attempt: int = 1
    latency_ms: float = 0.0
    error: str = ""
    at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return self.alert_id.encode()


class DeadLetter(_Record):
    """An alert that ran out of attempts for one target. Written to ``news.alerts.dlq``."""

    alert: AlertDecision
    target: str = Field(description="The target's opaque id; never a URL")
    target_label: str = Field("", description="notify.yaml name:, else scheme:id")
    target_tag: str = ""
    reason: str
    attempts: int
    failed_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return f"{self.alert.alert_id}|{self.target}".encode()


class SentRecord(_Record):
    """What the dispatcher knows about one (alert, target); compacted ``wirewatch.alerts.sent``.

    Key ``alert_id|target``. ``sending`` is written (and flushed) before a send so a
    crash mid-send is visible at restart; ``alert`` is carried only then, so that an
    uncertain send can still be dead-lettered.
    """

    alert_id: str
    target: str = Field(description="The target's opaque id; never a URL")
    state: Literal["sending", "sent", "dead_lettered"]
    alert: AlertDecision | None = None
    at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return f"{self.alert_id}|{self.target}".encode()


class PendingAlert(_Record):
    """An alert parked for one target until ``release_at``. Compacted pending topic.

    ``kind``: ``digest`` (batched by schedule), ``hold`` (quiet hours) or
    ``overflow`` (over the rate limit; goes out in the next batch). A tombstone
    (null value) under the same key removes it once delivered or dead-lettered.
    """

    alert: AlertDecision
    target: str = Field(description="The target's opaque id; never a URL")
    kind: Literal["digest", "hold", "overflow"]
    release_at: AwareDatetime
    queued_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return f"{self.alert.alert_id}|{self.target}".encode()


class FeedStatus(BaseModel):
    """What ingest says about one feed's health: the shared part of its per-feed state.

    Ingest writes its whole per-feed state (a subclass of this) to the compacted
    state topic, key = feed URL, after every poll; the alert stage's health
    monitor reads it back as this model. ``item_gaps_s`` holds the most recent
    gaps between polls that brought new items, which is how a feed's usual
    rhythm is learned.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str
    title: str = ""
    last_poll: AwareDatetime | None = None
    last_success: AwareDatetime | None = None
    last_status: int = 0
    last_error: str = ""
    last_error_at: AwareDatetime | None = None
    consecutive_failures: int = 0
    last_item_at: AwareDatetime | None = None
    item_gaps_s: tuple[float, ...] = ()
    updated_at: AwareDatetime | None = None


HealthKind = Literal[
    "feed_failing",
    "feeds_failing",
    "feed_silent",
    "target_failing",
    "stage_down",
    "stage_stalled",
    "rule_quiet",
]


class HealthEvent(_Record):
    """A health condition that started or recovered. Compacted ``wirewatch.health``.

    Key ``condition_id`` (``kind|subject``), so the topic's latest record per key
    says which conditions are active now (``wirewatch status`` reads it, and a
    restarted monitor resumes from it instead of alerting again).
    """

    condition_id: str
    kind: HealthKind
    subject: str = Field(description="Feed URL, target id or stage name")
    state: Literal["started", "recovered"]
    detail: str = ""
    since: AwareDatetime = Field(description="When the condition started")
    at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return self.condition_id.encode()


# What a poison record keeps of the original: enough to debug, never unbounded.
POISON_REASON_CHARS = 500
POISON_KEPT_BYTES = 64 * 1024


class PoisonRecord(_Record):
    """A record a stage could not read or handle: skipped, and kept here with the reason.

    ``kind`` is ``unreadable`` (not JSON), ``invalid`` (JSON the schema refuses) or
    ``crashed`` (handling it raised). The original bytes are kept, base64, up to a cap.
    """

    stage: str
    topic: str
    partition: int
    offset: int
    kind: Literal["unreadable", "invalid", "crashed"]
    reason: str
    key_b64: str = ""
    value_b64: str = ""
    value_size: int = Field(0, description="Bytes in the original value (kept up to a cap)")
    at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> bytes:
        return f"{self.topic}|{self.partition}|{self.offset}".encode()

    @classmethod
    def from_consumed(
        cls,
        stage: str,
        record: Any,
        kind: Literal["unreadable", "invalid", "crashed"],
        reason: str,
    ) -> PoisonRecord:
        """The poison record for a consumed Kafka record (aiokafka's or Faust's message)."""
        key: bytes = record.key or b""
        value: bytes = record.value or b""
        return cls(
            stage=stage,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            kind=kind,
            reason=reason[:POISON_REASON_CHARS],
            key_b64=base64.b64encode(key[:POISON_KEPT_BYTES]).decode(),
            value_b64=base64.b64encode(value[:POISON_KEPT_BYTES]).decode(),
            value_size=len(value),
        )
