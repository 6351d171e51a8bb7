"""wirewatch ingest stage."""
