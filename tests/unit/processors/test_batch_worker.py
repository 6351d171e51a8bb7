"""The batch step around the pipeline: outputs, table writes, and per-record isolation."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from processors.pipeline import Pipeline, PipelineResult, build_pipeline
from processors.rules import load_rules_bytes
from processors.runtime.batch_worker import BatchWorker, MatchedArticle, Outputs, StateTables
from processors.stories.clusterer import StoryClusterer
from wirewatch.events import Article, NewsEvent, PoisonRecord, utcnow
from wirewatch.settings import ProcessorSettings


class Sink:
    """Stands in for a Faust topic: keeps what ``send_soon`` was given."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_soon(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


class FailsOn(Pipeline):
    """The real pipeline, raising for one article id (a bug that one record trips)."""

    bad_id = "boom"

    def process(self, article: Article, now: datetime | None = None) -> PipelineResult:
        if article.id == self.bad_id:
            raise RuntimeError("pipeline bug")
        return super().process(article, now)


def make_worker(pipeline: Pipeline) -> tuple[BatchWorker, Outputs, StateTables]:
    tables = StateTables(window={}, alerts={})
    outputs = Outputs(events=Sink(), alerts=Sink(), poison=Sink())
    return BatchWorker(pipeline, tables, outputs), outputs, tables


def article(article_id: str, title: str) -> bytes:
    return Article(id=article_id, title=title, published=utcnow()).to_bytes()


def as_events(values: list[bytes]) -> list[Any]:
    """Values as the events Faust's take_events yields (what the worker reads of them)."""
    return [
        SimpleNamespace(
            message=SimpleNamespace(topic="news.raw", partition=0, offset=i, key=b"k", value=v)
        )
        for i, v in enumerate(values)
    ]


async def test_a_record_that_crashes_the_pipeline_is_dead_lettered_and_the_rest_go_on() -> None:
    base = build_pipeline(ProcessorSettings(), None)
    worker, outputs, tables = make_worker(FailsOn(base.clusterer, None))
    batch = [
        article("a", "Harbour reopens after storm"),
        article("boom", "Anything at all"),
        b"\x00not an article",
        b'{"id": 5}',
        article("b", "Parliament passes the budget"),
    ]
    await worker.run_batch(as_events(batch))

    events = [NewsEvent.model_validate_json(s["value"]) for s in outputs.events.sent]
    assert [e.article.id for e in events] == ["a", "b"]
    poison = [PoisonRecord.model_validate_json(s["value"]) for s in outputs.poison.sent]
    assert [(p.offset, p.kind, p.stage) for p in poison] == [
        (1, "crashed", "processor"),
        (2, "unreadable", "processor"),
        (3, "invalid", "processor"),
    ]
    assert [base64.b64decode(p.value_b64) for p in poison] == batch[1:4]
    assert "pipeline bug" in poison[0].reason
    assert [s["key"] for s in outputs.poison.sent] == [p.key for p in poison]
    assert {"a:a", "a:b"} <= set(tables.window)
    assert not any("boom" in key for key in tables.window)


async def test_the_window_is_rebuilt_from_the_tables_when_marked_stale() -> None:
    first, _, tables = make_worker(build_pipeline(ProcessorSettings(), None))
    await first.run_batch(
        as_events([article("a", "Magnitude 7.1 earthquake strikes off northern Chile")])
    )
    second, outputs, _ = make_worker(build_pipeline(ProcessorSettings(), None))
    second.tables = tables  # another worker's tables, as Faust recovers them
    await second.run_batch(
        as_events([article("a2", "Magnitude 7.1 earthquake strikes off northern Chile")])
    )
    (event,) = [NewsEvent.model_validate_json(s["value"]) for s in outputs.events.sent]
    assert event.duplicate_of == "a"


async def test_the_two_stages_decide_as_the_single_one() -> None:
    """Matching as its own stage, then clustering: the same events as one stage gives."""
    rules = load_rules_bytes(
        Path("rules.yaml"), b"version: 1\nrules:\n  - id: quake\n    query: earthquake\n"
    )
    batch = [
        article("a", "Magnitude 7.1 earthquake strikes off northern Chile"),
        b"[]",
        article("b", "Parliament passes the budget"),
    ]
    single, single_out, _ = make_worker(build_pipeline(ProcessorSettings(), rules))
    await single.run_batch(as_events(batch))

    split, split_out, _ = make_worker(build_pipeline(ProcessorSettings(), rules))
    split.outputs.matched = Sink()
    split.run_matching(as_events(batch))
    handed_on = [s["value"] for s in split.outputs.matched.sent]
    assert [MatchedArticle.model_validate_json(v).article.id for v in handed_on] == ["a", "b"]
    await split.run_stories(as_events(handed_on))

    def decided(outputs: Outputs) -> list[tuple[str, str, tuple[str, ...]]]:
        events = [NewsEvent.model_validate_json(s["value"]) for s in outputs.events.sent]
        return [(e.kind, e.article.id, tuple(m.rule_id for m in e.matched_rules)) for e in events]

    assert (
        decided(split_out)
        == decided(single_out)
        == [
            ("article", "a", ("quake",)),
            ("article", "b", ()),
        ]
    )
    assert len(split_out.alerts.sent) == len(single_out.alerts.sent) == 1
    assert [PoisonRecord.model_validate_json(s["value"]).kind for s in split_out.poison.sent] == [
        "invalid"
    ]


async def test_the_story_stage_uses_the_text_the_matching_stage_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Records carry the read text; without it (older code) the story stage reads it."""
    batch = [
        article("a", "Magnitude 7.1 earthquake strikes off northern Chile"),
        article("b", "Magnitude 7.1 earthquake strikes off northern Chile"),
    ]
    matching, _, _ = make_worker(build_pipeline(ProcessorSettings(), None))
    matching.outputs.matched = Sink()
    matching.run_matching(as_events(batch))
    records = [
        MatchedArticle.model_validate_json(s["value"]) for s in matching.outputs.matched.sent
    ]
    assert all(r.text is not None and r.text["title_terms"] for r in records)

    async def decided(records: list[MatchedArticle]) -> tuple[list[Any], list[str]]:
        stage, outputs, _ = make_worker(build_pipeline(ProcessorSettings(), None))
        reads: list[str] = []
        own_read = StoryClusterer.read

        def counted(self: StoryClusterer, item: Article) -> Any:
            reads.append(item.id)
            return own_read(self, item)

        # On the class: the stage's first batch rebuilds its clusterer.
        monkeypatch.setattr(StoryClusterer, "read", counted)
        await stage.run_stories(as_events([r.model_dump_json().encode() for r in records]))
        events = [NewsEvent.model_validate_json(s["value"]) for s in outputs.events.sent]
        return [(e.article.id, e.duplicate_of) for e in events], reads

    older = [r.model_copy(update={"text": None}) for r in records]
    assert await decided(records) == ([("a", None), ("b", "a")], [])
    assert await decided(older) == ([("a", None), ("b", "a")], ["a", "b"])
