"""Backtesting rules on saved articles or a feed, for ``wirewatch rules test``.

Reading a feed here is a deliberately small local parse (feedparser plus tag
stripping), not the ingest stage: stages never import each other, and a
backtest only needs title, summary, body, link and source.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from processors.rules.model import RuleBook
from processors.rules.query_text import fold, surface_spans
from wirewatch.events import Article, RuleMatch
from wirewatch.terminal import strip_control_chars

_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
# As ingest caps Article.body; raw HTML is cut at a multiple first so a huge entry stays cheap.
BODY_CHARS = 20_000
_EXCERPT_CHARS = 160


@dataclass(frozen=True)
class ReadError:
    """An input record that could not be read; reported, never dropped silently."""

    where: str
    message: str


def strip_html(markup: str) -> str:
    """Plain text of a feed's HTML summary, good enough to match rules on."""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", markup))).strip()


def _body_of(entry: Any, summary: str) -> str:
    """The full text: the entry's content, or the summary when that is longer."""
    contents = entry.get("content") or []
    content = max((str(c.get("value") or "") for c in contents), key=len, default="")
    text = strip_html(content[: BODY_CHARS * 4])[:BODY_CHARS]
    return text if len(text) > len(summary) else summary[:BODY_CHARS]


def read_feed(source: str) -> tuple[list[Article], list[ReadError]]:
    """Parse a feed URL or file with feedparser into articles."""
    import feedparser

    parsed: Any = feedparser.parse(source)
    errors = []
    if parsed.get("bozo") and not parsed.entries:
        errors.append(ReadError(source, f"not a feed: {parsed.get('bozo_exception')}"))
    outlet = str(parsed.feed.get("title", "")) if parsed.get("feed") else ""
    articles = []
    for index, entry in enumerate(parsed.entries):
        link = str(entry.get("link", ""))
        summary = strip_html(str(entry.get("summary", "") or entry.get("description", "")))
        articles.append(
            Article(
                id=str(entry.get("id") or link or f"{source}#{index}"),
                title=strip_html(str(entry.get("title", ""))),
                summary=summary,
                body=_body_of(entry, summary),
                url=link,
                source=outlet,
                feed_url=source,
                language=str(parsed.feed.get("language", "")) if parsed.get("feed") else "",
            )
        )
    return articles, errors


def highlight(text: str, terms: tuple[str, ...], style: str = "bold black on yellow") -> Text:
    """``text`` with every word-run equal to a matched term highlighted."""
    rich = Text(text)
    wanted = {_words_of(t) for t in terms}
    spans = surface_spans(text)
    words = [fold(text[a:b]) for a, b in spans]
    for size in {len(w) for w in wanted if w}:
        for i in range(len(words) - size + 1):
            if tuple(words[i : i + size]) in wanted:
                rich.stylize(style, spans[i][0], spans[i + size - 1][1])
    return rich


def _words_of(term: str) -> tuple[str, ...]:
    return tuple(fold(term[a:b]) for a, b in surface_spans(term))


def render_article(
    article: Article, matches: list[RuleMatch], *, width_hint: int = 600
) -> list[Text]:
    """Lines to print for one backtested article: header, fired rules, highlighted text."""
    terms = tuple(t for m in matches for t in m.terms)
    head = Text("● " if matches else "○ ", style="green" if matches else "dim")
    head.append_text(highlight(strip_control_chars(article.title), terms))
    if article.source:
        head.append(f"  [{strip_control_chars(article.source)}]", style="dim")
    lines = [head]
    for match in matches:
        line = Text(f"    fired {strip_control_chars(match.rule_id)}", style="bold green")
        terms_text = strip_control_chars(", ".join(match.terms))
        line.append(f" ({match.severity})  terms: {terms_text}")
        lines.append(line)
    if matches and article.summary:
        summary = strip_control_chars(article.summary[:width_hint])
        summary += "…" if len(article.summary) > width_hint else ""
        lines.append(Text("    ").append_text(highlight(summary, terms)))
    excerpt = body_excerpt(article, terms)
    if excerpt:
        lines.append(Text("    body: ", style="dim").append_text(highlight(excerpt, terms)))
    return lines


def body_excerpt(article: Article, terms: tuple[str, ...]) -> str:
    """The body around the first matched term that the title and summary lack ('' if none)."""
    lead = f"{article.title}\n{article.summary}"
    # Terms are the article's own surface words, so an exact find locates them.
    hits = [at for t in terms if t not in lead and (at := article.body.find(t)) >= 0]
    if not hits:
        return ""
    at = min(hits)
    start = max(0, at - _EXCERPT_CHARS)
    end = min(len(article.body), at + _EXCERPT_CHARS)
    return (
        ("…" if start else "") + article.body[start:end] + ("…" if end < len(article.body) else "")
    )


def explain_lines(book: RuleBook, article: Article, rule_id: str) -> list[Text]:
    """The clause-by-clause explanation of ``rule_id`` for one article."""
    out = []
    for line in book.explain(article, rule_id):
        style = "green" if line.lstrip().startswith("✓") else "red"
        out.append(Text(f"    {strip_control_chars(line)}", style=style))
    return out
