"""CLI commands of the ingest stage (registered by wirewatch.cli)."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.cycle import apply_fetch
from ingest.feedlist import FeedListError, FeedSpec, load_feed_list, merge_feeds, render_feed_list
from ingest.fetch import Fetcher, FetchResult
from ingest.opml import OpmlError, parse_opml
from ingest.state import FeedState, entries_per_day
from wirewatch.events import utcnow
from wirewatch.settings import Settings, load_settings
from wirewatch.terminal import escape_markup as esc

feeds_app = typer.Typer(help="Inspect and manage feeds.", no_args_is_help=True)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def run_ingest() -> None:
    """Poll the configured feeds forever and produce articles to news.raw."""
    from ingest.poller import run_pollers
    from wirewatch.metrics import serve_metrics

    settings = load_settings()
    serve_metrics(settings.metrics.ingest_port, settings.metrics.host)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # A clean stop finishes in-flight polls and leaves the group at once.
            loop.add_signal_handler(sig, stop.set)
        await run_pollers(settings, stop=stop)

    try:
        asyncio.run(main())
    except FeedListError as exc:
        for line in exc.errors:
            _err.print(f"[red]error[/red] {esc(line)}")
        raise typer.Exit(2) from exc


def _feeds_file(option: Path | None) -> Path:
    return option or load_settings().ingest.feeds_file


@feeds_app.command("import")
def import_opml(
    opml_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="OPML export")],
    feeds_file: Annotated[Path | None, typer.Option(help="Default: ingest.feeds_file")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would be added; write nothing.")] = False,
) -> None:
    """Add the feeds of an OPML file to the feeds file (existing urls are kept as they are)."""
    target = _feeds_file(feeds_file)
    try:
        found, problems = parse_opml(opml_file.read_bytes())
        current = load_feed_list(target)
    except (OpmlError, FeedListError) as exc:
        _err.print(f"[red]error[/red] {esc(exc)}")
        raise typer.Exit(2) from exc
    merged, added, skipped = merge_feeds(current, found)
    for problem in problems:
        _err.print(f"[yellow]warning[/yellow] {esc(problem)}")
    for feed in added:
        _out.print(f"+ {esc(feed.url)}  {esc(feed.name)}")
    if not dry_run and added:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(render_feed_list(merged), encoding="utf-8")
        tmp.replace(target)
    verb = "would add" if dry_run else "added"
    _out.print(f"{verb} {len(added)} feeds, {len(skipped)} already listed -> {esc(target)}")


async def _fetch_for_check(source: str, settings: Settings) -> FetchResult:
    path = Path(source)
    if "://" not in source and path.exists():
        # The user named a local file on the command line: read it whatever allow_file_urls says.
        ingest = settings.ingest.model_copy(update={"allow_file_urls": True})
        source = str(path.resolve())
    else:
        ingest = settings.ingest
    async with Fetcher(ingest) as fetcher:
        return await fetcher.fetch(source)


@feeds_app.command("check")
def check(
    source: Annotated[str, typer.Argument(help="Feed URL or local file")],
    limit: Annotated[int, typer.Option(help="Entries to list")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Fetch and parse one feed: the entries that would be produced and every problem."""
    settings = load_settings()
    fetched = asyncio.run(_fetch_for_check(source, settings))
    spec = FeedSpec.model_construct(url=source, name="", interval=None, tags=(), language="")
    result = apply_fetch(
        spec, FeedState(url=source), fetched, now=utcnow(), settings=settings.ingest
    )
    parsed = result.parse
    problems = [fetched.error] if fetched.error else list(result.state.problems)
    if as_json:
        payload = {
            "url": source,
            "status": fetched.status,
            "final_url": fetched.final_url,
            "permanent_redirect": fetched.permanent_redirect,
            "title": parsed.title if parsed else "",
            "version": parsed.version if parsed else "",
            "encoding": parsed.encoding if parsed else "",
            "problems": problems,
            "articles": [json.loads(a.model_dump_json()) for a in result.articles],
        }
        _out.print_json(data=payload)
    else:
        _out.print(
            f"[bold]{esc(source)}[/bold]  HTTP {fetched.status or '-'}  {fetched.elapsed_s:.2f}s"
        )
        if fetched.permanent_redirect:
            _out.print(f"permanent redirect -> {esc(fetched.permanent_redirect)}")
        if parsed:
            _out.print(
                f"title: {esc(repr(parsed.title))}  format: {esc(parsed.version or '?')}  "
                f"encoding: {esc(parsed.encoding or '?')}  ttl: {parsed.ttl_s or '-'}"
            )
            _out.print(f"{len(result.articles)} entries would be produced:")
        for article in result.articles[:limit]:
            _out.print(
                f"  {article.published:%Y-%m-%d %H:%M}Z  {esc(article.id)}  "
                f"{esc(article.title[:80])}\n      {esc(article.url)}"
            )
        if len(result.articles) > limit:
            _out.print(f"  ... {len(result.articles) - limit} more")
        for problem in problems:
            _out.print(f"[yellow]problem[/yellow] {esc(problem)}")
        if not problems:
            _out.print("no problems found")
    if fetched.error or (parsed is not None and not parsed.ok):
        raise typer.Exit(1)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    text = (
        f"{span:.0f}s"
        if span < 120
        else f"{span / 60:.0f}m"
        if span < 7200
        else f"{span / 3600:.1f}h"
    )
    return f"in {text}" if seconds > 0 else f"{text} ago"


