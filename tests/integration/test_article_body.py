"""The article body end to end: feeds on 127.0.0.1 -> `wirewatch ingest` -> real Kafka ->
`wirewatch process` -> news.events / news.alerts.

One scenario runs once for the module, feed by feed, in the order a newsroom would see it:
The Metropolitan Times publishes a long article in ``content:encoded`` whose body alone
holds a tariff threat; a syndication partner runs a near-identical copy; a third outlet
reports the same transfer in its own words; the next day that outlet reports a different
extradition. A fourth feed carries entries with an empty and a binary-junk body. The tests
below each check one promise on what the real stages wrote.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from tests.news_articles import (
    OTHER_EXTRADITION,
    TRANSFER,
    TRANSFER_COPY,
    TRANSFER_RETOLD,
    NewsArticle,
)
from tests.support import spawn_stage, stop_stages
from wirewatch.events import AlertDecision, NewsEvent
from wirewatch.kafka import ensure_topics, make_consumer
from wirewatch.settings import KafkaSettings, Settings, load_settings

pytestmark = pytest.mark.integration

CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
JUNK = bytes(b for b in random.Random(11).randbytes(3000) if b not in b"]>")
STEP_TIMEOUT_S = 90.0


def rss_item(article: NewsArticle) -> str:
    # What a CMS puts in content:encoded: paragraphs, an ad slot's script, a photo caption.
    paragraphs = [f"<p>{escape(p)}</p>" for p in article.paragraphs()]
    paragraphs.insert(2, "<script>window.ads.push({slot: 'mid'})</script>")
    content = "".join(paragraphs)
    return (
        f"<item><title>{escape(article.title)}</title>"
        f"<link>https://{article.source.lower().replace(' ', '')}.test/{article.slug}</link>"
        f"<guid isPermaLink='false'>{article.slug}</guid>"
        f"<description>{escape(article.summary)}</description>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded>"
        f"<pubDate>{format_datetime(article.published)}</pubDate></item>"
    )


def rss(title: str, items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {CONTENT_NS}><channel>'
        f"<title>{title}</title><link>https://feeds.test/</link>{items}</channel></rss>"
    ).encode()


def bad_bodies_feed() -> bytes:
    items = (
        "<item><title>Ferry timetable changes from Monday</title>"
        "<guid isPermaLink='false'>ferry</guid>"
        "<content:encoded><![CDATA[]]></content:encoded>"
        "<pubDate>Wed, 12 Aug 2026 20:00:00 GMT</pubDate></item>"
        "<item><title>Council publishes its budget</title>"
        "<guid isPermaLink='false'>budget</guid>"
        "<content:encoded><![CDATA[JUNK]]></content:encoded>"
        "<pubDate>Wed, 12 Aug 2026 20:05:00 GMT</pubDate></item>"
    )
    return rss("Harbour Notes", items).replace(b"JUNK", JUNK)


@dataclass
class Outcome:
    events: list[NewsEvent]
    alerts: list[AlertDecision]
    logs: str

    def event(self, slug: str) -> NewsEvent:
        found = [e for e in self.events if e.kind == "article" and e.article.guid == slug]
        assert len(found) == 1, (slug, [e.article.title for e in self.events], self.logs)
        return found[0]

    def alerts_on(self, slug: str) -> list[AlertDecision]:
        return [a for a in self.alerts if a.article.guid == slug]


class TopicReader:
    """Everything produced to one topic so far, read from the beginning in the background."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.values: list[bytes] = []
        self._consumer = make_consumer(settings.kafka, topic, group_id=None)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=300)
            self.values += [r.value for records in batch.values() for r in records if r.value]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def wait_for(predicate: Callable[[], bool], what: str, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()}")
        await asyncio.sleep(0.3)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outcome(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Outcome]:
    tmp = tmp_path_factory.mktemp("body")
    bodies: dict[str, bytes] = {
        "/metro.xml": rss("The Metropolitan Times", ""),
        "/gulf.xml": rss("Gulf Coast Wire", ""),
        "/border.xml": rss("Border Desk", ""),
        "/harbour.xml": bad_bodies_feed(),
    }

    async def serve(request: web.Request) -> web.Response:
        body = bodies.get(request.path)
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"

    names = {"/metro.xml": "The Metropolitan Times", "/gulf.xml": "Gulf Coast Wire"}
    names |= {"/border.xml": "Border Desk", "/harbour.xml": "Harbour Notes"}
    feeds = [{"url": base + path, "name": name, "interval": 1} for path, name in names.items()]
    (tmp / "feeds.yaml").write_text(yaml.safe_dump({"version": 1, "feeds": feeds}))
    rules = yaml.safe_load((Path(__file__).parents[2] / "config" / "rules.yaml").read_text())
    for rule in rules["rules"]:
        # Follow-ups at N outlets are a feature of their own (tested elsewhere); here
        # "alerts nothing more" means exactly that.
        rule.pop("followup_sources", None)
    (tmp / "rules.yaml").write_text(yaml.safe_dump(rules))
    namespace = f"body.{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WIREWATCH_KAFKA__NAMESPACE": namespace,
        "WIREWATCH_INGEST__FEEDS_FILE": str(tmp / "feeds.yaml"),
        # The feed server listens on loopback, which ingest refuses by default.
        "WIREWATCH_INGEST__ALLOW_ADDRESSES": '["127.0.0.1"]',
        "WIREWATCH_PROCESSOR__RULES_FILE": str(tmp / "rules.yaml"),
        "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / "faust"),
    }
    settings = load_settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, namespace=namespace))
    await ensure_topics(settings.kafka)
    events_reader = TopicReader(settings, settings.kafka.topics.events.name)
    alerts_reader = TopicReader(settings, settings.kafka.topics.alerts.name)
    await events_reader.start()
    await alerts_reader.start()

    def logs() -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp.glob("*.log"))

    def events() -> list[NewsEvent]:
        return [NewsEvent.model_validate_json(v) for v in events_reader.values]

    def has_event(slug: str) -> Callable[[], bool]:
        return lambda: any(e.article.guid == slug for e in events())

    procs = [spawn_stage(s, env, tmp / f"{s}.log") for s in ("process", "ingest")]
    try:
        await wait_for(lambda: len(events()) >= 2, "the bad-bodies feed's two articles", logs)
        bodies["/metro.xml"] = rss("The Metropolitan Times", rss_item(TRANSFER))
        await wait_for(has_event(TRANSFER.slug), "the long article", logs)
        bodies["/gulf.xml"] = rss("Gulf Coast Wire", rss_item(TRANSFER_COPY))
        await wait_for(has_event(TRANSFER_COPY.slug), "the syndicated copy", logs)
        bodies["/border.xml"] = rss("Border Desk", rss_item(TRANSFER_RETOLD))
        await wait_for(has_event(TRANSFER_RETOLD.slug), "the retelling", logs)
        bodies["/border.xml"] = rss(
            "Border Desk", rss_item(OTHER_EXTRADITION) + rss_item(TRANSFER_RETOLD)
        )
        await wait_for(has_event(OTHER_EXTRADITION.slug), "the other extradition", logs)
        # Alerts are produced with their event; give a wrong extra one time to show up.
        await asyncio.sleep(6)
        alerts = [AlertDecision.model_validate_json(v) for v in alerts_reader.values]
        result = Outcome(events(), alerts, logs())
    finally:
        stop_stages(procs, 30)
        await events_reader.stop()
        await alerts_reader.stop()
        await runner.cleanup()
    yield result


