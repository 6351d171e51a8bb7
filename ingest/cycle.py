"""One poll of one feed: fetch, then a pure step from (state, response) to (articles, state).

:func:`apply_fetch` is pure so that tests can drive every status code and
timing rule without a network; :func:`poll_feed` is the thin async wrapper.
The returned state must be persisted only after the articles are acknowledged.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from ingest.feedlist import FeedSpec
from ingest.feeds import ParseResult, parse_feed
from ingest.fetch import Fetcher, FetchResult
from ingest.identity import select_entries
from ingest.schedule import Outcome, SchedulePolicy, compute_delay, parse_max_age, parse_retry_after
from ingest.state import FeedState, count_produced, learn_item_gap
from wirewatch.events import Article, utcnow
from wirewatch.settings import IngestSettings


@dataclass(frozen=True)
class PollResult:
    articles: list[Article]
    state: FeedState
    fetch: FetchResult
    parse: ParseResult | None = None
    unchanged: int = 0


def policy_for(spec: FeedSpec, settings: IngestSettings) -> SchedulePolicy:
    return SchedulePolicy(
        interval_s=spec.interval or settings.default_interval_s,
        max_interval_s=settings.max_interval_s,
        max_backoff_s=settings.max_backoff_s,
        jitter=settings.jitter,
    )


def _failed(
    spec: FeedSpec,
    state: FeedState,
    fetched: FetchResult,
    error: str,
    now: datetime,
    settings: IngestSettings,
    rand: float,
) -> FeedState:
    failures = state.consecutive_failures + 1
    outcome = Outcome(
        ok=False,
        status=fetched.status,
        failures=failures,
        retry_after_s=parse_retry_after(fetched.headers.get("retry-after"), now),
    )
    delay, reason = compute_delay(policy_for(spec, settings), outcome, rand)
    return state.model_copy(
        update={
            "last_status": fetched.status,
            "last_error": error,
            "last_error_at": now,
            "consecutive_failures": failures,
            "next_poll": now + timedelta(seconds=delay),
            "next_poll_reason": reason,
        }
    )


def apply_fetch(
    spec: FeedSpec,
    state: FeedState,
    fetched: FetchResult,
    *,
    now: datetime,
    settings: IngestSettings,
    rand: float = 0.5,
) -> PollResult:
    """Turn one fetch into the articles to produce and the feed's next state."""
    state = state.model_copy(
        update={
            "last_poll": now,
            "updated_at": now,
            "permanent_redirect": fetched.permanent_redirect or state.permanent_redirect,
        }
    )
    if fetched.error:
        return PollResult(
            [], _failed(spec, state, fetched, fetched.error, now, settings, rand), fetched
        )
    parsed: ParseResult | None = None
    articles: list[Article] = []
    unchanged = 0
    update: dict[str, object] = {}
    if not fetched.not_modified:
        parsed = parse_feed(
            fetched.body,
            feed_url=fetched.final_url or spec.url,
            content_type=fetched.headers.get("content-type", ""),
            fetched_at=now,
            body_chars=settings.max_article_body_chars,
        )
        if not parsed.ok:
            error = "parse failed: " + "; ".join(parsed.problems)
            failed = _failed(spec, state, fetched, error, now, settings, rand)
            return PollResult(
                [], failed.model_copy(update={"problems": tuple(parsed.problems)}), fetched, parsed
            )
        entries = parsed.entries[: settings.max_entries_per_poll]
        selection = select_entries(
            entries,
            feed_url=spec.url,
            seen=state.seen,
            link_title_guids=state.link_title_guids,
            guids_untrusted=state.guids_untrusted,
            # Every entry of the document must fit, or the oldest would be forgotten
            # and re-produced on each poll.
            max_keys=max(settings.seen_max_keys, 3 * len(entries)),
        )
        source = spec.name or parsed.title or urlsplit(spec.url).hostname or spec.url
        language = spec.language or parsed.language
        articles = [
            Article(
                id=pick.id,
                title=pick.entry.title,
                summary=pick.entry.summary,
                summary_html=pick.entry.summary_html,
                body=pick.entry.body,
                url=pick.entry.url or pick.entry.link,
                # An aggregator's item names its own outlet; the feed is the rest's.
                source=pick.entry.outlet or source,
                feed_url=spec.url,
                guid=pick.entry.guid,
                language=language,
                tags=spec.tags,
                published=pick.entry.published,
                fetched_at=now,
                content_hash=pick.entry.content_hash,
                is_update=pick.is_update,
            )
            for pick in selection.produce
        ]
        unchanged = selection.unchanged
        problems = list(parsed.problems)
        if len(parsed.entries) > len(entries):
            problems.append(
                f"too many entries: {len(parsed.entries)}, only the first {len(entries)} used"
            )
        if selection.untrust_reason:
            problems.append(f"guids untrusted from now on: {selection.untrust_reason}")
        update = {
            "etag": fetched.headers.get("etag", ""),
            "last_modified": fetched.headers.get("last-modified", ""),
            "title": parsed.title or state.title,
            "problems": tuple(problems),
            "seen": selection.seen,
            "link_title_guids": selection.link_title_guids,
            "guids_untrusted": selection.guids_untrusted,
        }
    elif fetched.headers.get("etag"):
        update = {"etag": fetched.headers["etag"]}
    outcome = Outcome(
        ok=True,
        status=fetched.status,
        ttl_s=parsed.ttl_s if parsed else None,
        max_age_s=parse_max_age(fetched.headers.get("cache-control")),
    )
    delay, reason = compute_delay(policy_for(spec, settings), outcome, rand)
    update.update(
        {
            "last_status": fetched.status,
            "last_success": now,
            "consecutive_failures": 0,
            "next_poll": now + timedelta(seconds=delay),
            "next_poll_reason": reason,
            "daily_counts": count_produced(state.daily_counts, now, len(articles)),
            "produced_total": state.produced_total + len(articles),
            # Edits of known entries are not news; only new ones set the rhythm.
            **learn_item_gap(state, now, sum(not a.is_update for a in articles)),
        }
    )
    return PollResult(articles, state.model_copy(update=update), fetched, parsed, unchanged)


async def poll_feed(
    spec: FeedSpec,
    state: FeedState,
    fetcher: Fetcher,
    settings: IngestSettings,
    *,
    rng: random.Random | None = None,
) -> PollResult:
    """Fetch ``spec`` once (conditionally) and apply the result to ``state``."""
    fetched = await fetcher.fetch(spec.url, etag=state.etag, last_modified=state.last_modified)
    rand = (rng or random).random()
    # Parsing a multi-megabyte feed takes a while; off the event loop, Kafka
    # heartbeats and the other feeds' timers keep running meanwhile.
    return await asyncio.to_thread(
        apply_fetch, spec, state, fetched, now=utcnow(), settings=settings, rand=rand
    )
