"""Where the Kafka bootstrap address comes from."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.support import broker_ports, free_ports
from wirewatch.settings import BrokerSettings, KafkaSettings, load_settings


def test_kafka_bootstrap_shortcut_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "10.0.0.1:9092")
    assert load_settings().kafka.bootstrap == "10.0.0.1:9092"


def test_settings_passed_in_code_win_over_the_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests and benchmarks that start their own broker pass its address in code;
    # an exported KAFKA_BOOTSTRAP must not send their readers to another broker.
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "10.0.0.1:9092")
    settings = load_settings(kafka=KafkaSettings(bootstrap="127.0.0.1:40001", namespace="t"))
    assert settings.kafka.bootstrap == "127.0.0.1:40001"
    assert settings.kafka.topics.raw.name == "t.news.raw"


def test_a_broker_refuses_one_port_for_both_of_its_listeners() -> None:
    with pytest.raises(ValidationError, match="both 19092"):
        BrokerSettings(port=19092, controller_port=19092)


def test_free_ports_are_distinct() -> None:
    # Two free_port() calls can return one port twice; the broker's two
    # listeners once got the same one.
    ports = free_ports(8)
    assert len(set(ports)) == 8
    assert BrokerSettings(**broker_ports()).port > 0
