"""Settings for every wirewatch process, in one model.

Sources, highest first: environment (``WIREWATCH_<SECTION>__<FIELD>``, plus
``KAFKA_BOOTSTRAP`` as the conventional shortcut), then ``config/settings.yaml``
(or the file named by ``WIREWATCH_SETTINGS``), then the defaults below.

Each stage reads its own section; no stage reads another's.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from wirewatch.settings_security import KafkaSecurity, refuse_file_secrets

_HOST_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?")


class SettingsError(ValueError):
    """Settings that cannot be used: the message names each bad setting, never its value."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicSpec(_Section):
    name: str
    partitions: int = 1
    retention_ms: int = 7 * 24 * 3600 * 1000
    cleanup_policy: str = "delete"


class Topics(_Section):
    # One partition: one agent matches and clusters, extra workers stand by. With
    # more, rule matching runs on them across every worker, and clustering (which
    # needs every article in one window) reads its own one-partition topic; see
    # processors.runtime.app and bench/README.md for when that pays.
    raw: TopicSpec = TopicSpec(name="news.raw", partitions=1)
    events: TopicSpec = TopicSpec(name="news.events", partitions=1)
    alerts: TopicSpec = TopicSpec(name="news.alerts", partitions=1)
    dlq: TopicSpec = TopicSpec(name="news.alerts.dlq", partitions=1, retention_ms=-1)
    deliveries: TopicSpec = TopicSpec(name="news.deliveries", partitions=1)
    # Records on news.alerts the dispatcher could not read or handle, with the reason.
    alerts_poison: TopicSpec = TopicSpec(name="news.alerts.poison", partitions=1, retention_ms=-1)
    # Records on news.raw the processor could not read or process, with the reason.
    raw_poison: TopicSpec = TopicSpec(name="news.raw.poison", partitions=1, retention_ms=-1)
    # Compacted: latest poller state per feed URL survives restarts.
    ingest_state: TopicSpec = TopicSpec(
        name="wirewatch.ingest.state", partitions=1, retention_ms=-1, cleanup_policy="compact"
    )
    # Compacted: the feed list; its partitions are what ingest processes share.
    feeds: TopicSpec = TopicSpec(
        name="wirewatch.ingest.feeds", partitions=12, retention_ms=-1, cleanup_policy="compact"
    )
    # Compacted: which (rule, story, target) alerts were delivered.
    sent: TopicSpec = TopicSpec(
        name="wirewatch.alerts.sent", partitions=1, retention_ms=-1, cleanup_policy="compact"
    )

    # Compacted: the latest start/recovery of each health condition.
    health: TopicSpec = TopicSpec(
        name="wirewatch.health", partitions=1, retention_ms=-1, cleanup_policy="compact"
    )

    def all(self) -> list[TopicSpec]:
        return [getattr(self, name) for name in type(self).model_fields]


class KafkaSettings(KafkaSecurity):
    bootstrap: str = "127.0.0.1:9092"
    client_id: str = "wirewatch"
    # Prepended to every topic name and consumer group by load_settings, so that
    # several installations (or tests) can share one broker without crosstalk.
    namespace: str = ""
    topics: Topics = Topics()


class BrokerSettings(_Section):
    """The project's own local single-node KRaft broker (``wirewatch broker``)."""

    kafka_version: str = "4.1.1"
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    data_dir: Path = Path("var/kafka")
    jar_cache: Path = Path(os.path.expanduser("~/.cache/wirewatch"))
    heap: str = "512m"
    start_timeout_s: float = 90.0

    @model_validator(mode="after")
    def _distinct_ports(self) -> BrokerSettings:
        # Kafka refuses two listeners on one port, but only once the storage
        # format step runs, with a Java stack trace.
        if self.port == self.controller_port:
            raise ValueError(f"broker.port and broker.controller_port are both {self.port}")
        return self


