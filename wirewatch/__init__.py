"""wirewatch core: event schemas, settings, Kafka helpers, local broker and CLI."""

__version__ = "0.1.0"
