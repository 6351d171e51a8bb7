"""parse_feed: bytes in, normalised entries and problems out; hostile input stays bounded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from ingest.feeds import parse_feed

FETCHED = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def rss(items: str, extra: str = "", decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f'{decl}<rss version="2.0"><channel><title>Example &amp; Co</title>'
        f"<link>https://ex.com/</link>{extra}{items}</channel></rss>"
    ).encode()


def item(n: int, date: str = "Mon, 02 Nov 2026 10:00:00 +0200", guid: str | None = None) -> str:
    pub = f"<pubDate>{date}</pubDate>" if date else ""
    return (
        f"<item><title>Story {n}</title><link>https://ex.com/{n}?utm_source=rss</link>"
        f"<guid isPermaLink='false'>{guid or f'id-{n}'}</guid>"
        f"<description>&lt;p&gt;Body &lt;b&gt;{n}&lt;/b&gt;&lt;/p&gt;</description>{pub}</item>"
    )


def test_rss_entries_are_normalised() -> None:
    result = parse_feed(rss(item(1) + item(2)), feed_url="https://ex.com/rss", fetched_at=FETCHED)
    assert result.ok and result.problems == []
    assert result.title == "Example & Co"
    assert result.version == "rss20"
    first = result.entries[0]
    assert first.title == "Story 1"
    assert first.summary == "Body 1"
    assert "<b>1</b>" in first.summary_html
    assert first.url == "https://ex.com/1"
    assert first.link == "https://ex.com/1?utm_source=rss"
    assert first.guid == "id-1"
    assert first.published == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert first.published.tzinfo is UTC


def test_atom_feed_and_content() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
<updated>2026-11-01T00:00:00Z</updated>
<entry><title type="html">Caf&amp;eacute; news</title><id>urn:a:1</id>
<link href="/posts/1"/><updated>2026-11-01T09:30:00-05:00</updated>
<content type="html">&lt;p&gt;Full &lt;script&gt;x()&lt;/script&gt;text&lt;/p&gt;</content>
</entry></feed>"""
    result = parse_feed(atom, feed_url="https://blog.ex.com/atom.xml", fetched_at=FETCHED)
    entry = result.entries[0]
    assert result.version == "atom10"
    assert entry.title == "Caf\u00e9 news"
    assert entry.url == "https://blog.ex.com/posts/1"  # relative link resolved against the feed
    assert entry.summary == "Full text"
    assert "script" not in entry.summary_html
    assert entry.published == datetime(2026, 11, 1, 14, 30, tzinfo=UTC)


def test_missing_date_becomes_fetch_time_and_is_reported() -> None:
    result = parse_feed(rss(item(1, date="") + item(2)), fetched_at=FETCHED)
    assert result.entries[0].published == FETCHED
    assert result.entries[0].date_missing
    assert any(p.startswith("missing dates: 1") for p in result.problems)


def test_future_date_is_clamped() -> None:
    result = parse_feed(rss(item(1, date="Fri, 01 Jan 2100 00:00:00 GMT")), fetched_at=FETCHED)
    assert result.entries[0].published == FETCHED
    assert any("future dates clamped: 1" in p for p in result.problems)


