"""Rewrite alert-state records written before target ids (schema < 3) under the id.

Older ledger, pending and DLQ records name a target by apprise's privacy URL, which
keeps path tokens, ``+Header`` values and ntfy topics in clear. At start-up each one
whose target is still in notify.yaml is written again under the target's opaque id;
the old ledger and pending keys get tombstones, so compaction removes the URL from
those topics. The DLQ is an append-only log: an old dead letter stays there until
its retention ends, and ``list_dead_letters`` hides it behind its rewritten copy.
Records of targets no longer configured cannot be mapped and are left as they are.
"""

from __future__ import annotations

import logging

from alerts.delivery import Sender
from alerts.state import Store, decode_dead_letters, read_table
from wirewatch.events import TARGET_ID_VERSION, PendingAlert
from wirewatch.settings import Settings

log = logging.getLogger(__name__)


async def migrate_target_keys(
    settings: Settings, sender: Sender, store: Store, parked: list[PendingAlert]
) -> list[PendingAlert]:
    """Move old records to target ids; return ``parked`` with its entries moved too."""
    moved = 0
    for record in list(store.ledger.values()):
        endpoint = sender.by_key(record.target)
        if record.schema_version >= TARGET_ID_VERSION or endpoint is None:
            continue
        await store.mark(record.model_copy(update=_current(endpoint.key)))
        await store.forget(record.alert_id, record.target)
        moved += 1
    kept: list[PendingAlert] = []
    for entry in parked:
        endpoint = sender.by_key(entry.target)
        if entry.schema_version >= TARGET_ID_VERSION or endpoint is None:
            kept.append(entry)
            continue
        new = entry.model_copy(update=_current(endpoint.key))
        await store.park(new)
        await store.unpark([entry])
        kept.append(new)
        moved += 1
    letters = decode_dead_letters(await read_table(settings.kafka, settings.kafka.topics.dlq.name))
    done = {
        (d.alert.alert_id, d.failed_at) for d in letters if d.schema_version >= TARGET_ID_VERSION
    }
    for letter in letters:
        endpoint = sender.by_key(letter.target)
        if letter.schema_version >= TARGET_ID_VERSION or endpoint is None:
            continue
        if (letter.alert.alert_id, letter.failed_at) in done:
            continue
        update = {**_current(endpoint.key), "target_label": endpoint.label}
        await store.dead_letter(letter.model_copy(update=update))
        moved += 1
    if moved:
        log.info("moved %d alert-state record(s) from target URLs to target ids", moved)
    return kept


def _current(target_id: str) -> dict[str, object]:
    return {"target": target_id, "schema_version": TARGET_ID_VERSION}
