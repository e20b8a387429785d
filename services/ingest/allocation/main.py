"""Entrypoint of the allocation stage: migrate, create topics, allocate until SIGINT/SIGTERM.

`outlay services run allocation` calls `run(settings)`.
"""

from __future__ import annotations

import asyncio
import logging

from outlay.lifecycle import prepare
from outlay.settings import Settings
from services.ingest.allocation.stage import AllocationStats, run_allocation

log = logging.getLogger(__name__)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> AllocationStats:
    """Run the stage with `settings` until `stop` is set (SIGINT/SIGTERM when None)."""
    bootstrap, stop = await prepare(settings, stop)
    stats = await run_allocation(
        bootstrap,
        settings.store_url,
        settings.allocation_group_id,
        stop,
        client_id=f"{settings.kafka_client_id}-allocation",
        session_timeout_ms=settings.kafka_session_timeout_ms,
    )
    log.info("allocation stage stopped: %s", stats)
    return stats
