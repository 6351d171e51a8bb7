"""apply_fetch: one response applied to a feed's state (conditional GET, failures, timing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.cycle import PollResult, apply_fetch
from ingest.feedlist import FeedSpec
from ingest.fetch import FetchResult
from ingest.state import FeedState, entries_per_day
from wirewatch.settings import IngestSettings

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SPEC = FeedSpec(url="https://ex.com/rss", name="Ex", interval=300, tags=("world",), language="en")
SETTINGS = IngestSettings(jitter=0.0)


def body(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://ex.com/{t}</link><guid>{t}</guid></item>"
        for t in titles
    )
    return f'<rss version="2.0"><channel><title>Ex feed</title>{items}</channel></rss>'.encode()


def ok(data: bytes, **headers: str) -> FetchResult:
    return FetchResult(SPEC.url, 200, data, dict(headers), SPEC.url)


def apply(state: FeedState, fetched: FetchResult, now: datetime = NOW) -> PollResult:
    return apply_fetch(SPEC, state, fetched, now=now, settings=SETTINGS, rand=0.5)


def test_first_200_produces_articles_and_remembers_validators() -> None:
    result = apply(
        FeedState(url=SPEC.url), ok(body("a", "b"), etag='"v1"', **{"last-modified": "X"})
    )
    assert [a.title for a in result.articles] == ["a", "b"]
    article = result.articles[0]
    assert (article.source, article.language, article.tags) == ("Ex", "en", ("world",))
    assert article.feed_url == SPEC.url and article.fetched_at == NOW
    assert result.state.etag == '"v1"' and result.state.last_modified == "X"
    assert result.state.last_success == NOW
    assert result.state.next_poll == NOW + timedelta(seconds=300)
    assert result.state.produced_total == 2
    assert entries_per_day(result.state, NOW) == 2


def test_304_costs_no_parse_and_produces_nothing() -> None:
    first = apply(FeedState(url=SPEC.url), ok(body("a"), etag='"v1"'))
    result = apply(
        first.state, FetchResult(SPEC.url, 304, b"", {}, SPEC.url), NOW + timedelta(minutes=5)
    )
    assert result.articles == [] and result.parse is None
    assert result.state.etag == '"v1"'
    assert result.state.seen == first.state.seen
    assert result.state.consecutive_failures == 0


def test_same_body_again_produces_nothing_and_edit_is_an_update() -> None:
    first = apply(FeedState(url=SPEC.url), ok(body("a")))
    again = apply(first.state, ok(body("a")))
    assert again.articles == [] and again.unchanged == 1
    edited = body("a").replace(b"<guid>a</guid>", b"<guid>a</guid><description>new</description>")
    update = apply(again.state, ok(edited))
    assert len(update.articles) == 1 and update.articles[0].is_update
    assert update.articles[0].id == first.articles[0].id


def test_failures_back_off_and_a_success_resets() -> None:
    state = FeedState(url=SPEC.url)
    delays = []
    for n in range(1, 4):
        result = apply(state, FetchResult(SPEC.url, 500, error="HTTP 500 Internal Server Error"))
        state = result.state
        assert state.consecutive_failures == n
        assert state.last_error == "HTTP 500 Internal Server Error"
        delays.append((state.next_poll - NOW).total_seconds())  # type: ignore[operator]
    assert delays == [600, 1200, 2400]
    recovered = apply(state, ok(body("a")))
    assert recovered.state.consecutive_failures == 0
    assert recovered.state.last_error == "HTTP 500 Internal Server Error"  # kept for status


def test_retry_after_on_429_is_honoured() -> None:
    throttled = FetchResult(SPEC.url, 429, headers={"retry-after": "3600"}, error="HTTP 429")
    state = apply(FeedState(url=SPEC.url), throttled).state
    assert state.next_poll == NOW + timedelta(seconds=3600)
    assert state.next_poll_reason.startswith("retry-after")


def test_unparseable_body_is_a_failure_that_keeps_old_validators() -> None:
    first = apply(FeedState(url=SPEC.url), ok(body("a"), etag='"v1"'))
    result = apply(first.state, ok(b"<html>maintenance</html>", etag='"v2"'))
    assert result.articles == []
    assert result.state.consecutive_failures == 1
    assert result.state.last_error.startswith("parse failed")
    assert result.state.etag == '"v1"'


def test_permanent_redirect_is_recorded() -> None:
    moved = FetchResult(
        SPEC.url, 200, body("a"), {}, "https://new.ex.com/rss", "https://new.ex.com/rss"
    )
    assert (
        apply(FeedState(url=SPEC.url), moved).state.permanent_redirect == "https://new.ex.com/rss"
    )


def test_ttl_slows_the_feed_down() -> None:
    data = body("a").replace(b"<title>Ex feed</title>", b"<title>Ex feed</title><ttl>60</ttl>")
    state = apply(FeedState(url=SPEC.url), ok(data)).state
    assert state.next_poll == NOW + timedelta(seconds=3600)


def test_changing_guids_lose_trust_and_say_so() -> None:
    first = apply(FeedState(url=SPEC.url), ok(body("a")))
    changed = body("a").replace(b"<guid>a</guid>", b"<guid>a-2</guid>")
    second = apply(first.state, ok(changed))
    assert second.articles == []
    assert second.state.guids_untrusted
    assert any("guids untrusted" in p for p in second.state.problems)


def test_state_round_trips_through_json() -> None:
    state = apply(FeedState(url=SPEC.url), ok(body("a", "b"), etag='"v"')).state
    assert FeedState.model_validate_json(state.to_bytes()) == state


def test_big_documents_are_capped_and_never_re_produced() -> None:
    settings = IngestSettings(jitter=0.0, max_entries_per_poll=800, seen_max_keys=100)
    data = body(*(f"e{n}" for n in range(1000)))
    first = apply_fetch(SPEC, FeedState(url=SPEC.url), ok(data), now=NOW, settings=settings)
    assert len(first.articles) == 800
    assert any(p.startswith("too many entries: 1000") for p in first.state.problems)
    second = apply_fetch(SPEC, first.state, ok(data), now=NOW, settings=settings)
    assert second.articles == []


def test_article_url_is_the_canonical_link() -> None:
    data = body("a").replace(b"https://ex.com/a", b"https://EX.com/a?utm_source=rss#top")
    result = apply(FeedState(url=SPEC.url), ok(data))
    assert result.articles[0].url == "https://ex.com/a"


def test_an_aggregator_item_keeps_the_outlet_it_names() -> None:
    # Google News names each item's outlet in <source>; a story its feed carries
    # from three outlets must count three outlets, not the feed once.
    items = (
        "<item><title>Trump threatens new tariffs - CNN</title><guid>g1</guid>"
        "<link>https://news.google.com/rss/articles/g1</link>"
        '<source url="https://www.cnn.com">CNN</source></item>'
        "<item><title>Markets fall</title><guid>g2</guid>"
        "<link>https://news.google.com/rss/articles/g2</link></item>"
        '<item><title>Tariff threat</title><guid>g3</guid><source url="https://x.org">'
        + "\x01 Reuters " * 40
        + "</source></item>"
    )
    data = f'<rss version="2.0"><channel><title>Google News</title>{items}</channel></rss>'
    result = apply(FeedState(url=SPEC.url), ok(data.encode()))
    sources = [a.source for a in result.articles]
    assert sources[0] == "CNN"
    assert sources[1] == "Ex"  # no <source>: the feed's configured name
    assert sources[2].startswith("Reuters Reuters") and len(sources[2]) <= 200
    assert "\x01" not in sources[2]
    assert {a.feed_url for a in result.articles} == {SPEC.url}
