"""The feed list (``config/feeds.yaml``): load with line-numbered errors, merge, write.

Format::

    version: 1
    feeds:
      - url: https://example.org/rss.xml
        name: Example News        # optional, defaults to the feed's own title
        interval: 10m             # optional: seconds, or 30s / 10m / 2h
        tags: [world, business]   # optional
        language: en              # optional
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class FeedListError(Exception):
    """A feeds file that cannot be used; ``errors`` holds one ``file:line: message`` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def parse_duration(value: object) -> float:
    """Seconds from ``300``, ``"30s"``, ``"10m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("interval must be a number of seconds or e.g. '10m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"interval {value!r} is not seconds or e.g. '10m'")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("interval must be positive")
    return seconds


class FeedSpec(BaseModel):
    """One configured feed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    name: str = ""
    interval: float | None = Field(None, description="Seconds; None = ingest default")
    tags: tuple[str, ...] = ()
    language: str = ""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return value
        if parts.scheme == "file" or (not parts.scheme and value.startswith("/")):
            return value  # allowed only when ingest.allow_file_urls is set; checked at fetch
        raise ValueError(f"url {value!r} must be http(s) (or file:// when allowed)")

    @field_validator("interval", mode="before")
    @classmethod
    def _check_interval(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)


class FeedList(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    feeds: tuple[FeedSpec, ...] = ()

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"unsupported feeds file version {value}; this wirewatch reads 1")
        return value


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """1-based line of the YAML node at a pydantic ``loc`` (deepest node that exists)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def parse_feed_list(text: str, source: str = "feeds.yaml") -> FeedList:
    """Validate feeds YAML; raise :class:`FeedListError` listing every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise FeedListError([f"{source}:{line}: invalid YAML: {exc}"]) from exc
    if data is None:
        return FeedList()
    if not isinstance(data, dict):
        raise FeedListError([f"{source}:1: top level must be a mapping with version and feeds"])
    try:
        feed_list = FeedList.model_validate(data)
    except ValidationError as exc:
        errors = [
            f"{source}:{_node_line(root, tuple(err['loc']))}: "
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise FeedListError(errors) from exc
    seen: set[str] = set()
    dups = []
    for index, feed in enumerate(feed_list.feeds):
        if feed.url in seen:
            line = _node_line(root, ("feeds", index))
            dups.append(f"{source}:{line}: duplicate feed url {feed.url}")
        seen.add(feed.url)
    if dups:
        raise FeedListError(dups)
    return feed_list


def load_feed_list(path: Path) -> FeedList:
    """Read and validate a feeds file; a missing file is an empty list."""
    if not path.exists():
        return FeedList()
    return parse_feed_list(path.read_text(encoding="utf-8"), str(path))


def merge_feeds(
    current: FeedList, new: list[FeedSpec]
) -> tuple[FeedList, list[FeedSpec], list[FeedSpec]]:
    """Add feeds whose url is not listed yet; returns (merged, added, skipped)."""
    known = {f.url for f in current.feeds}
    added: list[FeedSpec] = []
    skipped: list[FeedSpec] = []
    for feed in new:
        if feed.url in known:
            skipped.append(feed)
        else:
            known.add(feed.url)
            added.append(feed)
    merged = FeedList(version=current.version, feeds=(*current.feeds, *added))
    return merged, added, skipped


def render_feed_list(feed_list: FeedList) -> str:
    """YAML text for a feed list, omitting fields left at their defaults."""
    feeds = []
    for feed in feed_list.feeds:
        entry: dict[str, Any] = {"url": feed.url}
        if feed.name:
            entry["name"] = feed.name
        if feed.interval is not None:
            entry["interval"] = int(feed.interval) if feed.interval.is_integer() else feed.interval
        if feed.tags:
            entry["tags"] = list(feed.tags)
        if feed.language:
            entry["language"] = feed.language
        feeds.append(entry)
    body = yaml.safe_dump(
        {"version": feed_list.version, "feeds": feeds}, sort_keys=False, allow_unicode=True
    )
    return "# wirewatch feeds (see ingest/feedlist.py for the format)\n" + body
