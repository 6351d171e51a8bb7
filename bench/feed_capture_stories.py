"""How the clusterer joins real feed entries that have no labels: a check by eye.

Usage::

    .venv/bin/python bench/feed_capture_stories.py DIR [--sample 20] [--seed 3]

Every feed file under DIR is parsed with ingest's parser; every entry becomes an
article with the same time (so all share one window, the hardest case), and the
clusterer runs over them in file order. Printed, for the shipped setting and, in
the same run, for the setting that lets any rule join a story only the
article's own outlet has reported (``own_outlet_joins``): how many entries
joined a story by each rule, and a random sample of the model's joins as
(entry title, matched title, probability), to be judged by eye. No labels exist
for these captures, so no score is printed.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.feeds import parse_feed
from processors.stories.clusterer import DedupConfig, StoryClusterer
from wirewatch.events import Article

_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def read_captures(root: Path) -> list[Article]:
    """Every entry with a title of every feed file under ``root``, at one time."""
    articles: list[Article] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() not in {".xml", ".rss", ".atom", ""}:
            continue
        parsed = parse_feed(path.read_bytes(), fetched_at=_NOW)
        for n, entry in enumerate(parsed.entries):
            if entry.title:
                articles.append(
                    Article(
                        id=f"{path.name}#{n}",
                        title=entry.title,
                        summary=entry.summary,
                        body=entry.body,
                        url=entry.url,
                        source=parsed.title or path.name,
                        published=_NOW,
                        fetched_at=_NOW,
                    )
                )
    return articles


def rule_of(reason: str) -> str:
    """The rule a verdict's reason names."""
    if reason.startswith("new story"):
        return "new story"
    if reason.startswith("copy of"):
        return "copy"
    # Reasons quote article ids (here file names), so match the rule's own words.
    for rule, words in (
        ("model", "full-text model p="),
        ("signature", "signature terms"),
        ("neighbours", "close neighbours"),
        ("title cosine", "title cosine"),
    ):
        if words in reason:
            return rule
    return "pair"


def run(articles: Sequence[Article], config: DedupConfig, sample: int, seed: int) -> None:
    """Cluster the entries and print the rule counts and a sample of model joins."""
    clusterer = StoryClusterer(config)
    titles: dict[str, str] = {}
    rules: Counter[str] = Counter()
    joins: list[tuple[str, str, str]] = []
    for article in articles:
        verdict = clusterer.assign(article)
        titles[article.id] = article.title
        rule = rule_of(verdict.reason)
        rules[rule] += 1
        if rule == "model":
            matched = titles.get(verdict.matched_article or "", "?")
            joins.append((article.title[:60], matched[:60], f"{verdict.similarity}"))
    print("  entries by rule: " + ", ".join(f"{r} {n}" for r, n in rules.most_common()))
    for row in random.Random(seed).sample(joins, min(sample, len(joins))):
        print(f"    {row[0]!r}  ->  {row[1]!r}  (p x 100 = {row[2]})")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the captures and run both settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    articles = read_captures(args.root)
    print(f"{len(articles)} entries under {args.root}")
    for label, config in (
        ("shipped setting", DedupConfig()),
        (
            "any rule may join a one-outlet story (own_outlet_joins)",
            DedupConfig(own_outlet_joins=True),
        ),
    ):
        print(label)
        run(articles, config, args.sample, args.seed)


if __name__ == "__main__":
    main()
