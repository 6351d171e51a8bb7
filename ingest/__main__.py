"""``python -m ingest``: run one ingest poller (what ``wirewatch ingest`` runs)."""

from __future__ import annotations

from ingest.cli import run_ingest
from wirewatch.logs import setup_logging

if __name__ == "__main__":
    setup_logging()
    run_ingest()
