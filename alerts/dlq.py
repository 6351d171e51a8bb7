"""Dead letters: list the outstanding ones, re-send them, send a test message.

A dead letter is outstanding while the sent ledger still says ``dead_lettered`` for
its ``alert_id|target``; a successful retry turns that into ``sent``, so retrying
twice never sends twice. Retries go through the same worker code as live sends
(ledger marks, attempts, backoff, and a fresh dead letter if it fails again).
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.delivery import DeliveryError
from alerts.migrate import migrate_target_keys
from alerts.render import sample_alert
from alerts.runtime import AlertsConfig, load_alerts_config
from alerts.state import Store, decode_dead_letters, read_table
from alerts.worker import Job, TargetWorker
from wirewatch.events import (
    TARGET_ID_VERSION,
    AlertDecision,
    DeadLetter,
    RuleMatch,
    SentRecord,
    utcnow,
)
from wirewatch.kafka import make_producer
from wirewatch.settings import Settings


@dataclass(frozen=True)
class RetryOutcome:
    letter: DeadLetter
    ok: bool
    detail: str


async def list_dead_letters(settings: Settings) -> list[DeadLetter]:
    """Dead letters not yet delivered by a retry, oldest first."""
    letters = decode_dead_letters(await read_table(settings.kafka, settings.kafka.topics.dlq.name))
    ledger = await read_table(settings.kafka, settings.kafka.topics.sent.name)
    # A letter from before target ids that alerts.migrate has rewritten under the id.
    rewritten = {
        (d.alert.alert_id, d.failed_at) for d in letters if d.schema_version >= TARGET_ID_VERSION
    }
    outstanding = []
    for letter in letters:
        old = letter.schema_version < TARGET_ID_VERSION
        if old and (letter.alert.alert_id, letter.failed_at) in rewritten:
            continue
        raw = ledger.get(letter.key)
        state = SentRecord.model_validate_json(raw).state if raw else None
        if state in (None, "dead_lettered"):
            outstanding.append(letter)
    return sorted(outstanding, key=lambda letter: letter.failed_at)


async def retry_dead_letters(settings: Settings, alert_id: str | None = None) -> list[RetryOutcome]:
    """Re-send outstanding dead letters (all, or one alert id) to their targets."""
    config = load_alerts_config(settings)
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        store = Store(settings, producer)
        parked = await store.load(settings.kafka)
        await migrate_target_keys(settings, config.sender, store, parked)
        await store.flush()
        return await _retry(settings, config, store, alert_id)
    finally:
        await producer.stop()


async def _retry(
    settings: Settings, config: AlertsConfig, store: Store, alert_id: str | None
) -> list[RetryOutcome]:
    letters = [
        letter
        for letter in await list_dead_letters(settings)
        if alert_id is None or letter.alert.alert_id == alert_id
    ]
    outcomes = []
    for letter in letters:
        endpoint = config.sender.by_key(letter.target)
        if endpoint is None:
            outcomes.append(RetryOutcome(letter, False, "target is not in notify.yaml"))
            continue
        sub = config.subscriptions.for_target(endpoint.tags, letter.alert.rule.notify)
        worker = TargetWorker(endpoint, config.sender, store, settings.alerts, utcnow)
        job = Job(endpoint, [letter.alert], sub, config.renderer_for(sub))
        await worker.handle(job)
        ok = store.state(letter.alert.alert_id, endpoint.key) == "sent"
        outcomes.append(RetryOutcome(letter, ok, "sent" if ok else "failed again"))
    await store.flush()
    return outcomes


def make_test_alert(tag: str) -> AlertDecision:
    """A clearly labelled test alert routed to ``tag``."""
    sample = sample_alert()
    stamp = utcnow()
    return sample.model_copy(
        update={
            "alert_id": f"test:{tag}:{stamp.isoformat()}",
            "reason": "test",
            "rule": RuleMatch(
                rule_id="wirewatch-test",
                name="wirewatch test message",
                terms=("test",),
                notify=(tag,),
            ),
            "article": sample.article.model_copy(
                update={"title": f"wirewatch test message for tag {tag}", "published": stamp}
            ),
        }
    )


async def send_test(settings: Settings, tag: str) -> list[tuple[str, str]]:
    """Send one test message to every target carrying ``tag``: [(label, "ok" | error)]."""
    config = load_alerts_config(settings)
    alert = make_test_alert(tag)
    results = []
    for endpoint in config.sender.route([tag]):
        sub = config.subscriptions.for_target(endpoint.tags, [tag])
        message = config.renderer_for(sub).render([alert], endpoint.fmt, sub.tz, False, utcnow())
        try:
            await config.sender.send(endpoint, message, settings.alerts.send_timeout_s)
            results.append((endpoint.label, "ok"))
        except DeliveryError as exc:
            results.append((endpoint.label, str(exc)))
    return results
