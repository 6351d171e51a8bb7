"""TLS and SASL for the local broker's client listener (tests of wirewatch's security settings).

- SASL users are accepted with PLAIN (a JAAS line in ``server.properties``) and
  with SCRAM-SHA-256/512 (credentials written into the KRaft metadata when
  storage is formatted, ``kafka-storage format --add-scram``).
- TLS takes PEM files: the server's key and certificate chain in one file, and
  the CA that signed it (the broker checks its own certificate through it too).

The listener is named after its protocol (``SASL_PLAINTEXT``, ``SSL``, ``SASL_SSL``)
and also carries the broker's traffic to itself, as a user of its own with a
random password; the controller listener stays plaintext on loopback.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BROKER_USER = "wirewatch-broker"
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
# Names and passwords go into JAAS quoted strings and properties lines unescaped.
_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


@dataclass(frozen=True)
class ServerTls:
    keystore: Path  # PEM: the broker's unencrypted private key, then its certificate chain
    ca: Path  # PEM: the CA that signed it


def protocol(users: Mapping[str, str], tls: ServerTls | None) -> str:
    """The client listener's security protocol."""
    return ("SASL_" if users else "") + ("SSL" if tls else "PLAINTEXT")


def check_users(users: Mapping[str, str]) -> None:
    """Raise ValueError unless every name and password is safe to write unquoted."""
    for name, password in users.items():
        if not (_SAFE.fullmatch(name) and _SAFE.fullmatch(password)) or name == BROKER_USER:
            raise ValueError(
                f"SASL user {name!r}: names and passwords may use letters, digits and ._~- "
                f"only, and {BROKER_USER!r} is the broker's own"
            )


def listener_properties(
    users: Mapping[str, str], tls: ServerTls | None, host: str, port: int, controller_port: int
) -> dict[str, str]:
    """``server.properties`` entries for a secured client listener on ``host:port``."""
    check_users(users)
    name = protocol(users, tls)
    props = {
        "listeners": f"{name}://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"{name}://{host}:{port}",
        "listener.security.protocol.map": f"{name}:{name},CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": name,
    }
    if tls:
        props |= {
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca),
        }
    if users:
        props |= _sasl_properties(users, f"listener.name.{name.lower()}")
    return props


def _sasl_properties(users: Mapping[str, str], prefix: str) -> dict[str, str]:
    broker_password = secrets.token_urlsafe(24)
    accounts = {BROKER_USER: broker_password, **users}
    plain = " ".join(
        [
            "org.apache.kafka.common.security.plain.PlainLoginModule required",
            f'username="{BROKER_USER}" password="{broker_password}"',
            *(f'user_{name}="{password}"' for name, password in accounts.items()),
        ]
    )
    props = {
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
    check_users(users)
    return [
        f"--add-scram={mechanism}=[name={name},password={password}]"
        for name, password in users.items()
        for mechanism in SCRAM_MECHANISMS
    ]
