"""The time window of recent articles and its inverted term index (pure).

Entries enter in clock order, so the window is a FIFO: eviction pops from the
left of the entry queue and of each posting list it touched. Candidate lookup
walks only the rarest query terms and only the newest ``postings_scan`` entries
of each, which keeps the per-article cost flat however large the window is.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from processors.stories.body import BodyProfile
from processors.stories.features import TextFeatures

DEQUE_AT = 64


@dataclass(slots=True, eq=False)
class Entry:
    """One article kept in the window.

    A restored entry keeps its stored record and decodes its features when they
    are first read: a restart then reads only what the index needs, and most
    entries of a large window leave it without ever being a candidate.
    """

    article_id: str
    story_id: str
    source: str
    ts: float  # clock time at insertion (epoch seconds); the FIFO order
    seq: int
    _features: TextFeatures | None
    indexed: tuple[str, ...]  # terms posted in the index, needed to unpost on eviction
    duplicate_of: str | None = None
    summary_mass: float = 0.0  # IDF sum of the summary terms when the entry was added
    _stored: bytes | None = None  # the stored record, while its features are not decoded

    @property
    def features(self) -> TextFeatures:
        """The article's features, decoded from the stored record on first read."""
        features = self._features
        if features is None:
            # Imported here: the state module imports this one.
            from processors.stories.state import decode_features

            features = self._features = decode_features(self.article_id, self._stored or b"")
            self._stored = None
        return features


@dataclass(slots=True)
class StoryProfile:
    """What a story's articles in the window carry: per title term and country, how
    many of them name it, and their summed body vectors, entities and years."""

    terms: Counter[str] = field(default_factory=Counter)
    places: Counter[str] = field(default_factory=Counter)
    body: BodyProfile = field(default_factory=BodyProfile)

    def add(self, features: TextFeatures) -> None:
        """Count one member article."""
        if features.body is not None:
            self.body.add(features.body)
        # Counter.update counts an iterable in C.
        self.terms.update(features.title_terms)
        if features.places:
            self.places.update(features.places)

    def remove(self, features: TextFeatures) -> None:
        """Forget one member article."""
        if features.body is not None:
            self.body.add(features.body, sign=-1)
        for counter, keys in ((self.terms, features.title_terms), (self.places, features.places)):
            for key in keys:
                left = counter[key] - 1
                # Zero counts are dropped so that a long-lived story's profile
                # holds only what its articles in the window carry.
                if left > 0:
                    counter[key] = left
                else:
                    counter.pop(key, None)


@dataclass(slots=True)
class Story:
    """A story: its outlets, its member count and the profile of its members.

    The profile (:class:`StoryProfile`) is what the signature rule, the
    story-level country check and the body comparison read. It is built when
    first read: a restart restores every story of a large window, most of which
    are never read before they leave it, and building all their profiles made
    the restart slow and the window large. Built from the members in the order
    they joined, it equals the one built as they joined.
    """

    story_id: str
    first_article: str
    sources: list[str] = field(default_factory=list)
    members: int = 0
    _profile: StoryProfile | None = None
    _deferred: list[Entry] | None = None  # members not yet in the profile

    @property
    def terms(self) -> Counter[str]:
        """Member articles per title term."""
        return (self._profile or self._build_profile()).terms

    @property
    def places(self) -> Counter[str]:
        """Member articles per country named."""
        return (self._profile or self._build_profile()).places

    @property
    def body(self) -> BodyProfile:
        """The members' summed body vectors, entity, year and marker counts."""
        return (self._profile or self._build_profile()).body

    def defer_member(self, entry: Entry) -> None:
        """Count a restored member now, and in the profile when that is first read."""
        self.members += 1
        if self._profile is not None:
            self._profile.add(entry.features)
        elif self._deferred is None:
            self._deferred = [entry]
        else:
            self._deferred.append(entry)

    def add_member(self, features: TextFeatures) -> None:
        """Count one more article of this story in the window."""
        self.members += 1
        (self._profile or self._build_profile()).add(features)

    def remove_member(self, entry: Entry) -> None:
        """Forget an evicted article's contribution to the profile."""
        self.members -= 1
        if self.members <= 0:
            # The story leaves the window with it: its profile is not read again.
            self._profile = self._deferred = None
            return
        (self._profile or self._build_profile()).remove(entry.features)

    def _build_profile(self) -> StoryProfile:
        profile = self._profile = StoryProfile()
        for entry in self._deferred or ():
            profile.add(entry.features)
        self._deferred = None
        return profile


