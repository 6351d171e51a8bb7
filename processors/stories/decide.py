"""The clustering decision for one article against its window candidates (pure).

Rules, tried in order, each explained in the verdict's ``reason``:

1. copy: the best candidate's copy score reaches ``duplicate_threshold``;
2. for a headline-only article (and for full text only if
   ``title_rules_for_full_text``), the headline rules:

   - pair: the best candidate's same-story score reaches ``story_threshold``;
   - title cosine: the IDF-weighted cosine of the two articles' title and
     summary terms reaches ``title_cosine_threshold``;
   - signature: the article carries the story's signature terms (see DedupConfig);
     of several such stories, the largest;
   - neighbours: nearly all close candidates belong to one story;
3. full text: for an article with a body, the fitted model of
   :mod:`processors.stories.model` over body, name, year and title evidence
   against each candidate story's profile reaches its threshold.

Candidates whose numbers or countries conflict with the article's never count,
and a story none of whose articles names the article's country is skipped.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from operator import mul
from typing import NamedTuple

from processors.stories.body import compare_body, vector_of
from processors.stories.features import TextFeatures
from processors.stories.model import StoryModel, load_model
from processors.stories.score import PairScore, score_pair, title_cosine, title_weigher
from processors.stories.window import Entry, Story, WindowIndex


@dataclass(frozen=True)
class DedupConfig:
    """Clustering settings; scores and thresholds are on a 0-100 scale."""

    window_hours: float = 72.0
    # Near-identical: rapidfuzz ratio of normalised titles (or truncation prefix),
    # held down when both summaries exist and disagree.
    duplicate_threshold: float = 90.0
    # Same event from one article: see processors.stories.score.score_pair.
    story_threshold: float = 90.0
    # Same event from the story's signature: the article shares at least
    # ``signature_terms`` title terms that each appear in ``signature_share`` of the
    # story's articles, and one of them is ``signature_specificity`` specific to
    # the story (that share of the window's articles with the term are in it).
    signature_terms: int = 2
    signature_share: float = 0.5
    signature_specificity: float = 0.8
    # Specificity means nothing in a near-empty window (every term looks unique
    # to its story), so the signature rule waits for this many articles. Not
    # longer: on 1,000-article slices of UCI, waiting for 500 halved recall
    # (0.30 -> 0.15 at the same precision), the picture of a fresh start.
    signature_min_window: int = 100
    # Same event from one close headline: the IDF-weighted cosine of the two
    # articles' title and summary terms (IDF over the window, as an online TF-IDF
    # clusterer computes it), 0-100, for pairs sharing at least
    # ``title_cosine_terms`` title terms.
    # It catches rewordings the pair score misses ("Twitter's down" / "Twitter
    # goes down"). 70: of its 412 joins on UCI, 398 are to the gold story; at 60,
    # UCI's B3 precision fell to 0.941.
    title_cosine_threshold: float = 70.0
    title_cosine_terms: int = 2
    # Same event from the neighbourhood: of the candidates sharing at least
    # ``neighbour_terms`` title terms (and at least ``neighbour_min`` of them),
    # ``neighbour_share`` belong to one story.
    neighbour_terms: int = 3
    neighbour_min: int = 4
    neighbour_share: float = 0.8
    # Two summaries this far apart make a title match not a copy.
    summary_floor: float = 60.0
    summary_chars: int = 600
    candidates: int = 6
    postings_scan: int = 32  # newest entries read per query term
    scan_budget: int = 256  # posting entries read per article, all terms together
    query_terms: int = 24
    index_summary_terms: int = 8
    # The strongest body terms an article with full text is indexed and queried
    # under, beyond its title and summary terms.
    index_body_terms: int = 16
    # A hard cap keeps memory bounded when a burst fills the time window.
    max_window_articles: int = 250_000
    # Window entries compared with an article that has a body (more than for a
    # headline: a full-text story's articles share fewer title words).
    body_candidates: int = 30
    # Of those, the stories the model weighs: the closest by body cosine.
    model_stories: int = 8
    # Whether anything but the copy rule may join an article to a story whose
    # articles all come from the article's own outlet (see decide()).
    own_outlet_joins: bool = False
    # Whether the headline rules (pair, signature, neighbours) also decide for an
    # article with full text, before the full-text model.
    title_rules_for_full_text: bool = False
    # The fitted full-text model; None reads the shipped processors/stories/model.json.
    model: StoryModel | None = None


class Decision(NamedTuple):
    """Where an article goes: the matched entry (None: a new story) and why."""

    matched: Entry | None
    duplicate_of: str | None
    similarity: float | None
    reason: str
    summary_weights: dict[str, float]  # IDF of the article's summary terms, now
    summary_mass: float  # their sum, kept with the article's entry
    # (story id, full-text features) per candidate story, when they were computed.
    evidence: tuple[tuple[str, tuple[float, ...]], ...] = ()


def story_conflict(q: TextFeatures, story: Story) -> bool:
    """The article names only countries that no article of the story names."""
    # Numbers are checked per pair only: a story's articles carry many figures
    # (times, tolls, prices) and a story-wide number check cost recall without
    # gaining precision on labelled data.
    return bool(q.places and story.places) and all(story.places[p] <= 0 for p in q.places)


def match_signature(
    q: TextFeatures, story: Story, index: WindowIndex, cfg: DedupConfig
) -> tuple[float, list[str]]:
    """How strongly ``q`` carries the story's signature, and the terms; (0, []) if not."""
    need = cfg.signature_share * story.members
    shared = [t for t in q.title_terms if story.terms.get(t, 0) >= need]
    if len(shared) < cfg.signature_terms:
        return 0.0, []
    df = index.df
    specific = max([story.terms[t] / max(1, df(t)) for t in shared])
    if specific < cfg.signature_specificity:
        return 0.0, []
    return len(shared) + sum(story.terms[t] for t in shared) / story.members, shared


