"""Target ids, labels' raw material and secret masking for notify.yaml targets.

A target's id is 12 hex digits of a salted PBKDF2 over the entry as written (after
``${NAME}`` expansion, without its tags or name), so it survives restarts, reordering
the file and apprise upgrades, and gives nothing back about the URL. The secrets of
every loaded target are registered with a filter on apprise's logger, which masks
them in any record apprise writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

# Options that route or label a target without changing where it delivers.
_NOT_IDENTITY = ("tag", "tags", "name")
# Slow on purpose: a guessable URL (an ntfy topic, say) is costly to confirm offline.
_ID_ITERATIONS = 20_000
_ID_SALT = b"wirewatch-target-id"
# Shorter pieces ("v1", "hook") are not secrets and would mangle every log line.
_MIN_SECRET = 6
# apprise's own URL arguments on every plugin: settings, never secrets.
_GENERIC_ARGS = frozenset(
    {
        "format", "overflow", "rto", "cto", "verify", "emojis", "method", "store", "tz",
        "mode", "priority", "image", "auth", "footer", "timestamp", "blocks", "retry",
        "wait", "optional",
    }
)  # fmt: skip
_SPLIT_RE = re.compile(r"[/:@?&=#,+]")


def redact(message: str, secrets: set[str]) -> str:
    """``message`` with each of ``secrets`` (longest first) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


class _RedactSecrets(logging.Filter):
    """Masks every known target secret in apprise's own log records (defence in depth)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = redact(record.getMessage(), self.secrets)
            record.msg, record.args = message, ()
        return True


_REDACT = _RedactSecrets()


def register_secrets(secrets: set[str]) -> None:
    """Have apprise's log records masked for ``secrets`` from now on."""
    _REDACT.secrets |= {s for s in secrets if s}


def install_redaction(logger: logging.Logger) -> None:
    """Attach the one secret-masking filter to ``logger`` (idempotent)."""
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)


def entry_identity(entry: Any) -> str:
    """The part of an entry that says where it delivers (not its tags or name)."""
    if not isinstance(entry, dict):
        return str(entry).strip()

    def keep(options: Any) -> Any:
        if isinstance(options, dict):
            return {k: v for k, v in options.items() if k not in _NOT_IDENTITY}
        if isinstance(options, list):
            return [keep(o) for o in options]
        return options

    return json.dumps({str(k): keep(v) for k, v in entry.items()}, sort_keys=True, default=str)


def make_target_id(identity: str) -> str:
    """Opaque, stable id for a target: 12 hex digits of a salted PBKDF2 of ``identity``."""
    digest = hashlib.pbkdf2_hmac("sha256", identity.encode(), _ID_SALT, _ID_ITERATIONS)
    return digest.hex()[:12]


def secret_parts(plugin: Any) -> set[str]:
    """Every piece of a plugin's full URL that could be a secret.

    That is user, password, path segments and non-generic argument values, plus
    whatever the privacy form hides (a token in the host part, as Slack's). The
    privacy form alone is not enough: it shows path tokens, ``+Header`` values and
    ntfy topics.
    """
    full = str(plugin.url(privacy=False))
    private = str(plugin.url(privacy=True))
    parts = urlsplit(full)
    found = {p for p in _SPLIT_RE.split(full) if p not in private}
    for piece in (parts.username, parts.password, parts.fragment):
        if piece:
            found |= {piece, unquote(piece)}
    for segment in parts.path.split("/"):
        found |= {segment, unquote(segment)}
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key.lower() not in _GENERIC_ARGS:
            found |= {value, *value.split(",")}
    return {p.strip() for p in found if len(p.strip()) >= _MIN_SECRET}
