"""What the producer's batch size costs: Faust's default 16 KB against the processor's.

Usage::

    .venv/bin/python bench/producer_batch.py [--records 6000] [--size 5000] [--rounds 2]

The processor writes an event per article that carries the article, body
included (about 5 KB in bench/e2e.py), plus its state records. This starts a
local broker (real Kafka), then sends ``--records`` records of ``--size`` bytes
to a one-partition topic with ``acks=all``, as the processor's producer does,
once at Faust's default ``producer_max_batch_size`` (16,384, the baseline) and
once at the processor's (``processors.runtime.app.PRODUCER_BATCH_BYTES``), in
alternating rounds. It prints records/s (wall) and this process's CPU time per
record, which the batch size decides: every batch is a produce request and a
wait for its acknowledgement before that partition's next batch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.runtime.app import PRODUCER_BATCH_BYTES
from tests.support import broker_ports
from wirewatch.broker import LocalBroker
from wirewatch.settings import BrokerSettings

FAUST_DEFAULT_BATCH = 16_384


async def send_all(
    bootstrap: str, topic: str, batch: int, records: int, size: int
) -> tuple[float, float]:
    """Send ``records`` records to ``topic``; (records/s, CPU µs per record)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=batch)
    await producer.start()
    try:
        payload = os.urandom(size // 2).hex().encode()
        await (await producer.send(topic, b"warm-up"))  # creates the topic, fetches metadata
        cpu, wall = time.process_time(), time.perf_counter()
        sent = [await producer.send(topic, payload, key=str(i).encode()) for i in range(records)]
        await asyncio.gather(*sent)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await producer.stop()
    return records / wall, cpu / records * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=6000)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-producer-"))
    broker = LocalBroker(BrokerSettings(**broker_ports(), data_dir=tmp / "kafka", heap="512m"))
    bootstrap = await asyncio.to_thread(broker.start)
    try:
        print(f"{args.records:,} records of {args.size:,} bytes to one partition, acks=all")
        for round_ in range(args.rounds):
            for label, batch in (
                ("Faust default", FAUST_DEFAULT_BATCH),
                ("processor", PRODUCER_BATCH_BYTES),
            ):
                rate, cpu = await send_all(
                    bootstrap, f"bench-{round_}-{batch}", batch, args.records, args.size
                )
                print(
                    f"round {round_ + 1}, {label:>13} batch {batch:>7,} B: "
                    f"{rate:>8,.0f} records/s, {cpu:5.0f} us CPU per record"
                )
    finally:
        await asyncio.to_thread(broker.stop)


if __name__ == "__main__":
    asyncio.run(main())
