"""Dedup speed and memory at window sizes of 1k, 10k and 100k articles.

Usage::

    .venv/bin/python bench/dedup_bench.py [--sizes 1000,10000,100000] [--measure 4000]

Articles are synthesised from a Zipf-distributed vocabulary: titles of about
ten words, summaries of about 300 characters, bodies of about 1,800 characters
(the mean is printed), grouped into stories of a few
articles that share topic words (like wire copy and rewrites do). Each size runs
in its own process so that its peak RSS is its own. The window is filled to the
size, then ``--measure`` further articles are timed in steady state (every new
article evicts an old one), in four chunks: the table shows the median chunk's
rate, the best one, and the rate by this process's CPU time, which leaves out
time spent waiting for a core that other processes hold on a shared machine. The baseline, in the
same run, is the naive full-window scan: rapidfuzz ``process.extractOne`` of
each title against every title in the window (capped article count, since it
is what does not scale).

``stage cpu/s`` is the story stage alone when news.raw is partitioned: the
matching stage has read each article's text (processors.stories.reading) and
hands it over as JSON, which the timing decodes; ``--measure`` more articles.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.stories.clusterer import DedupConfig, StoryClusterer
from processors.stories.reading import dump_text, load_text
from wirewatch.events import Article

START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=2)
OUTLETS = ["Reuters", "AP", "BBC", "Guardian", "CNN", "Bloomberg", "AFP", "NPR", "DW", "NHK"]


def make_vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pronounceable pseudo-words, so that tokenisation does real work."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "pa", "qu", "dre", "st"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def make_body(topic: list[str], vocab: list[str], cum: list[float], rng: random.Random) -> str:
    """About 1,800 characters of sentences, the story's names capitalised inside them."""
    sentences = []
    for _ in range(22):
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(8, 14))
        words[rng.randrange(1, len(words))] = rng.choice(topic[:3]).capitalize()
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def generate_articles(count: int, seed: int = 1) -> Iterator[Article]:
    """Synthetic articles in time order, two seconds apart, in stories of 1-8 articles."""
    rng = random.Random(seed)
    vocab = make_vocabulary(30_000, rng)
    # Cumulative weights once: random.choices would rebuild them on every call.
    cum = list(accumulate(1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))))
    produced = 0
    while produced < count:
        topic = rng.choices(vocab, cum_weights=cum, k=5) + rng.sample(vocab, 3)
        for _ in range(min(count - produced, rng.choice([1, 1, 1, 2, 2, 3, 4, 8]))):
            words = rng.sample(topic, 6) + rng.choices(vocab, cum_weights=cum, k=4)
            rng.shuffle(words)
            lead = rng.sample(topic, 5) + rng.choices(vocab, cum_weights=cum, k=40)
            summary = " ".join(lead)[:300]
            published = START + STEP * produced
            yield Article(
                id=f"a{produced}",
                title=" ".join(words).capitalize(),
                summary=summary,
                body=make_body(topic, vocab, cum, rng),
                source=rng.choice(OUTLETS),
                published=published,
                fetched_at=published,
            )
            produced += 1


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(size: int, measure: int, baseline_cap: int) -> dict[str, float]:
    """Fill a window of ``size`` articles, then time ``measure`` more; also the baseline."""
    window_hours = size * STEP.total_seconds() / 3600
    clusterer = StoryClusterer(DedupConfig(window_hours=window_hours))
    # Articles are streamed into the window so that RSS is the clusterer's, not
    # a list of 100k pydantic objects held by the benchmark.
    articles = generate_articles(size + 2 * measure)
    titles: deque[str] = deque(maxlen=size)
    for article in islice(articles, size):
        clusterer.assign(article)
        titles.append(article.title.lower())
    timed = list(islice(articles, measure))
    # The machine is shared: time four consecutive chunks and keep the median
    # and the best, so a neighbour's burst does not decide the figure.
    chunk = max(1, measure // 4)
    rates = []
    cpu_start = time.process_time()
    for i in range(0, len(timed), chunk):
        start = time.perf_counter()
        for article in timed[i : i + chunk]:
            clusterer.assign(article)
        rates.append(len(timed[i : i + chunk]) / (time.perf_counter() - start))
    # CPU time of this process alone: leaves out waits for a core others hold.
    cpu_rate = len(timed) / (time.process_time() - cpu_start)
    rss = peak_rss_mb()
    # Then as the story stage runs when news.raw is partitioned: the matching
    # stage has read each text and hands it over in JSON (decoding it is timed).
    summary_chars = clusterer.config.summary_chars
    handed = [(a, json.dumps(dump_text(clusterer.read(a))).encode()) for a in articles]
    stage_start = time.process_time()
    for article, wire in handed:
        clusterer.assign(article, text=load_text(json.loads(wire), summary_chars))
    stage_cpu_rate = len(handed) / (time.process_time() - stage_start)
    rates.sort()
    median = rates[len(rates) // 2]
    window_len = len(clusterer)
    # Baseline: scan every title in the window for each new article.
    choices = list(titles)
    probe = timed[:baseline_cap]
    base_start = time.perf_counter()
    for article in probe:
        process.extractOne(article.title.lower(), choices, scorer=fuzz.token_set_ratio)
    base_secs = time.perf_counter() - base_start
    return {
        "size": size,
        "window": window_len,
        "per_s": median,
        "best_per_s": rates[-1],
        "cpu_per_s": cpu_rate,
        "stage_cpu_per_s": stage_cpu_rate,
        "us_per_article": 1e6 / median,
        "peak_rss_mb": rss,
        "baseline_per_s": len(probe) / base_secs,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run every size in a child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--measure", type=int, default=4000)
    parser.add_argument("--baseline-cap", type=int, default=200)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.measure, args.baseline_cap)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--measure",
                str(args.measure),
                "--baseline-cap",
                str(args.baseline_cap),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out))
    print(
        f"{'window':>8s} {'articles/s':>11s} {'best/s':>8s} {'cpu/s':>7s} {'us/article':>11s} "
        f"{'stage cpu/s':>12s} {'peak RSS MB':>12s} {'baseline scan/s':>16s} {'speed-up':>9s}"
    )
    for row in rows:
        print(
            f"{row['window']:8.0f} {row['per_s']:11.0f} {row['best_per_s']:8.0f} "
            f"{row['cpu_per_s']:7.0f} "
            f"{row['us_per_article']:11.1f} {row['stage_cpu_per_s']:12.0f} "
            f"{row['peak_rss_mb']:12.0f} {row['baseline_per_s']:16.1f} "
            f"{row['per_s'] / row['baseline_per_s']:8.0f}x"
        )
    growth = rows[-1]["us_per_article"] / rows[0]["us_per_article"]
    print(
        "stage cpu/s: the story stage alone, CPU-time rate, when the matching stage has read"
        " each text (news.raw partitioned; the handed JSON is decoded in the timing)"
    )
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(
        f"per-article cost growth {rows[0]['window']:.0f} -> {rows[-1]['window']:.0f}: "
        f"{growth:.2f}x (target <= 1.5x); target >= 4000 articles/s and <= 1024 MB at 100k"
    )
    sample = list(generate_articles(2000))
    mean_body = sum(len(a.body) for a in sample) / len(sample)
    print(f"mean body length of the synthetic articles: {mean_body:.0f} characters")


if __name__ == "__main__":
    main()
