"""Feed parsing and normalisation: bytes in, entries and problems out (pure).

``wirewatch feeds check``, the poller and the benchmark all call
:func:`parse_feed`, so what a user checks is what the poller produces.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from ingest.safexml import DtdRefused
from ingest.safexml import install as install_safe_xml
from ingest.text import canonical_url, clean_line, content_hash, html_to_text, sanitize_html

# Entity bombs and XXE are refused inside expat (ingest.safexml): the strict parse
# stops at the DOCTYPE and feedparser's loose parser, which expands no declared
# entity, reads the feed instead.
install_safe_xml()
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 5_000
MAX_OUTLET_CHARS = 200
DEFAULT_BODY_CHARS = 20_000


@dataclass(frozen=True)
class ParsedEntry:
    """One entry after normalisation, before an id is chosen (that needs feed history)."""

    title: str
    url: str  # canonical URL ("" when the entry has no usable link)
    link: str  # the link as published
    guid: str
    summary: str
    summary_html: str
    published: datetime
    content_hash: str
    date_missing: bool = False
    date_clamped: bool = False
    body: str = ""  # the full text as plain text, capped ("" when the entry has none)
    # The outlet an aggregator names for the entry (RSS <source>, Atom <source>
    # <title>), "" when the feed is the outlet.
    outlet: str = ""


@dataclass(frozen=True)
class ParseResult:
    """What one response body yielded. ``ok`` is False when no feed could be read at all."""

    entries: list[ParsedEntry]
    problems: list[str]
    title: str = ""
    language: str = ""
    version: str = ""
    encoding: str = ""
    ttl_s: float | None = None
    ok: bool = True
    skipped: int = 0
    stats: dict[str, int] = field(default_factory=dict)


def _to_utc(value: Any) -> datetime | None:
    # feedparser already converts every date it understands to a UTC struct_time.
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        y, mo, d, h, mi, sec = (int(v) for v in value[:6])
        return datetime(y, mo, d, h, mi, min(sec, 59), tzinfo=UTC)
    except (ValueError, TypeError, OverflowError):
        return None


def _content_detail(entry: Any) -> dict[str, Any]:
    """The entry's full content (``content:encoded``, Atom ``content``), HTML preferred."""
    contents = entry.get("content") or []
    for content in contents:
        if "html" in str(content.get("type", "")) and content.get("value"):
            return dict(content)
    return dict(contents[0]) if contents else {}


@dataclass(frozen=True)
class _Texts:
    summary: str
    summary_html: str
    body: str


def _texts_of(entry: Any, body_chars: int) -> _Texts:
    """Summary (the short description), body (the full text) and the HTML kept for templates.

    The body is the longer of the content and the description: some feeds put
    the whole article in ``description`` and a teaser in ``content``.
    """
    content = _content_detail(entry)
    content_raw = str(content.get("value") or "")
    summary_detail = entry.get("summary_detail") or {}
    summary_raw = str(entry.get("summary") or "")
    # One extraction per text serves both caps (html_to_text cuts the raw input first).
    cap = max(body_chars, MAX_SUMMARY_CHARS)
    summary_text = html_to_text(summary_raw, max_chars=cap)
    content_text = html_to_text(content_raw, max_chars=cap)
    summary = (summary_text or content_text)[:MAX_SUMMARY_CHARS]
    body = max(content_text, summary_text, key=len)[:body_chars]
    html_detail = content if "html" in str(content.get("type", "")) and content_raw else {}
    if not html_detail:
        html_detail = summary_detail if summary_detail.get("value") else content
    base = str(html_detail.get("base") or "")
    return _Texts(summary, sanitize_html(str(html_detail.get("value") or ""), base_url=base), body)


