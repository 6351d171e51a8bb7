"""load_notify_config: apprise YAML, env expansion, per-line errors, no secrets in text."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from wirewatch.notify_config import import_apprise, load_notify_config, notify_tags

SLACK_A, SLACK_B, SLACK_C = "T1234ABCD", "B1234ABCD", "abcdefghijklmnopqrstuvwx"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_A", SLACK_A)
    monkeypatch.setenv("SLACK_B", SLACK_B)
    monkeypatch.setenv("SLACK_C", SLACK_C)
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-secret")


def test_missing_file_means_no_targets_and_no_error(tmp_path: Path) -> None:
    config = load_notify_config(tmp_path / "absent.yaml")
    assert config.targets == []
    assert config.errors == []
    assert notify_tags(tmp_path / "absent.yaml") == set()


def test_empty_file_is_no_targets(tmp_path: Path) -> None:
    config = load_notify_config(write(tmp_path, "# nothing yet\n"))
    assert (config.targets, config.errors) == ([], [])


def test_targets_carry_tags_lines_ids_and_labels(tmp_path: Path, slack_env: None) -> None:
    path = write(
        tmp_path,
        "version: 1\n"
        "tag: everyone\n"
        "urls:\n"
        "  - json://127.0.0.1:8080/hook:\n"
        "      tag: ops\n"
        "  - slack://${SLACK_A}/${SLACK_B}/${SLACK_C}/#news:\n"
        "      - tag: desk\n"
        "  - mailto://user:${SMTP_PASSWORD}@127.0.0.1:2525"
        "?to=me@example.com&from=ww@example.com:\n"
        "      tags: email, desk\n",
    )
    config = load_notify_config(path)
    assert config.errors == []
    by_line = {t.line: t for t in config.targets}
    assert sorted(by_line) == [4, 6, 8]
    assert by_line[4].tags == {"ops", "everyone"}
    assert by_line[6].tags == {"desk", "everyone"}
    assert by_line[8].tags == {"email", "desk", "everyone"}
    assert by_line[6].label == f"slack:{by_line[6].id}"
    assert all(re.fullmatch(r"[0-9a-f]{12}", t.id) for t in config.targets)
    assert len({t.id for t in config.targets}) == 3
    text = repr(config) + " ".join(f"{t.id} {t.label}" for t in config.targets)
    for secret in (SLACK_A, SLACK_B, SLACK_C, "hunter2-secret", "hook", "127.0.0.1"):
        assert secret not in text
    assert notify_tags(path) == {"ops", "desk", "email", "everyone"}
    # The plugin carries the real secret for delivery.
    assert SLACK_C in by_line[6].plugin.url(privacy=False)


def test_ids_survive_reordering_retagging_and_naming_but_not_a_new_url(tmp_path: Path) -> None:
    first = load_notify_config(
        write(
            tmp_path,
            "urls:\n  - json://127.0.0.1:8080/a:\n      tag: ops\n  - json://127.0.0.1:8080/b\n",
        )
    ).targets
    second = load_notify_config(
        write(
            tmp_path,
            "urls:\n  - json://127.0.0.1:8080/b\n"
            "  - json://127.0.0.1:8080/a:\n      tag: desk, ops\n      name: Ops hook\n"
            "  - json://127.0.0.1:8080/c\n",
        )
    ).targets
    assert [t.id for t in second[:2]] == [first[1].id, first[0].id]
    assert second[1].label == "Ops hook"
    assert second[2].id not in {t.id for t in first}


def test_same_url_twice_gets_two_ids_and_names_are_checked(tmp_path: Path) -> None:
    config = load_notify_config(
        write(
            tmp_path,
            "urls:\n"
            "  - json://127.0.0.1/x:\n      tag: a\n      name: One\n"
            "  - json://127.0.0.1/x:\n      tag: b\n"
            "  - json://127.0.0.1/y:\n      name: One\n"
            "  - json://127.0.0.1/z:\n      name: '[red]x'\n",
        )
    )
    assert [t.line for t in config.targets] == [2, 5]
    assert config.targets[0].id != config.targets[1].id
    assert config.errors[0].endswith("name 'One' is already used on line 2")
    assert ":9: name must be" in config.errors[1]


def test_every_bad_url_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\n"
        "urls:\n"
        "  - bogus://nothing\n"
        "  - json://127.0.0.1/ok\n"
        "  - slack://too/short:\n"
        "      tag: desk\n"
        "  - json://${WIREWATCH_TEST_UNSET_VAR}/x\n",
    )
    config = load_notify_config(path)
    assert [t.line for t in config.targets] == [4]
    assert len(config.errors) == 3
    assert config.errors[0].startswith(f"{path}:3: invalid bogus:// URL")
    assert config.errors[1].startswith(f"{path}:5: invalid slack:// URL")
    assert config.errors[2] == (
        f"{path}:7: json:// needs unset environment variable WIREWATCH_TEST_UNSET_VAR"
    )


def test_secret_never_appears_in_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAD_TOKEN", "sk-supersecret-xyz")
    path = write(tmp_path, "urls:\n  - slack://${BAD_TOKEN}\n")
    config = load_notify_config(path)
    assert config.targets == []
    assert len(config.errors) == 1
    assert "sk-supersecret-xyz" not in config.errors[0]


def test_invalid_yaml_and_shapes(tmp_path: Path) -> None:
    bad = load_notify_config(write(tmp_path, "urls:\n  - [unclosed\n"))
    assert len(bad.errors) == 1
    assert ":3: invalid YAML" in bad.errors[0] or ":2: invalid YAML" in bad.errors[0]
    assert (
        load_notify_config(write(tmp_path, "- a\n"))
        .errors[0]
        .endswith("must be a mapping (apprise YAML)")
    )
    assert "must be 1" in load_notify_config(write(tmp_path, "version: 2\n")).errors[0]
    assert "'urls:' must be a list" in load_notify_config(write(tmp_path, "urls: x\n")).errors[0]


def test_unknown_top_level_keys_are_ignored_by_apprise_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The alert stage keeps its subscriptions section in the same file: apprise's
    # own loader must accept it without a word.
    apprise = import_apprise()
    path = write(
        tmp_path,
        "version: 1\nurls:\n  - json://127.0.0.1/x:\n      tag: desk\n"
        "subscriptions:\n  desk:\n    timezone: Europe/Berlin\n",
    )
    caplog.set_level(logging.DEBUG, logger="apprise")
    config = apprise.AppriseConfig()
    assert config.add(str(path))
    apobj = apprise.Apprise()
    apobj.add(config)
    assert len(apobj) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert load_notify_config(path).errors == []


def test_shipped_default_config_loads_cleanly(repo_root: Path) -> None:
    config = load_notify_config(repo_root / "config" / "notify.yaml")
    assert config.errors == []


def test_apprise_log_records_are_masked_for_loaded_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        "urls:\n  - json://127.0.0.1/hook/tok-in-path-123?+X-Key=hdr-secret-456:\n      tag: a\n",
    )
    assert load_notify_config(path).errors == []
    caplog.set_level(logging.WARNING, logger="apprise")
    logging.getLogger("apprise").warning(
        "posting to %s", "http://127.0.0.1/hook/tok-in-path-123 X-Key: hdr-secret-456"
    )
    (record,) = [r for r in caplog.records if r.name == "apprise"]
    assert record.getMessage() == "posting to http://127.0.0.1/hook/*** X-Key: ***"
