"""Settings that hold or guard secrets: Kafka TLS/SASL, and the rule that files hold none.

:class:`wirewatch.settings.KafkaSettings` extends :class:`KafkaSecurity`; the
settings file source calls :func:`refuse_file_secrets` on what it reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class KafkaSecurity(BaseModel):
    """How wirewatch's Kafka clients authenticate and encrypt; part of ``kafka:`` settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # How every client (aiokafka and Faust alike, see wirewatch.kafka.client_security)
    # talks to the broker. SSL files are PEM; without ssl_cafile the system CAs are trusted.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    # Secrets: environment only (WIREWATCH_KAFKA__SASL_PASSWORD, ...); a settings
    # file naming them is refused, and dumps show them masked.
    sasl_password: SecretStr | None = None
    ssl_key_password: SecretStr | None = None

    @model_validator(mode="after")
    def _check_security(self) -> KafkaSecurity:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs kafka.sasl_username and the "
                "password in the environment (WIREWATCH_KAFKA__SASL_PASSWORD)"
            )
        if not sasl and (self.sasl_username or self.sasl_password):
            # Credentials that would silently go unused mean a mistyped protocol.
            raise ValueError(
                f"SASL credentials are set but security_protocol is {self.security_protocol}; "
                "use SASL_PLAINTEXT or SASL_SSL"
            )
        files = self.ssl_cafile or self.ssl_certfile or self.ssl_keyfile
        if files and not self.security_protocol.endswith("SSL"):
            raise ValueError(
                f"SSL files are set but security_protocol is {self.security_protocol}; "
                "use SSL or SASL_SSL"
            )
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("kafka.ssl_keyfile needs kafka.ssl_certfile")
        return self


def refuse_file_secrets(
    path: Path, data: dict[str, Any], model: type[BaseModel], at: tuple[str, ...] = ()
) -> None:
    """Raise if ``data`` (read from ``path``) sets any SecretStr field of ``model``.

    Files get copied, committed and pasted into bug reports; secrets stay in
    the environment.
    """
    for name, field in model.model_fields.items():
        if data.get(name) is None:
            continue  # absent, or null as in a dump of the defaults: no secret there
        types = (field.annotation, *get_args(field.annotation))
        where = (*at, name)
        if SecretStr in types:
            raise ValueError(
                f"{path}: {'.'.join(where)} is a secret and is never read from a file; "
                f"remove it there and set WIREWATCH_{'__'.join(where).upper()} in the environment"
            )
        nested = next((t for t in types if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if nested is not None and isinstance(data[name], dict):
            refuse_file_secrets(path, data[name], nested, where)
