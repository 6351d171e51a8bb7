"""The ``wirewatch`` command line.

Stage commands live in each stage's ``cli`` module and are registered here; the
heavy imports (faust, apprise) happen only inside the command that needs them.
"""

from __future__ import annotations

import typer
from aiokafka.errors import KafkaConnectionError

from alerts.cli import alerts_app, run_dispatcher
from ingest.cli import feeds_app, run_ingest
from processors.cli import rules_app, run_processor
from processors.replay import replay_command
from wirewatch.cli_broker import broker_app
from wirewatch.cli_status import status
from wirewatch.cli_tail import tail
from wirewatch.logs import setup_logging
from wirewatch.settings import SettingsError

app = typer.Typer(
    help="wirewatch: streaming news-monitoring alerts on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(broker_app, name="broker")
app.add_typer(feeds_app, name="feeds")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.command("tail")(tail)
app.command("status")(status)
app.command("replay")(replay_command)


@app.callback()
def _main(
    log_format: str = typer.Option(
        "human", envvar="WIREWATCH_LOG_FORMAT", help="Log lines: human or json."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", envvar="WIREWATCH_VERBOSE"),
    debug_delivery: bool = typer.Option(
        False,
        "--debug-delivery",
        envvar="WIREWATCH_DEBUG_DELIVERY",
        help="Also log apprise/urllib3 DEBUG lines. They print target URLs WITH their tokens.",
    ),
) -> None:
    setup_logging(log_format, verbose, debug_delivery)


@app.command()
def ingest() -> None:
    """Poll the configured feeds and produce articles to news.raw."""
    run_ingest()


@app.command()
def process() -> None:
    """Run a processor worker (Faust): stories, duplicates, rule matches, alert decisions."""
    run_processor()


@app.command()
def dispatch() -> None:
    """Deliver alert decisions through apprise (console and JSONL always)."""
    run_dispatcher()


@app.command()
def run(
    demo: bool = typer.Option(True, help="Serve and poll the bundled demo feeds."),
) -> None:
    """Everything on an embedded default: local broker, demo feeds, processor, dispatcher."""
    from wirewatch.supervisor import run_all

    run_all(demo=demo)


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        # A clear message and exit status 2, not a traceback that would also
        # print the bad value (which may be a password).
        typer.echo(f"wirewatch: {exc}", err=True)
        raise SystemExit(2) from None
    except KafkaConnectionError as exc:
        typer.echo(
            f"wirewatch: Kafka is unreachable ({exc}); start the local one with "
            "`wirewatch broker start` or point KAFKA_BOOTSTRAP at yours",
            err=True,
        )
        raise SystemExit(1) from None
