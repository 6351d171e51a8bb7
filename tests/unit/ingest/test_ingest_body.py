"""The article body: the full text a feed carries, plain, capped; bad bodies lose nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ingest.cycle import apply_fetch
from ingest.feedlist import FeedSpec
from ingest.feeds import DEFAULT_BODY_CHARS, MAX_SUMMARY_CHARS, parse_feed
from ingest.fetch import FetchResult
from ingest.state import FeedState
from ingest.text import content_hash
from tests.news_articles import TRANSFER
from wirewatch.events import SCHEMA_VERSION, Article
from wirewatch.settings import IngestSettings

FETCHED = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'


def rss(items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {CONTENT_NS}><channel>'
        f"<title>Metro</title><link>https://metro.test/</link>{items}</channel></rss>"
    ).encode()


def item(title: str, description: str = "", content: str | None = None, n: int = 1) -> str:
    encoded = (
        f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content is not None else ""
    )
    return (
        f"<item><title>{title}</title><link>https://metro.test/{n}</link><guid>g{n}</guid>"
        f"<description>{description}</description>{encoded}"
        "<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
    )


def html_of(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def test_content_encoded_is_the_body_and_the_description_stays_the_summary() -> None:
    content = html_of(TRANSFER.paragraphs())
    result = parse_feed(rss(item(TRANSFER.title, TRANSFER.summary, content)), fetched_at=FETCHED)
    entry = result.entries[0]
    assert entry.summary == TRANSFER.summary
    assert entry.body.split("\n") == TRANSFER.paragraphs()
    assert "<p>" not in entry.body
    assert "Mr. Trump has threatened high tariffs" in entry.body


def test_atom_content_is_the_body() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
<updated>2026-11-01T00:00:00Z</updated>
<entry><title>Short and long</title><id>urn:a:1</id><link href="https://a.test/1"/>
<updated>2026-11-01T09:30:00Z</updated><summary>The teaser.</summary>
<content type="html">&lt;p&gt;The whole &amp;amp; long text.&lt;/p&gt;
&lt;p&gt;Second part.&lt;/p&gt;</content>
</entry></feed>"""
    entry = parse_feed(atom, fetched_at=FETCHED).entries[0]
    assert entry.summary == "The teaser."
    assert entry.body == "The whole & long text.\nSecond part."


def test_a_description_longer_than_the_content_is_the_body() -> None:
    # Some feeds put the article in <description> and a teaser in content:encoded.
    long_text = " ".join(TRANSFER.paragraphs())
    entry = parse_feed(rss(item("T", long_text, "<p>Read more</p>")), fetched_at=FETCHED).entries[0]
    assert entry.body == long_text
    assert entry.summary == long_text


def test_without_content_the_body_is_the_description_under_the_body_cap() -> None:
    text = "word " * 2000  # 10,000 chars: over the summary cap, under the body cap
    entry = parse_feed(rss(item("T", text)), fetched_at=FETCHED).entries[0]
    assert len(entry.summary) == MAX_SUMMARY_CHARS
    assert entry.body == text.strip()


def test_a_10_mb_body_is_capped() -> None:
    paragraph = "<p>The cartel operatives were sent to the <b>United States</b> on Tuesday.</p>"
    content = paragraph * (10 * 1024 * 1024 // len(paragraph))
    data = rss(item("Huge", "Short description.", content))
    assert len(data) > 10 * 1024 * 1024
    entry = parse_feed(data, fetched_at=FETCHED).entries[0]
    assert len(entry.body) == DEFAULT_BODY_CHARS
    assert entry.body.startswith("The cartel operatives were sent to the United States")
    assert entry.summary == "Short description."
    assert len(entry.summary_html) <= 60_000


def test_the_cap_is_configurable_and_zero_keeps_no_body() -> None:
    data = rss(item("T", "Short.", html_of(TRANSFER.paragraphs())))
    assert len(parse_feed(data, body_chars=500).entries[0].body) == 500
    entry = parse_feed(data, body_chars=0).entries[0]
    assert entry.body == "" and entry.summary == "Short."


def test_binary_junk_in_the_body_still_yields_the_article() -> None:
    junk = bytes(random.Random(7).randrange(256) for _ in range(4000))
    data = rss(item("Junk inside", "Desc.", "JUNK")).replace(b"JUNK", junk)
    result = parse_feed(data, fetched_at=FETCHED)
    assert [e.title for e in result.entries] == ["Junk inside"]
    body = result.entries[0].body
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in body)


@pytest.mark.parametrize("content", ["", "   ", "<p></p><script>x()</script>"])
def test_an_empty_body_still_yields_the_article_with_its_title(content: str) -> None:
    result = parse_feed(rss(item("Nothing inside", "", content)), fetched_at=FETCHED)
    assert [(e.title, e.body, e.summary) for e in result.entries] == [("Nothing inside", "", "")]


def test_the_content_hash_ignores_the_body() -> None:
    # Feeds rewrite counters and related links inside the body; an unchanged
    # title and description must not make every poll produce the article again.
    first = parse_feed(rss(item("T", "Desc.", "<p>Read by 10 people</p>"))).entries[0]
    again = parse_feed(rss(item("T", "Desc.", "<p>Read by 11 people</p>"))).entries[0]
    assert first.body != again.body
    assert first.content_hash == again.content_hash == content_hash("T", "Desc.")


def test_relative_links_in_the_kept_html_are_resolved() -> None:
    data = rss(item("T", "", '<p>See <a href="/more">more</a> <img src="pic.png"></p>'))
    entry = parse_feed(data, feed_url="https://metro.test/feeds/world.xml").entries[0]
    assert 'href="https://metro.test/more"' in entry.summary_html
    assert 'src="https://metro.test/feeds/pic.png"' in entry.summary_html


def test_apply_fetch_carries_the_body_under_the_configured_cap() -> None:
    spec = FeedSpec(url="https://metro.test/rss", name="Metro")
    data = rss(item(TRANSFER.title, TRANSFER.summary, html_of(TRANSFER.paragraphs())))
    fetched = FetchResult(spec.url, 200, data, {}, spec.url)
    settings = IngestSettings(jitter=0.0, max_article_body_chars=1000)
    result = apply_fetch(spec, FeedState(url=spec.url), fetched, now=FETCHED, settings=settings)
    (article,) = result.articles
    assert article.summary == TRANSFER.summary
    assert article.body == "\n".join(TRANSFER.paragraphs())[:1000]
    assert Article.model_validate_json(article.to_bytes()).body == article.body


def test_a_version_1_record_without_body_still_loads() -> None:
    record = (
        b'{"schema_version": 1, "id": "guid:1", "title": "Old record", "summary": "S",'
        b' "published": "2026-11-02T10:00:00Z", "fetched_at": "2026-11-02T10:00:01Z"}'
    )
    article = Article.model_validate_json(record)
    assert (article.title, article.body, article.schema_version) == ("Old record", "", 1)
    # Body arrived in version 2; later bumps must keep reading version-1 records.
    assert Article(id="x", title="New").schema_version == SCHEMA_VERSION >= 2
