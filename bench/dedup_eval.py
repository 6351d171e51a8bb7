"""Story-clustering quality: B3 precision/recall/F1 against gold story labels.

Usage::

    .venv/bin/python bench/dedup_eval.py DATA [DATA ...] [--seeds 0,1,2] [--set FIELD=VALUE]

Each DATA is a labelled set that ``bench/story_sets.py`` reads: the UCI News
Aggregator CSV (headlines, in time order), ECB+-style JSONL (full text; one
run per arrival order in ``--seeds``) or replay-form JSONL with a gold field.
Printed in the same run, per set: wirewatch's B3 P/R/F1; exact title; online
TF-IDF single link (each article's best cosine to one earlier article, IDF
over the articles seen so far, title and the first 1,500 characters) at its
best threshold with B3 P >= 0.95; and a copy check that adds a perturbed
near-identical copy of every article and reports how many are flagged
``duplicate_of``.

``--views`` adds two harder views of each set: the set in fresh slices of
1,000 articles (a new service, or a replay of a small set, where the window
holds little) and the set with titles alone (summaries and bodies dropped),
each beside the TF-IDF baseline at its best threshold on the same rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.story_sets import Labelled, best_tfidf, load_set, mean_of, score_b3
from processors.stories.clusterer import DedupConfig, StoryClusterer
from wirewatch.events import Article

_WORDS = re.compile(r"\w+")


def cluster_exact_title(articles: Sequence[Article]) -> list[str]:
    """Baseline: same folded title, same cluster."""
    return [a.title.strip().lower() for a in articles]


def cluster_wirewatch(articles: Sequence[Article], config: DedupConfig) -> list[str]:
    """The wirewatch StoryClusterer, one article at a time in the given order."""
    clusterer = StoryClusterer(config)
    return [clusterer.assign(a).story_id for a in articles]


def perturb_title(title: str, rng: random.Random) -> str:
    """A near-identical re-publication of a title: one of the usual syndication edits."""
    words = title.split()
    kind = rng.randrange(5)
    if kind == 0:
        return f"{title} - {rng.choice(['Reuters', 'AP', 'Yahoo News', 'MarketWatch'])}"
    if kind == 1:
        return title.upper() if rng.random() < 0.5 else title.lower()
    if kind == 2:
        return title.replace(",", "").replace(":", " -").replace("'", "\u2019") + "."
    if kind == 3 and len(words) >= 6:
        i = rng.randrange(len(words))
        words[i] = rng.choice(["reportedly", "now", "officially", "again"])
        return " ".join(words)
    if len(words) >= 8:
        return " ".join(words[: max(6, int(len(words) * 0.75))]) + " ..."
    return title + " ..."


def check_copies(rows: Sequence[Labelled], config: DedupConfig, seed: int = 7) -> str:
    """Interleave a perturbed copy after each article; report duplicate_of recall."""
    rng = random.Random(seed)
    clusterer = StoryClusterer(config)
    flagged = total = 0
    for article, _ in rows:
        first = clusterer.assign(article)
        later = article.published + timedelta(minutes=rng.randrange(1, 600))
        copy = article.model_copy(
            update={
                "id": f"{article.id}#copy",
                "title": perturb_title(article.title, rng),
                "published": later,
                "fetched_at": later,
            }
        )
        verdict = clusterer.assign(copy)
        root = first.duplicate_of or article.id
        total += 1
        flagged += verdict.duplicate_of == root
    return f"synthetic copies flagged duplicate_of: {flagged}/{total} = {flagged / total:.4f}"


def parse_overrides(config: DedupConfig, pairs: Sequence[str]) -> DedupConfig:
    """Apply FIELD=VALUE overrides, converting each value to the field's current type."""
    known = {f.name for f in dataclasses.fields(DedupConfig)}
    changes: dict[str, int | float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in known or not value:
            raise SystemExit(f"--set {pair!r}: expected FIELD=VALUE with FIELD in {sorted(known)}")
        current = getattr(config, name)
        changes[name] = int(value) if isinstance(current, int) else float(value)
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


def evaluate_set(name: str, rows: list[Labelled], config: DedupConfig) -> None:
    """Print wirewatch beside the baselines, and the copy check, for one set and order."""
    articles = [a for a, _ in rows]
    gold = [g for _, g in rows]
    print(f"{name}: {len(rows)} articles, {len(set(gold))} gold stories")
    print(f"  {'method':44s} {'B3 P':>6s} {'B3 R':>6s} {'F1':>6s} {'clusters':>8s} {'secs':>6s}")
    start = time.perf_counter()
    threshold, (p, r, f1) = best_tfidf(articles, gold)
    secs = time.perf_counter() - start
    label = f"online TF-IDF single link, best at P>=0.95 ({threshold:.2f})"
    print(f"  {label:44s} {p:6.3f} {r:6.3f} {f1:6.3f} {'':8s} {secs:6.1f}")
    for label, method in (
        ("exact title (baseline)", cluster_exact_title),
        ("wirewatch StoryClusterer", lambda arts: cluster_wirewatch(arts, config)),
    ):
        start = time.perf_counter()
        pred = method(articles)
        secs = time.perf_counter() - start
        p, r, f1 = score_b3(pred, gold)
        print(f"  {label:44s} {p:6.3f} {r:6.3f} {f1:6.3f} {len(set(pred)):8d} {secs:6.1f}")
    print("  " + check_copies(rows, config))


def print_views(rows: list[Labelled], config: DedupConfig, slice_size: int = 1000) -> None:
    """The set in fresh slices and with titles alone, wirewatch beside TF-IDF."""
    views: list[tuple[str, list[list[Labelled]]]] = []
    if len(rows) >= 2 * slice_size:
        cuts = range(0, len(rows) - slice_size + 1, slice_size)
        views.append(
            (f"{len(cuts)} slices of {slice_size:,}", [rows[i : i + slice_size] for i in cuts])
        )
    bare = [(a.model_copy(update={"summary": "", "body": ""}), g) for a, g in rows]
    views.append(("titles only", [bare]))
    for label, parts in views:
        ours = [
            score_b3(cluster_wirewatch([a for a, _ in part], config), [g for _, g in part])
            for part in parts
        ]
        base = [best_tfidf([a for a, _ in part], [g for _, g in part])[1] for part in parts]
        mean, mean_base = mean_of(ours), mean_of(base)
        print(
            f"  {label}: wirewatch P/R/F1 {mean[0]:.3f}/{mean[1]:.3f}/{mean[2]:.3f}, TF-IDF best "
            f"at P>=0.95 {mean_base[0]:.3f}/{mean_base[1]:.3f}/{mean_base[2]:.3f} (mean over parts)"
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evaluation on every set and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--gold-field", default="story")
    parser.add_argument("--seeds", default="0,1,2", help="arrival orders for sets without times")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--views", action="store_true", help="also fresh slices and titles only")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override any DedupConfig field, e.g. --set signature_specificity=0.9",
    )
    args = parser.parse_args(argv)
    config = parse_overrides(DedupConfig(), args.set)
    for path in args.data:
        seeds = [0] if path.suffix == ".csv" else [int(s) for s in args.seeds.split(",")]
        for seed in seeds:
            rows = load_set(path, seed, args.gold_field)
            if args.limit:
                rows = rows[: args.limit]
            evaluate_set(f"{path.name} (order {seed})", rows, config)
            if args.views:
                print_views(rows, config)


if __name__ == "__main__":
    main()
