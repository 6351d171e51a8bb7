"""Story-clustering quality: B3 precision/recall/F1 against gold story labels.

Usage::

    .venv/bin/python bench/dedup_eval.py DATA [--gold-field story] [--limit N] [--copies]

DATA is either the UCI News Aggregator CSV (columns ID, TITLE, URL, PUBLISHER,
CATEGORY, STORY, HOSTNAME, TIMESTAMP in ms; gold = STORY) or a JSONL file in the
``wirewatch replay`` input form (id, title, summary, url, source, published)
plus a gold field. Articles are processed in time order. Three baselines run
in the same invocation: exact title, greedy (leader) rapidfuzz token_set_ratio
>= 60 against cluster seeds, and online TF-IDF cosine >= 0.2 against cluster
seeds. ``--copies`` also adds perturbed near-identical copies of every
article and reports how many are flagged ``duplicate_of``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process, utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.stories.clusterer import DedupConfig, StoryClusterer
from wirewatch.events import Article

Labelled = tuple[Article, str]
_WORDS = re.compile(r"\w+")


def load_uci(path: Path) -> list[Labelled]:
    """Read the UCI News Aggregator CSV into articles (no summaries) and gold stories."""
    rows: list[Labelled] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            published = datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, UTC)
            article = Article(
                id=row["ID"],
                title=row["TITLE"],
                url=row["URL"],
                source=row["PUBLISHER"],
                published=published,
                fetched_at=published,
            )
            rows.append((article, row["STORY"]))
    return rows


def load_jsonl(path: Path, gold_field: str) -> list[Labelled]:
    """Read replay-form JSONL with a gold label per line."""
    from processors.replay import parse_article_line

    rows: list[Labelled] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            data = json.loads(line)
            if gold_field not in data:
                raise SystemExit(f"{path}:{lineno}: no gold field {gold_field!r}")
            rows.append((parse_article_line(line, f"{path}:{lineno}"), str(data[gold_field])))
    return rows


def score_b3(pred: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a predicted clustering against gold."""
    pair = Counter(zip(pred, gold, strict=True))
    pred_size = Counter(pred)
    gold_size = Counter(gold)
    n = len(pred)
    precision = sum(c * c / pred_size[p] for (p, _), c in pair.items()) / n
    recall = sum(c * c / gold_size[g] for (_, g), c in pair.items()) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def cluster_exact_title(articles: Sequence[Article]) -> list[str]:
    """Baseline: same folded title, same cluster."""
    return [a.title.strip().lower() for a in articles]


def cluster_greedy_fuzz(articles: Sequence[Article], threshold: float = 60.0) -> list[str]:
    """Baseline: join the best-matching cluster seed if token_set_ratio >= threshold.

    Greedy leader clustering: each cluster is represented by its first title;
    a title that matches no seed well enough becomes a new seed.
    """
    seeds: list[str] = []
    labels: list[str] = []
    for article in articles:
        title = utils.default_process(article.title)
        best = process.extractOne(title, seeds, scorer=fuzz.token_set_ratio, processor=None)
        if best is not None and best[1] >= threshold:
            labels.append(str(best[2]))
        else:
            labels.append(str(len(seeds)))
            seeds.append(title)
    return labels


def cluster_tfidf(articles: Sequence[Article], threshold: float = 0.2) -> list[str]:
    """Baseline: online TF-IDF; join the most similar cluster seed if cosine >= threshold.

    Document frequencies grow as articles arrive (smoothed idf); seeds are
    re-weighted with the current idf at every comparison.
    """
    df: Counter[str] = Counter()
    seeds: list[Counter[str]] = []
    postings: dict[str, list[int]] = defaultdict(list)
    labels: list[str] = []
    for n, article in enumerate(articles, 1):
        tf = Counter(_WORDS.findall(f"{article.title} {article.summary}".lower()))
        df.update(tf.keys())

        def idf(term: str, n: int = n) -> float:
            return math.log((1 + n) / (1 + df[term])) + 1

        q = {t: c * idf(t) for t, c in tf.items()}
        q_norm = math.sqrt(sum(v * v for v in q.values())) or 1.0
        best, best_score = -1, 0.0
        for k in {k for t in q for k in postings[t]}:
            seed = {t: c * idf(t) for t, c in seeds[k].items()}
            norm = math.sqrt(sum(v * v for v in seed.values())) or 1.0
            score = sum(v * seed.get(t, 0.0) for t, v in q.items()) / (q_norm * norm)
            if score > best_score:
                best, best_score = k, score
        if best >= 0 and best_score >= threshold:
            labels.append(str(best))
        else:
            labels.append(str(len(seeds)))
            for t in tf:
                postings[t].append(len(seeds))
            seeds.append(tf)
    return labels


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


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evaluation and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--gold-field", default="story")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--copies", action="store_true", help="also run the synthetic copy check")
    parser.add_argument("--story-threshold", type=float, default=DedupConfig.story_threshold)
    parser.add_argument(
        "--duplicate-threshold", type=float, default=DedupConfig.duplicate_threshold
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override any DedupConfig field, e.g. --set signature_specificity=0.9",
    )
    args = parser.parse_args(argv)
    if args.data.suffix == ".csv":
        rows = load_uci(args.data)
    else:
        rows = load_jsonl(args.data, args.gold_field)
    rows.sort(key=lambda r: r[0].published)
    if args.limit:
        rows = rows[: args.limit]
    articles = [a for a, _ in rows]
    gold = [g for _, g in rows]
    config = parse_overrides(
        DedupConfig(
            story_threshold=args.story_threshold, duplicate_threshold=args.duplicate_threshold
        ),
        args.set,
    )
    methods: list[tuple[str, Callable[[Sequence[Article]], list[str]]]] = [
        ("exact title (baseline)", cluster_exact_title),
        ("greedy token_set_ratio>=60 (baseline)", cluster_greedy_fuzz),
        ("online TF-IDF cosine>=0.2 (baseline)", cluster_tfidf),
        ("wirewatch StoryClusterer", lambda arts: cluster_wirewatch(arts, config)),
    ]
    print(f"{args.data.name}: {len(rows)} articles, {len(set(gold))} gold stories")
    print(f"{'method':40s} {'B3 P':>6s} {'B3 R':>6s} {'F1':>6s} {'clusters':>8s} {'secs':>6s}")
    for name, method in methods:
        start = time.perf_counter()
        pred = method(articles)
        secs = time.perf_counter() - start
        p, r, f1 = score_b3(pred, gold)
        print(f"{name:40s} {p:6.3f} {r:6.3f} {f1:6.3f} {len(set(pred)):8d} {secs:6.1f}")
    if args.copies:
        print(check_copies(rows, config))


if __name__ == "__main__":
    main()
