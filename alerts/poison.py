"""Poison records on news.alerts: unreadable, invalid or crashing ones are set aside.

Such a record is counted (``wirewatch_poison_records{stage="dispatcher"}``), written
to ``kafka.topics.alerts_poison`` with the reason and its bytes, and skipped, so one
bad record never stops the dispatcher or sends it into a crash loop. Failures of the
infrastructure (Kafka, the disk) are not the record's fault: they still propagate,
and the record is read again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from alerts.state import Store, read_table
from wirewatch.events import AlertDecision, PoisonRecord
from wirewatch.metrics import POISON_RECORDS
from wirewatch.settings import Settings

log = logging.getLogger(__name__)
STAGE = "dispatcher"
# Errors that say nothing about the record: let them stop the stage, not poison it.
INFRASTRUCTURE = (KafkaError, OSError)

Kind = Literal["unreadable", "invalid", "crashed"]


def read_alert(value: bytes | None) -> AlertDecision | tuple[Kind, str]:
    """The decision in ``value``, or (kind, reason) if it cannot be one."""
    if value is None:
        return "unreadable", "empty value (tombstone)"
    try:
        return AlertDecision.model_validate_json(value)
    except ValidationError as exc:
        errors = exc.errors()
        kind: Kind = "unreadable" if errors and errors[0]["type"] == "json_invalid" else "invalid"
        return kind, _summarise(exc)


def make_poison(record: Any, kind: Kind, reason: str) -> PoisonRecord:
    """The poison record for a consumed Kafka ``record``."""
    return PoisonRecord.from_consumed(STAGE, record, kind, reason)


async def set_aside(store: Store, poison: PoisonRecord) -> None:
    """Count, log and write one poison record."""
    POISON_RECORDS.labels(poison.stage, poison.kind).inc()
    log.error(
        "%s record at %s[%d]@%d set aside as poison: %s",
        poison.kind,
        poison.topic,
        poison.partition,
        poison.offset,
        poison.reason,
    )
    await store.poison(poison)


async def handle_record(
    handle: Callable[[AlertDecision], Awaitable[list[asyncio.Future[None]]]],
    store: Store,
    record: Any,
) -> list[asyncio.Future[None]]:
    """``handle`` the decision in ``record``, or set the record aside as poison."""
    alert = read_alert(record.value)
    if not isinstance(alert, AlertDecision):
        kind, reason = alert
        await set_aside(store, make_poison(record, kind, reason))
        return []
    try:
        return await handle(alert)
    except INFRASTRUCTURE:
        raise  # not the record's fault: stop, and read it again after the restart
    except Exception as exc:
        await set_aside(store, make_poison(record, "crashed", f"{type(exc).__name__}: {exc}"))
        return []


async def count_poison(settings: Settings, topic: str = "") -> Counter[str]:
    """Poison records per kind in ``topic``, by default the alerts one (``wirewatch status``)."""
    table = await read_table(settings.kafka, topic or settings.kafka.topics.alerts_poison.name)
    counts: Counter[str] = Counter()
    for value in table.values():
        try:
            counts[PoisonRecord.model_validate_json(value).kind] += 1
        except ValidationError:
            counts["unreadable"] += 1
    return counts


def _summarise(exc: ValidationError) -> str:
    # Field paths and messages only: the input itself is hostile and may be huge.
    problems = [
        f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return "; ".join(problems) or "invalid record"