_SHIPPED: list[StoryModel] = []


def story_model(cfg: DedupConfig) -> StoryModel:
    """The configured model, or the shipped one (read once)."""
    if cfg.model is not None:
        return cfg.model
    if not _SHIPPED:
        _SHIPPED.append(load_model())
    return _SHIPPED[0]


def gather_evidence(
    q: TextFeatures,
    candidates: list[tuple[PairScore, Entry]],
    vetoed: set[str],
    links: dict[str, float],
    stories: dict[str, Story],
) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """Full-text features of the article against each candidate story with a body.

    ``vetoed`` names the stories a headline veto (numbers, places, names) kept
    from the headline rules; for the model that is a feature, not a verdict.
    """
    body = q.body
    if body is None:
        return ()
    out = []
    for pair, cand in candidates:
        profile = stories[cand.story_id].body
        if profile.members <= 0:
            continue
        text = compare_body(body, profile, links.get(cand.story_id, 0.0))
        # In the order of processors.stories.model.FEATURES.
        features = (
            text.centroid_cos,
            text.link_cos,
            text.entity_cos,
            text.defining_missing,
            text.year_conflict,
            min(1.0, pair.shared_terms / 6.0),
            pair.story / 100.0,
            float(cand.story_id in vetoed),
            text.link_cos * text.entity_cos,
            text.markers_shared,
        )
        out.append((cand.story_id, features))
    return tuple(out)


