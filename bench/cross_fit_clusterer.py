"""How the fitted full-text model does on topics it was not fitted on.

Usage::

    .venv/bin/python bench/cross_fit_clusterer.py ECBPLUS.jsonl [--seeds 0,1,2]

The shipped model is fitted and its threshold picked on the dev sets, and then
scored on the same sets, which flatters it: the issue measures wirewatch on
held-out sets. This splits a full-text set's topics in two halves (the topic is
the gold label's prefix before ``_``, so ECB+'s two events of one kind stay
together; a label without ``_`` is its own topic), fits on one half exactly as
``fit_clusterer.py`` does (weights, then the lowest threshold keeping mean B3
precision), and scores the online clusterer on the other half, then the other
way round. Beside it, in the same run: the shipped model on the same half, and
the online TF-IDF baseline at its best threshold with P >= 0.95 on that half.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fit_clusterer import Row, collect_rows, evaluate, fit_logistic, pick_threshold
from bench.story_sets import Labelled, Scores, best_tfidf, load_set, mean_of
from processors.stories.model import StoryModel, load_model


def topic_of(gold: str) -> str:
    """The topic a gold label belongs to: its prefix before ``_``."""
    return gold.split("_", 1)[0]


def split_topics(rows: Sequence[Labelled]) -> tuple[list[Labelled], list[Labelled]]:
    """Articles of every other topic (in sorted topic order), and the rest."""
    topics = sorted({topic_of(gold) for _, gold in rows})
    first = set(topics[::2])
    a = [row for row in rows if topic_of(row[1]) in first]
    b = [row for row in rows if topic_of(row[1]) not in first]
    return a, b


def fit_on(sets: Sequence[list[Labelled]], min_precision: float) -> StoryModel | None:
    """Weights and threshold from these sets alone, as fit_clusterer.py picks them."""
    rows: list[Row] = []
    for labelled in sets:
        found = collect_rows(labelled)
        rows.extend((f, y, 1000.0 / max(1, len(found))) for f, y in found)
    w = fit_logistic(rows)
    fitted = StoryModel(tuple(w[:-1]), w[-1], 2.0)
    named = [(str(n), labelled) for n, labelled in enumerate(sets)]
    return pick_threshold(fitted, named, min_precision)


def mean_scores(sets: Sequence[list[Labelled]], model: StoryModel) -> Scores:
    """Mean B3 of the online clusterer over the sets (arrival orders)."""
    return mean_of([evaluate(labelled, model) for labelled in sets])


def mean_baseline(sets: Sequence[list[Labelled]]) -> Scores:
    """Mean B3 of the TF-IDF baseline at its best threshold (P >= 0.95) per set."""
    return mean_of([best_tfidf([a for a, _ in s], [g for _, g in s])[1] for s in sets])


def main(argv: Sequence[str] | None = None) -> None:
    """Fit on one half of the topics, score on the other, both ways; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", default="0,1,2", help="arrival orders for sets without times")
    parser.add_argument("--min-precision", type=float, default=0.955)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    fold_a: list[list[Labelled]] = []
    fold_b: list[list[Labelled]] = []
    for seed in seeds:
        a, b = split_topics(load_set(args.data, seed))
        fold_a.append(a)
        fold_b.append(b)
    halves = [(fold_a, fold_b), (fold_b, fold_a)]
    shipped = load_model()
    for n, (train, test) in enumerate(halves):
        articles = len(test[0])
        print(f"half {n}: fitting on {len(train[0])} articles, scoring on {articles}", flush=True)
        model = fit_on(train, args.min_precision)
        if model is None:
            print(f"half {n}: no threshold keeps precision >= {args.min_precision}")
            continue
        held = mean_scores(test, model)
        own = mean_scores(test, shipped)
        base = mean_baseline(test)
        print(
            f"half {n} (threshold {model.threshold:.2f}): held-out P/R/F1 "
            f"{held[0]:.3f}/{held[1]:.3f}/{held[2]:.3f}; shipped {own[0]:.3f}/{own[1]:.3f}/"
            f"{own[2]:.3f} (threshold {shipped.threshold:.2f}); baseline "
            f"{base[0]:.3f}/{base[1]:.3f}/{base[2]:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
