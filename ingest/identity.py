"""Canonical article ids and the "already produced?" decision (pure).

An id is, in order of preference: the GUID (when the feed's GUIDs can be
trusted), the canonical URL, or a hash of the content. Ids are short hashes
with a readable prefix so that keys stay bounded whatever a feed puts in a GUID.

A feed loses GUID trust for good when the same link and title come back under a
new GUID, or when one GUID names two different links. Because every produced
entry is remembered under all of its candidate ids, switching a feed from GUID
ids to URL ids does not re-produce what it already sent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from ingest.feeds import ParsedEntry
from ingest.text import short_hash


@dataclass(frozen=True)
class Candidates:
    guid_id: str | None
    url_id: str | None
    hash_id: str
    link_title: str | None

    def all(self) -> list[str]:
        return [i for i in (self.guid_id, self.url_id, self.hash_id) if i]


@dataclass(frozen=True)
class Pick:
    entry: ParsedEntry
    id: str
    is_update: bool


@dataclass(frozen=True)
class Selection:
    """The entries to produce now and the memory to persist once they are acknowledged."""

    produce: list[Pick]
    unchanged: int
    seen: dict[str, str]
    link_title_guids: dict[str, str]
    guids_untrusted: bool
    untrust_reason: str = ""


def _guid_scope(guid: str, feed_url: str) -> str:
    # A URL-shaped GUID is global; "123" only means something within its site.
    if urlsplit(guid).scheme in ("http", "https"):
        return guid
    return f"{urlsplit(feed_url).hostname or feed_url}|{guid}"


def candidate_ids(entry: ParsedEntry, feed_url: str) -> Candidates:
    """Every id this entry could have: by GUID, by canonical URL and by content hash."""
    return Candidates(
        guid_id=f"guid:{short_hash(_guid_scope(entry.guid, feed_url))}" if entry.guid else None,
        url_id=f"url:{short_hash(entry.url)}" if entry.url else None,
        hash_id=f"hash:{short_hash(feed_url, entry.content_hash)}",
        link_title=short_hash(entry.url, entry.title) if entry.url and entry.guid else None,
    )


def _untrust_reason(
    entries: list[ParsedEntry], cands: list[Candidates], link_title_guids: dict[str, str]
) -> str:
    for entry, cand in zip(entries, cands, strict=True):
        previous = link_title_guids.get(cand.link_title or "")
        if previous and previous != cand.guid_id:
            return f"guid changed for an unchanged entry ({entry.url[:120]})"
    links_per_guid: dict[str, set[str]] = {}
    for entry in entries:
        if entry.guid:
            links_per_guid.setdefault(entry.guid, set()).add(entry.url)
    shared = next((g for g, links in links_per_guid.items() if len(links) > 1), None)
    return f"one guid names several links ({shared[:80]!r})" if shared else ""


def _move_to_end(items: dict[str, str], key: str, value: str) -> None:
    items.pop(key, None)
    items[key] = value


def select_entries(
    entries: list[ParsedEntry],
    *,
    feed_url: str,
    seen: dict[str, str],
    link_title_guids: dict[str, str],
    guids_untrusted: bool,
    max_keys: int = 2000,
) -> Selection:
    """Choose ids and keep only new or edited entries (edits are marked as updates)."""
    cands = [candidate_ids(e, feed_url) for e in entries]
    reason = "" if guids_untrusted else _untrust_reason(entries, cands, link_title_guids)
    untrusted = guids_untrusted or bool(reason)
    # Several entries sharing one link (a homepage) cannot be told apart by URL.
    url_counts = Counter(c.url_id for c in cands if c.url_id)
    new_seen = dict(seen)
    new_lt = dict(link_title_guids)
    produce: list[Pick] = []
    unchanged = 0
    taken: set[str] = set()
    for entry, cand in zip(entries, cands, strict=True):
        if cand.guid_id and not untrusted:
            article_id = cand.guid_id
        elif cand.url_id and url_counts[cand.url_id] == 1:
            article_id = cand.url_id
        else:
            article_id = cand.hash_id
        if article_id in taken:
            continue  # the same entry twice in one document
        taken.add(article_id)
        previous = new_seen.get(article_id)
        if previous == entry.content_hash:
            unchanged += 1
        else:
            produce.append(Pick(entry, article_id, is_update=previous is not None))
        for key in cand.all():
            _move_to_end(new_seen, key, entry.content_hash)
        if cand.link_title and cand.guid_id:
            _move_to_end(new_lt, cand.link_title, cand.guid_id)
    return Selection(
        produce=produce,
        unchanged=unchanged,
        seen=_bounded(new_seen, max_keys),
        link_title_guids=_bounded(new_lt, max_keys),
        guids_untrusted=untrusted,
        untrust_reason=reason,
    )


def _bounded(items: dict[str, str], max_keys: int) -> dict[str, str]:
    if len(items) <= max_keys:
        return items
    return {k: items[k] for k in list(items)[-max_keys:]}
