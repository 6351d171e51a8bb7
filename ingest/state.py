"""Per-feed poller state, persisted in the compacted state topic keyed by feed URL (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, ConfigDict, Field

from wirewatch.events import FeedStatus

STATE_VERSION = 1
COUNT_DAYS = 7
# Gaps between polls that brought new items, kept to learn a feed's rhythm.
MAX_ITEM_GAPS = 64


class FeedState(FeedStatus):
    """What a poller must remember about one feed across restarts and hand-overs.

    The fields other stages may read (health: failures, last success, item
    rhythm) are declared on :class:`wirewatch.events.FeedStatus`.
    """

    # Readers ignore unknown fields so that a newer poller's state does not break an older one.
    model_config = ConfigDict(frozen=True, extra="ignore")

    state_version: int = STATE_VERSION
    etag: str = ""
    last_modified: str = ""
    next_poll: AwareDatetime | None = None
    next_poll_reason: str = ""
    permanent_redirect: str = ""
    problems: tuple[str, ...] = ()
    # Once a feed re-issues GUIDs for unchanged entries, its GUIDs are ignored for good.
    guids_untrusted: bool = False
    # id -> content hash of recently produced entries, oldest first, bounded.
    seen: dict[str, str] = Field(default_factory=dict)
    # hash(link, title) -> GUID id, to notice a GUID that changes under a stable entry.
    link_title_guids: dict[str, str] = Field(default_factory=dict)
    # YYYY-MM-DD -> entries produced that day (last COUNT_DAYS days).
    daily_counts: dict[str, int] = Field(default_factory=dict)
    produced_total: int = 0
    owner: str = ""

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def count_produced(counts: dict[str, int], now: datetime, produced: int) -> dict[str, int]:
    """Add today's produced entries and forget days older than the window."""
    today = now.date()
    oldest = (today - timedelta(days=COUNT_DAYS - 1)).isoformat()
    updated = {day: n for day, n in counts.items() if day >= oldest}
    if produced:
        updated[today.isoformat()] = updated.get(today.isoformat(), 0) + produced
    return updated


def learn_item_gap(state: FeedState, now: datetime, new_items: int) -> dict[str, object]:
    """The rhythm fields after a successful poll that found ``new_items`` new entries."""
    if new_items <= 0:
        return {}
    gaps = state.item_gaps_s
    if state.last_item_at is not None:
        gaps = (*gaps, max(0.0, (now - state.last_item_at).total_seconds()))[-MAX_ITEM_GAPS:]
    return {"last_item_at": now, "item_gaps_s": gaps}


def entries_per_day(state: FeedState, now: datetime) -> float:
    """Average produced per day over the days this poller has known the feed (max a week)."""
    counts = count_produced(state.daily_counts, now, 0)
    if not counts:
        return 0.0
    first = min(datetime.fromisoformat(day).date() for day in counts)
    days = max(1, (now.date() - first).days + 1)
    return sum(counts.values()) / days
