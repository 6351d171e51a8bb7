"""``wirewatch rules test [FILE] --since 3d [--diff]``: the command around processors.history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console

from processors.history import (
    Backtester,
    HistoryRecord,
    diff_backtests,
    parse_since,
    read_history,
)
from processors.history_report import backtest_json, print_backtest, print_diff
from wirewatch.events import utcnow
from wirewatch.terminal import strip_control_chars


def test_rules_since(
    file: Path | None,
    since: str | None,
    *,
    diff: bool,
    examples: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run FILE (and with ``diff`` the active rules) over news.raw since ``since``."""
    from processors.rules import RulesError, load_rules
    from wirewatch.settings import load_settings

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    settings = load_settings()
    active = settings.processor.rules_file
    if diff and file is None:
        err.print("--diff needs FILE: the edited rules to compare with the active ones")
        raise typer.Exit(2)
    try:
        window = parse_since(since or "3d")
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from exc
    try:
        book = load_rules(file or active)
        active_book = load_rules(active) if diff else None
    except RulesError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from exc

    # Both files run side by side over one read of the history.
    testers = [Backtester(settings, b) for b in (book, active_book) if b is not None]

    def feed(record: HistoryRecord) -> None:
        for tester in testers:
            tester.feed(record)

    since_at = utcnow() - window
    history = asyncio.run(read_history(settings, since_at, progress=not quiet, sink=feed))
    for problem in history.errors:
        where = strip_control_chars(f"{problem.where}: {problem.message}")
        err.print(where, style="red", markup=False)
    report = testers[0].report
    changes = diff_backtests(testers[1].report, report) if len(testers) > 1 else None
    if as_json:
        typer.echo(backtest_json(report, history, changes))
    else:
        print_backtest(out, report, history, examples)
        if changes is not None:
            err.print()
            out.print(f"compared with the active rules in {active}", style="dim", markup=False)
            print_diff(out, changes)
    if history.errors:
        err.print(f"{len(history.errors)} record(s) could not be read (listed above)", style="red")
        raise typer.Exit(1)
