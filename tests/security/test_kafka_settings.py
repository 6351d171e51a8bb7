"""Kafka TLS/SASL settings exist, keep their secrets out of files and dumps, and reach clients.

Issue 13: wirewatch had no TLS or SASL settings, so an external broker could
only be plaintext and unauthenticated. The broker-backed half is in
test_kafka_sasl.py.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import faust
import pytest
import yaml
from pydantic import ValidationError

from processors.runtime.app import create_app
from wirewatch.kafka import client_security, make_admin, make_consumer, make_producer
from wirewatch.settings import Settings, load_settings

PASSWORD = "pw-5f1c0a9e-never-print-me"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No settings file, no KAFKA_BOOTSTRAP from the session: only what the test sets."""
    monkeypatch.setenv("WIREWATCH_SETTINGS", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("yaml_text", "where", "variable"),
    [
        (
            "kafka:\n  security_protocol: SASL_SSL\n  sasl_username: u\n"
            f"  sasl_password: {PASSWORD}\n",
            "kafka.sasl_password",
            "WIREWATCH_KAFKA__SASL_PASSWORD",
        ),
        (
            f"kafka:\n  security_protocol: SSL\n  ssl_key_password: {PASSWORD}\n",
            "kafka.ssl_key_password",
            "WIREWATCH_KAFKA__SSL_KEY_PASSWORD",
        ),
    ],
)
def test_a_secret_in_the_settings_file_is_refused(
    env: pytest.MonkeyPatch, tmp_path: Path, yaml_text: str, where: str, variable: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml_text)
    env.setenv("WIREWATCH_SETTINGS", str(path))
    with pytest.raises(ValueError, match="is never read from a file") as err:
        load_settings()
    message = str(err.value)
    assert f"{path}: {where}" in message
    assert variable in message
    assert PASSWORD not in message


def test_a_dump_of_the_settings_loads_back_from_a_file(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Null secrets carry nothing; tests and tools write dumps like this one.
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"kafka": load_settings().kafka.model_dump(mode="json")}))
    env.setenv("WIREWATCH_SETTINGS", str(path))
    assert load_settings().kafka.sasl_password is None


def test_secrets_come_from_the_environment_and_are_masked_in_dumps(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("kafka:\n  security_protocol: SASL_PLAINTEXT\n  sasl_username: wire\n")
    env.setenv("WIREWATCH_SETTINGS", str(path))
    env.setenv("WIREWATCH_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    env.setenv("WIREWATCH_KAFKA__SASL_PASSWORD", PASSWORD)
    settings = load_settings()
    kafka = settings.kafka
    assert (kafka.security_protocol, kafka.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == PASSWORD
    for dump in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
    ):
        assert PASSWORD not in dump
        assert "**********" in dump


@pytest.mark.parametrize(
    ("kafka", "problem"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_username": "u"}, "needs kafka.sasl_username"),
        ({"sasl_username": "u", "sasl_password": "p"}, "SASL credentials are set"),
        ({"ssl_cafile": "/ca.pem"}, "SSL files are set"),
        ({"security_protocol": "SSL", "ssl_keyfile": "/k.pem"}, "needs kafka.ssl_certfile"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
        ({"security_protocol": "TLS"}, "security_protocol"),
    ],
)
def test_inconsistent_security_settings_are_refused(
    env: pytest.MonkeyPatch, kafka: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(kafka=kafka)


@pytest.fixture
def pem_files(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate and its key (PEM), made by openssl."""
    cert, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=wirewatch-test-ca", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def sasl_ssl_settings(env: pytest.MonkeyPatch, pem_files: tuple[Path, Path]) -> Settings:
    cert, key = pem_files
    env.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:9")
    env.setenv("WIREWATCH_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    env.setenv("WIREWATCH_KAFKA__SSL_CAFILE", str(cert))
    env.setenv("WIREWATCH_KAFKA__SSL_CERTFILE", str(cert))
    env.setenv("WIREWATCH_KAFKA__SSL_KEYFILE", str(key))
    env.setenv("WIREWATCH_KAFKA__SASL_MECHANISM", "SCRAM-SHA-256")
    env.setenv("WIREWATCH_KAFKA__SASL_USERNAME", "wire")
    env.setenv("WIREWATCH_KAFKA__SASL_PASSWORD", PASSWORD)
    return load_settings()


def test_client_security_builds_a_verifying_tls_context_and_sasl_options(
    env: pytest.MonkeyPatch, pem_files: tuple[Path, Path]
) -> None:
    options = client_security(sasl_ssl_settings(env, pem_files).kafka)
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "wire",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    issuers = [dict(x[0] for x in ca["subject"]) for ca in context.get_ca_certs()]
    assert {"commonName": "wirewatch-test-ca"} in issuers


async def test_every_client_kind_gets_the_security_settings(
    env: pytest.MonkeyPatch, pem_files: tuple[Path, Path]
) -> None:
    kafka = sasl_ssl_settings(env, pem_files).kafka
    # Each client hands its options to one aiokafka client object; none is started
    # (no packet is sent: that half is test_kafka_sasl.py against a real broker).
    producer, consumer, admin = make_producer(kafka), make_consumer(kafka), make_admin(kafka)
    try:
        for client in (producer.client, consumer._client, admin._client):
            assert client._security_protocol == "SASL_SSL"
            assert client._sasl_mechanism == "SCRAM-SHA-256"
            assert client._sasl_plain_username == "wire"
            assert client._sasl_plain_password == PASSWORD
            assert isinstance(client._ssl_context, ssl.SSLContext)
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()


def test_the_faust_app_gets_the_same_credentials(
    env: pytest.MonkeyPatch, pem_files: tuple[Path, Path], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: q\n    query: quake\n")
    env.setenv("WIREWATCH_PROCESSOR__RULES_FILE", str(rules))
    env.setenv("WIREWATCH_PROCESSOR__STATE_DIR", str(tmp_path / "faust"))
    env.setenv("WIREWATCH_ALERTS__NOTIFY_FILE", str(tmp_path / "none.yaml"))
    app = create_app(sasl_ssl_settings(env, pem_files))
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert (credentials.username, credentials.password) == ("wire", PASSWORD)
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert PASSWORD not in repr(credentials)
