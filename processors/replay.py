"""Offline replay: JSONL articles in, one processed event per input line out.

``wirewatch replay --articles FILE.jsonl [--rules FILE] [--output FILE]`` runs
the same :class:`processors.pipeline.Pipeline` (story clustering, rules, alert
decisions) as the stream, in file order, with each article's ``published``
time as the clock. It is how users backtest clustering thresholds and rules:
change a setting, replay, diff the output.

Input lines are read by :mod:`processors.articles_jsonl` (as ``rules test``
reads them): ``id``, ``title`` (required), ``summary``, ``body`` (the full
text), ``url``, ``source``, ``published`` (ISO 8601; all but id and title may
be empty; a line without ``published`` takes the time of the line before it),
or a processed event carrying such an ``article``. Output lines, in input
order: ``id``, ``story_id``, ``duplicate_of``, ``similarity``,
``matched_article``, ``reason``, ``new_story``, ``source_count``,
``story_sources``, ``matched_rules`` and ``alerts``. A line that cannot be read
yields ``{"line": n, "error": ...}`` in its place, so nothing is dropped
silently and the output stays aligned with the input.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from processors.articles_jsonl import ArticleLineError, count_lines, read_articles
from processors.stories.clusterer import DedupConfig, Verdict
from wirewatch.events import Article
from wirewatch.settings import ProcessorSettings


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay did, for the closing line on stderr."""

    articles: int
    errors: int
    stories: int
    duplicates: int
    alerts: int


def replay(
    articles_path: Path,
    rules_path: Path | None = None,
    output_path: Path | None = None,
    *,
    settings: ProcessorSettings | None = None,
    progress: bool = True,
) -> ReplaySummary:
    """Replay a JSONL file through the processing pipeline; write one JSON line per input."""
    from tqdm import tqdm

    from processors.pipeline import build_pipeline
    from processors.rules import load_rules

    rulebook = load_rules(rules_path) if rules_path is not None else None
    pipeline = build_pipeline(settings or ProcessorSettings(), rulebook)
    errors = duplicates = alerts = articles = 0
    stories: set[str] = set()
    with ExitStack() as stack:
        out: IO[str] = (
            stack.enter_context(output_path.open("w", encoding="utf-8"))
            if output_path is not None
            else sys.stdout
        )
        bar = stack.enter_context(
            tqdm(
                total=count_lines(articles_path),
                disable=not progress,
                file=sys.stderr,
                unit="art",
                desc="replay",
            )
        )
        for article in read_articles(articles_path):
            bar.update(1)
            if isinstance(article, ArticleLineError):
                errors += 1
                bar.write(f"error: {article}", file=sys.stderr)
                out.write(json.dumps({"line": article.line, "error": str(article)}) + "\n")
                continue
            result = pipeline.process(article, article.published)
            verdict = result.verdict
            assert verdict is not None  # noqa: S101 - Pipeline.process always sets it
            articles += 1
            stories.add(verdict.story_id)
            duplicates += verdict.duplicate_of is not None
            alerts += len(result.alerts)
            out.write(json.dumps(render_record(article, verdict, result)) + "\n")
    return ReplaySummary(articles, errors, len(stories), duplicates, alerts)


def render_record(article: Article, verdict: Verdict, result: Any) -> dict[str, Any]:
    """The output line for one article: its story decision, rule matches and alerts."""
    event = result.events[0]
    return {
        "id": article.id,
        "story_id": verdict.story_id,
        "duplicate_of": verdict.duplicate_of,
        "similarity": verdict.similarity,
        "matched_article": verdict.matched_article,
        "reason": verdict.reason,
        "new_story": verdict.new_story,
        "source_count": verdict.source_count,
        "story_sources": list(verdict.story_sources),
        "matched_rules": [m.rule_id for m in event.matched_rules],
        "alerts": [a.alert_id for a in result.alerts],
    }


ArticlesOpt = Annotated[
    Path,
    typer.Option(
        "--articles", help="JSONL input: id, title, summary, body, url, source, published"
    ),
]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="Rules YAML to match and alert on")]
OutputOpt = Annotated[Path | None, typer.Option("--output", help="JSONL output (default stdout)")]


def replay_command(
    articles: ArticlesOpt,
    rules: RulesOpt = None,
    output: OutputOpt = None,
    window_hours: Annotated[float, typer.Option(help="Story window")] = DedupConfig.window_hours,
    duplicate_threshold: Annotated[
        float, typer.Option(help="Copy threshold, 0-100")
    ] = DedupConfig.duplicate_threshold,
    story_threshold: Annotated[
        float, typer.Option(help="Same-story pair threshold, 0-100")
    ] = DedupConfig.story_threshold,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    """Replay articles offline through clustering and rules; one JSON event per input line."""
    from processors.rules import RulesError

    if not articles.is_file():
        typer.echo(f"--articles: no such file: {articles}", err=True)
        raise typer.Exit(2)
    settings = ProcessorSettings(
        window_hours=window_hours,
        duplicate_threshold=duplicate_threshold,
        story_threshold=story_threshold,
    )
    try:
        summary = replay(articles, rules, output, settings=settings, progress=not quiet)
    except RulesError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{summary.articles} article(s), {summary.stories} stories, "
        f"{summary.duplicates} duplicate(s), {summary.alerts} alert(s), "
        f"{summary.errors} unreadable line(s)",
        err=True,
    )
    if summary.errors:
        raise typer.Exit(1)
