"""The ingest process: publish the feed list, join the pollers' group, poll owned feeds.

The feeds file is watched: an edit is published to the feeds topic and reaches
whichever process owns each feed; an invalid edit is logged and ignored.
Start-up order matters for "nothing produced twice": the state topic is read
to its end before any feed is claimed, and a feed's state is saved only after
its articles are acknowledged by Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from pathlib import Path

from aiokafka import AIOKafkaProducer

from ingest.feedlist import FeedListError, load_feed_list
from ingest.fetch import Fetcher
from ingest.membership import FeedMembership, publish_feed_list
from ingest.store import StateStore
from ingest.workers import FeedWorkers
from wirewatch.kafka import ensure_topics, make_producer, wait_for_kafka
from wirewatch.settings import Settings

log = logging.getLogger(__name__)
RELOAD_CHECK_S = 2.0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


async def watch_feed_list(settings: Settings, producer: AIOKafkaProducer, seen: float) -> None:
    """Republish the feeds file when it changes; an invalid edit is logged and ignored."""
    path = settings.ingest.feeds_file
    topic = settings.kafka.topics.feeds.name
    while True:
        await asyncio.sleep(RELOAD_CHECK_S)
        mtime = _mtime(path)
        if mtime == seen or not mtime:
            continue  # unchanged, or gone for a moment (an editor's save): keep the list
        seen = mtime
        try:
            feed_list = load_feed_list(path)
            written, removed = await publish_feed_list(producer, settings.kafka, topic, feed_list)
        except FeedListError as exc:
            log.error("feeds file changed but is invalid; keeping the last good list:\n%s", exc)
            continue
        except Exception as exc:  # Kafka trouble: try again on the next check
            log.warning("could not publish the changed feeds file: %s", exc)
            seen = 0.0
            continue
        log.info(
            "feeds file reloaded: %d feeds (%d changed, %d removed)",
            len(feed_list.feeds),
            written - removed,
            removed,
        )


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
    loaded_mtime = _mtime(settings.ingest.feeds_file)
    await wait_for_kafka(kafka)
    await ensure_topics(kafka, [topics.raw, topics.ingest_state, topics.feeds])
    producer = make_producer(kafka)
    await producer.start()
    store = StateStore(kafka, topics.ingest_state.name, producer)
    watcher: asyncio.Task[None] | None = None
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
            watcher = asyncio.create_task(watch_feed_list(settings, producer, loaded_mtime))
        await store.start()
        async with Fetcher(settings.ingest) as fetcher:
            workers = FeedWorkers(
                settings.ingest, producer, store, fetcher, topics.raw.name, poller_id()
            )
            membership = FeedMembership(kafka, settings.ingest, topics.feeds.name, workers)
            log.info("ingest poller %s joining group %s", workers.owner, settings.ingest.group_id)
            await membership.run(stop)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await store.stop()
        await producer.stop()
