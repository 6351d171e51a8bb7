"""The one reader of article JSONL files, for ``wirewatch replay`` and ``rules test``.

A line is an article object (``id`` and ``title`` required; ``summary``,
``body``, ``url``, ``source`` and ``published`` optional), or a processed event
from ``news.events`` whose ``article`` is such an object, so that a tail of
the event topic can be replayed or backtested as it is. A line without
``published`` takes the time of the line before it. A line that cannot be read
is yielded as an :class:`ArticleLineError` naming file and line, in its place:
callers report it, nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wirewatch.events import Article

# Lines before the first dated one have no clock of their own.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ArticleLineError(ValueError):
    """An input line is not a usable article; the message names file and line."""

    def __init__(self, where: str, message: str, line: int = 0) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
        self.line = line


def parse_article_line(line: str, where: str, default_time: datetime | None = None) -> Article:
    """Parse one input line into an Article, or raise :class:`ArticleLineError`."""
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ArticleLineError(where, f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if isinstance(data, dict) and isinstance(data.get("article"), dict):
        data = data["article"]  # a processed event: its article
    if not isinstance(data, dict):
        raise ArticleLineError(where, "expected a JSON object")
    for required in ("id", "title"):
        value = data.get(required)
        if not isinstance(value, str | int) or not str(value).strip():
            raise ArticleLineError(where, f"missing or empty {required!r}")
    published_raw = data.get("published") or ""
    try:
        published = datetime.fromisoformat(str(published_raw)) if published_raw else None
    except ValueError as exc:
        raise ArticleLineError(where, f"bad published {published_raw!r}: {exc}") from exc
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # feeds that omit the zone mean UTC
    when = published or default_time or _EPOCH
    fields = {
        "id": str(data["id"]),
        "title": str(data["title"]),
        "summary": str(data.get("summary") or ""),
        "body": str(data.get("body") or ""),
        "url": str(data.get("url") or ""),
        "source": str(data.get("source") or ""),
    }
    try:
        return Article(**fields, published=when, fetched_at=when)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ArticleLineError(where, f"{field}: {err['msg']}" if field else err["msg"]) from exc


def read_articles(path: Path) -> Iterator[Article | ArticleLineError]:
    """Every non-blank line of a JSONL file as an Article or the error that replaces it."""
    clock: datetime | None = None
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                article = parse_article_line(line, f"{path}:{number}", clock)
            except ArticleLineError as exc:
                exc.line = number
                yield exc
                continue
            clock = article.published
            yield article


def count_lines(path: Path) -> int:
    """Lines in a file, read in blocks (for a progress bar's total)."""
    with Path(path).open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
