"""Logging set-up: human lines for a terminal, JSON lines for collectors."""

from __future__ import annotations

import json
import logging
import sys
from typing import ClassVar


class JsonFormatter(logging.Formatter):
    _STANDARD: ClassVar[set[str]] = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        payload.update({k: v for k, v in extra.items() if k not in ("message", "asctime")})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


# Loggers whose DEBUG lines carry full target URLs, tokens included (apprise logs
# the webhook URL it posts to; urllib3 logs every request path). They stay at
# WARNING even with --verbose, and only ``debug_delivery`` opens them.
DELIVERY_LOGGERS = ("apprise", "urllib3", "requests")


def quiet_delivery_loggers() -> None:
    """Put the delivery loggers at WARNING unless someone set their level on purpose."""
    for name in DELIVERY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def setup_logging(
    log_format: str = "human", verbose: bool = False, debug_delivery: bool = False
) -> None:
    """Configure the root logger; ``debug_delivery`` is the explicit opt-in to apprise DEBUG."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Kafka clients and Faust narrate every rebalance; keep the console about wirewatch.
    quiet = logging.DEBUG if verbose else logging.WARNING
    for chatty in ("aiokafka", "faust", "mode"):
        logging.getLogger(chatty).setLevel(quiet)
    for name in DELIVERY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug_delivery else logging.WARNING)
