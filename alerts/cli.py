"""CLI commands of the alert stage (registered by wirewatch.cli)."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING

import typer

from wirewatch.terminal import strip_control_chars

if TYPE_CHECKING:
    from wirewatch.events import DeadLetter

alerts_app = typer.Typer(help="Alert delivery: test targets, dead letters.", no_args_is_help=True)
dlq_app = typer.Typer(help="Alerts that ran out of delivery attempts.", no_args_is_help=True)
alerts_app.add_typer(dlq_app, name="dlq")


def _out(line: str) -> None:
    # Lines carry alert, target and server text: no control character reaches the terminal.
    sys.stdout.write(strip_control_chars(line) + "\n")


def _label(letter: DeadLetter) -> str:
    """How a dead letter names its target: label, else id; a pre-id record shows neither."""
    from wirewatch.events import TARGET_ID_VERSION

    if letter.schema_version < TARGET_ID_VERSION:
        # Its target field is an apprise privacy URL, which may hold tokens.
        return "(target recorded before target ids; start the dispatcher to migrate)"
    return letter.target_label or letter.target


def _fail_on_config(exc: Exception) -> None:
    from alerts.runtime import AlertConfigError

    if isinstance(exc, AlertConfigError):
        for error in exc.errors:
            sys.stderr.write(error + "\n")
        raise typer.Exit(2) from exc
    raise exc


def run_dispatcher() -> None:
    """Consume news.alerts and deliver through apprise."""
    from alerts.dispatch import run_dispatcher as _run
    from wirewatch.metrics import serve_metrics
    from wirewatch.settings import load_settings

    settings = load_settings()
    serve_metrics(settings.metrics.dispatcher_port, settings.metrics.host)

    async def main() -> None:
        # SIGTERM/SIGINT stop consuming, let in-flight sends finish and commit.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await _run(settings, stop=stop)

    try:
        asyncio.run(main())
    except Exception as exc:
        _fail_on_config(exc)


@alerts_app.command("test")
def test_command(
    tag: str = typer.Option(..., "--tag", help="Send to targets with this tag."),
) -> None:
    """Send a test message to every target carrying TAG."""
    from alerts.dlq import send_test
    from wirewatch.settings import load_settings

    try:
        results = asyncio.run(send_test(load_settings(), tag))
    except Exception as exc:
        _fail_on_config(exc)
        return
    if not results:
        _out(f"no target carries tag {tag!r}")
        raise typer.Exit(1)
    for target, outcome in results:
        _out(f"OK   {target}" if outcome == "ok" else f"FAIL {target}: {outcome}")
    if any(outcome != "ok" for _, outcome in results):
        raise typer.Exit(1)


@dlq_app.command("list")
def dlq_list() -> None:
    """Show dead letters that no retry has delivered yet."""
    from alerts.dlq import list_dead_letters
    from wirewatch.settings import load_settings

    letters = asyncio.run(list_dead_letters(load_settings()))
    for letter in letters:
        _out(
            f"{letter.failed_at:%Y-%m-%d %H:%M:%S} {letter.alert.alert_id} -> {_label(letter)} "
            f"(attempts {letter.attempts}): {letter.reason}"
        )
    _out(f"{len(letters)} dead letter(s)")


@dlq_app.command("retry")
def dlq_retry(
    alert_id: str | None = typer.Option(None, "--alert-id", help="Only this alert."),
) -> None:
    """Re-send outstanding dead letters (all, or one alert)."""
    from alerts.dlq import retry_dead_letters
    from wirewatch.settings import load_settings

    try:
        outcomes = asyncio.run(retry_dead_letters(load_settings(), alert_id))
    except Exception as exc:
        _fail_on_config(exc)
        return
    for outcome in outcomes:
        mark = "OK  " if outcome.ok else "FAIL"
        letter = outcome.letter
        _out(f"{mark} {letter.alert.alert_id} -> {_label(letter)}: {outcome.detail}")
    _out(f"{sum(o.ok for o in outcomes)}/{len(outcomes)} delivered")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)
