"""Restart cost of the story window: rebuilding it from the processor's local store.

Usage::

    .venv/bin/python bench/restore_bench.py [--window 100000] [--seed 7] [--probes 300]
                                            [--cache /tmp/wirewatch-restore-bench] [--trace]

1. Clusters ``--window`` articles of e2e.py's corpus (bodies of ~4,000 characters,
   one outlet each, so the window holds that many stories) with the pure core, as
   the stream does, and writes every state update into a RocksDB store exactly as
   the worker's Faust table does (JSON keys, ``state-json`` values, the changelog
   offset key). The store is cached under ``--cache``, keyed by the source of
   ``processors/stories``, since building it takes minutes at 100k.
2. In a fresh process each, times
   - the baseline: one scan of the store with every value decoded, nothing kept;
   - the restore: the worker's warm-start path
     (``processors.runtime.warm_start.restore_from_stores``), then the worker's
     ``gc.collect(); gc.freeze()``;
   and prints records, seconds, µs per record and the process's RSS after each.
3. The restored window must decide as the live one did: ``--probes`` articles
   (copies of window articles from another outlet, and fresh stories) are
   assigned to the live clusterer right after the store was written and to the
   restored one, and every verdict is compared: once as the worker restores
   (the body IDF rebuilt from the stored terms, which the live stream then
   refines) and once with the live body IDF put back, where every verdict must
   be identical (else the bench exits 1).

``--trace`` adds a tracemalloc breakdown of what the restored window holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rocksdict

from bench.e2e_support import synthetic_corpus
from processors.runtime.tables import StateJson
from processors.runtime.warm_start import OFFSET_KEY
from processors.stories.clusterer import StoryClusterer, Verdict
from wirewatch.events import Article

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 30, 12, tzinfo=UTC)


def fingerprint() -> str:
    """A digest of the clustering code and model: a store written by other code is rebuilt."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted((ROOT / "processors" / "stories").iterdir()):
        if path.suffix in {".py", ".json"}:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def make_probes(window: list[Article], count: int, seed: int) -> list[Article]:
    """Half copies of window articles by another outlet, half fresh multi-outlet stories."""
    rng = random.Random(seed)
    probes: list[Article] = []
    for i, original in enumerate(rng.sample(window, min(count // 2, len(window)))):
        words = original.title.split()
        words[rng.randrange(len(words))] = "reportedly"
        probes.append(
            original.model_copy(
                update={"id": f"copy{i}", "title": " ".join(words), "source": "Probe Wire"}
            )
        )
    probes += synthetic_corpus(count - len(probes), seed + 5000, prefix="fresh")
    return probes


def verdict_key(verdict: Verdict) -> list[Any]:
    return [
        verdict.story_id,
        verdict.duplicate_of,
        verdict.similarity,
        verdict.matched_article,
        verdict.new_story,
        verdict.source_added,
        list(verdict.story_sources),
        verdict.reason,
    ]


def build_store(directory: Path, size: int, seed: int, probes: int) -> None:
    """Cluster the window live, write its state as the worker's table does, keep the probes."""
    articles = synthetic_corpus(size, seed + 1000, prefix="w", max_outlets=1)
    clusterer = StoryClusterer()
    state: dict[str, Any] = {}
    started = time.perf_counter()
    for i, article in enumerate(articles):
        when = START + timedelta(milliseconds=i)
        verdict = clusterer.assign(article.model_copy(update={"published": when}), when)
        for key, value in verdict.state_updates:
            state[key] = value
    took = time.perf_counter() - started
    print(f"clustered {size:,} articles live in {took:.0f} s", flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    db = rocksdict.Rdict(str(directory / "window"), options=rocksdict.Options(raw_mode=True))
    codec = StateJson()
    try:
        for key, value in state.items():
            if value is None:
                db.delete(json.dumps(key).encode())
            else:
                db[json.dumps(key).encode()] = codec.dumps(value)
        db[OFFSET_KEY] = str(len(state)).encode()
    finally:
        db.close()
    idf = clusterer._idf
    (directory / "idf.json").write_text(
        json.dumps({"df": dict(idf.df), "size": idf.size, "since": idf._since})
    )
    probe_list = make_probes(articles, probes, seed)
    expected = []
    for j, probe in enumerate(probe_list):
        when = START + timedelta(milliseconds=size + j)
        expected.append(verdict_key(clusterer.assign(probe, when)))
    (directory / "probes.json").write_text(
        json.dumps(
            {
                "size": size,
                "articles": [p.model_dump(mode="json") for p in probe_list],
                "verdicts": expected,
            }
        )
    )


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024
    return 0.0


def measure(mode: str, directory: Path, trace: bool) -> dict[str, Any]:
    """One timed pass in this (fresh) process: ``decode`` or ``restore``."""
    import gc

    from processors.pipeline import Pipeline
    from processors.runtime.warm_start import read_store, restore_from_stores

    result: dict[str, Any] = {"mode": mode, "rss_start_mb": rss_mb()}
    if trace:
        import tracemalloc

        tracemalloc.start()
    seen: dict[bytes, int] = {}
    started = time.perf_counter()
    if mode == "decode":
        gc.disable()
        for _ in read_store(directory / "window", seen):
            pass
        gc.enable()
        pipeline = None
    else:
        pipeline = Pipeline(StoryClusterer())
        restore_from_stores(pipeline, directory / "window", directory / "alerts", seen, {})
    result["seconds"] = time.perf_counter() - started
    # The worker's next step (BatchWorker.restore), part of its restart.
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    result["collect_seconds"] = time.perf_counter() - started
    result["records"] = len(seen)
    result["rss_mb"] = rss_mb()
    if trace:
        import tracemalloc

        snapshot = tracemalloc.take_snapshot()
        stats = snapshot.statistics("lineno")
        result["trace"] = [
            f"{s.size / 2**20:8.1f} MB {s.count:>10,} blocks  {s.traceback[0]}" for s in stats[:20]
        ]
        result["trace_total_mb"] = sum(s.size for s in stats) / 2**20
        tracemalloc.stop()
    if pipeline is not None and mode == "restore" and not trace:
        # The most the window can grow to: every entry's features and every
        # story's profile read once, as if each had been a candidate.
        clusterer = pipeline.clusterer
        for entry in clusterer._index.entries.values():
            _ = entry.features
        for story in clusterer._stories.values():
            _ = story.terms
        gc.collect()
        result["rss_all_read_mb"] = rss_mb()
    if pipeline is not None:
        if mode == "exact":
            # The body IDF is the one thing a store does not hold in full (only each
            # entry's strongest terms); with the live one, the rest must match exactly.
            saved = json.loads((directory / "idf.json").read_text())
            idf = pipeline.clusterer._idf
            idf.df = Counter(saved["df"])
            idf.size, idf._since = saved["size"], saved["since"]
        result.update(check_probes(pipeline.clusterer, directory))
    return result


def check_probes(clusterer: StoryClusterer, directory: Path) -> dict[str, Any]:
    saved = json.loads((directory / "probes.json").read_text())
    size = saved["size"]
    mismatched = []
    for j, (raw, want) in enumerate(zip(saved["articles"], saved["verdicts"], strict=True)):
        probe = Article.model_validate(raw)
        got = verdict_key(clusterer.assign(probe, START + timedelta(milliseconds=size + j)))
        if got != want:
            mismatched.append({"probe": probe.id, "live": want, "restored": got})
    joined = sum(1 for v in saved["verdicts"] if not v[4])
    return {"probes": len(saved["verdicts"]), "joined": joined, "mismatched": mismatched}


def run_child(mode: str, directory: Path, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--store", str(directory)]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"{mode} pass failed:\n{done.stderr}")
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--probes", type=int, default=300)
    cache = Path(tempfile.gettempdir()) / "wirewatch-restore-bench"
    parser.add_argument("--cache", type=Path, default=cache)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--child", choices=["decode", "restore", "exact"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--store", type=Path, help="a store this bench wrote before, used as is (no rebuild)"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.store, args.trace)))
        return
    directory = args.store or (
        args.cache / f"w{args.window}-s{args.seed}-p{args.probes}-{fingerprint()}"
    )
    if not (directory / "probes.json").exists():
        build_store(directory, args.window, args.seed, args.probes)
    else:
        print(f"store: {directory} (cached)")
    rows = [run_child("decode", directory, False), run_child("restore", directory, False)]
    exact = run_child("exact", directory, False)
    traced = run_child("restore", directory, True) if args.trace else None
    size = json.loads((directory / "probes.json").read_text())["size"]
    print(f"\nwindow of {size:,} one-article stories, bodies ~4,000 chars")
    print(
        f"{'pass':<34} {'records':>9} {'seconds':>8} {'µs/record':>10} {'RSS after':>10}"
        f" {'then gc.collect':>16}"
    )
    names = {
        "decode": "baseline: scan + decode, kept none",
        "restore": "restore (worker's warm start)",
    }
    for row in rows:
        per = row["seconds"] / max(1, row["records"]) * 1e6
        print(
            f"{names[row['mode']]:<34} {row['records']:>9,} {row['seconds']:>8.2f} "
            f"{per:>10.1f} {row['rss_mb']:>7,.0f} MB {row['collect_seconds']:>14.2f} s"
        )
    restored = rows[1]
    print(f"process RSS before reading: {restored['rss_start_mb']:,.0f} MB")
    if "rss_all_read_mb" in restored:
        print(
            "process RSS once every entry and story profile has been read: "
            f"{restored['rss_all_read_mb']:,.0f} MB"
        )
    print(
        f"probe verdicts, restored vs live: {restored['probes'] - len(restored['mismatched'])}"
        f" of {restored['probes']} identical ({restored['joined']} joined a story)"
    )
    print(
        f"the same with the live body IDF put back: {exact['probes'] - len(exact['mismatched'])}"
        f" of {exact['probes']} identical"
    )
    for miss in exact["mismatched"][:5]:
        print(f"  MISMATCH {miss}")
    if traced is not None:
        print(f"\ntracemalloc after a restore: {traced['trace_total_mb']:,.0f} MB traced")
        print("\n".join(traced["trace"]))
    if exact["mismatched"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
