"""Fit the full-text story model on labelled sets and write it as data.

Usage::

    .venv/bin/python bench/fit_clusterer.py DATA [DATA ...] [--seeds 0,1,2] [--write]

Each DATA is a labelled story set (see ``bench/story_sets.py``). The clusterer
runs through every set with the gold story forced (``assign(place_in=...)``),
so each article is compared with the stories as they really stood; every
(article, candidate story) pair with a body becomes a training row, labelled
by whether the story is the article's gold story. A weighted logistic
regression (each set weighs the same, whatever its size) gives the weights.
The threshold is then the lowest probability at which the online clusterer
keeps B3 precision at or above ``--min-precision`` on every set and order, so
precision comes first. ``--write`` stores the result in
``processors/stories/model.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.story_sets import Labelled, load_set, score_b3
from processors.stories.clusterer import DedupConfig, StoryClusterer
from processors.stories.model import FEATURES, MODEL_PATH, StoryModel

Row = tuple[tuple[float, ...], int, float]


def collect_rows(rows: Sequence[Labelled]) -> list[tuple[tuple[float, ...], int]]:
    """Teacher-forced evidence rows for one labelled set."""
    clusterer = StoryClusterer()
    out: list[tuple[tuple[float, ...], int]] = []
    for article, gold in rows:
        verdict = clusterer.assign(article, place_in=gold)
        out.extend((features, int(story == gold)) for story, features in verdict.evidence)
    return out


def fit_logistic(rows: Sequence[Row], l2: float = 1e-2, rounds: int = 60) -> list[float]:
    """Weighted L2 logistic regression by Newton's method; returns weights then bias."""
    n = len(FEATURES) + 1
    w = [0.0] * n
    for _ in range(rounds):
        grad = [l2 * x for x in w]
        hess = [[l2 if i == j else 0.0 for j in range(n)] for i in range(n)]
        for features, label, weight in rows:
            x = (*features, 1.0)
            z = max(-30.0, min(30.0, sum(a * b for a, b in zip(w, x, strict=True))))
            p = 1.0 / (1.0 + math.exp(-z))
            r = weight * p * (1.0 - p)
            for i in range(n):
                grad[i] += weight * (p - label) * x[i]
                for j in range(i + 1):
                    hess[i][j] += r * x[i] * x[j]
        for i in range(n):
            for j in range(i):
                hess[j][i] = hess[i][j]
        step = solve(hess, grad)
        w = [a - b for a, b in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-7:
            break
    return w


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gauss-Jordan elimination with partial pivoting (the matrix is tiny)."""
    n = len(rhs)
    m = [[*row, b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[col][col]:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] if m[i][i] else 0.0 for i in range(n)]


def evaluate(rows: Sequence[Labelled], model: StoryModel) -> tuple[float, float, float]:
    """B3 of the online clusterer with this model."""
    clusterer = StoryClusterer(DedupConfig(model=model))
    pred = [clusterer.assign(article).story_id for article, _ in rows]
    return score_b3(pred, [gold for _, gold in rows])


def main(argv: Sequence[str] | None = None) -> None:
    """Fit, pick the threshold, print the figures, optionally write the model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--seeds", default="0,1,2", help="arrival orders for sets without times")
    parser.add_argument("--min-precision", type=float, default=0.96)
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    sets: list[tuple[str, list[Labelled]]] = []
    for path in args.data:
        for seed in seeds if path.suffix != ".csv" else [0]:
            sets.append((f"{path.name}#{seed}", load_set(path, seed)))
    rows: list[Row] = []
    for name, labelled in sets:
        found = collect_rows(labelled)
        if not found:
            print(f"{name}: no full-text pairs (headline-only set): the model does not apply")
            continue
        weight = 1000.0 / len(found)
        rows.extend((f, y, weight) for f, y in found)
        print(f"{name}: {len(found)} pairs, {sum(y for _, y in found)} same-story")
    w = fit_logistic(rows)
    weights, bias = tuple(w[:-1]), w[-1]
    print("weights:", ", ".join(f"{n}={v:.2f}" for n, v in zip(FEATURES, weights, strict=True)))
    print(f"bias={bias:.2f}")
    chosen = None
    for step in range(50, 100):
        model = StoryModel(weights, bias, step / 100)
        scores = [evaluate(labelled, model) for _, labelled in sets]
        worst_p = min(s[0] for s in scores)
        mean_f1 = sum(s[2] for s in scores) / len(scores)
        print(f"threshold {step / 100:.2f}: worst P {worst_p:.3f}, mean F1 {mean_f1:.3f}")
        if worst_p >= args.min_precision:
            chosen = model
            break
    if chosen is None:
        raise SystemExit(f"no threshold keeps precision >= {args.min_precision} on every set")
    print(f"chosen threshold {chosen.threshold:.2f}")
    if args.write:
        MODEL_PATH.write_text(chosen.to_json(), encoding="utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
