"""wirewatch against a real broker that takes SASL only (PLAIN and SCRAM), on loopback.

The broker is the project's LocalBroker with a SASL_PLAINTEXT client listener,
started for this module on its own free ports (not the session broker). Every
client is configured the way production is: through environment variables
read by load_settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from tests.support import broker_ports, produce_articles, spawn_stage
from wirewatch.broker import LocalBroker
from wirewatch.events import Article, NewsEvent, utcnow
from wirewatch.kafka import (
    KafkaAuthError,
    ensure_topics,
    group_lag,
    make_consumer,
    make_producer,
    read_last,
    wait_for_kafka,
)
from wirewatch.settings import BrokerSettings, Settings, load_settings

pytestmark = pytest.mark.integration

USER = "wirewatch"


@pytest.fixture(scope="module")
def password() -> str:
    return "pw-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory, password: str) -> Iterator[LocalBroker]:
    broker = LocalBroker(
        BrokerSettings(
            **broker_ports(),
            data_dir=tmp_path_factory.mktemp("kafka-sasl"),
        ),
        sasl_users={USER: password, "someone-else": secrets.token_urlsafe(16)},
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def sasl_env(broker: LocalBroker, password: str, mechanism: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP": broker.bootstrap,
        "WIREWATCH_SETTINGS": "/nonexistent/settings.yaml",
        "WIREWATCH_KAFKA__NAMESPACE": f"sasl.{uuid.uuid4().hex[:8]}",
        "WIREWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "WIREWATCH_KAFKA__SASL_MECHANISM": mechanism,
        "WIREWATCH_KAFKA__SASL_USERNAME": USER,
        "WIREWATCH_KAFKA__SASL_PASSWORD": password,
    }


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_the_right_credentials_produce_and_consume(
    sasl_broker: LocalBroker,
    password: str,
    mechanism: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_from(sasl_env(sasl_broker, password, mechanism), monkeypatch)
    kafka = settings.kafka
    await wait_for_kafka(kafka, timeout_s=30)
    await ensure_topics(kafka, [kafka.topics.raw])  # the admin client
    articles = [Article(id=f"s-{i}", title=f"Item {i}", published=utcnow()) for i in range(5)]
    await produce_articles(settings, articles)  # the producer
    consumer = make_consumer(kafka, kafka.topics.raw.name, group_id=kafka.topics.raw.name)
    await consumer.start()
    try:
        got: list[bytes] = []
        async with asyncio.timeout(60):
            while len(got) < len(articles):
                batch = await consumer.getmany(timeout_ms=500)
                got += [r.value for records in batch.values() for r in records]
        await consumer.commit()
    finally:
        await consumer.stop()
    assert [Article.model_validate_json(v).id for v in got] == [a.id for a in articles]
    assert len(await read_last(kafka, kafka.topics.raw.name, 2)) == 2
    assert await group_lag(kafka, kafka.topics.raw.name) == {(kafka.topics.raw.name, 0): 0}
    assert password not in caplog.text
    for dump in (repr(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert password not in dump
    # Kafka prints its whole configuration at start; JAAS lines are passwords to it.
    assert password not in sasl_broker.logfile.read_text(errors="replace")


async def test_a_wrong_password_is_an_auth_error_and_is_never_logged(
    sasl_broker: LocalBroker,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + secrets.token_urlsafe(16)
    settings = settings_from(sasl_env(sasl_broker, wrong, "SCRAM-SHA-512"), monkeypatch)
    started = time.monotonic()
    with pytest.raises(KafkaAuthError) as err:
        await wait_for_kafka(settings.kafka, timeout_s=60)
    # Refused at the first attempt, not retried until the timeout.
    assert time.monotonic() - started < 30
    assert f"refused the SASL_PLAINTEXT login of {USER!r} (SCRAM-SHA-512)" in str(err.value)
    producer = make_producer(settings.kafka)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "SaslAuthenticationFailed" in caplog.text  # aiokafka's own account of it
    for secret in (wrong, password):
        assert secret not in caplog.text
        assert secret not in str(err.value)


async def test_a_plaintext_client_gets_nothing(
    sasl_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    with pytest.raises(TimeoutError):
        await wait_for_kafka(sasl_broker.bootstrap, timeout_s=5)


async def test_the_processor_runs_on_sasl(
    sasl_broker: LocalBroker, password: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The Faust worker, started as production starts it, with SCRAM credentials."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: quake\n    query: earthquake\n")
    env = {
        **sasl_env(sasl_broker, password, "SCRAM-SHA-256"),
        "WIREWATCH_PROCESSOR__RULES_FILE": str(rules),
        "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp_path / "faust"),
        "WIREWATCH_ALERTS__NOTIFY_FILE": str(tmp_path / "no-notify.yaml"),
        "WIREWATCH_METRICS__PROCESSOR_PORT": "0",
    }
    settings = settings_from(env, monkeypatch)
    await ensure_topics(settings.kafka)
    article = Article(id="quake-1", title="Strong earthquake off the coast", published=utcnow())
    await produce_articles(settings, [article])
    log = tmp_path / "process.log"
    proc = spawn_stage("process", {**os.environ, **env}, log)
    try:
        events: list[NewsEvent] = []
        deadline = time.monotonic() + 120
        while not events and time.monotonic() < deadline and proc.poll() is None:
            raw = await read_last(settings.kafka, settings.kafka.topics.events.name, 10)
            events = [NewsEvent.model_validate_json(v) for v in raw]
            await asyncio.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    text = log.read_text(errors="replace")
    assert [e.article.id for e in events] == [article.id], text[-4000:]
    assert password not in text