class IngestSettings(_Section):
    feeds_file: Path = Path("config/feeds.yaml")
    default_interval_s: float = 300.0
    allow_file_urls: bool = False
    # Ingest processes sharing feeds join this consumer group on the feeds topic.
    group_id: str = "wirewatch-ingest"
    # A dead poller's feeds move to the others after this long without a heartbeat.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    # Publish config/feeds.yaml to the feeds topic at start (one process can own the list).
    publish_feed_list: bool = True
    max_concurrency: int = 20
    per_host_concurrency: int = 2
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    # Feeds may not reach loopback, private, link-local, multicast, reserved or cloud
    # metadata addresses (SSRF), except those listed here: networks or single
    # addresses ("10.0.0.0/8", "127.0.0.1", "fd00::/8") or host names ("intranet.lan").
    allow_addresses: tuple[str, ...] = ()
    # Server hints (ttl, max-age) may slow a feed down to this, never speed it up.
    max_interval_s: float = 6 * 3600.0
    max_backoff_s: float = 6 * 3600.0
    jitter: float = 0.1
    # Recently produced ids remembered per feed, so restarts and reruns do not re-produce.
    seen_max_keys: int = 2000
    # Entries beyond this many in one document (podcast archives) are ignored.
    max_entries_per_poll: int = 500
    # An article's full text (Article.body) is cut to this many characters; 0 keeps
    # none. A long read runs to 15,000; the cap bounds every later stage's work.
    max_article_body_chars: int = Field(20_000, ge=0, le=1_000_000)
    user_agent: str = "wirewatch/0.1 (+https://github.com/wirewatch/wirewatch)"

    @field_validator("allow_addresses")
    @classmethod
    def _check_allow_entries(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                if not _HOST_NAME.fullmatch(entry):
                    raise ValueError(
                        f"{entry!r} is neither a network, an address nor a host name"
                    ) from None
        return entries


class ProcessorSettings(_Section):
    app_id: str = "wirewatch-processor"
    rules_file: Path = Path("config/rules.yaml")
    window_hours: float = 72.0
    # Precision first: a wrong merge silences a story, a missed merge costs one alert.
    # Both on processors.stories.clusterer's 0-100 scale (see DedupConfig for what they measure).
    duplicate_threshold: float = 90.0
    story_threshold: float = 90.0
    # Whether rules other than the copy rule may join an article to a story only
    # its own outlet has reported (one outlet's items look alike; README, "Stories").
    own_outlet_joins: bool = False
    state_dir: Path = Path("var/faust")
    # How soon a standby worker takes over from a dead one (and a restarted one
    # gets its partitions back): Kafka waits this long for the lost member.
    session_timeout_s: float = 10.0
    # A stable, unique id per worker (e.g. its host name) turns on Kafka's static
    # membership: a worker restarted under the same id takes its partitions back
    # at once instead of after session_timeout_s. The price: a worker stopped on
    # purpose also keeps them until then. Empty: dynamic membership.
    instance_id: str = ""
    # Records handled per batch, and the longest wait to fill one (latency bound).
    # 500 from bench/e2e.py's curve (20 / 100 / 500): the best throughput and p99
    # there; at a low rate batches stay small anyway, bounded by batch_within_s.
    batch_size: int = 500
    batch_within_s: float = 0.02
    # The most one fetch reads from a partition (Faust's consumer_max_fetch_size).
    # A worker with no local state reads its tables' whole changelog first. At
    # Faust's 1 MiB, each fetch's records took Faust less time than a fetch the
    # broker holds for an idle partition (1.5 s, fixed in Faust), which the
    # changelog's next fetch waits behind: ~2,000 records/s. 4 MiB read ~5,000/s
    # (a standby's first event 32.8 s after its start at a 100k window), 8 MiB
    # ~7,900/s (28.6 s) but held 43-58 MB more, and more of a news.raw backlog:
    # 4 MiB keeps room under both the 60 s and the 1 GB goal (bench/README.md,
    # "A standby with no local state"). Must exceed the largest record.
    max_fetch_bytes: int = 4 * 1024 * 1024
    web_port: int = 6066


class AlertSettings(_Section):
    notify_file: Path = Path("config/notify.yaml")
    group_id: str = "wirewatch-dispatcher"
    # Where alerts always land, even with no target configured.
    jsonl_path: Path = Path("var/alerts.jsonl")
    console: bool = True
    max_attempts: int = 5
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    timezone: str = "UTC"
    # Compacted topic holding digest/quiet-hours/overflow buffers; empty = derived
    # from kafka.topics.sent ("<prefix>.pending"), so it follows the namespace.
    pending_topic: str = ""
    # One apprise send may take this long before it counts as a failed attempt.
    send_timeout_s: float = 30.0
    # A send cut short by a crash (marked "sending", never confirmed) cannot be known
    # to have arrived: dead-letter it for a human (no duplicate) or resend it.
    uncertain_sends: str = Field("dead_letter", pattern="^(dead_letter|resend)$")
    # Rendered messages longer than this are cut (hostile feeds can be huge).
    max_message_chars: int = 20_000
    # Offsets of fully handled alerts are committed at least this often.
    commit_interval_s: float = 1.0
    # A dispatcher that died is replaced in the consumer group after this long.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000


class MetricsSettings(_Section):
    """Prometheus /metrics, one port per kind of process; 0 turns one off."""

    host: str = "127.0.0.1"
    ingest_port: int = 9101
    processor_port: int = 9102
    dispatcher_port: int = 9103


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    version: int = 1
    kafka: KafkaSettings = KafkaSettings()
    broker: BrokerSettings = BrokerSettings()
    ingest: IngestSettings = IngestSettings()
    processor: ProcessorSettings = ProcessorSettings()
    alerts: AlertSettings = AlertSettings()
    metrics: MetricsSettings = MetricsSettings()
    log_format: str = Field("human", pattern="^(human|json)$")

    @model_validator(mode="before")
    @classmethod
    def _kafka_bootstrap_shortcut(cls, data: Any) -> Any:
        # KAFKA_BOOTSTRAP is what users and CI already export; honour it.
        # A KafkaSettings object passed in code is explicit and wins (tests and
        # benchmarks that start their own broker pass one).
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
        if bootstrap and isinstance(data, dict) and not isinstance(data.get("kafka"), BaseModel):
            kafka = dict(data.get("kafka") or {})
            kafka["bootstrap"] = bootstrap
            data = {**data, "kafka": kafka}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))


