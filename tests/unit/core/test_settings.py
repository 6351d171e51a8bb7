"""Where the Kafka bootstrap address comes from."""

from __future__ import annotations

import pytest

from wirewatch.settings import KafkaSettings, load_settings


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
