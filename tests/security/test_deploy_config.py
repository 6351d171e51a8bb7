"""Issue 13, rows on deployment files: the Kafka volume really holds the log dir, and the
dependency floor excludes aiohttp releases with known decompression-bomb advisories."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> volume name, for the short "volume:path" syntax."""
    return {entry.split(":")[1]: entry.split(":")[0] for entry in service.get("volumes", [])}


def test_kafka_log_dir_is_the_mounted_volume() -> None:
    kafka = _compose()["services"]["kafka"]
    log_dir = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert _mounts(kafka).get(log_dir) == "kafka-data"


def test_kafka_data_volume_is_made_writable_for_the_image_user_first() -> None:
    services = _compose()["services"]
    kafka = services["kafka"]
    log_dir = kafka["environment"]["KAFKA_LOG_DIRS"]
    steps = [
        name
        for name, cond in kafka.get("depends_on", {}).items()
        if cond.get("condition") == "service_completed_successfully"
    ]
    assert steps, "kafka must wait for a step that gives its data dir to the image's user"
    (step,) = (services[name] for name in steps)
    assert step["image"] == kafka["image"] and str(step["user"]) == "0"
    assert _mounts(step).get(log_dir) == "kafka-data"
    assert step["command"][:3] == ["chown", "-R", "appuser:root"] and log_dir in step["command"]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# aiohttp releases a decompression-bomb advisory applies to, each the last one before its fix:
# CVE-2025-69223 (auto_decompress zip bomb, fixed 3.13.3) and CVE-2026-128131
# (quadratic CPU on concatenated compressed members, client side too, fixed 3.14.4).
@pytest.mark.parametrize("vulnerable", ["3.9.0", "3.12.14", "3.13.2", "3.14.3"])
def test_aiohttp_floor_excludes_advisory_releases(vulnerable: str) -> None:
    (spec,) = (
        Requirement(r) for r in _pyproject()["project"]["dependencies"] if r.startswith("aiohttp")
    )
    assert not spec.specifier.contains(vulnerable)
    assert spec.specifier.contains("3.14.5")


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    data = _pyproject()
    assert data["project"]["license"] == "Apache-2.0"
    (setuptools,) = (
        Requirement(r) for r in data["build-system"]["requires"] if r.startswith("setuptools")
    )
    # PEP 639 license expressions arrived in setuptools 77; older ones reject the string.
    assert not setuptools.specifier.contains("76.1")
