"""The Faust runtime: the app, its topics, tables (in RocksDB) and agents.

Everything here is adapter code around :mod:`processors.pipeline`; the
decisions themselves live in the pure core.
"""
