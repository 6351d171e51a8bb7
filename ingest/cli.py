"""CLI commands of the ingest stage (registered by wirewatch.cli)."""

from __future__ import annotations

import typer

feeds_app = typer.Typer(help="Inspect and manage feeds.", no_args_is_help=True)


def run_ingest() -> None:
    """Poll the configured feeds forever and produce articles to news.raw."""
    import asyncio

    from ingest.poller import run_pollers
    from wirewatch.settings import load_settings

    asyncio.run(run_pollers(load_settings()))
