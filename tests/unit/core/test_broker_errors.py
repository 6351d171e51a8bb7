"""Missing Java or Maven is named, with a pointer to docker compose."""

from __future__ import annotations

import pytest

from wirewatch.broker import BrokerError, find_tool


@pytest.mark.parametrize("tool", ["java", "mvn"])
def test_missing_tool_is_named_and_points_to_compose(
    tool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrokerError) as err:
        find_tool(tool)
    assert f"'{tool}' was not found" in str(err.value)
    assert "docker compose" in str(err.value)
