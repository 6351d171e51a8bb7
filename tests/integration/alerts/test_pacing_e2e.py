"""Digests, rate-limit overflow and quiet hours end to end, with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.dispatch import run_dispatcher
from alerts.state import pending_spec, read_table
from wirewatch.events import DeliveryAttempt
from wirewatch.settings import Settings

from .conftest import WebhookSink, make_alert, produce, read_topic, wait_for

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@asynccontextmanager
async def dispatcher(settings: Settings, clock: Clock) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(settings, stop=stop, clock=clock))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def notify(webhook: WebhookSink, subscription: str) -> str:
    return (
        f"urls:\n  - json://127.0.0.1:{webhook.port}/hook:\n      tag: desk\n"
        f"subscriptions:\n  desk:\n{subscription}"
    )


async def parked_count(settings: Settings) -> int:
    return len(await read_table(settings.kafka, pending_spec(settings).name))


async def wait_parked(settings: Settings, count: int) -> None:
    for _ in range(200):
        if await parked_count(settings) == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} parked, have {await parked_count(settings)}")


async def statuses(settings: Settings) -> list[str]:
    raw = await read_topic(settings, settings.kafka.topics.deliveries.name)
    return [DeliveryAttempt.model_validate_json(v).status for _, v in raw if v]


def stories_in(body: dict[str, Any]) -> list[str]:
    return sorted(part[:2] for part in str(body["message"]).split("https://news.example.com/")[1:])


async def test_digest_batches_the_period_and_survives_a_restart(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        notify(webhook, "    timezone: Europe/Berlin\n    digest: every 15m\n")
    )
    clock = Clock(datetime(2024, 5, 1, 10, 2, tzinfo=UTC))
    await produce(settings, [make_alert(story=f"s{i}") for i in range(3)])
    async with dispatcher(settings, clock):
        await wait_parked(settings, 3)
        assert webhook.received == []
        clock.advance(timedelta(minutes=13))  # 10:15, the boundary
        await wait_for(lambda: len(webhook.received) >= 1)
        await wait_parked(settings, 0)
    (body,) = webhook.bodies("/hook")
    assert body["title"] == "wirewatch digest: 3 stories (2024-05-01 12:15 CEST)"
    assert stories_in(body) == ["s0", "s1", "s2"]
    assert (await statuses(settings)).count("digested") == 3

    # Parked in one process, delivered by the next: the buffer lives in Kafka.
    await produce(settings, [make_alert(story=f"s{i}") for i in range(3, 5)])
    async with dispatcher(settings, clock):
        await wait_parked(settings, 2)
    assert len(webhook.received) == 1
    clock.advance(timedelta(minutes=15))
    async with dispatcher(settings, clock):
        await wait_for(lambda: len(webhook.received) >= 2)
        await wait_parked(settings, 0)
        await asyncio.sleep(0.5)
    assert len(webhook.received) == 2
    assert stories_in(webhook.bodies("/hook")[1]) == ["s3", "s4"]


async def test_rate_limit_overflow_rolls_into_one_digest(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(notify(webhook, "    rate_limit: 2/1h\n"))
    clock = Clock(datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    await produce(settings, [make_alert(story=f"s{i}") for i in range(5)])
    async with dispatcher(settings, clock):
        await wait_parked(settings, 3)
        await wait_for(lambda: len(webhook.received) >= 2)
        await asyncio.sleep(0.3)
        assert len(webhook.received) == 2  # the limit
        clock.advance(timedelta(hours=1))
        await wait_for(lambda: len(webhook.received) >= 3)
        await wait_parked(settings, 0)
    bodies = webhook.bodies("/hook")
    assert [stories_in(b) for b in bodies[:2]] == [["s0"], ["s1"]]
    assert bodies[2]["title"].startswith("wirewatch digest: 3 stories")
    assert stories_in(bodies[2]) == ["s2", "s3", "s4"]


async def test_quiet_hours_hold_alerts_until_they_end_except_high(
    webhook: WebhookSink, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        notify(webhook, '    timezone: Europe/Berlin\n    quiet_hours: "22:00-07:00"\n')
    )
    clock = Clock(datetime(2024, 5, 1, 21, 30, tzinfo=UTC))  # 23:30 in Berlin
    await produce(
        settings,
        [make_alert(story="calm"), make_alert(story="fire", severity="high")],
    )
    async with dispatcher(settings, clock):
        await wait_parked(settings, 1)
        await wait_for(lambda: len(webhook.received) >= 1)
        assert "[HIGH]" in webhook.bodies("/hook")[0]["title"]
        clock.now = datetime(2024, 5, 2, 5, 0, tzinfo=UTC)  # 07:00 Berlin: quiet ends
        await wait_for(lambda: len(webhook.received) >= 2)
        await wait_parked(settings, 0)
    held = webhook.bodies("/hook")[1]
    assert stories_in(held) == ["ca"]
    assert not held["title"].startswith("wirewatch digest")  # one held alert, sent as itself
    assert "held" in await statuses(settings)
