"""Prometheus metrics, defined once for every wirewatch process.

Each process serves ``/metrics`` on its own port (settings.metrics), bound to
127.0.0.1 unless configured otherwise. Stages only increment what is defined
here, so dashboards see one consistent set of names.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from wirewatch.settings import KafkaSettings

log = logging.getLogger(__name__)

# -- ingest -----------------------------------------------------------------
FEED_POLLS = Counter("wirewatch_feed_polls", "Feed fetches by HTTP status class", ["status_class"])
FEED_NOT_MODIFIED = Counter("wirewatch_feed_not_modified", "Fetches answered 304")
FEED_FETCH_ERRORS = Counter("wirewatch_feed_fetch_errors", "Failed fetches", ["kind"])
FEED_PARSE_PROBLEMS = Counter("wirewatch_feed_parse_problems", "Problems found while parsing")
ARTICLES_PRODUCED = Counter("wirewatch_articles_produced", "Articles produced to news.raw")

# -- processors -------------------------------------------------------------
ARTICLES_PROCESSED = Counter("wirewatch_articles_processed", "Articles clustered and matched")
DUPLICATES = Counter("wirewatch_duplicates", "Articles marked as near-duplicates")
STORIES = Counter("wirewatch_stories", "New stories opened")
RULE_MATCHES = Counter("wirewatch_rule_matches", "Rule matches", ["rule"])
ALERT_DECISIONS = Counter("wirewatch_alert_decisions", "Alerts decided", ["reason"])
PROCESSING_LATENCY = Histogram(
    "wirewatch_processing_latency_seconds",
    "From fetch to processed event",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RULES_VERSION = Gauge("wirewatch_rules_version_info", "Active rules version", ["version"])
STATE_RECORDS_RECOVERED = Counter(
    "wirewatch_state_records_recovered",
    "Changelog records a processor applied to its local table store while recovering",
    ["table"],
)
STATE_REBUILDS = Counter(
    "wirewatch_state_rebuilds",
    "Story window rebuilds, by source: local_store (built while starting) or tables",
    ["source"],
)
STATE_RESTORE_SECONDS = Gauge(
    "wirewatch_state_restore_seconds", "How long the last rebuild of the story window took"
)

# -- alerts -----------------------------------------------------------------
ALERTS_SENT = Counter("wirewatch_alerts_sent", "Alerts delivered to a target")
ALERTS_RETRIED = Counter("wirewatch_alerts_retried", "Delivery attempts that will be retried")
ALERTS_DEAD_LETTERED = Counter("wirewatch_alerts_dead_lettered", "Alerts sent to the DLQ")

# -- every stage ------------------------------------------------------------
POISON_RECORDS = Counter(
    "wirewatch_poison_records",
    "Records skipped as unreadable, invalid or crashing, and written to a poison topic",
    ["stage", "kind"],
)

# -- health (alert stage's monitor) -----------------------------------------
HEALTH_CONDITION = Gauge(
    "wirewatch_health_condition", "1 while a health condition is active", ["kind", "subject"]
)
HEALTH_TRANSITIONS = Counter(
    "wirewatch_health_transitions", "Health conditions started/recovered", ["kind", "state"]
)

# -- every consumer ---------------------------------------------------------
CONSUMER_LAG = Gauge(
    "wirewatch_consumer_lag", "Records behind the log end", ["group", "topic", "partition"]
)


def serve_metrics(port: int, host: str = "127.0.0.1") -> bool:
    """Serve /metrics in a background thread; port 0 disables. False if the port is taken."""
    if port <= 0:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        # A second process of the same kind on one host: keep running without metrics.
        log.warning("metrics not served on %s:%d: %s", host, port, exc)
        return False
    log.info("metrics at http://%s:%d/metrics", host, port)
    return True


async def report_group_lag(
    kafka: KafkaSettings | str, groups: list[str], every_s: float = 15.0
) -> None:
    """Keep CONSUMER_LAG current for ``groups``, forever (run as a background task)."""
    from wirewatch.kafka import group_lag

    while True:
        for group in groups:
            try:
                for (topic, partition), lag in (await group_lag(kafka, group)).items():
                    CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)
            except Exception as exc:  # lag is advisory; never let it kill the process
                log.debug("consumer lag of %s not updated: %s", group, exc)
        await asyncio.sleep(every_s)
