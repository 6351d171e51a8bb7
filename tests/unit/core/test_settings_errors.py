"""Unusable settings give a clear message naming the setting, never a traceback or the value."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import free_port
from wirewatch import cli
from wirewatch.settings import SettingsError, load_settings


def test_a_bad_environment_value_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WIREWATCH_SETTINGS", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("WIREWATCH_PROCESSOR__WINDOW_HOURS", "hunter2-s3cret")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "processor.window_hours" in message
    assert "WIREWATCH_PROCESSOR__WINDOW_HOURS" in message
    assert "hunter2-s3cret" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ingest: [unclosed\n", ":2: not valid YAML"),
        ("- a list\n", "top level must be a mapping"),
        ("kafka:\n  sasl_password: hunter2-s3cret\n", "kafka.sasl_password is a secret"),
        ("ingest:\n  no_such_setting: 1\n", "ingest.no_such_setting"),
    ],
)
def test_a_bad_settings_file_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("WIREWATCH_SETTINGS", str(path))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert expected in str(info.value)
    assert "hunter2-s3cret" not in str(info.value)


def test_the_cli_prints_the_problem_and_exits_2_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WIREWATCH_SETTINGS", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("WIREWATCH_PROCESSOR__WINDOW_HOURS", "hunter2-s3cret")
    monkeypatch.setattr(sys, "argv", ["wirewatch", "status"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("wirewatch: bad settings")
    assert "WIREWATCH_PROCESSOR__WINDOW_HOURS" in err
    assert "Traceback" not in err and "hunter2-s3cret" not in err


def test_an_unreachable_broker_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WIREWATCH_SETTINGS", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.setattr(sys, "argv", ["wirewatch", "tail", "--from-beginning"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("wirewatch: Kafka is unreachable")
    assert "Traceback" not in err