def decide(
    q: TextFeatures,
    index: WindowIndex,
    stories: dict[str, Story],
    cfg: DedupConfig,
    *,
    always_evidence: bool = False,
    source: str = "",
) -> Decision:
    """Find the copy or the story for the article with features ``q``.

    ``always_evidence`` computes the full-text features of every candidate
    story even when an earlier rule decides (the model fit needs them all).
    """
    limit = cfg.candidates if q.body is None else max(cfg.candidates, cfg.body_candidates)
    query = q.title_terms + q.summary_terms
    if q.body is not None and cfg.index_body_terms:
        query += tuple(t for t in q.body.terms[: cfg.index_body_terms] if t not in query)
    found, idf = index.candidates(query, limit)
    summary_weights = {t: idf[t] for t in q.summary_terms}
    mass = sum(summary_weights.values())
    best_copy: tuple[PairScore, Entry] | None = None
    per_story: dict[str, tuple[PairScore, Entry]] = {}
    neighbours: Counter[str] = Counter()
    links: dict[str, float] = {}
    vetoed: dict[str, tuple[PairScore, Entry]] = {}
    q_get = None if q.body is None else vector_of(q.body).get
    floor, threshold, near = cfg.summary_floor, cfg.story_threshold, cfg.neighbour_terms
    # For full text the model weighs the title evidence itself (title_score).
    title_rules = q.body is None or cfg.title_rules_for_full_text
    # Per story, the best title cosine of its candidates (headline rules only).
    cosines: dict[str, tuple[float, Entry]] = {}
    weigh = title_weigher(len(index), index.df)
    q_weights = {t: weigh(t) for t in (*q.title_terms, *q.summary_terms)} if title_rules else {}
    q_norm = math.sqrt(sum(w * w for w in q_weights.values()))
    for _, cand in found:
        features = cand.features
        pair = score_pair(q, features, summary_weights, mass, cand.summary_mass, floor, threshold)
        if q_get is not None and features.body is not None:
            # body.cosine, inline: it runs for each of up to 30 candidates.
            other = features.body
            link = sum(map(mul, map(q_get, other.terms, repeat(0.0)), other.weights))
            if link > links.get(cand.story_id, 0.0):
                links[cand.story_id] = link
        if pair.conflict:
            # A headline veto is one more piece of evidence for the full-text
            # model (a long first sentence carries numbers and names that a
            # report of the same event need not repeat).
            vetoed.setdefault(cand.story_id, (pair, cand))
            continue
        if best_copy is None or pair.copy > best_copy[0].copy:
            best_copy = (pair, cand)
        if pair.shared_terms >= near:
            neighbours[cand.story_id] += 1
        if title_rules and pair.shared_terms >= cfg.title_cosine_terms:
            terms = features.title_set.union(features.summary_terms)
            cos = 100.0 * title_cosine(q_weights, q_norm, terms, weigh)
            held_cos = cosines.get(cand.story_id)
            if held_cos is None or cos > held_cos[0]:
                cosines[cand.story_id] = (cos, cand)
        held = per_story.get(cand.story_id)
        if held is None or pair.story > held[0].story:
            per_story[cand.story_id] = (pair, cand)
    ranked = sorted(per_story.values(), key=lambda pe: pe[0].story, reverse=True)
    # A story is vetoed when all its candidates are, or its countries rule it out.
    for story_id in [s for s in vetoed if s in per_story]:
        del vetoed[story_id]
    for pair, cand in ranked:
        if story_conflict(q, stories[cand.story_id]):
            vetoed[cand.story_id] = (pair, cand)
    ranked = [(p, c) for p, c in ranked if c.story_id not in vetoed]
    body_candidates = [*ranked, *vetoed.values()]
    # One outlet's items share its house style, recurring names and templates
    # ("Neue »X«-Figur von Y", "Giant Bombcast 07-15-2008"), so every rule but
    # the copy rule would read two of its unrelated items as one story: a story
    # only the article's own outlet has reported is left to the copy rule.
    own: set[str] = set()
    if source and not cfg.own_outlet_joins:
        own = {c.story_id for _, c in body_candidates if stories[c.story_id].sources == [source]}
        ranked = [(p, c) for p, c in ranked if c.story_id not in own]
    if len(body_candidates) > cfg.model_stories:
        body_candidates.sort(key=lambda pc: links.get(pc[1].story_id, 0.0), reverse=True)
        del body_candidates[cfg.model_stories :]
    evidence: tuple[tuple[str, tuple[float, ...]], ...] = ()
    if always_evidence:
        evidence = gather_evidence(q, body_candidates, set(vetoed), links, stories)
    extra = (summary_weights, mass, evidence)
    if best_copy is not None and best_copy[0].copy >= cfg.duplicate_threshold:
        pair, cand = best_copy
        root = cand.duplicate_of or cand.article_id
        score = round(pair.copy, 1)
        return Decision(cand, root, score, f"copy of {root}: similarity {score}", *extra)
    if title_rules and ranked and ranked[0][0].story >= cfg.story_threshold:
        pair, cand = ranked[0]
        score = round(pair.story, 1)
        reason = (
            f"same story as {cand.article_id}: score {score}, "
            f"{pair.shared_terms} shared title terms"
        )
        return Decision(cand, None, score, reason, *extra)
    allowed = {c.story_id for _, c in ranked}
    close = [held for story_id, held in cosines.items() if story_id in allowed]
    if close:
        cos, cand = max(close, key=lambda held: held[0])
        if cos >= cfg.title_cosine_threshold:
            reason = f"same story as {cand.article_id}: title cosine {cos:.1f}"
            return Decision(cand, None, round(cos, 1), reason, *extra)
    # Of the stories whose signature the article carries, the largest: a story's
    # early articles often open side stories that share its signature, and
    # joining the established one keeps them from drawing the rest of it away
    # (UCI recall 0.359 -> 0.388 at the same precision; 1k slices 0.347 -> 0.400).
    best_signature: tuple[tuple[int, float], list[str], PairScore, Entry] | None = None
    for pair, cand in ranked if title_rules and len(index) >= cfg.signature_min_window else ():
        # A story whose best match shares fewer title terms than a signature needs
        # cannot pass; skipping it saves the profile lookups.
        if pair.shared_terms < cfg.signature_terms:
            continue
        story = stories[cand.story_id]
        strength, signature = match_signature(q, story, index, cfg)
        rank = (story.members, strength)
        if signature and (best_signature is None or rank > best_signature[0]):
            best_signature = (rank, signature, pair, cand)
    if best_signature is not None:
        _, signature, pair, cand = best_signature
        reason = (
            f"same story as {cand.article_id}: shares the story's signature terms "
            + ", ".join(signature)
        )
        return Decision(cand, None, round(pair.story, 1), reason, *extra)
    total = sum(neighbours.values())
    if title_rules and total >= cfg.neighbour_min:
        story_id, count = neighbours.most_common(1)[0]
        if count >= cfg.neighbour_share * total and story_id in allowed:
            pair, cand = per_story[story_id]
            reason = f"same story as {cand.article_id}: {count} of {total} close neighbours"
            return Decision(cand, None, round(pair.story, 1), reason, *extra)
    if q.body is not None and body_candidates:
        if not always_evidence:
            evidence = gather_evidence(q, body_candidates, set(vetoed), links, stories)
            extra = (summary_weights, mass, evidence)
        model = story_model(cfg)
        scored = [(model.probability(f), sid, f) for sid, f in evidence if sid not in own]
        if scored:
            p, story_id, f = max(scored)
            if p >= model.threshold:
                pair, cand = per_story.get(story_id) or vetoed[story_id]
                reason = (
                    f"same story as {cand.article_id}: full-text model p={p:.2f} "
                    f"(centroid {f[0]:.2f}, closest {f[1]:.2f}, names {f[2]:.2f})"
                )
                return Decision(cand, None, round(100 * p, 1), reason, *extra)
    best = ranked[0][0].story if ranked else 0.0
    reason = f"new story: best same-story score {best:.1f} below {cfg.story_threshold}"
    return Decision(None, None, None, reason, *extra)
