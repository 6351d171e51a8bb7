"""Per-feed poller state, persisted in the compacted state topic keyed by feed URL (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

STATE_VERSION = 1
COUNT_DAYS = 7


class FeedState(BaseModel):
    """What a poller must remember about one feed across restarts and hand-overs."""

    # Readers ignore unknown fields so that a newer poller's state does not break an older one.
    model_config = ConfigDict(frozen=True, extra="ignore")

    state_version: int = STATE_VERSION
    url: str
    etag: str = ""
    last_modified: str = ""
    last_poll: AwareDatetime | None = None
    last_success: AwareDatetime | None = None
    last_status: int = 0
    last_error: str = ""
    last_error_at: AwareDatetime | None = None
    consecutive_failures: int = 0
    next_poll: AwareDatetime | None = None
    next_poll_reason: str = ""
    permanent_redirect: str = ""
    title: str = ""
    problems: tuple[str, ...] = ()
    # Once a feed re-issues GUIDs for unchanged entries, its GUIDs are ignored for good.
    guids_untrusted: bool = False
    # id -> content hash of recently produced entries, oldest first, bounded.
    seen: dict[str, str] = {}
    # hash(link, title) -> GUID id, to notice a GUID that changes under a stable entry.
    link_title_guids: dict[str, str] = {}
    # YYYY-MM-DD -> entries produced that day (last COUNT_DAYS days).
    daily_counts: dict[str, int] = {}
    produced_total: int = 0
    owner: str = ""
    updated_at: AwareDatetime | None = None

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


def entries_per_day(state: FeedState, now: datetime) -> float:
    """Average produced per day over the days this poller has known the feed (max a week)."""
    counts = count_produced(state.daily_counts, now, 0)
    if not counts:
        return 0.0
    first = min(datetime.fromisoformat(day).date() for day in counts)
    days = max(1, (now.date() - first).days + 1)
    return sum(counts.values()) / days
