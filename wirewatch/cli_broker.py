"""``wirewatch broker start|stop|status``: the project's own local Kafka."""

from __future__ import annotations

import typer

from wirewatch.broker import BrokerError, LocalBroker
from wirewatch.settings import load_settings

broker_app = typer.Typer(help="Run a local single-node Apache Kafka (KRaft).", no_args_is_help=True)


def _broker() -> LocalBroker:
    return LocalBroker(load_settings().broker)


@broker_app.command()
def start() -> None:
    """Resolve Kafka's jars (once), format storage (once) and start the broker."""
    try:
        bootstrap = _broker().start()
    except BrokerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Kafka is up at {bootstrap}")


@broker_app.command()
def stop() -> None:
    """Stop the local broker."""
    typer.echo("stopped" if _broker().stop() else "not running")


@broker_app.command()
def status() -> None:
    """Say whether the local broker runs, and where."""
    state = _broker().status()
    typer.echo(state)
    if state == "stopped":
        raise typer.Exit(3)
