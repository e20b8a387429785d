"""Entrypoint of the ledger service: migrate, create topics, consume until SIGINT/SIGTERM.

`outlay services run ledger` calls `run(settings)`; `main()` reads the settings itself.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from outlay.kafka.topics_admin import ensure_outlay_topics
from outlay.settings import Settings, get_settings
from outlay.store.engine import upgrade
from outlay.telemetry import configure_logging
from services.ingest.ledger.consumer import LedgerStats, run_ledger

log = logging.getLogger(__name__)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> LedgerStats:
    """Run the ledger with `settings` until `stop` is set, or until SIGINT/SIGTERM when None."""
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set (the launcher sets it for every service)")
    store_url = settings.store_url
    await upgrade(store_url)  # idempotent; a fresh SQLite file gets its schema here
    await ensure_outlay_topics(bootstrap, settings)
    loop = asyncio.get_running_loop()
    signals: list[signal.Signals] = []
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
            signals.append(sig)
    try:
        stats = await run_ledger(
            bootstrap,
            store_url,
            settings.ledger_group_id,
            stop,
            batch_size=settings.ledger_batch_size,
            client_id=f"{settings.kafka_client_id}-ledger",
            session_timeout_ms=settings.kafka_session_timeout_ms,
        )
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    log.info("ledger stopped: %s", stats)
    return stats


async def main() -> None:
    configure_logging("ledger")
    await run(get_settings())
