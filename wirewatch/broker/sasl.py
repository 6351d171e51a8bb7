"""A SASL_PLAINTEXT client listener for the local broker (tests of wirewatch's SASL settings).

Users are accepted with PLAIN (from a JAAS line in ``server.properties``) and with
SCRAM-SHA-256/512 (credentials written into the KRaft metadata when storage is
formatted, ``kafka-storage format --add-scram``). The broker talks to itself over
the same listener as a user of its own with a random password; the controller
listener stays plaintext on loopback.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

LISTENER = "SASL_PLAINTEXT"
BROKER_USER = "wirewatch-broker"
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
# Names and passwords go into JAAS quoted strings and properties lines unescaped.
_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


def check_users(users: Mapping[str, str]) -> None:
    """Raise ValueError unless every name and password is safe to write unquoted."""
    if not users:
        raise ValueError("a SASL listener needs at least one user")
    for name, password in users.items():
        if not (_SAFE.fullmatch(name) and _SAFE.fullmatch(password)) or name == BROKER_USER:
            raise ValueError(
                f"SASL user {name!r}: names and passwords may use letters, digits and ._~- "
                f"only, and {BROKER_USER!r} is the broker's own"
            )


def listener_properties(
    users: Mapping[str, str], host: str, port: int, controller_port: int
) -> dict[str, str]:
    """``server.properties`` entries for a SASL_PLAINTEXT client listener on ``host:port``."""
    check_users(users)
    broker_password = secrets.token_urlsafe(24)
    accounts = {BROKER_USER: broker_password, **users}
    plain = " ".join(
        [
            "org.apache.kafka.common.security.plain.PlainLoginModule required",
            f'username="{BROKER_USER}" password="{broker_password}"',
            *(f'user_{name}="{password}"' for name, password in accounts.items()),
        ]
    )
    prefix = f"listener.name.{LISTENER.lower()}"
    props = {
        "listeners": f"{LISTENER}://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "listener.security.protocol.map": f"{LISTENER}:{LISTENER},CONTROLLER:PLAINTEXT",
        "advertised.listeners": f"{LISTENER}://{host}:{port}",
        "inter.broker.listener.name": LISTENER,
        "sasl.enabled.mechanisms": ",".join(("PLAIN", *SCRAM_MECHANISMS)),
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        f"{prefix}.plain.sasl.jaas.config": plain + ";",
    }
    for mechanism in SCRAM_MECHANISMS:
        props[f"{prefix}.{mechanism.lower()}.sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        )
    return props


def scram_format_args(users: Mapping[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that store each user's SCRAM credentials."""
    if not users:
        return []
    check_users(users)
    return [
        f"--add-scram={mechanism}=[name={name},password={password}]"
        for name, password in users.items()
        for mechanism in SCRAM_MECHANISMS
    ]
