"""The processing stage: articles in, story events and alert decisions out.

- ``pipeline``: the pure core shared by the stream and ``wirewatch replay``.
- ``rules/``: the watch-rule language, loading and matching.
- ``stories/``: story clustering.
- ``runtime/``: the Faust app that drives the pipeline on Kafka.
"""
