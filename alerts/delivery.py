"""Apprise delivery: one Apprise object, routing by tag, sends that fail loudly.

Each configured target also gets a private tag (``wirewatch-target-N``) so a worker
can send to exactly one target through the shared Apprise object. A send counts as
failed unless apprise reports SUCCESS *and* logged no WARNING or ERROR during that
call (apprise 2.3 captures the log per call in ``AppriseResult.logs()``); failures
become :class:`DeliveryError` carrying apprise's own words, with secrets removed.
Endpoints are keyed by the target's opaque id; only that id and the label ever
reach records, logs and the CLI.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from alerts.render import Format, Message, choose_format
from wirewatch.notify_config import Target, import_apprise
from wirewatch.notify_ids import redact, secret_parts

_PRIVATE_TAG = "wirewatch-target-{}"


class DeliveryError(Exception):
    """Apprise did not deliver: failure status or a warning/error logged while sending."""


@dataclass(frozen=True)
class Endpoint:
    """One target as the dispatcher sees it: opaque key, label, private tag, format."""

    key: str  # the target's opaque id (notify_ids.make_target_id)
    label: str  # what people see: notify.yaml name:, else scheme:id
    # Key of records written before target ids (privacy URL[#L<line>]); never printed.
    legacy_key: str = field(repr=False)
    tag: str
    tags: frozenset[str]
    fmt: Format
    target: Target


def backoff_delay(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random."""
    delay = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return float(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not crypto


class Sender:
    """The single Apprise object for all targets, with per-target sends."""

    def __init__(self, targets: Iterable[Target]) -> None:
        apprise = import_apprise()
        self._apprise = apprise.Apprise()
        self.endpoints: list[Endpoint] = []
        self._by_plugin: dict[int, Endpoint] = {}
        self._secrets: set[str] = set()
        seen: set[str] = set()
        for index, target in enumerate(targets):
            # The same rule the ledger used before target ids, so old keys still map.
            legacy = target.legacy_key
            if legacy in seen:
                legacy = f"{legacy}#L{target.line}"
            seen.add(legacy)
            tag = _PRIVATE_TAG.format(index)
            target.plugin.tags.add(tag)
            self._apprise.add(target.plugin)
            fmt = choose_format(target.plugin)
            endpoint = Endpoint(target.id, target.label, legacy, tag, target.tags, fmt, target)
            self.endpoints.append(endpoint)
            self._by_plugin[id(target.plugin)] = endpoint
            self._secrets |= secret_parts(target.plugin)

    def by_key(self, key: str) -> Endpoint | None:
        """The endpoint for a record's target: its id, or the key of an older record."""
        return next((e for e in self.endpoints if key in (e.key, e.legacy_key)), None)

    def label(self, key: str) -> str:
        """What people see for a record's target (its id if the target is gone)."""
        endpoint = self.by_key(key)
        return endpoint.label if endpoint else key

    def route(self, notify_tags: Iterable[str]) -> list[Endpoint]:
        """Targets carrying any of ``notify_tags`` (apprise's own tag matching)."""
        tags = sorted(set(notify_tags))
        if not tags:
            return []
        found = self._apprise.find(tag=tags)
        return [self._by_plugin[id(p)] for p in found if id(p) in self._by_plugin]

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def send(self, endpoint: Endpoint, message: Message, timeout_s: float) -> float:
        """Send ``message`` to one endpoint; return latency in ms or raise DeliveryError."""
        started = time.perf_counter()
        try:
            result = await self._apprise.async_notify(
                body=message.body,
                title=message.title,
                body_format=message.body_format,
                tag=endpoint.tag,
                # Without this a target tagged "always" would get every other target's sends.
                match_always=False,
                timeout=timeout_s,
            )
        except Exception as exc:  # apprise plugins may raise anything; it is a failure
            raise DeliveryError(self.redact(f"{type(exc).__name__}: {exc}")) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        problems = [
            f"{entry.level}: {entry.message}"
            for entry in result.logs()
            if str(entry.level).upper() in ("WARNING", "ERROR", "CRITICAL")
        ]
        if not result or problems:
            detail = "; ".join(problems) or f"apprise status {result.status.name}"
            raise DeliveryError(self.redact(detail))
        return latency_ms
