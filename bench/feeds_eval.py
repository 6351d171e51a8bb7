"""Run the ingest parser over a corpus of real and malformed feeds.

    python bench/feeds_eval.py /work/shared/data/feeds [--timeout 10]

Every file is parsed in a worker process with a per-file time bound (a hang
kills and replaces the worker and is counted, never waited out). Prints files
parsed, entries kept, files with problems, feeds/s and entries/s for
``ingest.feeds.parse_feed`` (parse + normalisation), and the same figures for a
baseline measured in the same run: bare ``feedparser.parse`` with no
normalisation.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _worker(conn: Connection) -> None:
    import feedparser

    stock_parsers = list(feedparser.api.PREFERRED_XML_PARSERS)
    from ingest.feeds import parse_feed  # installs ingest.safexml as feedparser's SAX driver

    safe_parsers = list(feedparser.api.PREFERRED_XML_PARSERS)

    while True:
        job = conn.recv()
        if job is None:
            return
        mode, path = job
        data = Path(path).read_bytes()
        started = time.perf_counter()
        try:
            if mode == "wirewatch":
                feedparser.api.PREFERRED_XML_PARSERS[:] = safe_parsers
                result = parse_feed(data, feed_url=f"https://bench.invalid/{Path(path).name}")
                out = (True, result.ok, len(result.entries), len(result.problems), result.problems)
            else:
                # Same inputs as parse_feed gets (base URL, content type), default options.
                headers = {
                    "content-location": f"https://bench.invalid/{Path(path).name}",
                    "content-type": "application/xml",
                }
                # The baseline is stock feedparser, SAX driver included.
                feedparser.api.PREFERRED_XML_PARSERS[:] = stock_parsers
                parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
                ok = bool(parsed.get("version") or parsed.get("entries"))
                out = (True, ok, len(parsed.entries), int(bool(parsed.bozo)), [])
        except Exception as exc:  # a crash is a finding, not the end of the run
            out = (False, False, 0, 1, [f"CRASH {type(exc).__name__}: {exc}"])
        conn.send((*out, time.perf_counter() - started))


@dataclass
class Tally:
    files: int = 0
    readable: int = 0
    entries: int = 0
    with_problems: int = 0
    crashes: int = 0
    timeouts: int = 0
    slowest: tuple[float, str] = (0.0, "")
    seconds: float = 0.0
    problem_kinds: Counter[str] = field(default_factory=Counter)
    per_category: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


class _Pool:
    """One worker process that can be killed and replaced when a file hangs it."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()

    def run(self, mode: str, path: Path, timeout: float) -> tuple[object, ...] | None:
        self.conn.send((mode, str(path)))
        if self.conn.poll(timeout):
            return tuple(self.conn.recv())
        self.proc.kill()
        self.proc.join()
        self._start()
        return None

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(5)


def evaluate(files: list[Path], root: Path, mode: str, timeout: float) -> Tally:
    tally = Tally()
    pool = _Pool()
    try:
        for path in files:
            tally.files += 1
            category = path.relative_to(root).parts[0]
            out = pool.run(mode, path, timeout)
            if out is None:
                tally.timeouts += 1
                print(f"  TIMEOUT ({mode}) {path}")
                continue
            crashed_not, ok, entries, n_problems, problems, elapsed = out
            tally.seconds += float(elapsed)  # type: ignore[arg-type]
            if float(elapsed) > tally.slowest[0]:  # type: ignore[arg-type]
                tally.slowest = (float(elapsed), str(path.relative_to(root)))  # type: ignore[arg-type]
            if not crashed_not:
                tally.crashes += 1
                print(f"  {problems[0]} ({mode}) {path}")  # type: ignore[index]
            tally.readable += int(bool(ok))
            tally.entries += int(entries)  # type: ignore[call-overload]
            tally.with_problems += int(bool(n_problems))
            tally.per_category[category][0] += 1
            tally.per_category[category][1] += int(entries)  # type: ignore[call-overload]
            for problem in problems:  # type: ignore[attr-defined]
                tally.problem_kinds[str(problem).split(":", 1)[0]] += 1
    finally:
        pool.close()
    return tally


def _report(name: str, tally: Tally, wall: float) -> None:
    rate = tally.files / tally.seconds if tally.seconds else 0.0
    erate = tally.entries / tally.seconds if tally.seconds else 0.0
    print(f"\n== {name}")
    print(f"files parsed        {tally.files}  (readable as a feed: {tally.readable})")
    print(f"entries kept        {tally.entries}")
    print(f"files with problems {tally.with_problems}")
    print(f"crashes / timeouts  {tally.crashes} / {tally.timeouts}")
    print(f"feeds/s             {rate:,.1f}   (parse time {tally.seconds:.2f}s, wall {wall:.2f}s)")
    print(f"entries/s           {erate:,.0f}")
    print(f"slowest file        {tally.slowest[0]:.2f}s  {tally.slowest[1]}")
    for category, (n, entries) in sorted(tally.per_category.items()):
        print(f"  {category:22s} files {n:4d}  entries {entries:6d}")
    if tally.problem_kinds:
        kinds = ", ".join(f"{k} {n}" for k, n in tally.problem_kinds.most_common(8))
        print(f"problem kinds       {kinds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", type=Path)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per file")
    args = parser.parse_args()
    root: Path = args.root
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")
    if not files:
        print(f"no files under {root}")
        return 2
    results = {}
    for mode in ("wirewatch", "baseline"):
        started = time.perf_counter()
        results[mode] = evaluate(files, root, mode, args.timeout)
        _report(
            "wirewatch parse_feed (feedparser + normalisation)"
            if mode == "wirewatch"
            else "baseline: bare feedparser.parse, no normalisation",
            results[mode],
            time.perf_counter() - started,
        )
    ours = results["wirewatch"]
    failed = ours.crashes + ours.timeouts
    print(f"\nresult: {'OK' if not failed else 'FAILED'} - {failed} crashes or hangs in parse_feed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
