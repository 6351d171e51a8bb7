"""Fit the same-story models on labelled sets and write them as data.

Usage::

    .venv/bin/python bench/fit_clusterer.py DATA [DATA ...] [--seeds 0,1,2] [--write]

Each DATA is a labelled story set (see ``bench/story_sets.py``). The clusterer
runs through every set with the gold story forced (``assign(place_in=...)``),
so each article is compared with the stories as they really stood; every
(article, candidate story) pair becomes a training row of its kind (full text
or headline only), labelled by whether the story is the article's gold story.
A weighted logistic regression per kind (each set weighs the same, whatever
its size) gives the weights. Each threshold is then the lowest probability at
which the online clusterer keeps mean B3 precision at or above
``--min-precision`` over the sets (and arrival orders) mostly of that kind:
precision comes first. ``--write`` stores both in ``processors/stories/model.json``.
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
from processors.stories.model import FEATURES, MODEL_PATH, Kind, StoryModel, StoryModels

Row = tuple[tuple[float, ...], int, float]
Example = tuple[tuple[float, ...], int]


def never(kind: Kind) -> StoryModel:
    """A model of that kind whose threshold no probability reaches."""
    return StoryModel((0.0,) * len(FEATURES[kind]), 0.0, 2.0)


def collect_rows(rows: Sequence[Labelled]) -> dict[Kind, list[Example]]:
    """Teacher-forced evidence rows of one labelled set, by kind."""
    clusterer = StoryClusterer()
    out: dict[Kind, list[Example]] = {"full_text": [], "headline": []}
    for article, gold in rows:
        verdict = clusterer.assign(article, place_in=gold)
        for story, features in verdict.evidence:
            kind: Kind = "full_text" if len(features) == len(FEATURES["full_text"]) else "headline"
            out[kind].append((features, int(story == gold)))
    return out


def fit_logistic(rows: Sequence[Row], l2: float = 1e-2, rounds: int = 60) -> list[float]:
    """Weighted L2 logistic regression by Newton's method; returns weights then bias."""
    n = len(rows[0][0]) + 1
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


def evaluate(rows: Sequence[Labelled], models: StoryModels) -> tuple[float, float, float]:
    """B3 of the online clusterer with these models."""
    clusterer = StoryClusterer(DedupConfig(models=models))
    pred = [clusterer.assign(article).story_id for article, _ in rows]
    return score_b3(pred, [gold for _, gold in rows])


def pick_threshold(
    kind: Kind,
    fitted: StoryModel,
    other: StoryModels,
    sets: Sequence[tuple[str, list[Labelled]]],
    min_precision: float,
) -> StoryModel | None:
    """The lowest threshold (0.01 steps) keeping mean B3 precision; None if none.

    The mean over sets and arrival orders, not the worst: one order's precision
    can sit below the bar from the headline rules alone, whatever the model does.
    """

    def worst(threshold: float) -> float:
        model = StoryModel(fitted.weights, fitted.bias, threshold)
        models = (
            StoryModels(model, other.headline)
            if kind == "full_text"
            else StoryModels(other.full_text, model)
        )
        scores = [evaluate(labelled, models) for _, labelled in sets]
        mean_p = sum(s[0] for s in scores) / len(scores)
        mean_f1 = sum(s[2] for s in scores) / len(scores)
        low = min(s[0] for s in scores)
        print(
            f"  {kind} threshold {threshold:.2f}: mean P {mean_p:.3f} (worst {low:.3f}), "
            f"mean F1 {mean_f1:.3f}"
        )
        return mean_p

    # Coarse steps up, then fine steps back down: precision rises with the threshold.
    steps = [*range(50, 100, 5), 97, 99]
    coarse = next((t / 100 for t in steps if worst(t / 100) >= min_precision), None)
    if coarse is None:
        return None
    best = coarse
    for t in range(round(coarse * 100) - 1, round(coarse * 100) - 5, -1):
        if t < 50 or worst(t / 100) < min_precision:
            break
        best = t / 100
    return StoryModel(fitted.weights, fitted.bias, best)


def main(argv: Sequence[str] | None = None) -> None:
    """Fit, pick the thresholds, print the figures, optionally write the models."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--seeds", default="0,1,2", help="arrival orders for sets without times")
    parser.add_argument("--min-precision", type=float, default=0.955)
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    sets: list[tuple[str, list[Labelled]]] = []
    for path in args.data:
        for seed in seeds if path.suffix != ".csv" else [0]:
            sets.append((f"{path.name}#{seed}", load_set(path, seed)))
    rows: dict[Kind, list[Row]] = {"full_text": [], "headline": []}
    applies: dict[Kind, list[tuple[str, list[Labelled]]]] = {"full_text": [], "headline": []}
    for name, labelled in sets:
        by_kind = collect_rows(labelled)
        for kind, found in by_kind.items():
            positives = sum(y for _, y in found)
            print(f"{name}: {kind}: {len(found)} pairs, {positives} same-story")
            if positives >= 20:
                weight = 1000.0 / len(found)
                rows[kind].extend((f, y, weight) for f, y in found)
            # The threshold is judged on the sets mostly of this kind.
            if 2 * len(found) > sum(len(v) for v in by_kind.values()):
                applies[kind].append((name, labelled))
    chosen = StoryModels(never("full_text"), never("headline"))
    for kind in ("headline", "full_text"):
        if not rows[kind]:
            raise SystemExit(f"no {kind} pairs: give at least one set of that shape")
        w = fit_logistic(rows[kind])
        fitted = StoryModel(tuple(w[:-1]), w[-1], 2.0)
        shown = ", ".join(f"{n}={v:.2f}" for n, v in zip(FEATURES[kind], w, strict=False))
        print(f"{kind} weights: {shown}, bias={w[-1]:.2f}")
        model = pick_threshold(kind, fitted, chosen, applies[kind], args.min_precision)
        if model is None:
            raise SystemExit(f"no {kind} threshold keeps precision >= {args.min_precision}")
        print(f"{kind}: chosen threshold {model.threshold:.2f}")
        if kind == "headline":
            chosen = StoryModels(chosen.full_text, model)
        else:
            chosen = StoryModels(model, chosen.headline)
    if args.write:
        MODEL_PATH.write_text(chosen.to_json(), encoding="utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