class WindowIndex:
    """Articles in the window, their term postings and document frequencies."""

    def __init__(self, postings_scan: int, query_terms: int, scan_budget: int) -> None:
        self.postings_scan = postings_scan
        self.query_terms = query_terms
        self.scan_budget = scan_budget
        self.entries: dict[str, Entry] = {}
        self._order: deque[Entry] = deque()
        # A posting list is a list while short (most terms are rare, and an empty
        # deque alone takes 624 bytes) and a deque from DEQUE_AT entries on, where
        # popping the oldest from a list would move the whole list.
        self._postings: dict[str, list[Entry] | deque[Entry]] = {}

    def __len__(self) -> int:
        return len(self._order)

    def df(self, term: str) -> int:
        """Window articles indexed under a term."""
        postings = self._postings.get(term)
        return 0 if postings is None else len(postings)

    def add(self, entry: Entry) -> None:
        """Insert an entry; callers insert in non-decreasing ``ts`` order."""
        self.entries[entry.article_id] = entry
        self._order.append(entry)
        postings = self._postings
        for term in entry.indexed:
            bucket = postings.get(term)
            if bucket is None:
                postings[term] = [entry]
            else:
                bucket.append(entry)
                if len(bucket) == DEQUE_AT and isinstance(bucket, list):
                    postings[term] = deque(bucket)

    def add_all(self, entries: Iterable[Entry]) -> None:
        """Insert many entries at once (a restore), in non-decreasing ``ts`` order."""
        by_id, order, postings = self.entries, self._order, self._postings
        get = postings.get
        for entry in entries:
            by_id[entry.article_id] = entry
            order.append(entry)
            for term in entry.indexed:
                bucket = get(term)
                if bucket is None:
                    postings[term] = [entry]
                else:
                    bucket.append(entry)
        for term, bucket in postings.items():
            if len(bucket) >= DEQUE_AT and isinstance(bucket, list):
                postings[term] = deque(bucket)

    def evict(self, before: float, max_entries: int) -> Iterator[Entry]:
        """Remove and yield entries older than ``before`` or beyond ``max_entries``."""
        order = self._order
        postings = self._postings
        while order and (order[0].ts < before or len(order) > max_entries):
            entry = order.popleft()
            if self.entries.get(entry.article_id) is entry:
                del self.entries[entry.article_id]
            for term in entry.indexed:
                bucket = postings[term]
                # FIFO holds per posting list, so the evicted entry is at the left.
                if bucket and bucket[0] is entry:
                    if isinstance(bucket, list):
                        del bucket[0]
                    else:
                        bucket.popleft()
                else:
                    bucket.remove(entry)
                if not bucket:
                    del postings[term]
            yield entry

    def candidates(
        self, terms: Sequence[str], limit: int
    ) -> tuple[list[tuple[float, Entry]], dict[str, float]]:
        """The ``limit`` entries sharing the most IDF weight with ``terms``, best first.

        Also returns the IDF of every term, which the caller needs anyway.
        """
        postings = self._postings
        size = len(self._order) + 2
        log = math.log
        # A term not in the window has df 0: log(size / 1) is log(size) exactly.
        dfs = [len(b) if b is not None else 0 for b in map(postings.get, terms)]
        idf = dict(zip(terms, [log(size / (df + 1)) for df in dfs], strict=True))
        known = sorted([(df, t) for df, t in zip(dfs, terms, strict=True) if df])
        scores: dict[Entry, float] = {}
        get = scores.get
        scan = self.postings_scan
        # A total budget, spent rarest term first: common terms (long lists, low
        # weight) get what is left, so the cost stays flat as the window grows.
        budget = self.scan_budget
        for df, term in known[: self.query_terms]:
            if budget <= 0:
                break
            weight = idf[term]
            take = min(scan, budget, df)
            budget -= take
            for entry in islice(reversed(postings[term]), take):
                scores[entry] = get(entry, 0.0) + weight
        # A C-level sort of a few hundred keys beats heapq's Python-level heap.
        best = sorted(scores, key=scores.__getitem__, reverse=True)[:limit]
        return [(scores[e], e) for e in best], idf
