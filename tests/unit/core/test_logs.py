"""Logging set-up: delivery loggers (apprise, urllib3) stay at WARNING unless asked for."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from wirewatch.logs import DELIVERY_LOGGERS, setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in DELIVERY_LOGGERS}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


@pytest.mark.parametrize(
    ("verbose", "debug_delivery", "expected"),
    [
        (False, False, logging.WARNING),
        (True, False, logging.WARNING),  # -v: DEBUG for wirewatch, not for URL-printing loggers
        (True, True, logging.DEBUG),
        (False, True, logging.DEBUG),
    ],
)
def test_delivery_loggers_open_only_on_explicit_request(
    restore_logging: None, verbose: bool, debug_delivery: bool, expected: int
) -> None:
    setup_logging("human", verbose, debug_delivery)
    assert {logging.getLogger(n).level for n in DELIVERY_LOGGERS} == {expected}
    assert logging.getLogger().level == (logging.DEBUG if verbose else logging.INFO)
