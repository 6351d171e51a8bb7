"""CLI commands of the processing stage (registered by wirewatch.cli)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

rules_app = typer.Typer(help="Check and backtest watch rules.", no_args_is_help=True)

RulesFileArg = Annotated[
    Path | None, typer.Argument(help="Rules file (default: settings.processor.rules_file).")
]
NotifyOpt = Annotated[
    Path | None,
    typer.Option("--notify", help="Notify config (default: settings.alerts.notify_file)"),
]
ArticlesOpt = Annotated[Path | None, typer.Option("--articles", help="JSONL of Article records.")]
FeedOpt = Annotated[str | None, typer.Option("--feed", help="Feed URL or file (RSS/Atom).")]
ExplainOpt = Annotated[
    str | None, typer.Option("--explain", help="Also show why RULE did or did not fire.")
]
OnlyOpt = Annotated[bool, typer.Option("--only-matches", help="Hide articles no rule fires on.")]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Backtest on news.raw as stored in Kafka since e.g. 3d, 12h."),
]
DiffOpt = Annotated[
    bool, typer.Option("--diff", help="With --since: stories FILE adds/drops vs the active rules.")
]
ExamplesOpt = Annotated[int, typer.Option("--examples", help="With --since: examples per rule.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="With --since: one JSON document.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def run_processor() -> None:
    """Run the Faust worker: news.raw -> news.events / news.alerts."""
    from processors.runtime.app import run_worker
    from wirewatch.settings import load_settings

    run_worker(load_settings())


def _paths(file: Path | None, notify: Path | None) -> tuple[Path, Path]:
    from wirewatch.settings import load_settings

    settings = load_settings()
    return file or settings.processor.rules_file, notify or settings.alerts.notify_file


@rules_app.command("check")
def check_rules(file: RulesFileArg = None, notify: NotifyOpt = None) -> None:
    """Validate a rules file; print every problem as file:line:col with a caret."""
    from rich.console import Console

    from processors.rules import check_rules_bytes

    path, notify_path = _paths(file, notify)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        data = path.read_bytes()
    except OSError as exc:
        err.print(f"{path}: cannot read rules file: {exc}", markup=False)
        raise typer.Exit(2) from exc
    book, problems = check_rules_bytes(path, data, notify_config=notify_path)
    for problem in problems:
        err.print(problem.render(), markup=False)
        err.print()
    if problems or book is None:
        err.print(f"{path}: {len(problems)} error(s)", style="bold red", markup=False)
        raise typer.Exit(1)
    disabled = len(book.all_rules) - len(book.rules)
    out.print(
        f"{path}: OK, {len(book.rules)} enabled rule(s)"
        + (f", {disabled} disabled" if disabled else "")
        + f", version {book.version}; notify config {notify_path}",
        markup=False,
    )


@rules_app.command("test")
def test_rules(
    file: RulesFileArg = None,
    articles: ArticlesOpt = None,
    feed: FeedOpt = None,
    explain: ExplainOpt = None,
    only_matches: OnlyOpt = False,
    since: SinceOpt = None,
    diff: DiffOpt = False,
    examples: ExamplesOpt = 3,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Backtest rules on articles, a feed, or the stored stream (--since), terms highlighted."""
    if since is not None or diff:
        from processors.history_cli import test_rules_since

        if articles is not None or feed is not None or explain:
            typer.echo("--since cannot be combined with --articles, --feed or --explain", err=True)
            raise typer.Exit(2)
        test_rules_since(file, since, diff=diff, examples=examples, as_json=as_json, quiet=quiet)
        return
    from rich.console import Console

    from processors.articles_jsonl import ArticleLineError, read_articles
    from processors.rules import RulesError, load_rules
    from processors.rules.backtest import ReadError, explain_lines, read_feed, render_article
    from wirewatch.events import Article
    from wirewatch.terminal import strip_control_chars

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if (articles is None) == (feed is None):
        err.print("give exactly one of --articles JSONL or --feed URL|PATH")
        raise typer.Exit(2)
    path, _ = _paths(file, None)
    try:
        book = load_rules(path)
    except RulesError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from exc
    if explain and book.get(explain) is None:
        err.print(f"--explain: no rule {explain!r} in {path}", markup=False)
        raise typer.Exit(2)

    items: list[Article | ReadError]
    if feed is not None:
        feed_articles, feed_errors = read_feed(feed)
        items = [*feed_errors, *feed_articles]
    else:
        assert articles is not None  # noqa: S101 - checked above
        try:
            items = [
                ReadError(item.where, item.message) if isinstance(item, ArticleLineError) else item
                for item in read_articles(articles)
            ]
        except OSError as exc:
            err.print(f"{articles}: cannot read: {exc}", markup=False)
            raise typer.Exit(2) from exc

    fired: Counter[str] = Counter()
    bad = total = 0
    for item in items:
        if isinstance(item, ReadError):
            bad += 1
            err.print(
                strip_control_chars(f"{item.where}: {item.message}"), style="red", markup=False
            )
            continue
        total += 1
        matches = book.match(item)
        fired.update(m.rule_id for m in matches)
        if only_matches and not matches and not explain:
            continue
        for line in render_article(item, matches):
            out.print(line)
        if explain:
            for line in explain_lines(book, item, explain):
                out.print(line)
    out.print()
    out.print(f"{total} article(s), rules version {book.version}", style="bold")
    for rule in book.rules:
        out.print(f"  {rule.id:<32} fired on {fired[rule.id]}", markup=False)
    if bad:
        err.print(f"{bad} record(s) could not be read (listed above)", style="red")
        raise typer.Exit(1)
