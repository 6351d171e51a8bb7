"""End-to-end speed on the real broker: throughput, latency, and the transport ceiling.

Usage::

    .venv/bin/python bench/e2e.py [--articles 50000] [--window 100000] [--rules 1000]
                                  [--rate 200] [--latency-seconds 30] [--batch-sizes 1,20,100,500]
                                  [--raw-partitions 1] [--workers 1]

Uses KAFKA_BOOTSTRAP if set, else starts the project's own broker on spare ports.
For each batch size (settings.processor.batch_size) it:

1. seeds the processor's dedup-state changelog with a window of ``--window``
   stories (clustered offline by the same pure core), so the worker restores a
   full window before it sees the first article;
2. produces ``--articles`` realistic articles to news.raw as fast as the broker
   takes them, then starts a real ``wirewatch process`` worker with ``--rules``
   watch rules and measures sustained articles/s into news.events;
3. offers ``--rate`` articles/s for ``--latency-seconds`` and measures
   produce -> news.events latency, and produce -> dispatch attempt latency
   (a real dispatcher delivering to a json:// target on 127.0.0.1);
4. kills the worker with SIGKILL, starts a new one at once on the same state
   directory, produces one article, and measures restart -> that article's
   event: the worker reads the changelog records its local RocksDB store lacks
   and rebuilds the in-memory window first. It reports the records recovered,
   the rebuild's seconds, and the worker's resident memory (RSS, and its peak)
   before the kill and after the restart.

``--raw-partitions 4`` puts rule matching in a stage of its own on news.raw's
partitions; ``--workers 2`` then runs two processor workers in the group (the
scale-out figure is the ratio of processed/s between a 1- and a 2-worker run).

Baseline, same run: a plain aiokafka consume-and-produce loop over the same
records with no processing (the transport ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.e2e_support import (
    HookServer,
    consume_until,
    percentile,
    probe_articles,
    produce_all,
    seed_window,
    synthetic_corpus,
    window_state,
    write_rules,
)
from tests.support import broker_ports, free_port, scrape_metrics, spawn_stage, stop_stages
from wirewatch.broker import LocalBroker
from wirewatch.events import AlertDecision, Article, DeliveryAttempt, NewsEvent
from wirewatch.kafka import ensure_topics, group_lag, make_consumer, make_producer
from wirewatch.settings import (
    BrokerSettings,
    KafkaSettings,
    Settings,
    Topics,
    TopicSpec,
    load_settings,
)


def settings_for(bootstrap: str, namespace: str, raw_partitions: int = 1) -> Settings:
    topics = Topics(raw=TopicSpec(name="news.raw", partitions=raw_partitions))
    return load_settings(
        kafka=KafkaSettings(bootstrap=bootstrap, namespace=namespace, topics=topics)
    )


async def baseline(bootstrap: str, articles: list[Article]) -> float:
    """Plain aiokafka: consume news.raw and produce each record to a sink, no processing."""
    s = settings_for(bootstrap, f"bench-base-{random.getrandbits(32):x}")
    await ensure_topics(s.kafka, [s.kafka.topics.raw, s.kafka.topics.events])
    await produce_all(s, articles)
    consumer = make_consumer(s.kafka, s.kafka.topics.raw.name, group_id=f"{s.processor.app_id}-b")
    producer = make_producer(s.kafka)
    await consumer.start()
    await producer.start()
    done, started = 0, 0.0
    try:
        while done < len(articles):
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            if batch and not started:
                started = time.perf_counter()
            for records in batch.values():
                for r in records:
                    await producer.send(s.kafka.topics.events.name, r.value, key=r.key)
                    done += 1
            await consumer.commit()
        await producer.flush()
    finally:
        await consumer.stop()
        await producer.stop()
    return len(articles) / (time.perf_counter() - started)


async def run_one(
    bootstrap: str, args: argparse.Namespace, batch: int, corpus: list[Article], tmp: Path
) -> dict[str, float]:
    namespace = f"bench-e2e-{batch}-{random.getrandbits(32):x}"
    s = settings_for(bootstrap, namespace, args.raw_partitions)
    settings_file = tmp / f"settings-{batch}.yaml"
    settings_file.write_text(
        "version: 1\nkafka:\n  topics:\n    raw:\n      name: news.raw\n"
        f"      partitions: {args.raw_partitions}\n"
    )
    await ensure_topics(s.kafka)
    rules = write_rules(tmp / "rules.yaml", args.rules, args.seed)
    hook = HookServer()
    notify = tmp / f"notify-{batch}.yaml"
    notify.write_text(
        f'version: 1\nurls:\n  - "json://127.0.0.1:{await hook.start()}/hook":\n'
        "      - tag: bench\n"
    )
    stories = await seed_window(s, args.window, args.seed)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "WIREWATCH_KAFKA__NAMESPACE": namespace,
        "WIREWATCH_PROCESSOR__RULES_FILE": str(rules),
        "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / f"faust-{batch}"),
        "WIREWATCH_PROCESSOR__BATCH_SIZE": str(batch),
        "WIREWATCH_ALERTS__NOTIFY_FILE": str(notify),
        "WIREWATCH_ALERTS__JSONL_PATH": str(tmp / f"alerts-{batch}.jsonl"),
        "WIREWATCH_ALERTS__CONSOLE": "false",
        "WIREWATCH_METRICS__PROCESSOR_PORT": "0",
        "WIREWATCH_METRICS__DISPATCHER_PORT": "0",
        "WIREWATCH_SETTINGS": str(settings_file),
    }
    produce_s = await produce_all(s, corpus)
    log = tmp / f"e2e-{batch}.log"
    workers = [
        {
            **env,
            "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / f"faust-{batch}-{n}"),
            "WIREWATCH_PROCESSOR__INSTANCE_ID": f"bench-{n}" if args.static else "",
        }
        for n in range(args.workers)
    ]
    procs = [spawn_stage("process", worker, log) for worker in workers]
    procs.append(spawn_stage("dispatch", env, log))
    try:
        # The worker first recovers the whole window from its changelog: be patient.
        events = await consume_until(
            s, s.kafka.topics.events.name, len(corpus), timeout_s=900, kind="article", idle_s=300
        )
        missing = len(corpus) - len({NewsEvent.model_validate_json(v).article.id
                                     for v in events.values})  # fmt: skip
        if missing:
            print(f"!! {missing} of {len(corpus)} articles have no event (log: {log})", flush=True)
        if events.repeats:
            print(f"{events.repeats} articles' events came twice (at least once)", flush=True)
        if not events.stamps:
            raise SystemExit(f"no events at all; see {log}")
        throughput = (len(corpus) - 1) / max(events.stamps[-1] - events.stamps[0], 1e-9)
        decided = await consume_until(s, s.kafka.topics.alerts.name, 10**9, timeout_s=3)

        # Latency at an offered rate; fetched_at is stamped at produce time.
        fresh = probe_articles(int(args.rate * args.latency_seconds), args.seed + batch)
        waiting = asyncio.create_task(
            consume_until(
                s, s.kafka.topics.events.name, len(fresh),
                timeout_s=args.latency_seconds + 60, kind="article", from_end=True,
            )
        )  # fmt: skip
        await asyncio.sleep(2)  # the reader is positioned at the end before probes go out
        await produce_all(s, fresh, rate=args.rate)
        tail = await waiting
        await asyncio.sleep(5)  # let the dispatcher finish its last sends
        # Every record is processed by now and the worker commits every second:
        # what its group still lags is offsets Faust will never commit.
        uncommitted = sum((await group_lag(s.kafka, s.processor.app_id)).values())
        alerts = await consume_until(s, s.kafka.topics.alerts.name, 10**9, timeout_s=3)
        deliveries = await consume_until(s, s.kafka.topics.deliveries.name, 10**9, timeout_s=3)
        rss_before = memory_of(procs[0].pid)
        restart = await restart_after_kill(s, procs, workers[0], log)
        if args.standby:
            # A standby taking over with no local state: it recovers the whole
            # changelog, as a worker on a new machine would.
            empty = {**workers[0], "WIREWATCH_PROCESSOR__STATE_DIR": str(tmp / f"standby-{batch}")}
            standby = await restart_after_kill(s, procs, empty, log)
            restart.update({f"standby_{k}": v for k, v in standby.items()})
    finally:
        stop_stages(procs, 60)
        await hook.stop()
    to_events = [
        stamp - NewsEvent.model_validate_json(value).article.fetched_at.timestamp()
        for stamp, value in zip(tail.stamps, tail.values, strict=True)
        if b'"id":"lat-' in value[:120]
    ]
    produced = {
        a.alert_id: a.article.fetched_at.timestamp()
        for a in map(AlertDecision.model_validate_json, alerts.values)
        if a.article.id.startswith("lat-")
    }
    attempts = [DeliveryAttempt.model_validate_json(v) for v in deliveries.values]
    first_attempt: dict[str, float] = {}
    for attempt in attempts:
        if attempt.alert_id in produced:
            first_attempt.setdefault(attempt.alert_id, attempt.at.timestamp())
    to_dispatch = [at - produced[aid] for aid, at in first_attempt.items()]
    return {
        "batch": batch,
        "stories": stories,
        "produce_per_s": len(corpus) / produce_s,
        "missing": missing,
        "throughput": throughput,
        "decisions": len(decided.values),
        "n_lat": len(to_events),
        "p50": percentile(to_events, 50) * 1000,
        "p99": percentile(to_events, 99) * 1000,
        "p999": percentile(to_events, 99.9) * 1000,
        "n_disp": len(to_dispatch),
        "d50": percentile(to_dispatch, 50) * 1000,
        "d99": percentile(to_dispatch, 99) * 1000,
        "d999": percentile(to_dispatch, 99.9) * 1000,
        "uncommitted": uncommitted,
        "rss_mb": rss_before[0],
        "peak_mb": rss_before[1],
        **restart,
    }


async def restart_after_kill(
    s: Settings, procs: list[subprocess.Popen[bytes]], env: dict[str, str], log: Path
) -> dict[str, float]:
    """SIGKILL the worker, start another; seconds from its start to a new article's event."""
    procs[0].kill()
    procs[0].wait()
    waiting = asyncio.create_task(
        # The restarted worker sends nothing while it recovers its window, which
        # takes longer than the reader's usual idle cutoff at a large window.
        consume_until(
            s,
            s.kafka.topics.events.name,
            1,
            timeout_s=600,
            kind="article",
            from_end=True,
            idle_s=600,
        )
    )
    await asyncio.sleep(2)  # the reader is positioned at the end
    port = free_port()
    started = time.time()
    procs[0] = spawn_stage("process", {**env, "WIREWATCH_METRICS__PROCESSOR_PORT": str(port)}, log)
    (probe,) = synthetic_corpus(1, 99, prefix="restart-")
    await produce_all(s, [probe])
    got = await waiting
    restart_s = got.stamps[0] - started if got.stamps else math.nan
    rss, peak = memory_of(procs[0].pid)
    samples = await scrape(port)
    return {
        "restart_s": restart_s,
        "recovered": samples.get(RECOVERED, math.nan),
        "rebuild_s": samples.get("wirewatch_state_restore_seconds", math.nan),
        "restart_rss_mb": rss,
        "restart_peak_mb": peak,
    }


