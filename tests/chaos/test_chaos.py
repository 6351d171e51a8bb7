"""Faults in the middle of a live stream: nothing lost, nothing alerted twice.

Each scenario runs the whole stack (ingest, processor, dispatcher as real
processes, a real broker, feeds and a json:// target on 127.0.0.1) while the
feeds reveal their entries over ~4 s, injects one fault mid-stream, and then
checks, for every run: every entry became an event, every wildfire story was
delivered exactly once (or, for a send cut by a crash, parked in the DLQ for a
human instead of repeated), and the hostile feeds were recorded as failing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from bench.e2e_support import seed_window, window_state
from tests.chaos.harness import HEADLINES, RULES, Stack, expected_entries
from wirewatch.broker import LocalBroker

pytestmark = pytest.mark.integration

WILDFIRES = [h for h in HEADLINES if "Wildfire" in h]
LARGE_WINDOW = 5_000


async def finish_and_check(stack: Stack, report: Callable[[str], None], name: str) -> None:
    settled = await stack.wait_for(stack.settled, 120)
    await asyncio.sleep(4)  # a duplicate would show up now
    events = await stack.article_events()
    received = stack.target.per_headline()
    parked = await stack.dead_lettered_wildfires()
    report(
        f"{name}: articles in {len(expected_entries())}, events out {len(events)} "
        f"({len({e.article.id for e in events})} distinct), alerts expected {len(WILDFIRES)}, "
        f"received {sum(received.values())}, dead-lettered {len(parked)}"
    )
    assert settled, stack.logs()
    assert len({e.article.id for e in events}) == len(expected_entries())
    # Nothing twice: each wildfire story reached the target at most once ...
    assert all(count == 1 for count in received.values()), received
    # ... and nothing lost: each one arrived, or is in the DLQ for a human.
    assert set(received) | parked == set(WILDFIRES)
    titles_per_story = {e.story_id: e.article.title for e in events}
    assert len(titles_per_story) == len(HEADLINES)
    assert_hostile_feeds_recorded(stack)


def assert_hostile_feeds_recorded(stack: Stack) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wirewatch", "feeds", "status", "--json"],
        env=stack.env, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    rows = {row["url"].rsplit("/", 1)[-1]: row for row in json.loads(out.stdout)}
    for bad in ("garbage.xml", "hang.xml", "huge.xml"):
        row = rows[bad]
        assert row.get("last_error") or row.get("problems"), row
        assert not row.get("produced_total"), row


async def wait_events(stack: Stack, at_least: int) -> None:
    async def enough() -> bool:
        return len(await stack.article_events()) >= at_least

    assert await stack.wait_for(enough, 90), stack.logs()


async def test_processor_kill_9_mid_stream(stack: Stack, report: Callable[[str], None]) -> None:
    await wait_events(stack, 5)
    stack.kill("process")
    await asyncio.sleep(2)
    stack.spawn("process")
    await finish_and_check(stack, report, "kill -9 processor")


async def test_two_processors_one_killed_mid_stream(
    stack: Stack, report: Callable[[str], None]
) -> None:
    """A second worker joins (a rebalance), then the first is killed (another)."""
    await wait_events(stack, 5)
    stack.spawn("process", name="process-2")
    await wait_events(stack, 15)
    stack.kill("process")
    await finish_and_check(stack, report, "two processors, one killed")


async def test_processor_kill_9_at_a_large_window(
    stack: Stack, report: Callable[[str], None]
) -> None:
    """Killed, then restarted with thousands of earlier stories in its window to recover."""
    await wait_events(stack, 5)
    stack.kill("process")
    # Earlier stories, clustered by the same core, written to the window's changelog.
    await asyncio.to_thread(window_state, LARGE_WINDOW, 7)
    await seed_window(stack.settings, LARGE_WINDOW, 7)
    stack.spawn("process")
    await finish_and_check(stack, report, f"kill -9 processor at a {LARGE_WINDOW:,} window")


async def test_dispatcher_kill_9_mid_stream(stack: Stack, report: Callable[[str], None]) -> None:
    async def some_sent() -> bool:
        return len(stack.target.received) >= 2

    assert await stack.wait_for(some_sent, 90), stack.logs()
    stack.kill("dispatch")
    await asyncio.sleep(2)
    stack.spawn("dispatch")
    await finish_and_check(stack, report, "kill -9 dispatcher")


async def test_broker_restart_mid_stream(
    stack: Stack, chaos_broker: LocalBroker, report: Callable[[str], None]
) -> None:
    await wait_events(stack, 5)
    await asyncio.to_thread(chaos_broker.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(chaos_broker.start)
    await finish_and_check(stack, report, "broker restart")


async def test_target_down_then_back(stack: Stack, report: Callable[[str], None]) -> None:
    stack.target.down = True
    await wait_events(stack, 10)

    async def refused() -> bool:
        return stack.target.refused >= 2

    assert await stack.wait_for(refused, 60), stack.logs()
    await asyncio.sleep(8)  # the outage, shortened with the retry clock (backoff 0.3-2 s)
    stack.target.down = False
    await finish_and_check(stack, report, f"target down ({stack.target.refused} refusals)")


async def test_rules_file_corrupted_while_running(
    stack: Stack, report: Callable[[str], None]
) -> None:
    await wait_events(stack, 3)
    stack.rules.write_text("version: 1\nrules:\n  - id: [broken\n")
    await asyncio.sleep(3)
    await finish_and_check(stack, report, "rules file corrupted")
    events = await stack.article_events()
    # The corrupt file never replaced the good rules: one version throughout.
    assert len({e.rules_version for e in events}) == 1
    assert "rejected" in (stack.tmp / "process.log").read_text()
    stack.rules.write_text(RULES)