def _ttl_seconds(feed: Any) -> float | None:
    try:
        minutes = float(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return minutes * 60 if 0 < minutes < 7 * 24 * 60 else None


def _outlet_of(entry: Any) -> str:
    """The outlet an aggregator or planet feed names for one entry, or "".

    Google News and planet feeds carry items of many outlets, each named in the
    item's ``<source>``; taking the feed's name for all of them would count a
    story told by ten outlets as told by one.
    """
    source = entry.get("source")
    if not isinstance(source, dict):
        return ""
    return clean_line(str(source.get("title") or ""))[:MAX_OUTLET_CHARS]


def _normalise(
    entry: Any, fetched_at: datetime, max_future: timedelta, body_chars: int
) -> ParsedEntry | None:
    link = str(entry.get("link") or "").strip()
    guid = str(entry.get("id") or entry.get("guid") or "").strip()[:2000]
    texts = _texts_of(entry, body_chars)
    summary = texts.summary
    title = clean_line(str(entry.get("title") or ""))[:MAX_TITLE_CHARS]
    if not title:
        # Title-less entries (microblogs) are kept; the start of the text stands in.
        title = " ".join(summary.split())[:120] or link[:200]
    if not title and not guid:
        return None
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _to_utc(entry.get(key))
        if published is not None:
            break
    date_missing = published is None
    date_clamped = published is not None and published > fetched_at + max_future
    if published is None or date_clamped:
        published = fetched_at
    return ParsedEntry(
        title=title,
        url=canonical_url(link) if link else "",
        link=link,
        guid=guid,
        summary=summary,
        summary_html=texts.summary_html,
        published=published,
        # The body is left out: feeds rewrite counters, "related" links and ad
        # slots inside it, which would re-produce an article on every poll.
        content_hash=content_hash(title, summary),
        date_missing=date_missing,
        date_clamped=date_clamped,
        body=texts.body,
        outlet=_outlet_of(entry),
    )


def _bozo_reason(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    if exc is None:
        return "malformed feed"
    line = getattr(exc, "getLineNumber", None)
    where = f" (line {line()})" if callable(line) else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _dtd_problem(parsed: Any, data: bytes, encoding: str) -> str:
    """The feed problem to record when the document carried a DTD internal subset."""
    exc = parsed.get("bozo_exception")
    if isinstance(exc, DtdRefused):
        where = f" at line {exc.getLineNumber()}"
    elif parsed.get("bozo") and "<!ENTITY" in _decoded(data, encoding):
        # feedparser's own DOCTYPE rewriting left the declarations malformed, so
        # expat stopped on a syntax error before it could see (and refuse) them.
        where = ""
    else:
        return ""
    return (
        f"dtd: internal subset refused{where} (entity expansion / external entities);"
        " entities left unexpanded, feed read by the lenient parser"
    )


def _decoded(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def parse_feed(
    data: bytes,
    *,
    feed_url: str = "",
    content_type: str = "",
    fetched_at: datetime | None = None,
    max_future: timedelta = timedelta(minutes=5),
    body_chars: int = DEFAULT_BODY_CHARS,
) -> ParseResult:
    """Parse and normalise one feed body. Never raises for bad input; problems are listed.

    Dates are UTC; a missing date becomes ``fetched_at`` and a date more than
    ``max_future`` ahead is clamped to it. Good entries of a malformed feed are kept.
    Each entry's full text is kept as ``body``, at most ``body_chars`` long.
    """
    fetched_at = fetched_at or datetime.now(UTC)
    problems: list[str] = []
    headers = {"content-location": feed_url} if feed_url else {}
    # Without a header (files, `feeds check PATH`) assume XML rather than report a
    # missing Content-Type that no server actually omitted.
    headers["content-type"] = content_type or "application/xml"
    try:
        # BytesIO, never bytes: feedparser treats a bare bytes/str argument as a
        # path or URL to open, which hostile content must never trigger.
        # sanitize_html=False: nh3 sanitises the HTML we keep and the text extractor
        # drops scripts, so feedparser's slower pure-Python sanitiser is redundant.
        # resolve_relative_uris=False: its pure-Python pass walks every entry's
        # whole content (3 s of CPU for one 10 MB body); nh3 resolves links in
        # the capped HTML we keep instead.
        parsed = feedparser.parse(
            io.BytesIO(data),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's loose parser can fail on pathological markup
        return ParseResult([], [f"parser crashed: {type(exc).__name__}: {exc}"], ok=False)
    feed = parsed.get("feed") or {}
    raw_entries = parsed.get("entries") or []
    version = str(parsed.get("version") or "")
    encoding = str(parsed.get("encoding") or "")
    dtd = _dtd_problem(parsed, data, encoding)
    if dtd:
        problems.append(dtd)
    elif parsed.get("bozo"):
        problems.append(f"bozo: {_bozo_reason(parsed)}")
    if not version and not raw_entries:
        problems.append("not a feed: no RSS/Atom/RDF/JSON structure found")
        return ParseResult([], problems, encoding=encoding, ok=False)

    entries: list[ParsedEntry] = []
    skipped = 0
    for raw in raw_entries:
        try:
            entry = _normalise(raw, fetched_at, max_future, body_chars)
        except Exception as exc:  # one odd entry must not cost the others
            problems.append(f"entry skipped: {type(exc).__name__}: {exc}")
            entry = None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    if skipped:
        problems.append(f"entries without title, text or guid skipped: {skipped}")
    missing = sum(e.date_missing for e in entries)
    if missing:
        problems.append(f"missing dates: {missing} entries (fetch time used)")
    clamped = sum(e.date_clamped for e in entries)
    if clamped:
        problems.append(f"future dates clamped: {clamped} entries")
    dup_guids = [g for g, n in Counter(e.guid for e in entries if e.guid).items() if n > 1]
    if dup_guids:
        problems.append(f"duplicate guids: {len(dup_guids)} (e.g. {dup_guids[0][:80]!r})")
    return ParseResult(
        entries=entries,
        problems=problems,
        title=clean_line(str(feed.get("title") or "")),
        language=str(feed.get("language") or "").strip()[:35],
        version=version,
        encoding=encoding,
        ttl_s=_ttl_seconds(feed),
        skipped=skipped,
        stats={
            "missing_dates": missing,
            "clamped_dates": clamped,
            "duplicate_guids": len(dup_guids),
        },
    )