RECOVERED = "wirewatch_state_records_recovered_total"


def memory_of(pid: int) -> tuple[float, float]:
    """A process's resident memory now and its peak (VmRSS, VmHWM), in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rss, peak = (float(fields[f].split()[0]) / 1024 for f in ("VmRSS", "VmHWM"))
    return rss, peak


async def scrape(port: int, wait_s: float = 30.0) -> dict[str, float]:
    """The worker's /metrics samples by name (labels summed); empty if it never serves them.

    With several workers another one may take over and answer the probe before the
    restarted worker serves its metrics: its figures are then waited for, or missing.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            samples = await scrape_metrics(port)
            break
        except aiohttp.ClientConnectionError:
            if time.monotonic() > deadline:
                return {}
            await asyncio.sleep(0.5)
    out: dict[str, float] = {}
    for key, value in samples.items():
        name = key.split("{", 1)[0]
        out[name] = out.get(name, 0.0) + value
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--batch-sizes", default="1,20,100,500")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--raw-partitions", type=int, default=1, help="news.raw partitions (>1: matching stage)"
    )
    parser.add_argument("--workers", type=int, default=1, help="processor workers in the group")
    parser.add_argument(
        "--standby",
        action="store_true",
        help="after the restart, kill again and start a worker with an empty state directory",
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="workers with processor.instance_id (static membership)",
    )
    args = parser.parse_args()

    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-e2e-"))
    if not bootstrap:
        broker = LocalBroker(
            BrokerSettings(**broker_ports(),
                           data_dir=tmp / "kafka", heap="1g")
        )  # fmt: skip
        bootstrap = await asyncio.to_thread(broker.start)
    try:
        print(f"machine: {os.cpu_count()} cores; broker {bootstrap}; tmp {tmp}", flush=True)
        t = time.perf_counter()
        corpus = synthetic_corpus(args.articles, args.seed)
        window_state(args.window, args.seed)
        print(f"corpus {len(corpus)} articles + window {args.window} stories "
              f"prepared in {time.perf_counter() - t:.0f}s", flush=True)  # fmt: skip
        base = await baseline(bootstrap, corpus)
        print(f"baseline (aiokafka consume->produce, no processing): {base:,.0f} records/s")
        rows = []
        for batch in [int(b) for b in args.batch_sizes.split(",")]:
            row = await run_one(bootstrap, args, batch, corpus, tmp)
            rows.append(row)
            print(format_row(row), flush=True)
        print_table(rows, base, args)
    finally:
        if broker is not None:
            await asyncio.to_thread(broker.stop)


