"""wirewatch against a real broker that takes SASL over TLS only (SASL_SSL), on loopback.

The broker's certificate is signed by a throwaway CA (tests/security/pki.py).
A client that trusts that CA through ``kafka.ssl_cafile`` logs in, produces and
consumes; one that trusts only another CA is refused at the TLS handshake.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.pki import Pki, make_pki
from tests.support import broker_ports
from wirewatch.broker import LocalBroker, ServerTls
from wirewatch.kafka import (
    KafkaAuthError,
    ensure_topics,
    make_consumer,
    make_producer,
    wait_for_kafka,
)
from wirewatch.settings import BrokerSettings, KafkaSettings, TopicSpec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def password() -> str:
    return "pw-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, password: str
) -> Iterator[LocalBroker]:
    broker = LocalBroker(
        BrokerSettings(
            **broker_ports(),
            data_dir=tmp_path_factory.mktemp("kafka-tls"),
        ),
        sasl_users={"wirewatch": password},
        tls=ServerTls(keystore=pki.server_keystore, ca=pki.ca),
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def client_settings(broker: LocalBroker, cafile: Path) -> KafkaSettings:
    kafka = broker.client_settings("wirewatch", "SCRAM-SHA-512")
    return kafka.model_copy(update={"ssl_cafile": cafile})


async def test_a_client_trusting_the_ca_logs_in_produces_and_consumes(
    tls_broker: LocalBroker, pki: Pki, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kafka = client_settings(tls_broker, pki.ca)
    assert kafka.security_protocol == "SASL_SSL"
    await wait_for_kafka(kafka, timeout_s=30)
    topic = TopicSpec(name=f"tls.{secrets.token_hex(4)}")
    await ensure_topics(kafka, [topic])
    producer = make_producer(kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic.name, b"over TLS", key=b"k")
    finally:
        await producer.stop()
    consumer = make_consumer(kafka, topic.name, group_id=None)
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.value == b"over TLS"
    assert password not in caplog.text


async def test_a_client_trusting_another_ca_is_refused_at_the_handshake(
    tls_broker: LocalBroker, pki: Pki
) -> None:
    kafka = client_settings(tls_broker, pki.other_ca)
    started = time.monotonic()
    with pytest.raises(KafkaAuthError, match="CERTIFICATE_VERIFY_FAILED"):
        await wait_for_kafka(kafka, timeout_s=60)
    assert time.monotonic() - started < 30  # refused at once, not waited out
