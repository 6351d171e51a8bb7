"""The processing core: one article in, events and alert decisions out.

Pure: no Kafka. The Faust app and ``wirewatch replay`` both drive this class,
so the stream and the offline backtest can never disagree.

Alert bookkeeping is per (rule, story). A rule that matched a story whose
outlet count is still below ``min_sources`` is remembered as *pending* and
fires when a later article lifts the story over the bar, even if that later
article's wording does not match the rule itself. Every change to that
bookkeeping is returned as a state update so that the caller can persist it
(the Faust app keeps it in a changelog-backed table): key ``<rule>|<story>``,
value ``{"status", "updated_at", "match", "article", "outlets"}``.

:func:`build_pipeline` is the one way to build it, for the stream and for
``wirewatch replay`` alike.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from processors.rules import RuleBook
from processors.stories.clusterer import DedupConfig, StoryClusterer, Verdict
from processors.stories.reading import ArticleText
from processors.stories.state import StoredValue
from wirewatch.events import AlertDecision, Article, NewsEvent, Outlet, RuleMatch, utcnow
from wirewatch.settings import ProcessorSettings

StateUpdate = tuple[str, dict[str, Any] | None]

PENDING, ALERTED, FOLLOWED = "pending", "alerted", "followed"
# Outlets remembered per alerted (rule, story) for a follow-up to list; bounded.
MAX_OUTLETS = 20

# Field names of alert state written before they were spelled out; read still.
_SHORT_FIELDS = {"s": "status", "t": "updated_at", "m": "match", "a": "article", "o": "outlets"}


@dataclass
class PipelineResult:
    events: list[NewsEvent] = field(default_factory=list)
    alerts: list[AlertDecision] = field(default_factory=list)
    new_story: bool = False
    dedup_updates: list[StateUpdate] = field(default_factory=list)
    alert_updates: list[StateUpdate] = field(default_factory=list)
    verdict: Verdict | None = None  # the clustering decision, with its reason


def build_pipeline(settings: ProcessorSettings, rulebook: RuleBook | None) -> Pipeline:
    """The pipeline for these processor settings: the stream and replay both build it here."""
    config = DedupConfig(
        window_hours=settings.window_hours,
        duplicate_threshold=settings.duplicate_threshold,
        story_threshold=settings.story_threshold,
        own_outlet_joins=settings.own_outlet_joins,
    )
    return Pipeline(StoryClusterer(config), rulebook, window=timedelta(hours=settings.window_hours))


def alert_key(rule_id: str, story_id: str) -> str:
    return f"{rule_id}|{story_id}"


class Pipeline:
    """Clusters each article into a story, matches rules, decides alerts."""

    def __init__(
        self,
        clusterer: StoryClusterer,
        rulebook: RuleBook | None = None,
        *,
        window: timedelta = timedelta(hours=72),
    ) -> None:
        self.clusterer = clusterer
        self.rulebook = rulebook
        self.window = window
        self._alert_state: dict[str, dict[str, Any]] = {}
        self._rules_by_story: dict[str, set[str]] = defaultdict(set)
        # (timestamp, key) in arrival order, so eviction never scans the whole state.
        self._expiry: deque[tuple[float, str]] = deque()

    # -- recovery -----------------------------------------------------------
    def reset(self) -> None:
        """Forget all in-memory state (before a fresh :meth:`restore`)."""
        self.clusterer = StoryClusterer(self.clusterer.config)
        self._alert_state.clear()
        self._rules_by_story.clear()
        self._expiry.clear()

    def restore(
        self,
        dedup_records: Iterable[tuple[str, StoredValue]],
        alert_records: Iterable[tuple[str, dict[str, Any]]],
    ) -> None:
        """Rebuild in-memory state from what earlier runs persisted."""
        self.clusterer.restore(dedup_records)
        readable = [(key, _spell_out(value)) for key, value in alert_records]
        for key, value in sorted(readable, key=lambda kv: float(kv[1]["updated_at"])):
            self._remember(key, value)

    def _remember(self, key: str, value: dict[str, Any]) -> None:
        rule_id, _, story_id = key.partition("|")
        self._alert_state[key] = value
        self._rules_by_story[story_id].add(rule_id)
        self._expiry.append((float(value["updated_at"]), key))

    # -- processing ---------------------------------------------------------
    @property
    def rules_version(self) -> str:
        return self.rulebook.version if self.rulebook is not None else ""

    def process(self, article: Article, now: datetime | None = None) -> PipelineResult:
        """Cluster, match and decide for one article."""
        return self.process_matched(article, self.match(article), now)

    def match(self, article: Article) -> list[RuleMatch]:
        """The rules that match one article: the stateless part, which can run anywhere."""
        return self.rulebook.match(article) if self.rulebook is not None else []

    def read(self, article: Article) -> ArticleText:
        """The article's text as clustering reads it: stateless too, like :meth:`match`."""
        return self.clusterer.read(article)

    def process_matched(
        self,
        article: Article,
        matches: list[RuleMatch],
        now: datetime | None = None,
        text: ArticleText | None = None,
    ) -> PipelineResult:
        """Cluster and decide for one article whose rule matches (see :meth:`match`), and
        perhaps its text (see :meth:`read`), are known."""
        now = now or utcnow()
        verdict = self.clusterer.assign(article, now, text=text)
        result = PipelineResult(
            new_story=verdict.new_story,
            dedup_updates=list(verdict.state_updates),
            verdict=verdict,
        )
        result.events.append(self._event("article", article, verdict, matches))
        if verdict.source_added and not verdict.new_story:
            result.events.append(self._event("story_update", article, verdict, matches))
            # Before any follow-up check, so a follow-up lists the outlet that triggered it.
            self._note_outlet(article, verdict, now, result)
        for match in matches:
            self._on_match(match, article, verdict, now, result)
        if verdict.source_added:
            self._on_story_growth(verdict, now, result)
        self._evict(now, result)
        return result

    def _event(
        self,
        kind: Literal["article", "story_update"],
        article: Article,
        verdict: Verdict,
        matches: list[RuleMatch],
    ) -> NewsEvent:
        return NewsEvent(
            kind=kind,
            article=article,
            story_id=verdict.story_id,
            duplicate_of=verdict.duplicate_of,
            similarity=verdict.similarity,
            matched_article=verdict.matched_article,
            story_sources=verdict.story_sources,
            source_count=verdict.source_count,
            matched_rules=tuple(matches),
            rules_version=self.rules_version,
        )

    def _on_match(
        self,
        match: RuleMatch,
        article: Article,
        verdict: Verdict,
        now: datetime,
        result: PipelineResult,
    ) -> None:
        key = alert_key(match.rule_id, verdict.story_id)
        state = self._alert_state.get(key)
        if state is None or state["status"] == PENDING:
            if verdict.source_count >= self._min_sources(match.rule_id):
                self._fire(match, article, verdict, "new_story", now, result)
            elif state is None:
                self._set(
                    key,
                    {
                        "status": PENDING,
                        "updated_at": now.timestamp(),
                        "match": match.model_dump(mode="json"),
                        "article": article.model_dump(mode="json"),
                    },
                    result,
                )
        else:
            self._maybe_follow_up(match, article, verdict, now, result)

    def _note_outlet(
        self, article: Article, verdict: Verdict, now: datetime, result: PipelineResult
    ) -> None:
        outlet = [verdict.story_sources[-1], article.url, article.title[:300], now.timestamp()]
        for rule_id in sorted(self._rules_by_story.get(verdict.story_id, ())):
            key = alert_key(rule_id, verdict.story_id)
            state = self._alert_state.get(key)
            if state is not None and state["status"] == ALERTED:
                outlets = [*state.get("outlets", []), outlet][-MAX_OUTLETS:]
                self._set(key, {**state, "updated_at": now.timestamp(), "outlets": outlets}, result)

    def _on_story_growth(self, verdict: Verdict, now: datetime, result: PipelineResult) -> None:
        # A new outlet can lift a story over a rule's min_sources or follow-up bar
        # even when the new article's own text matched nothing.
        for rule_id in sorted(self._rules_by_story.get(verdict.story_id, ())):
            key = alert_key(rule_id, verdict.story_id)
            state = self._alert_state.get(key)
            if state is None:
                continue
            if state["status"] == PENDING:
                if verdict.source_count >= self._min_sources(rule_id):
                    match = RuleMatch.model_validate(state["match"])
                    first = Article.model_validate(state["article"])
                    self._fire(match, first, verdict, "new_story", now, result)
            elif state["status"] == ALERTED:
                match = RuleMatch.model_validate(state["match"])
                first = Article.model_validate(state["article"])
                self._maybe_follow_up(match, first, verdict, now, result)

    def _maybe_follow_up(
        self,
        match: RuleMatch,
        article: Article,
        verdict: Verdict,
        now: datetime,
        result: PipelineResult,
    ) -> None:
        key = alert_key(match.rule_id, verdict.story_id)
        rule = self.rulebook.get(match.rule_id) if self.rulebook is not None else None
        state = self._alert_state.get(key)
        if rule is None or state is None or state["status"] != ALERTED:
            return
        if rule.followup_sources is not None and verdict.source_count >= rule.followup_sources:
            self._fire(match, article, verdict, "followup", now, result, "sources")
            return
        spread = rule.followup_spread
        if spread is not None:
            since = now.timestamp() - spread.minutes * 60
            if sum(float(o[3]) >= since for o in state.get("outlets", [])) >= spread.outlets:
                self._fire(match, article, verdict, "followup", now, result, "spread")

    def _fire(
        self,
        match: RuleMatch,
        article: Article,
        verdict: Verdict,
        reason: Literal["new_story", "followup"],
        now: datetime,
        result: PipelineResult,
        trigger: Literal["", "sources", "spread"] = "",
    ) -> None:
        rule = self.rulebook.get(match.rule_id) if self.rulebook is not None else None
        suffix = ":followup" if reason == "followup" else ""
        key = alert_key(match.rule_id, verdict.story_id)
        known = self._alert_state.get(key) or {}
        outlets = tuple(
            Outlet(source=o[0], url=o[1], title=o[2], at=datetime.fromtimestamp(o[3], UTC))
            for o in known.get("outlets", [])
        )
        result.alerts.append(
            AlertDecision(
                alert_id=f"{match.rule_id}:{verdict.story_id}{suffix}",
                reason=reason,
                rule=match,
                story_id=verdict.story_id,
                article=article,
                source_count=verdict.source_count,
                story_sources=verdict.story_sources,
                rules_version=self.rules_version,
                digest=rule.digest if rule is not None else None,
                trigger=trigger,
                outlets=outlets if reason == "followup" else (),
                decided_at=now,
            )
        )
        # The first match and article are kept so a later follow-up can cite them.
        state = {
            "status": FOLLOWED if reason == "followup" else ALERTED,
            "updated_at": now.timestamp(),
            "match": match.model_dump(mode="json"),
            "article": article.model_dump(mode="json"),
            "outlets": [],
        }
        self._set(key, state, result)

    def _set(self, key: str, value: dict[str, Any], result: PipelineResult) -> None:
        self._remember(key, value)
        result.alert_updates.append((key, value))

    def _min_sources(self, rule_id: str) -> int:
        rule = self.rulebook.get(rule_id) if self.rulebook is not None else None
        return rule.min_sources if rule is not None else 1

    def _evict(self, now: datetime, result: PipelineResult) -> None:
        # Alert bookkeeping lives as long as the dedup window: after it, the story
        # itself is gone from the window, so nothing can refer to it again.
        horizon = (now - self.window).timestamp()
        while self._expiry and self._expiry[0][0] < horizon:
            stamp, key = self._expiry.popleft()
            state = self._alert_state.get(key)
            if state is None or float(state["updated_at"]) != stamp:
                continue  # superseded by a later write, which has its own entry
            rule_id, _, story_id = key.partition("|")
            del self._alert_state[key]
            rules = self._rules_by_story.get(story_id)
            if rules is not None:
                rules.discard(rule_id)
                if not rules:
                    del self._rules_by_story[story_id]
            result.alert_updates.append((key, None))


def _spell_out(value: dict[str, Any]) -> dict[str, Any]:
    """Alert state with its field names spelled out (older records used one letter)."""
    return {_SHORT_FIELDS.get(name, name): field_value for name, field_value in value.items()}
