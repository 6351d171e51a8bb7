"""The ingest process: publish the feed list, join the pollers' group, poll owned feeds.

Start-up order matters for "nothing produced twice": the state topic is read
to its end before any feed is claimed, and a feed's state is saved only after
its articles are acknowledged by Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from ingest.feedlist import load_feed_list
from ingest.fetch import Fetcher
from ingest.membership import FeedMembership, publish_feed_list
from ingest.store import StateStore
from ingest.workers import FeedWorkers
from wirewatch.kafka import ensure_topics, make_producer
from wirewatch.settings import Settings

log = logging.getLogger(__name__)


def poller_id() -> str:
    """Who polls a feed, as shown by ``wirewatch feeds status``."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_pollers(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Poll this process's share of the configured feeds until ``stop`` is set.

    Raises :class:`ingest.feedlist.FeedListError` before touching Kafka when the
    feeds file is invalid.
    """
    stop = stop or asyncio.Event()
    kafka = settings.kafka
    topics = kafka.topics
    feed_list = load_feed_list(settings.ingest.feeds_file)
    await ensure_topics(kafka, [topics.raw, topics.ingest_state, topics.feeds])
    producer = make_producer(kafka)
    await producer.start()
    store = StateStore(kafka, topics.ingest_state.name, producer)
    try:
        if settings.ingest.publish_feed_list:
            written, removed = await publish_feed_list(
                producer, kafka, topics.feeds.name, feed_list
            )
            log.info(
                "feed list: %d feeds in %s (%d records written, %d removed)",
                len(feed_list.feeds),
                settings.ingest.feeds_file,
                written,
                removed,
            )
        await store.start()
        async with Fetcher(settings.ingest) as fetcher:
            workers = FeedWorkers(
                settings.ingest, producer, store, fetcher, topics.raw.name, poller_id()
            )
            membership = FeedMembership(kafka, settings.ingest, topics.feeds.name, workers)
            log.info("ingest poller %s joining group %s", workers.owner, settings.ingest.group_id)
            await membership.run(stop)
    finally:
        await store.stop()
        await producer.stop()
