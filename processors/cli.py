"""CLI commands of the processing stage (registered by wirewatch.cli)."""

from __future__ import annotations

import typer

rules_app = typer.Typer(help="Check and backtest watch rules.", no_args_is_help=True)


def run_processor() -> None:
    """Run the Faust worker: news.raw -> news.events / news.alerts."""
    from processors.app import run_worker
    from wirewatch.settings import load_settings

    run_worker(load_settings())
