"""Run every benchmark in turn (``make bench``), each printing its figures and baseline.

Usage::

    .venv/bin/python bench/run_all.py [--data ../shared/data] [--quick]

``--data`` points at the real-world material (feed captures, labelled story
clusters); benchmarks that need it are skipped with a note when it is absent.
``--quick`` shrinks the end-to-end run for a smoke test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=BENCH.parent.parent / "shared" / "data")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    uci = args.data / "story_clusters" / "uci_news_aggregator"
    uci_csv = next(iter(sorted(uci.glob("*.csv"))), None) if uci.is_dir() else None
    ecb = args.data / "story_clusters" / "ecbplus_dev"
    ecb_jsonl = next(iter(sorted(ecb.glob("*.jsonl"))), None) if ecb.is_dir() else None
    story_sets = [str(p) for p in (uci_csv, ecb_jsonl) if p is not None]
    feeds = args.data / "feeds"
    e2e = ["--articles", "5000", "--window", "10000", "--batch-sizes", "100"] if args.quick else []
    runs: list[tuple[str, list[str] | None]] = [
        ("rules_bench.py", []),
        ("regex_redos_bench.py", []),
        ("dedup_bench.py", []),
        ("dedup_eval.py", story_sets or None),
        ("feed_capture_stories.py", [str(feeds)] if feeds.is_dir() else None),
        ("feeds_eval.py", [str(feeds)] if feeds.is_dir() else None),
        ("ingest_poll_bench.py", []),
        ("restore_bench.py", ["--window", "20000"] if args.quick else []),
        ("e2e.py", e2e),
    ]
    for script, extra in runs:
        print(f"\n===== {script} =====", flush=True)
        if extra is None:
            print(f"skipped: no data under {args.data}")
            continue
        subprocess.run([sys.executable, str(BENCH / script), *extra], check=False)  # noqa: S603


if __name__ == "__main__":
    main()
