"""Rule-matching throughput: the compiled RuleBook against a naive per-rule regex loop.

Usage::

    .venv/bin/python bench/rules_bench.py [--articles 2000] [--rules 10,100,1000]
                                          [--feeds DIR] [--seed 1] [--body-chars 20000]

Articles are ~1,500 characters of title and summary; ``--body-chars N`` gives
each one a full-text body of N characters too (20,000 is ingest's cap), which
the rules search by default. By default they are generated from a Zipf-
distributed vocabulary (deterministic per seed); ``--feeds DIR`` instead
builds them from the titles and summaries of real RSS/Atom files under DIR
(e.g. /work/shared/data/feeds/news). Rules are generated like real watch
rules: specific terms, phrases, prefix wildcards, NEAR, NOT, field scopes and
the odd regex, drawn mostly from the vocabulary's middle and tail.

Baseline, in the same run: every rule's leaves as ``\\b``-anchored regexes over
the folded title, summary and body, evaluated rule by rule with no prefilter (what a
first implementation would do). Both must fire the same rules on every
article; mismatches are counted and printed.

Figures are articles per CPU-second of this process, best of repeated passes
over 200 articles (the baseline over fewer at 1,000 rules), so that other load
on a shared machine does not leak into them. ``fired/article`` is how many rules
fire per article on average: a rule book that fires on everything is no test.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.rules.model import Rule, RuleBook
from processors.rules.query import And, Near, Node, Not, Or, Regex, Words, fold, parse_query
from wirewatch.events import Article

TEXT_CHARS = 1500
_SYLLABLES = ["ka", "lo", "mi", "re", "su", "ta", "ne", "vo", "ri", "da", "pe"]
_SYLLABLES += ["lu", "mo", "sa", "ti", "ber", "gan", "dor", "fel", "win", "cor", "tus"]


# --- corpus ------------------------------------------------------------------------


def synthetic_vocab(rng: random.Random, size: int = 30_000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words, key=lambda w: (len(w), w))  # short words are the common ones


def _sentences(rng: random.Random, vocab: list[str], weights: list[float], chars: int) -> str:
    words = rng.choices(vocab, weights, k=chars // 4 + 20)
    text = " ".join(words)
    cut = text.rfind(" ", 0, chars)
    return re.sub(r"((?:\S+ ){12})", r"\1. ", text[:cut]).capitalize()


def synthetic_articles(
    rng: random.Random, vocab: list[str], count: int, body_chars: int = 0
) -> list[Article]:
    # Zipf's law with exponent 1, as measured for English news text.
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    out = []
    for index in range(count):
        words = rng.choices(vocab, weights, k=320)
        text = " ".join(words)
        cut = text.rfind(" ", 0, TEXT_CHARS)
        sentences = re.sub(r"((?:\S+ ){12})", r"\1. ", text[:cut]).capitalize()
        body = _sentences(rng, vocab, weights, body_chars) if body_chars else ""
        title = " ".join(words[-9:]).title()
        out.append(Article(id=f"s{index}", title=title, summary=sentences, body=body))
    return out


def feed_articles(directory: Path, count: int) -> tuple[list[Article], list[str]]:
    import feedparser

    from processors.rules.backtest import strip_html

    pieces: list[str] = []
    titles: list[str] = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".xml", ".rss", ".atom", ".rdf", ""):
            for entry in feedparser.parse(str(path)).entries:
                titles.append(strip_html(str(entry.get("title", ""))))
                pieces.append(strip_html(str(entry.get("summary", ""))))
    if not pieces:
        raise SystemExit(f"no feed entries under {directory}")
    out = []
    for index in range(count):
        text, k = "", index
        while len(text) < TEXT_CHARS:  # glue consecutive entries up to ~1,500 chars
            text += " " + titles[k % len(titles)] + ". " + pieces[k % len(pieces)]
            k += 1
        out.append(
            Article(id=f"f{index}", title=titles[index % len(titles)], summary=text[:TEXT_CHARS])
        )
    counts: dict[str, int] = {}
    for article in out[:500]:
        for word in re.findall(r"\w+", fold(article.summary)):
            counts[word] = counts.get(word, 0) + 1
    vocab = sorted((w for w in counts if len(w) > 2), key=lambda w: -counts[w])
    return out, vocab


# --- rules ---------------------------------------------------------------------------


def generate_rules(rng: random.Random, vocab: list[str], count: int) -> list[Rule]:
    # Ranks as in a 30,000-word news vocabulary: watch terms ("tariff",
    # "extradition") sit in the thousands, 5% are everyday words from the hundreds.
    common, specific = vocab[100:1000], vocab[1000:]

    def word() -> str:
        # Watch rules name specific things; a common word turns up now and then.
        return rng.choice(common if rng.random() < 0.05 else specific)

    def prefix() -> str:
        stem = word()
        return (stem[: max(3, len(stem) - 2)] + "*") if len(stem) > 4 else stem

    def phrase() -> str:
        return f'"{word()} {word()}"'

    def alts(n: int) -> str:
        return "(" + " OR ".join(rng.choice([word, prefix, phrase])() for _ in range(n)) + ")"

    shapes: list[Callable[[], str]] = [
        lambda: f"{alts(3)} AND {alts(2)}",
        lambda: f"{word()} NEAR/{rng.randint(3, 10)} {alts(2)}",
        lambda: f"{phrase()} {prefix()} -{word()}",
        lambda: f"{alts(4)} {word()} NOT ({word()} OR {word()})",
        lambda: f"title:{word()} OR ({prefix()} NEAR/5 {word()})",
        lambda: f"{alts(2)} NEAR/8 {alts(3)} -({word()} NEAR/3 {prefix()})",
        lambda: f"{word()} {word()} {word()}",
    ]
    rules = []
    for index in range(count):
        query = rng.choice(shapes)()
        if index % 50 == 49:  # the regex escape hatch, refining a term query
            query = f"{alts(2)} /\\b{word()}\\W+\\d+/"
        if index % 500 == 499:  # a regex-only rule: no literal, evaluated on every article
            query = f"/\\b{word()}\\W+\\d+/"
        rules.append(Rule(id=f"r{index}", query=query))
    return rules


# --- naive baseline ------------------------------------------------------------------


def _leaf_pattern(node: Words) -> str:
    body = r"\W+".join(re.escape(w) for w in node.words)
    return r"\b" + body + (r"\w*" if node.prefix else r"\b")


def _near_pattern(node: Node) -> str:
    if isinstance(node, Words):
        return _leaf_pattern(node)
    if isinstance(node, Or):
        return "(?:" + "|".join(_near_pattern(c) for c in node.children) + ")"
    raise ValueError("the generator only puts words and OR-groups under NEAR")


Evaluator = Callable[[dict[str, str]], bool]


def compile_naive(node: Node, scope: tuple[str, ...]) -> Evaluator:
    """One regex per leaf, evaluated per rule: the no-prefilter baseline."""
    if isinstance(node, Words | Regex):
        pattern = re.compile(
            _leaf_pattern(node) if isinstance(node, Words) else node.pattern, re.IGNORECASE
        )
        fields = (node.field,) if node.field else scope
        return lambda texts: any(pattern.search(texts[f]) for f in fields)
    if isinstance(node, Near):
        a, b, n = _near_pattern(node.left), _near_pattern(node.right), node.distance
        gap = rf"\W+(?:\w+\W+){{0,{n}}}?"
        near = re.compile(f"(?:{a}){gap}(?:{b})|(?:{b}){gap}(?:{a})")
        return lambda texts: any(near.search(texts[f]) for f in scope)
    if isinstance(node, Not):
        inner = compile_naive(node.child, scope)
        return lambda texts: not inner(texts)
    children = [compile_naive(c, scope) for c in node.children]
    if isinstance(node, And):
        return lambda texts: all(c(texts) for c in children)
    return lambda texts: any(c(texts) for c in children)


def naive_match(rules: list[tuple[str, Evaluator]], article: Article) -> set[str]:
    """The rule ids whose evaluator accepts ``article``."""
    texts = {
        "title": fold(article.title),
        "summary": fold(article.summary),
        "body": fold(article.body),
    }
    return {rule_id for rule_id, evaluate in rules if evaluate(texts)}


# --- measurement -----------------------------------------------------------------------


def measure(func: Callable[[Article], object], articles: list[Article], budget_s: float) -> float:
    """Articles per CPU-second: the best of repeated passes over ``articles``.

    CPU time of this process, best pass (like ``timeit``): on a shared machine
    the other passes measure the neighbours as much as the code.
    """
    best, spent = 0.0, 0.0
    while spent < budget_s or best == 0.0:
        start = time.process_time()
        for article in articles:
            func(article)
        elapsed = max(time.process_time() - start, 1e-9)
        best, spent = max(best, len(articles) / elapsed), spent + elapsed
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rules", default="10,100,1000")
    parser.add_argument("--feeds", type=Path, help="build articles from real feeds under DIR")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per measurement")
    parser.add_argument(
        "--body-chars", type=int, default=0, help="give every article a body this long"
    )
    args = parser.parse_args()

    if args.body_chars and args.feeds:
        raise SystemExit("--body-chars goes with synthetic articles only")
    rng = random.Random(args.seed)
    if args.feeds:
        articles, vocab = feed_articles(args.feeds, args.articles)
        corpus = f"real feed text from {args.feeds}"
    else:
        vocab = synthetic_vocab(rng)
        articles = synthetic_articles(rng, vocab, args.articles, args.body_chars)
        corpus = "synthetic Zipf text"
    mean_chars = sum(len(a.title) + len(a.summary) for a in articles) / len(articles)
    mean_body = sum(len(a.body) for a in articles) / len(articles)
    print(
        f"{len(articles)} articles ({corpus}), mean {mean_chars:.0f} chars of title and "
        f"summary, {mean_body:.0f} of body"
    )
    print("articles per CPU-second of one core (best pass); baseline measured in the same run")
    print()
    header = (
        f"{'rules':>6} {'compiled art/s':>15} {'naive regex art/s':>18} {'speed-up':>9} "
        f"{'fired/article':>14} {'mismatches':>12}"
    )
    print(header)
    print("-" * len(header))
    for count in (int(x) for x in args.rules.split(",")):
        rules = generate_rules(random.Random(args.seed + count), vocab, count)
        book = RuleBook(rules)
        naive = [(r.id, compile_naive(parse_query(r.query), r.scope)) for r in rules]
        fast = measure(book.match, articles[:200], args.budget)
        # The baseline is slow at 1,000 rules: measure it on a prefix of the corpus.
        sample = articles[: max(20, min(200, 20_000 // max(count, 1)))]
        slow = measure(partial(naive_match, naive), sample, args.budget)
        fired = mismatches = 0
        # Agreement is checked on the whole corpus, not only the timed slice.
        checked = articles if count <= 100 else articles[:400]
        for article in checked:
            got = {m.rule_id for m in book.match(article)}
            fired += len(got)
            mismatches += got != naive_match(naive, article)
        print(
            f"{count:>6} {fast:>15,.0f} {slow:>18,.0f} {fast / slow:>8.1f}x "
            f"{fired / len(checked):>14.2f} {mismatches:>7}/{len(checked)}"
        )


if __name__ == "__main__":
    main()
