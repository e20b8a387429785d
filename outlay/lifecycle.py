"""What every long-running service does before its work: a broker to talk to, the store at the latest schema, the
topics in place, and a stop event that SIGINT / SIGTERM set."""

from __future__ import annotations

import asyncio
import signal

from outlay.kafka.topics_admin import ensure_outlay_topics
from outlay.settings import Settings
from outlay.store.engine import upgrade


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def prepare(settings: Settings, stop: asyncio.Event | None = None) -> tuple[str, asyncio.Event]:
    """(the broker's address, the stop event): the store migrated and the topics created first."""
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set (the launcher sets it for every service)")
    await upgrade(settings.store_url)
    await ensure_outlay_topics(bootstrap, settings)
    return bootstrap, stop if stop is not None else stop_on_signals()
