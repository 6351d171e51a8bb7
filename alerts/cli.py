"""CLI commands of the alert stage (registered by wirewatch.cli)."""

from __future__ import annotations

import typer

alerts_app = typer.Typer(help="Alert delivery: test targets, dead letters.", no_args_is_help=True)


def run_dispatcher() -> None:
    """Consume news.alerts and deliver through apprise."""
    import asyncio

    from alerts.dispatch import run_dispatcher as _run
    from wirewatch.settings import load_settings

    asyncio.run(_run(load_settings()))
