"""``python -m wirewatch.demo``: serve the demo feeds on 127.0.0.1 until stopped."""

import asyncio

from wirewatch.demo.server import start_demo_server
from wirewatch.supervisor import DEMO_PORT


async def _serve() -> None:
    await start_demo_server(DEMO_PORT)
    await asyncio.Event().wait()


asyncio.run(_serve())