class _YamlSource(PydanticBaseSettingsSource):
    """Reads ``config/settings.yaml`` (or ``$WIREWATCH_SETTINGS``) if it exists."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("WIREWATCH_SETTINGS", "config/settings.yaml"))
        if not path.exists():
            return {}
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or "cannot be parsed"
            raise SettingsError(f"{where}: not valid YAML: {problem}") from None
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: top level must be a mapping")
        try:
            refuse_file_secrets(path, loaded, self.settings_cls)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return loaded


def describe_invalid(exc: ValidationError) -> str:
    """One line per bad setting, with the environment variable that sets it.

    The input value is left out on purpose: it may be a password.
    """
    lines = ["bad settings (environment or settings file):"]
    for err in exc.errors():
        dotted = ".".join(str(p) for p in err["loc"]) or "settings"
        env = "WIREWATCH_" + "__".join(str(p).upper() for p in err["loc"])
        lines.append(f"  {dotted}: {err['msg']} (environment variable {env})")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from env, YAML and defaults; ``overrides`` win (tests use this).

    With ``kafka.namespace`` set, topic names, consumer groups and the Faust
    app id come back prefixed with ``<namespace>.``. Unusable settings raise
    :class:`SettingsError`.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_invalid(exc)) from None
    return apply_namespace(settings)


def apply_namespace(settings: Settings) -> Settings:
    prefix = settings.kafka.namespace
    if not prefix:
        return settings
    topics = settings.kafka.topics
    renamed = {
        name: spec.model_copy(update={"name": f"{prefix}.{spec.name}"})
        for name, spec in ((n, getattr(topics, n)) for n in type(topics).model_fields)
    }
    kafka = settings.kafka.model_copy(
        update={"namespace": "", "topics": topics.model_copy(update=renamed)}
    )
    return settings.model_copy(
        update={
            "kafka": kafka,
            "processor": settings.processor.model_copy(
                update={"app_id": f"{prefix}.{settings.processor.app_id}"}
            ),
            "alerts": settings.alerts.model_copy(
                update={"group_id": f"{prefix}.{settings.alerts.group_id}"}
            ),
            "ingest": settings.ingest.model_copy(
                update={"group_id": f"{prefix}.{settings.ingest.group_id}"}
            ),
        }
    )
