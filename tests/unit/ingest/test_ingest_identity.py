"""Canonical ids and the produce-once decision, including feeds whose GUIDs cannot be trusted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ingest.feeds import ParsedEntry
from ingest.identity import Selection, candidate_ids, select_entries
from ingest.text import content_hash

FEED = "https://ex.com/rss"
NOW = datetime(2026, 11, 2, tzinfo=UTC)


def entry(n: int, guid: str | None = None, url: str | None = None, body: str = "") -> ParsedEntry:
    title = f"Story {n}"
    summary = body or f"Body {n}"
    return ParsedEntry(
        title=title,
        url=f"https://ex.com/{n}" if url is None else url,
        link=f"https://ex.com/{n}" if url is None else url,
        guid=f"g{n}" if guid is None else guid,
        summary=summary,
        summary_html="",
        published=NOW,
        content_hash=content_hash(title, summary),
    )


Memory = dict[str, Any]


def run(entries: list[ParsedEntry], state: Memory | None = None, max_keys: int = 2000) -> Selection:
    prior = state or {"seen": {}, "link_title_guids": {}, "guids_untrusted": False}
    return select_entries(entries, feed_url=FEED, max_keys=max_keys, **prior)


def carry(sel: Selection) -> Memory:
    return {
        "seen": sel.seen,
        "link_title_guids": sel.link_title_guids,
        "guids_untrusted": sel.guids_untrusted,
    }


def test_new_entries_are_produced_with_guid_ids() -> None:
    sel = run([entry(1), entry(2)])
    assert [p.id for p in sel.produce] == [
        candidate_ids(entry(1), FEED).guid_id,
        candidate_ids(entry(2), FEED).guid_id,
    ]
    assert all(p.id.startswith("guid:") and not p.is_update for p in sel.produce)


def test_unchanged_entries_are_not_produced_again() -> None:
    first = run([entry(1), entry(2)])
    second = run([entry(1), entry(2)], carry(first))
    assert second.produce == []
    assert second.unchanged == 2


def test_edited_entry_is_produced_as_update_with_same_id() -> None:
    first = run([entry(1)])
    edited = run([entry(1, body="Body 1, corrected")], carry(first))
    assert len(edited.produce) == 1
    assert edited.produce[0].is_update
    assert edited.produce[0].id == first.produce[0].id
    again = run([entry(1, body="Body 1, corrected")], carry(edited))
    assert again.produce == []


def test_guids_changing_every_poll_do_not_flood() -> None:
    state = carry(run([entry(1, guid="a1"), entry(2, guid="a2")]))
    produced_later = 0
    for poll in range(5):
        sel = run([entry(1, guid=f"p{poll}-1"), entry(2, guid=f"p{poll}-2")], state)
        produced_later += len(sel.produce)
        state = carry(sel)
    assert produced_later == 0
    assert state["guids_untrusted"] is True
    # A genuinely new entry still gets through, identified by its URL.
    sel = run([entry(3, guid="zzz")], state)
    assert [p.id for p in sel.produce] == [candidate_ids(entry(3), FEED).url_id]


def test_reason_is_given_when_trust_is_lost() -> None:
    state = carry(run([entry(1, guid="a")]))
    sel = run([entry(1, guid="b")], state)
    assert "guid changed" in sel.untrust_reason


def test_one_guid_for_several_links_is_untrusted() -> None:
    sel = run([entry(1, guid="same"), entry(2, guid="same")])
    assert sel.guids_untrusted
    assert len(sel.produce) == 2
    assert all(p.id.startswith("url:") for p in sel.produce)


def test_same_entry_twice_in_one_document_is_produced_once() -> None:
    sel = run([entry(1), entry(1)])
    assert len(sel.produce) == 1


def test_entries_without_guid_use_canonical_url_then_hash() -> None:
    sel = run([entry(1, guid=""), entry(2, guid="", url="")])
    assert sel.produce[0].id.startswith("url:")
    assert sel.produce[1].id.startswith("hash:")


def test_untrusted_entries_sharing_one_link_fall_back_to_hash() -> None:
    homepage = "https://ex.com/"
    state: Memory = {"seen": {}, "link_title_guids": {}, "guids_untrusted": True}
    sel = run([entry(1, url=homepage), entry(2, url=homepage)], state)
    assert len(sel.produce) == 2
    assert all(p.id.startswith("hash:") for p in sel.produce)


def test_guid_scope_url_guids_are_global_plain_guids_per_site() -> None:
    plain = replace(entry(1), guid="123")
    other_site = candidate_ids(plain, "https://other.org/feed").guid_id
    assert candidate_ids(plain, FEED).guid_id != other_site
    url_guid = replace(entry(1), guid="https://ex.com/1")
    assert (
        candidate_ids(url_guid, FEED).guid_id
        == candidate_ids(url_guid, "https://mirror.org/feed").guid_id
    )


def test_memory_is_bounded_newest_kept() -> None:
    state = carry(run([entry(n) for n in range(50)], max_keys=30))
    assert len(state["seen"]) == 30
    sel = run([entry(49)], state, max_keys=30)
    assert sel.produce == []
