"""Entrypoint of the metrics service: migrate, create topics, sink business figures until SIGINT/SIGTERM.

`outlay services run metrics` calls `run(settings)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from outlay.lifecycle import prepare
from outlay.settings import Settings
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.engine import make_engine
from services.metrics.sink import GROUP_ID, BusinessMetricSink

log = logging.getLogger(__name__)


async def run(settings: Settings, stop: asyncio.Event | None = None, *, group_id: str = GROUP_ID) -> None:
    """Run the sink until `stop` is set (SIGINT/SIGTERM when None)."""
    bootstrap, stop = await prepare(settings, stop)
    engine = make_engine(settings.store_url)
    sink = BusinessMetricSink(
        bootstrap,
        BusinessMetricStore(engine),
        group_id,
        client_id=f"{settings.kafka_client_id}-metrics",
        session_timeout_ms=settings.kafka_session_timeout_ms,
    )
    task = asyncio.create_task(sink.run(), name="business-metric-sink")
    try:
        await stop.wait()
    finally:
        # Cancelling mid-batch loses nothing: its offsets are committed only after its rows.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.dispose()
    log.info("metrics service stopped: %d figures stored", sink.stored)
