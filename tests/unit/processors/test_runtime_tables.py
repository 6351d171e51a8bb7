"""The processor's table values: state-json (msgspec) and the restored window's shared terms."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import Message

from processors.runtime.faust_fixes import app_overrides
from processors.runtime.tables import STATE_CODEC, StateJson, StateTable, store_options
from processors.stories.clusterer import StoryClusterer
from processors.stories.state import StateError, load_entry
from wirewatch.events import Article, utcnow


def window_records(*titles: str) -> dict[str, Any]:
    clusterer = StoryClusterer()
    table: dict[str, Any] = {}
    for i, title in enumerate(titles):
        verdict = clusterer.assign(Article(id=f"a{i}", title=title, published=utcnow()))
        table.update(verdict.state_updates)
    return table


def test_state_json_round_trips_window_records_as_json() -> None:
    codec = StateJson()
    records = window_records("Quake strikes Chile coast", "Parliament passes the budget")
    for value in records.values():
        encoded = codec.dumps(value)
        assert json.loads(encoded) == value  # plain JSON, any reader can read it
        assert codec.loads(encoded) == value


def test_state_json_reads_the_standard_librarys_non_finite_floats() -> None:
    # Records written before msgspec came from json.dumps, which writes NaN.
    written = json.dumps({"sm": float("nan"), "ts": 1.5}).encode()
    value = StateJson().loads(written)
    assert math.isnan(value["sm"])
    assert value["ts"] == 1.5


def test_state_tables_write_their_changelog_and_store_with_state_json(tmp_path: Path) -> None:
    app = faust.App("unit-tables", datadir=str(tmp_path), Table=StateTable, **app_overrides())
    table = app.Table("t", partitions=1, use_partitioner=True, options=store_options())
    assert isinstance(table, StateTable)
    assert table.value_serializer == STATE_CODEC
    assert table.changelog_topic.value_serializer == STATE_CODEC
    assert table.data.value_serializer == STATE_CODEC
    assert table.key_serializer == "json"  # keys as every earlier version wrote them


def test_restored_entries_share_their_term_strings() -> None:
    records = window_records("Volcano erupts near Naples", "Volcano ash closes Naples airport")
    entries = [
        load_entry(key[2:], json.loads(json.dumps(value)))  # fresh strings, as decoded
        for key, value in records.items()
        if key.startswith("a:")
    ]
    first, second = (set(e.features.title_terms) for e in entries)
    shared = first & second
    assert shared
    for term in shared:
        mine = next(t for t in entries[0].features.title_terms if t == term)
        theirs = next(t for t in entries[1].features.title_terms if t == term)
        assert mine is theirs


def test_a_window_entry_with_a_term_that_is_not_a_string_is_rejected() -> None:
    records = window_records("Volcano erupts near Naples")
    key, value = next((k, v) for k, v in records.items() if k.startswith("a:"))
    with pytest.raises(StateError):
        load_entry(key[2:], {**value, "tt": [1, 2]})


def test_restored_body_weights_share_one_float_per_value() -> None:
    body = "the central bank raised its key interest rate by half a point on tuesday " * 8
    article = Article(id="b0", title="Rates story", body=body, published=utcnow())
    records = StoryClusterer().assign(article).state_updates
    key, value = next((k, v) for k, v in records if k.startswith("a:") and v is not None)
    # Two decodings of the record: every float a new object, as from the store.
    first, second = (load_entry(key[2:], json.loads(json.dumps(value))) for _ in range(2))
    assert first.features.body is not None and second.features.body is not None
    pairs = zip(first.features.body.weights, second.features.body.weights, strict=True)
    assert all(a is b for a, b in pairs)


async def test_changelog_records_reach_recovery_as_their_bytes_and_writes_still_serialize(
    tmp_path: Path,
) -> None:
    # Faust's stores apply message.key/value; a decoded copy would only cost time.
    app = faust.App("unit-schema", datadir=str(tmp_path), Table=StateTable, **app_overrides())
    table = app.Table("t", partitions=1, use_partitioner=True, options=store_options())
    topic = table.changelog_topic
    key, value = b'"a:x1"', b'{"tt":["quake"],"ts":1.5}'
    message = Message(
        topic=topic.get_topic_name(), partition=0, offset=7, timestamp=0.0,
        timestamp_type=0, headers=[], key=key, value=value, checksum=None,
    )  # fmt: skip
    event = await topic.decode(message)
    assert (event.key, event.value) == (key, value)
    payload, _ = topic.prepare_value({"tt": ["quake"], "ts": 1.5}, None)
    assert json.loads(payload) == {"tt": ["quake"], "ts": 1.5}
    key_payload, _ = topic.prepare_key("a:x1", None)
    assert key_payload == key
