"""The warm start's build gives the main thread the GIL back quickly."""

from __future__ import annotations

import sys

import pytest

from processors.runtime.warm_start import BUILD_SWITCH_INTERVAL_S, short_gil_turns


def test_short_gil_turns_lowers_the_switch_interval_and_restores_it() -> None:
    before = sys.getswitchinterval()
    with short_gil_turns(BUILD_SWITCH_INTERVAL_S):
        assert sys.getswitchinterval() == pytest.approx(BUILD_SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == before
    assert before > BUILD_SWITCH_INTERVAL_S  # CPython's default is 5 ms


def test_short_gil_turns_restores_the_interval_when_the_build_fails() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), short_gil_turns(BUILD_SWITCH_INTERVAL_S):
        raise RuntimeError("store unreadable")
    assert sys.getswitchinterval() == before


def test_short_gil_turns_never_raises_a_lower_interval() -> None:
    before = sys.getswitchinterval()
    with short_gil_turns(1.0):
        assert sys.getswitchinterval() == before