async def _load_states(settings: Settings) -> dict[str, FeedState]:
    from ingest.store import read_compacted
    from wirewatch.kafka import make_admin, make_producer

    topic = settings.kafka.topics.ingest_state.name
    admin = make_admin(settings.kafka)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return {}  # no poller has run yet
    finally:
        await admin.close()
    producer = make_producer(settings.kafka)  # only to look up the topic's partitions
    await producer.start()
    try:
        raw = await read_compacted(settings.kafka, producer, topic)
    finally:
        await producer.stop()
    states: dict[str, FeedState] = {}
    for url, value in raw.items():
        if value is None:
            continue
        try:
            states[url] = FeedState.model_validate_json(value)
        except ValueError:  # one bad record must not hide every other feed
            _err.print(f"[yellow]skipped[/yellow] unreadable state record of {esc(url)}")
    return states


@feeds_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Each feed's health, from the poller state topic."""
    settings = load_settings()
    states = asyncio.run(_load_states(settings))
    try:
        configured = [f.url for f in load_feed_list(settings.ingest.feeds_file).feeds]
    except FeedListError:
        configured = []
    urls = list(dict.fromkeys([*configured, *sorted(states)]))
    now = utcnow()
    if as_json:
        rows = [
            {
                **(states[u].model_dump(mode="json", exclude={"seen", "link_title_guids"})),
                "entries_per_day": round(entries_per_day(states[u], now), 2),
            }
            if u in states
            else {"url": u, "never_polled": True}
            for u in urls
        ]
        _out.print_json(data=rows)
        return
    table = Table(expand=True)
    table.add_column("feed", ratio=4, overflow="fold")
    table.add_column("last ok", no_wrap=True)
    table.add_column("fails", justify="right")
    table.add_column("per day", justify="right")
    table.add_column("next poll", no_wrap=True)
    table.add_column("notes", ratio=4, overflow="fold")
    for url in urls:
        st = states.get(url)
        if st is None:
            table.add_row(esc(url), "-", "", "", "", "never polled")
            continue
        notes = [st.last_error] if st.last_error and st.consecutive_failures else []
        if st.permanent_redirect:
            notes.append(f"moved permanently -> {st.permanent_redirect}")
        if st.problems:
            notes.append(f"{len(st.problems)} feed problems (wirewatch feeds check)")
        if url not in configured:
            notes.append("no longer in the feeds file")
        notes.append(f"polled by {st.owner}" if st.owner else "")
        table.add_row(
            f"{esc(st.title[:60])}\n{esc(url)}" if st.title else esc(url),
            _ago(st.last_success, now),
            str(st.consecutive_failures),
            f"{entries_per_day(st, now):.1f}",
            f"{_ago(st.next_poll, now)}\n{esc(st.next_poll_reason)}",
            "\n".join(esc(n) for n in notes if n),
        )
    _out.print(table)
