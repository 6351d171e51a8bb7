"""Labelled story sets for the clustering evaluation and fit, and how to score them.

Two shapes of data are read through a path argument (nothing is copied into
the repository):

- the UCI News Aggregator CSV (headlines; gold = ``STORY``), in time order;
- ECB+-style JSONL (``doc``, ``event_cluster``, ``first_sentence``, ``text``):
  full-text articles without times. The first sentence is the title and the
  rest the body; the arrival order is a seeded shuffle with one minute
  between articles, so that both events of a topic share the window.

Any other JSONL in the ``wirewatch replay`` form with a gold field also loads.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wirewatch.events import Article

Labelled = tuple[Article, str]
_WORDS = re.compile(r"\w+")


def load_uci(path: Path) -> list[Labelled]:
    """Read the UCI News Aggregator CSV into headline-only articles and gold stories."""
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
    rows.sort(key=lambda r: r[0].published)
    return rows


def load_ecb(path: Path, seed: int) -> list[Labelled]:
    """Read ECB+-style JSONL: first sentence as title, the rest as body, shuffled by seed."""
    rows: list[Labelled] = []
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open(encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh if line.strip()]
    random.Random(seed).shuffle(docs)
    for n, doc in enumerate(docs):
        text, first = str(doc["text"]), str(doc["first_sentence"])
        body = text[len(first) :].strip() if text.startswith(first) else text
        url = str(doc.get("url") or "")
        when = start + timedelta(minutes=n)
        article = Article(
            id=str(doc["doc"]),
            title=first,
            body=body,
            url=url,
            source=url.split("/")[2] if url.count("/") >= 2 else "",
            published=when,
            fetched_at=when,
        )
        rows.append((article, str(doc["event_cluster"])))
    return rows


def load_replay_jsonl(path: Path, gold_field: str) -> list[Labelled]:
    """Read replay-form JSONL with a gold label per line, in time order."""
    from processors.articles_jsonl import parse_article_line

    rows: list[Labelled] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            data = json.loads(line)
            if gold_field not in data:
                raise SystemExit(f"{path}:{lineno}: no gold field {gold_field!r}")
            rows.append((parse_article_line(line, f"{path}:{lineno}"), str(data[gold_field])))
    rows.sort(key=lambda r: r[0].published)
    return rows


def load_set(path: Path, seed: int = 0, gold_field: str = "story") -> list[Labelled]:
    """Load any of the supported shapes, by suffix and first record."""
    if path.suffix == ".csv":
        return load_uci(path)
    with path.open(encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    if "event_cluster" in first and "first_sentence" in first:
        return load_ecb(path, seed)
    return load_replay_jsonl(path, gold_field)


Scores = tuple[float, float, float]  # B3 precision, recall, F1


def mean_of(scores: Sequence[Scores]) -> Scores:
    """Mean B3 P, R and F1 over several runs (arrival orders, slices, halves)."""
    p, r, f1 = (sum(s[i] for s in scores) / len(scores) for i in range(3))
    return p, r, f1


def score_b3(pred: Sequence[str], gold: Sequence[str]) -> Scores:
    """B-cubed precision, recall and F1 of a predicted clustering against gold."""
    pair = Counter(zip(pred, gold, strict=True))
    pred_size = Counter(pred)
    gold_size = Counter(gold)
    n = len(pred)
    precision = sum(c * c / pred_size[p] for (p, _), c in pair.items()) / n
    recall = sum(c * c / gold_size[g] for (_, g), c in pair.items()) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def tfidf_nearest(articles: Sequence[Article]) -> list[tuple[float, int]]:
    """Online TF-IDF: each article's best cosine to one earlier article, and which.

    IDF is over the articles seen so far; the text is the title and the first
    1,500 characters of summary and body. Single link: a threshold on these
    scores gives the clustering (see :func:`tfidf_labels`).
    """
    df: Counter[str] = Counter()
    vectors: list[Counter[str]] = []
    postings: dict[str, list[int]] = defaultdict(list)
    nearest: list[tuple[float, int]] = []
    for n, article in enumerate(articles, 1):
        text = f"{article.summary} {article.body}"[:1500]
        tf = Counter(_WORDS.findall(f"{article.title} {text}".lower()))
        df.update(tf.keys())

        def idf(term: str, n: int = n) -> float:
            return math.log((1 + n) / (1 + df[term])) + 1

        q = {t: c * idf(t) for t, c in tf.items()}
        q_norm = math.sqrt(sum(v * v for v in q.values())) or 1.0
        best, best_score = -1, 0.0
        for k in {k for t in q for k in postings[t]}:
            other = {t: c * idf(t) for t, c in vectors[k].items()}
            norm = math.sqrt(sum(v * v for v in other.values())) or 1.0
            score = sum(v * other.get(t, 0.0) for t, v in q.items()) / (q_norm * norm)
            if score > best_score:
                best, best_score = k, score
        nearest.append((best_score, best))
        for t in tf:
            postings[t].append(n - 1)
        vectors.append(tf)
    return nearest


def tfidf_labels(nearest: Sequence[tuple[float, int]], threshold: float) -> list[str]:
    """Single-link clusters from :func:`tfidf_nearest` at a cosine threshold."""
    labels: list[str] = []
    for i, (score, k) in enumerate(nearest):
        labels.append(labels[k] if k >= 0 and score >= threshold else str(i))
    return labels


def best_tfidf(
    articles: Sequence[Article], gold: Sequence[str], min_precision: float = 0.95
) -> tuple[float, tuple[float, float, float]]:
    """The TF-IDF baseline's threshold (0.01 steps) with the best F1 at the precision floor."""
    nearest = tfidf_nearest(articles)
    best: tuple[float, tuple[float, float, float]] = (1.0, (0.0, 0.0, 0.0))
    for step in range(1, 100):
        threshold = step / 100
        scores = score_b3(tfidf_labels(nearest, threshold), gold)
        if scores[0] >= min_precision and scores[2] > best[1][2]:
            best = (threshold, scores)
    return best