HEADER = (
    "| batch | window stories | produce/s | processed/s | % of baseline | decisions "
    "| p50 ms | p99 ms | p99.9 ms | n | dispatch p50 | p99 | p99.9 | n |"
)


def format_row(r: dict[str, float]) -> str:
    return (
        f"| {r['batch']:.0f} | {r['stories']:,.0f} | {r['produce_per_s']:,.0f} "
        f"| {r['throughput']:,.0f} | {r.get('pct', 0):.0f}% | {r['decisions']:,.0f} "
        f"| {r['p50']:.1f} | {r['p99']:.1f} | {r['p999']:.1f} | {r['n_lat']:.0f} "
        f"| {r['d50']:.0f} | {r['d99']:.0f} | {r['d999']:.0f} | {r['n_disp']:.0f} |"
    )


def print_table(rows: list[dict[str, float]], base: float, args: argparse.Namespace) -> None:
    print(f"\n{args.articles:,} articles, {args.rules:,} rules, latency at {args.rate:.0f}/s "
          f"for {args.latency_seconds:.0f}s; {args.workers} worker(s), news.raw on "
          f"{args.raw_partitions} partition(s); baseline {base:,.0f} records/s\n")  # fmt: skip
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    for row in rows:
        print(format_row({**row, "pct": 100 * row["throughput"] / base}))
    for row in rows:
        print(f"batch {row['batch']:.0f}: processor group's committed offset "
              f"{row['uncommitted']:,.0f} records short of the end after the run; "
              f"restart after kill -9 to the first new event {row['restart_s']:.1f} s "
              f"at a {row['stories']:,.0f}-story window ({row['recovered']:,.0f} changelog "
              f"records recovered, window rebuilt in {row['rebuild_s']:.1f} s); worker RSS "
              f"{row['rss_mb']:,.0f} MB before the kill (peak {row['peak_mb']:,.0f} MB), "
              f"{row['restart_rss_mb']:,.0f} MB after the restart "
              f"(peak {row['restart_peak_mb']:,.0f} MB)")  # fmt: skip
        if "standby_restart_s" in row:
            print(f"batch {row['batch']:.0f}: a standby with an empty state directory: first "
                  f"new event {row['standby_restart_s']:.1f} s after its start "
                  f"({row['standby_recovered']:,.0f} changelog records recovered, window "
                  f"rebuilt in {row['standby_rebuild_s']:.1f} s), RSS "
                  f"{row['standby_restart_rss_mb']:,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