def test_small_clock_skew_is_not_clamped() -> None:
    soon = (FETCHED + timedelta(minutes=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    result = parse_feed(rss(item(1, date=soon)), fetched_at=FETCHED)
    assert result.entries[0].published == FETCHED + timedelta(minutes=2)


def test_malformed_feed_keeps_good_entries_and_reports_bozo() -> None:
    broken = rss(item(1) + item(2) + "<item><title>Three & four</title><link>https://ex.com/3")
    result = parse_feed(broken, fetched_at=FETCHED)
    assert result.ok
    assert [e.title for e in result.entries][:2] == ["Story 1", "Story 2"]
    assert any(p.startswith("bozo:") for p in result.problems)


def test_duplicate_guids_are_reported() -> None:
    result = parse_feed(rss(item(1, guid="same") + item(2, guid="same")), fetched_at=FETCHED)
    assert any(p.startswith("duplicate guids: 1") for p in result.problems)


def test_declared_latin1_encoding_is_decoded() -> None:
    body = rss(
        "<item><title>Not\xedcias de S\xe3o Paulo</title><link>https://ex.com/n</link></item>",
        decl='<?xml version="1.0" encoding="iso-8859-1"?>',
    )
    data = body.decode().encode("iso-8859-1")
    result = parse_feed(data, fetched_at=FETCHED)
    assert result.entries[0].title == "Not\u00edcias de S\u00e3o Paulo"
    assert result.encoding == "iso-8859-1"


def test_ttl_is_read_in_seconds() -> None:
    assert parse_feed(rss(item(1), extra="<ttl>60</ttl>")).ttl_s == 3600
    assert parse_feed(rss(item(1), extra="<ttl>never</ttl>")).ttl_s is None


@pytest.mark.parametrize(
    "data",
    [b"", b"not a feed at all", b"<html><body><p>Hello</p></body></html>", b"\x00\xff\xfe" * 100],
)
def test_non_feeds_are_not_ok_and_do_not_raise(data: bytes) -> None:
    result = parse_feed(data)
    assert not result.ok
    assert result.entries == []
    assert result.problems


def test_bytes_naming_a_local_file_are_parsed_not_opened() -> None:
    # feedparser opens a bare bytes argument as a path; a body must never do that.
    result = parse_feed(b"/etc/hostname")
    assert not result.ok


def _bomb(separator: str) -> bytes:
    levels = separator.join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [{separator}<!ENTITY l0 "lollollollol">'
        f"{separator}{levels}{separator}]>\n"
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>boom &l9;</title><link>https://ex.com/b</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize("separator", ["", "\n", "\n  "], ids=["one-line", "lines", "indented"])
def test_entity_expansion_bomb_is_bounded(separator: str) -> None:
    started = time.perf_counter()
    result = parse_feed(_bomb(separator), fetched_at=FETCHED)
    # Refused at the DOCTYPE: milliseconds, not expat's seconds-long amplification guard.
    assert time.perf_counter() - started < 0.5
    assert any(p.startswith("dtd: internal subset refused") for p in result.problems)
    assert [e.title for e in result.entries] == ["boom &l9;"]


def test_doctype_without_internal_subset_is_left_alone() -> None:
    netscape = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91"><channel>'
        b"<title>n</title><item><title>Old</title><link>https://ex.com/o</link></item>"
        b"</channel></rss>"
    )
    result = parse_feed(netscape, fetched_at=FETCHED)
    assert result.version == "rss091n"
    assert not any(p.startswith("dtd:") for p in result.problems)


@pytest.mark.parametrize(
    "prolog",
    ["", "<!-- <a -->\n", "<?pi <a ?>", "<!-- x -->\n<!-- <b> -->\n"],
    ids=["plain", "comment-with-tag", "pi-with-tag", "two-comments"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_internal_subset_is_refused_wherever_it_sits(prolog: str, encoding: str) -> None:
    levels = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>{prolog}'
        f'<!DOCTYPE rss [<!ENTITY l0 "lol">{levels}]>'
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>boom &l9;</title><link>https://ex.com/b</link></item>"
        "<item><title>good</title><link>https://ex.com/g</link></item></channel></rss>"
    )
    result = parse_feed(doc.encode(encoding), fetched_at=FETCHED)
    assert any(p.startswith("dtd: internal subset refused") for p in result.problems)
    # The good entries are kept; the bomb's reference stays unexpanded text.
    assert [e.title for e in result.entries] == ["boom &l9;", "good"]


def test_external_entity_is_not_resolved() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>a &xxe; b</title><link>https://ex.com/x</link></item></channel></rss>"
    )
    result = parse_feed(xxe, fetched_at=FETCHED)
    assert any(p.startswith("dtd:") for p in result.problems)
    assert all("root:" not in e.title and "root:" not in e.summary for e in result.entries)


def test_title_less_entry_uses_text() -> None:
    body = rss("<item><description>Just a short post</description><guid>p1</guid></item>")
    result = parse_feed(body, fetched_at=FETCHED)
    assert result.entries[0].title == "Just a short post"


def test_empty_entry_is_skipped_and_counted() -> None:
    result = parse_feed(rss("<item></item>" + item(1)), fetched_at=FETCHED)
    assert [e.title for e in result.entries] == ["Story 1"]
    assert result.skipped == 1
