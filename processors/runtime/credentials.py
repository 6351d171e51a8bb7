"""Faust's ``broker_credentials`` from wirewatch's Kafka security settings.

Built from :func:`wirewatch.kafka.client_security`, the same keyword arguments
every plain aiokafka client gets, so Faust's consumer, producer and topic
creation connect exactly as the rest of wirewatch does.
"""

from __future__ import annotations

import faust
from faust.types.auth import CredentialsT

from wirewatch.kafka import client_security
from wirewatch.settings import KafkaSettings


def build_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """``faust.SASLCredentials`` / ``faust.SSLCredentials`` for ``kafka``; None for plaintext."""
    options = client_security(kafka)
    protocol = options["security_protocol"]
    if protocol == "SSL":
        return faust.SSLCredentials(options["ssl_context"])
    if protocol.startswith("SASL_"):
        # Faust derives SASL_SSL from the context's presence (faust/auth.py).
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            mechanism=options["sasl_mechanism"],
            ssl_context=options.get("ssl_context"),
        )
    return None
