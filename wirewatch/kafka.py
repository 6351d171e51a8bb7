"""Kafka helpers shared by every stage: topic creation, producers, consumers, admin.

Thin wrappers over aiokafka so that every stage gets the same durability
settings (idempotent producer, acks=all), the same topic specs and the same
security settings (:func:`client_security`, which Faust's credentials use too).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
)
from aiokafka.helpers import create_ssl_context

from wirewatch.settings import KafkaSettings, TopicSpec

log = logging.getLogger(__name__)


class RedactSaslRequests(logging.Filter):
    """Masks SASL authenticate requests in aiokafka's DEBUG request log.

    aiokafka's connection logs every request it sends at DEBUG ("Request to
    host:port n: SaslAuthenticateRequest_v1(sasl_auth_bytes=b'user\\x00user\\x00
    password')" in aiokafka 0.14 conn.py), so with -v a SASL PLAIN password would
    reach the logs in clear. No upstream issue about it was found.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            type(arg).__name__.startswith("SaslAuthenticateRequest") for arg in record.args
        ):
            record.args = tuple(
                "SaslAuthenticateRequest(<redacted>)"
                if type(arg).__name__.startswith("SaslAuthenticateRequest")
                else arg
                for arg in record.args
            )
        return True


# On the logger that emits them: a logger's filters see only its own records.
logging.getLogger("aiokafka.conn").addFilter(RedactSaslRequests())


class KafkaAuthError(RuntimeError):
    """The broker refused wirewatch's login (SASL credentials or TLS handshake)."""


def client_security(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for ``kafka``'s TLS and SASL settings.

    The one translation of security settings: every producer, consumer and
    admin client here takes these, and the processor builds Faust's
    ``broker_credentials`` from them, so no client can connect differently.
    """
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = make_ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL_"):
        # The settings validator has made sure both are set.
        assert kafka.sasl_password is not None  # noqa: S101
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    return options


def make_ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """A client TLS context: hostname checked, CA from ``ssl_cafile`` or the system store."""
    key_password = kafka.ssl_key_password
    context: ssl.SSLContext = create_ssl_context(
        cafile=kafka.ssl_cafile,
        certfile=kafka.ssl_certfile,
        keyfile=kafka.ssl_keyfile,
        password=key_password.get_secret_value() if key_password else None,
    )
    return context


def connect_options(kafka: KafkaSettings | str) -> dict[str, Any]:
    """``bootstrap_servers`` plus security options; a bare address means plaintext."""
    if isinstance(kafka, str):
        return {"bootstrap_servers": kafka}
    return {"bootstrap_servers": kafka.bootstrap, **client_security(kafka)}


def make_admin(kafka: KafkaSettings | str, **overrides: Any) -> AIOKafkaAdminClient:
    """An admin client with ``kafka``'s address and security settings."""
    options = connect_options(kafka)
    if not isinstance(kafka, str):
        options["client_id"] = kafka.client_id
    options.update(overrides)
    return AIOKafkaAdminClient(**options)


def topic_config(spec: TopicSpec) -> dict[str, str]:
    config = {"cleanup.policy": spec.cleanup_policy, "retention.ms": str(spec.retention_ms)}
    if spec.cleanup_policy == "compact":
        # Compact promptly so that a restart reads little history.
        config["min.cleanable.dirty.ratio"] = "0.1"
        config["segment.ms"] = str(3600 * 1000)
    return config


async def ensure_topics(kafka: KafkaSettings, specs: Iterable[TopicSpec] | None = None) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    wanted = list(specs) if specs is not None else kafka.topics.all()
    admin = make_admin(kafka)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in wanted if s.name not in existing]
        for spec in missing:
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, 1, topic_configs=topic_config(spec))]
                )
                log.info("created topic %s (%d partitions)", spec.name, spec.partitions)
            except TopicAlreadyExistsError:
                pass  # another process won the race; fine
    finally:
        await admin.close()


def make_producer(kafka: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent, acks=all, compressed producer: each record lands once, in order."""
    options: dict[str, Any] = {
        **connect_options(kafka),
        "client_id": kafka.client_id,
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": "gzip",
        "linger_ms": 5,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(kafka: KafkaSettings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        **connect_options(kafka),
        "client_id": kafka.client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


async def check_login(kafka: KafkaSettings) -> None:
    """Log in to the first bootstrap broker once; raise :class:`KafkaAuthError` if refused.

    aiokafka's clients only log a refused login and then report that they could
    not bootstrap, which looks like a broker that is down; this says which it is.
    Any other failure (broker down, timeout) returns quietly for the caller to retry.
    """
    host, _, port = kafka.bootstrap.split(",")[0].strip().rpartition(":")
    try:
        conn = await create_conn(
            host, int(port), client_id=kafka.client_id, request_timeout_ms=5000,
            **client_security(kafka),
        )  # fmt: skip
    except (
        SaslAuthenticationFailed,
        AuthenticationFailedError,
        AuthenticationMethodNotSupported,
        ssl.SSLError,
    ) as exc:
        user = kafka.sasl_username
        who = f" of {user!r} ({kafka.sasl_mechanism})" if user else ""
        raise KafkaAuthError(
            f"Kafka at {host}:{port} refused the {kafka.security_protocol} login{who}: {exc}"
        ) from None
    except (KafkaError, OSError, TimeoutError):
        return
    conn.close()


async def wait_for_kafka(kafka: KafkaSettings | str, timeout_s: float = 30.0) -> None:
    """Return once the broker answers metadata requests, else raise TimeoutError.

    A refused login is not waited out: it raises :class:`KafkaAuthError` at once.
    """
    bootstrap = kafka if isinstance(kafka, str) else kafka.bootstrap
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        admin = make_admin(kafka, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except (TimeoutError, KafkaConnectionError, OSError) as exc:
            last = exc
        finally:
            await admin.close()
        if not isinstance(kafka, str) and kafka.security_protocol != "PLAINTEXT":
            await check_login(kafka)
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka at {bootstrap} did not answer within {timeout_s:.0f}s: {last}")


async def group_lag(kafka: KafkaSettings | str, group: str) -> dict[tuple[str, int], int]:
    """Records between each partition's committed offset for ``group`` and the log end."""
    admin = make_admin(kafka, request_timeout_ms=5000)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    if not committed:
        return {}
    consumer = AIOKafkaConsumer(**connect_options(kafka), group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    return {
        (tp.topic, tp.partition): max(ends[tp] - meta.offset, 0)
        for tp, meta in committed.items()
        if meta.offset >= 0
    }


async def topic_partitions(kafka: KafkaSettings, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (empty if it does not exist).

    Asked of the admin API because an unsubscribed consumer's metadata does not
    list a topic's partitions.
    """
    admin = make_admin(kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])


async def read_last(kafka: KafkaSettings, topic: str, count: int) -> list[bytes]:
    """The last ``count`` records of each partition of ``topic`` (no consumer group)."""
    partitions = await topic_partitions(kafka, topic)
    if not partitions:
        # A topic nobody has written yet. Checked before the consumer starts:
        # aiokafka's stop() right after start() raised CancelledError from its
        # coordinator's half-started reset task (seen with `wirewatch status`
        # on a fresh broker).
        return []
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        wanted = 0
        for tp in partitions:
            offset = max(ends[tp] - count, starts[tp])
            consumer.seek(tp, offset)
            wanted += ends[tp] - offset
        values: list[bytes] = []
        while len(values) < wanted:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            values += [r.value for records in batch.values() for r in records]
        return values
    finally:
        await consumer.stop()