async def test_a_rule_only_the_body_satisfies_fires_once(outcome: Outcome) -> None:
    event = outcome.event(TRANSFER.slug)
    assert event.article.summary == TRANSFER.summary
    assert "Mr. Trump has threatened high tariffs" in event.article.body
    assert "window.ads" not in event.article.body  # the ad slot's script is not text
    assert {m.rule_id for m in event.matched_rules} == {"cartel-extraditions", "tariff-threats"}
    tariff = [a for a in outcome.alerts if a.rule.rule_id == "tariff-threats"]
    assert len(tariff) == 1, [(a.alert_id, a.article.title) for a in outcome.alerts]
    assert tariff[0].article.guid == TRANSFER.slug
    assert tariff[0].rule.terms == ("threatened", "tariffs")
    assert {a.rule.rule_id for a in outcome.alerts_on(TRANSFER.slug)} == {
        "cartel-extraditions",
        "tariff-threats",
    }


async def test_a_near_identical_copy_is_a_duplicate_and_alerts_nothing_more(
    outcome: Outcome,
) -> None:
    first, copy = outcome.event(TRANSFER.slug), outcome.event(TRANSFER_COPY.slug)
    assert copy.duplicate_of == first.article.id
    assert copy.story_id == first.story_id
    assert outcome.alerts_on(TRANSFER_COPY.slug) == []
    assert [a.story_id for a in outcome.alerts].count(first.story_id) == 2


async def test_the_same_event_in_other_words_joins_the_story_and_alerts_nothing_more(
    outcome: Outcome,
) -> None:
    first, retold = outcome.event(TRANSFER.slug), outcome.event(TRANSFER_RETOLD.slug)
    assert retold.duplicate_of is None
    assert retold.story_id == first.story_id
    assert outcome.alerts_on(TRANSFER_RETOLD.slug) == []


async def test_a_different_extradition_opens_a_new_story_and_alerts(outcome: Outcome) -> None:
    other = outcome.event(OTHER_EXTRADITION.slug)
    stories = {outcome.event(s.slug).story_id for s in (TRANSFER, TRANSFER_COPY)}
    assert other.story_id not in stories
    assert other.duplicate_of is None
    alerts = outcome.alerts_on(OTHER_EXTRADITION.slug)
    assert [(a.rule.rule_id, a.story_id, a.reason) for a in alerts] == [
        ("cartel-extraditions", other.story_id, "new_story")
    ]


async def test_empty_and_junk_bodies_still_yield_their_articles(outcome: Outcome) -> None:
    ferry, budget = outcome.event("ferry"), outcome.event("budget")
    assert (ferry.article.title, ferry.article.body) == ("Ferry timetable changes from Monday", "")
    assert budget.article.title == "Council publishes its budget"
    assert len(budget.article.body) <= 20_000
    controls = [c for c in budget.article.body if ord(c) < 32 and c not in "\n\t"]
    assert controls + [c for c in budget.article.body if 0x7F <= ord(c) <= 0x9F] == []
    assert ferry.matched_rules == () and budget.matched_rules == ()
