"""Poison records: which bytes are unreadable or invalid, and which crashes are the record's."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from alerts.poison import handle_record, make_poison, read_alert
from wirewatch.events import AlertDecision, Article, PoisonRecord, RuleMatch

GOOD = AlertDecision(
    alert_id="r:s",
    rule=RuleMatch(rule_id="r"),
    story_id="s",
    article=Article(id="a", title="t"),
)


@pytest.mark.parametrize(
    ("value", "kind", "reason_starts"),
    [
        (None, "unreadable", "empty value"),
        (b"", "unreadable", "value: Invalid JSON"),
        (b"\xff\xfe garbage", "unreadable", "value: Invalid JSON"),
        (b"[1, 2]", "invalid", "value: Input should be"),
        (b'{"alert_id": "x"}', "invalid", "rule: Field required"),
        (b'{"alert_id": 7, "rule": {"rule_id": "r"}}', "invalid", "alert_id: Input should be"),
    ],
)
def test_read_alert_names_what_is_wrong(value: bytes | None, kind: str, reason_starts: str) -> None:
    result = read_alert(value)
    assert isinstance(result, tuple)
    assert result[0] == kind
    assert result[1].startswith(reason_starts), result[1]


def test_read_alert_passes_a_good_decision_through() -> None:
    assert read_alert(GOOD.to_bytes()) == GOOD


@dataclass
class Record:
    value: bytes | None
    topic: str = "news.alerts"
    partition: int = 0
    offset: int = 41
    key: bytes | None = b"k"


@dataclass
class CapturingStore:
    poisoned: list[PoisonRecord] = field(default_factory=list)

    async def poison(self, record: PoisonRecord) -> None:
        self.poisoned.append(record)


@dataclass
class CrashingDispatcher:
    error: Exception
    store: CapturingStore = field(default_factory=CapturingStore)

    async def handle(self, alert: AlertDecision) -> list[asyncio.Future[None]]:
        raise self.error


async def test_a_record_that_crashes_handling_is_set_aside() -> None:
    dispatcher: Any = CrashingDispatcher(ZeroDivisionError("boom"))
    assert await handle_record(dispatcher.handle, dispatcher.store, Record(GOOD.to_bytes())) == []
    (poison,) = dispatcher.store.poisoned
    assert (poison.kind, poison.offset, poison.reason) == ("crashed", 41, "ZeroDivisionError: boom")
    assert base64.b64decode(poison.value_b64) == GOOD.to_bytes()


@pytest.mark.parametrize("error", [KafkaTimeoutError(), OSError("disk full")])
async def test_infrastructure_failures_are_not_the_records_fault(error: Exception) -> None:
    dispatcher: Any = CrashingDispatcher(error)
    with pytest.raises(type(error)):
        await handle_record(dispatcher.handle, dispatcher.store, Record(GOOD.to_bytes()))
    assert dispatcher.store.poisoned == []


def test_poison_keeps_a_bounded_copy_of_huge_values() -> None:
    poison = make_poison(Record(b"x" * 200_000), "unreadable", "r" * 5000)
    assert poison.value_size == 200_000
    assert len(base64.b64decode(poison.value_b64)) == 64 * 1024
    assert len(poison.reason) == 500
