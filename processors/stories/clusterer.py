"""Story clustering: near-duplicate copies and same-event stories (pure, no Kafka).

Each article is compared only with the few window entries that share its rarest
terms (an inverted index with a fixed reading budget per article, see
:mod:`processors.stories.window`), scored with rapidfuzz, shared title terms and
IDF-weighted summary overlap, with numbers, countries and names as vetoes (see
:mod:`processors.stories.score`), and then (see :mod:`processors.stories.decide`)

- marked ``duplicate_of`` an earlier near-identical article (it joins its story),
- joined to a story: by one strong same-event match, by the story's signature
  (terms most of its articles carry and few others do), or by a neighbourhood
  that nearly all belongs to it, or
- opens a new story.

Every verdict says why in ``reason``, with the matched article and its score.

Precision comes first: a wrong merge silences an alert, a missed merge costs
only one extra alert. Every change to the window is returned as
``state_updates`` so that the stream can persist it and :meth:`restore` can
rebuild the same window after a restart. The stream and ``wirewatch replay``
call this same code.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processors.stories.body import IdfLookup, weigh_body, without_full
from processors.stories.decide import Decision, DedupConfig, decide
from processors.stories.features import TextFeatures, with_body
from processors.stories.reading import ArticleText, read_article
from processors.stories.state import StoredValue, dump_entry, dump_story, load_records
from processors.stories.window import Entry, Story, WindowIndex
from wirewatch.events import Article

__all__ = ["DedupConfig", "StateUpdate", "StoryClusterer", "Verdict"]

StateUpdate = tuple[str, dict[str, Any] | None]

log = logging.getLogger(__name__)

# The window size from which one source's share of it is judged (see _outlet_of).
_OUTLET_MIN_WINDOW = 10


@dataclass(frozen=True)
class Verdict:
    """The clustering decision on one article, with its explanation and state changes."""

    story_id: str
    duplicate_of: str | None
    similarity: float | None
    matched_article: str | None
    story_sources: tuple[str, ...]
    source_count: int
    new_story: bool
    source_added: bool
    state_updates: tuple[StateUpdate, ...]
    reason: str = ""
    redelivered: bool = False
    # Full-text features per candidate story (for the model fit; often empty).
    evidence: tuple[tuple[str, tuple[float, ...]], ...] = ()


def make_story_id(article_id: str) -> str:
    """A stable story id derived from the article that opened the story."""
    return "st-" + hashlib.sha1(article_id.encode(), usedforsecurity=False).hexdigest()[:16]


class StoryClusterer:
    """Online clustering of articles into stories over a time window."""

    def __init__(self, config: DedupConfig = DedupConfig()) -> None:  # noqa: B008 - frozen
        self.config = config
        self._index = WindowIndex(config.postings_scan, config.query_terms, config.scan_budget)
        self._stories: dict[str, Story] = {}
        self._clock = float("-inf")
        self._idf = IdfLookup()
        # Window entries per outlet: an "outlet" holding most of the window is
        # no outlet (see _outlet_of).
        self._outlets: Counter[str] = Counter()
        self._seq = 0
        # Deletes found during restore (unreadable records, stories left without
        # articles); they ride along with the next verdict so the table sheds them.
        self._pending: list[StateUpdate] = []

    def __len__(self) -> int:
        return len(self._index)

    @property
    def story_count(self) -> int:
        """Stories with at least one article in the window."""
        return len(self._stories)

    def read(self, article: Article) -> ArticleText:
        """The stateless half of clustering an article, which any stage can compute."""
        return read_article(article, self.config.summary_chars)

    def assign(
        self,
        article: Article,
        now: datetime | None = None,
        *,
        place_in: str | None = None,
        text: ArticleText | None = None,
    ) -> Verdict:
        """Cluster one article and return the verdict with the state changes to persist.

        ``text`` is the article as :meth:`read` reads it, when another stage read it.

        ``place_in`` is for fitting the model on labelled data only: the article
        joins that story (created under that id if new) whatever the decision,
        and the verdict carries the evidence for every candidate story.
        """
        ts = self._tick(article, now)
        updates: list[StateUpdate] = self._evict(ts)
        if self._pending:
            updates[:0] = self._pending
            self._pending = []
        known = self._index.entries.get(article.id)
        if known is not None:
            return self._redelivered(known, updates)
        cfg = self.config
        if text is None or text.summary_chars != cfg.summary_chars:
            text = self.read(article)
        source = text.source
        features = self._weigh(text)
        decision = decide(
            features,
            self._index,
            self._stories,
            cfg,
            always_evidence=place_in is not None,
            source=self._outlet_of(source),
        )
        if place_in is not None:
            decision = decision._replace(matched=None, duplicate_of=None)
        return self._admit(article.id, source, ts, features, decision, updates, place_in)

    def _outlet_of(self, source: str) -> str:
        """The article's outlet for the own-outlet rule, or "" when it tells nothing.

        A source that holds more than half of a window of 10 or more articles
        is not one outlet among others: it is an aggregator's name or host
        (every item of a Google News feed), or the one outlet a user watches.
        The own-outlet rule would then leave every story to the copy rule
        (UCI with one source for all: B3 recall 0.388 -> 0.018).
        """
        size = len(self._index)
        if source and size >= _OUTLET_MIN_WINDOW and 2 * self._outlets[source] > size:
            return ""
        return source

    def _weigh(self, text: ArticleText) -> TextFeatures:
        # The stateful half: the lead's terms enter the window's IDF and are weighed by it.
        if text.body is None:
            return text.features
        return with_body(text.features, weigh_body(text.body, self._idf))

    def restore(self, records: Iterable[tuple[str, StoredValue]]) -> None:
        """Rebuild the window from persisted ``state_updates`` (deletes already applied).

        A value is the stored record as decoded JSON or as its bytes; an entry
        read from bytes decodes its features only when they are first read.
        """
        loaded, stories, unreadable = load_records(records)
        # Deletes of what could not be read: the table sheds them with the next verdict.
        self._pending += [(key, None) for key in unreadable]
        self._stories.update((story.story_id, story) for story in stories)
        by_id, index, idf = self._stories, self._index, self._idf
        for entry, body_terms in loaded:
            story = by_id.get(entry.story_id)
            if story is None:
                sources = [entry.source] if entry.source else []
                story = by_id[entry.story_id] = Story(entry.story_id, entry.article_id, sources)
            story.defer_member(entry)
            if body_terms:
                # Only the stored strongest terms survive a restart: IDF restarts
                # from them and the live stream refines it again.
                idf.observe_distinct(body_terms)
        index.add_all(entry for entry, _ in loaded)
        self._outlets.update(entry.source for entry, _ in loaded)
        if loaded:
            self._clock = max(self._clock, loaded[-1][0].ts)
            self._seq = max(self._seq, max(entry.seq for entry, _ in loaded) + 1)
        for story_id in [s for s, story in self._stories.items() if story.members == 0]:
            del self._stories[story_id]
            self._pending.append((f"s:{story_id}", None))

    def _tick(self, article: Article, now: datetime | None) -> float:
        # Replay has no wall clock: the article's own time is the clock. A feed's
        # future-dated item must not push the clock ahead and flush the window.
        stamp = now if now is not None else min(article.published, article.fetched_at)
        self._clock = max(self._clock, stamp.timestamp())
        return self._clock

    def _evict(self, ts: float) -> list[StateUpdate]:
        updates: list[StateUpdate] = []
        before = ts - self.config.window_hours * 3600.0
        # Leave room for the article about to be added, so the cap is never exceeded.
        for entry in self._index.evict(before, self.config.max_window_articles - 1):
            updates.append((f"a:{entry.article_id}", None))
            self._forget_outlet(entry.source)
            story = self._stories.get(entry.story_id)
            if story is not None:
                story.remove_member(entry)
                if story.members <= 0:
                    del self._stories[entry.story_id]
                    # Only a story a second outlet joined has a record (see
                    # _admit). A record this misses (a story opened without an
                    # outlet, or written by older code) is dropped at the next
                    # restart, which deletes records of stories without articles.
                    if len(story.sources) > 1:
                        updates.append((f"s:{entry.story_id}", None))
        return updates

    def _forget_outlet(self, source: str) -> None:
        # Sources an evicted window no longer holds are dropped: an ingested
        # item's source can be whatever a feed names in <source>, so zero counts
        # kept for ever would grow without bound.
        left = self._outlets[source] - 1
        if left > 0:
            self._outlets[source] = left
        else:
            del self._outlets[source]

    def _redelivered(self, known: Entry, updates: list[StateUpdate]) -> Verdict:
        story = self._stories[known.story_id]
        return Verdict(
            story_id=known.story_id,
            duplicate_of=known.article_id,
            similarity=100.0,
            matched_article=known.article_id,
            story_sources=tuple(story.sources),
            source_count=max(1, len(story.sources)),
            new_story=False,
            source_added=False,
            state_updates=tuple(updates),
            reason=f"article id {known.article_id} seen before",
            redelivered=True,
        )

    def _admit(
        self,
        article_id: str,
        source: str,
        ts: float,
        features: TextFeatures,
        decision: Decision,
        updates: list[StateUpdate],
        place_in: str | None = None,
    ) -> Verdict:
        matched = decision.matched
        if place_in is not None:
            known = self._stories.get(place_in)
            new_story = known is None
            story = known or Story(place_in, article_id)
            self._stories[place_in] = story
        elif matched is None:
            new_story = True
            story = Story(make_story_id(article_id), article_id)
            self._stories[story.story_id] = story
        else:
            new_story = False
            story = self._stories[matched.story_id]
        source_added = bool(source) and source not in story.sources
        if source_added:
            story.sources.append(source)
        if features.body is not None and features.body.full is not None:
            # The window keeps only the strongest terms; the whole-lead vector
            # served this article's own comparisons.
            features = with_body(features, without_full(features.body))
        story.add_member(features)
        indexed = self._pick_indexed(features, decision.summary_weights)
        entry = Entry(
            article_id,
            story.story_id,
            source,
            ts,
            self._seq,
            features,
            indexed,
            decision.duplicate_of,
            decision.summary_mass,
        )
        self._seq += 1
        self._index.add(entry)
        self._outlets[source] += 1
        updates.append((f"a:{article_id}", dump_entry(entry)))
        # A story's record only keeps what its entries cannot tell a restart: its
        # outlets once a second one joins (an evicted article's outlet still
        # counts). A new story is rebuilt from its first entry, which saves a
        # changelog record per article for the many stories one outlet tells.
        if source_added and not new_story:
            updates.append((f"s:{story.story_id}", dump_story(story)))
        return Verdict(
            story_id=story.story_id,
            duplicate_of=decision.duplicate_of,
            similarity=decision.similarity,
            matched_article=None if matched is None else matched.article_id,
            story_sources=tuple(story.sources),
            source_count=max(1, len(story.sources)),
            new_story=new_story,
            source_added=source_added and not new_story,
            state_updates=tuple(updates),
            reason=decision.reason,
            evidence=decision.evidence,
        )

    def _pick_indexed(self, features: TextFeatures, weights: dict[str, float]) -> tuple[str, ...]:
        # Index every title term but only the rarest summary terms: long bodies
        # would otherwise dominate memory and posting-list length.
        limit = self.config.index_summary_terms
        summary = features.summary_terms
        if len(summary) > limit:
            summary = tuple(sorted(summary, key=weights.__getitem__, reverse=True)[:limit])
        indexed = features.title_terms + summary
        body = features.body
        if body is not None and self.config.index_body_terms:
            extra = body.terms[: self.config.index_body_terms]
            indexed += tuple(t for t in extra if t not in indexed)
        return indexed
