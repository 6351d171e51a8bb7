"""What keeping ``news.raw`` for N days costs on disk, from real feeds' records.

    python bench/raw_retention.py /work/shared/data/feeds/news [--feeds 500] [--per-day 40]

Parses every feed file under the directory with the ingest parser, encodes each
entry as the ``Article`` record ingest produces, and measures the mean record
size raw and gzip-compressed in batches of 50 (the producer compresses with gzip;
Kafka stores batches as sent, plus ~70 bytes of record and batch overhead per
record, counted here). The baseline line is the same estimate without compression.
Items per day per feed is an input (the corpus files are snapshots, not a day).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from ingest.feeds import parse_feed
from wirewatch.events import Article

OVERHEAD = 70  # bytes per record: key length, headers, offsets, batch header share
BATCH = 50


def collect(root: Path) -> list[bytes]:
    records: list[bytes] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parsed = parse_feed(path.read_bytes(), feed_url=f"file://{path.name}")
        for index, entry in enumerate(parsed.entries):
            article = Article(
                id=entry.guid or entry.link or f"{path.name}#{index}",
                title=entry.title,
                summary=entry.summary,
                summary_html=entry.summary_html,
                url=entry.url or entry.link,
                source=parsed.title or path.stem,
                feed_url=f"https://example.invalid/{path.name}",
                guid=entry.guid,
                published=entry.published,
                content_hash=entry.content_hash,
            )
            records.append(article.to_bytes())
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--per-day", type=float, default=40.0, help="new items per feed per day")
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    records = collect(args.corpus)
    if not records:
        raise SystemExit(f"no entries under {args.corpus}")
    raw_mean = sum(map(len, records)) / len(records)
    compressed = sum(
        len(gzip.compress(b"".join(records[i : i + BATCH]))) for i in range(0, len(records), BATCH)
    )
    gz_mean = compressed / len(records)
    per_day = args.feeds * args.per_day
    for label, mean in (("gzip batches", gz_mean), ("baseline, uncompressed", raw_mean)):
        size = (mean + OVERHEAD) * per_day * args.days
        print(
            f"{label:<24} {len(records)} records, mean {mean:,.0f} B/record; "
            f"{args.feeds} feeds x {args.per_day:g}/day x {args.days:g} d = {size / 2**20:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
